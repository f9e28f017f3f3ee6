"""Every mask strategy of the suite, as pure, seeded tensor functions.

Each draws from a ``generator``, so a mask can be replayed; all but
SimMIM's also take explicit ``noise`` (:mod:`~backbones.masking.noise`), to
replay a mask drawn in another implementation. 1 = hidden. MAE's own
random masking is mmpretrain's ``MAEViT.random_masking``.

* :mod:`~backbones.masking.parallel`: EMAE's K disjoint parts per image.
* :mod:`~backbones.masking.blockwise`: ConvMAE's masks on the stage-3 grid.
* :mod:`~backbones.masking.uniform`: UM-MAE's uniform and secondary masks,
  compaction of the visible patches and its inverse.
* :mod:`~backbones.masking.simmim`: SimMIM's block mask.
* :mod:`~backbones.masking.geometry`: patch geometry (mask upsampling,
  pixel masks, grid coordinates, token gathering).
"""
from .blockwise import block_masks
from .geometry import gather_tokens, grid_coords, pixel_mask, upsample_mask
from .noise import mask_noise
from .parallel import parallel_masks, parts_for_ratio
from .simmim import simmim_mask
from .uniform import (compact, secondary_masks, uncompact, uniform_masks,
                      visible_index)

__all__ = [
    'block_masks', 'compact', 'gather_tokens', 'grid_coords', 'mask_noise',
    'parallel_masks', 'parts_for_ratio', 'pixel_mask', 'secondary_masks',
    'simmim_mask', 'uncompact', 'uniform_masks', 'upsample_mask',
    'visible_index'
]

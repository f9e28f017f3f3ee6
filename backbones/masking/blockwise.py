"""ConvMAE's block-wise masking, drawn on the stage-3 grid.

Gao et al., *ConvMAE* (arXiv 2205.03892; official code Alpha-VL/ConvMAE): a
random mask (ratio r = 0.75) is drawn MAE-style (argsort of uniform noise)
on the stage-3 grid (14 x 14 at 224 px, :func:`block_masks`) and upsampled
x2 and x4 for stages 2 and 1 (:func:`~backbones.masking.geometry.
upsample_mask`), so each hidden stage-3 token hides a 2 x 2 block of
stage-2 and a 4 x 4 block of stage-1 positions (one 16 x 16 pixel patch).
Used by :class:`~backbones.models.selfsup.convmae.ConvMAEViT`.
"""
from typing import Dict, Optional, Tuple

import torch

from .noise import mask_noise


def block_masks(batch_size: int, grid: Tuple[int, int], mask_ratio: float,
                generator: Optional[torch.Generator] = None,
                noise: Optional[torch.Tensor] = None,
                device=None) -> Dict[str, torch.Tensor]:
    """Random mask on the stage-3 grid, MAE-style (argsort of noise).

    Args:
        batch_size (int): B.
        grid (tuple): (h, w) of the stage-3 grid; L = h * w.
        mask_ratio (float): Fraction hidden, in [0, 1); the number kept is
            ``int(L * (1 - mask_ratio))``, at least 1.
        generator (torch.Generator, optional): Source of the noise.
        noise (Tensor, optional): (B, L) noise to replay a mask drawn
            elsewhere (the lowest values are kept, as in the official
            code); overrides ``generator``.
        device: Device of the outputs when noise is drawn here.

    Returns:
        dict: ``ids_keep`` (B, n) visible indices (row-major on the grid),
        ``ids_restore`` (B, L) position of every patch in [visible, hidden]
        order, ``mask`` (B, L) with 1 = hidden.
    """
    h, w = grid
    length = h * w
    if not 0 <= mask_ratio < 1:
        raise ValueError(f'mask_ratio must be in [0, 1), got {mask_ratio}')
    noise = mask_noise((batch_size, length), generator, noise, device)
    keep = max(int(length * (1 - mask_ratio)), 1)
    ids_shuffle = noise.argsort(dim=1)
    ids_restore = ids_shuffle.argsort(dim=1)
    mask = torch.ones(batch_size, length, device=noise.device)
    mask[:, :keep] = 0
    return dict(ids_keep=ids_shuffle[:, :keep],
                ids_restore=ids_restore,
                mask=mask.gather(1, ids_restore))

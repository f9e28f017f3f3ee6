"""SimMIM's block mask, drawn from an explicit generator.

Xie et al., *SimMIM* (arXiv 2111.09886): blocks of ``mask_patch_size``
pixels are hidden at random (ratio rounded up) and every block covers
``(mask_patch_size / model_patch_size)^2`` tokens. Training draws it in the
data pipeline with mmpretrain's ``SimMIMMaskGenerator``; this function
draws the same mask from a generator, for reconstruction pictures that can
be replayed.
"""
import math
from typing import Optional

import torch


def simmim_mask(batch_size: int, input_size: int, model_patch_size: int,
                mask_patch_size: int = 32, mask_ratio: float = 0.6,
                generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """SimMIM's block mask (as mmpretrain's ``SimMIMMaskGenerator`` draws it)
    from an explicit generator.

    Args:
        batch_size (int): B.
        input_size (int): Image side in pixels.
        model_patch_size (int): Token side in pixels.
        mask_patch_size (int): Side of a masked block in pixels.
            Defaults to 32.
        mask_ratio (float): Fraction of blocks hidden (rounded up).
            Defaults to 0.6.
        generator (torch.Generator, optional): Source of the permutation.

    Returns:
        Tensor: (B, input_size / model_patch_size, same) long, 1 = hidden.

    Raises:
        ValueError: The sizes do not divide each other.
    """
    if input_size % mask_patch_size or mask_patch_size % model_patch_size:
        raise ValueError(
            f'SimMIM mask: input_size {input_size} must be a multiple of '
            f'mask_patch_size {mask_patch_size}, which must be a multiple of '
            f'model_patch_size {model_patch_size}')
    side = input_size // mask_patch_size
    scale = mask_patch_size // model_patch_size
    count = side * side
    hidden = torch.rand(batch_size, count, generator=generator).argsort(1)
    mask = torch.zeros(batch_size, count, dtype=torch.long)
    mask.scatter_(1, hidden[:, :int(math.ceil(count * mask_ratio))], 1)
    return mask.view(batch_size, side, side).repeat_interleave(
        scale, 1).repeat_interleave(scale, 2)

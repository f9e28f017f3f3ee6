"""EMAE's parallel mask strategy: K disjoint visible parts per image.

Li et al., *Efficient Masked Autoencoders with Self-Consistency*
(arXiv 2302.14431): one random permutation of the L patches of an image is
cut into K = 1 / (1 - r) disjoint visible sets of L / K patches. Part k
shows its set and hides everything else, so each part has mask ratio
exactly r, every patch is visible in exactly one part and reconstructed in
the other K - 1 (:func:`parallel_masks`). Used by
:class:`~backbones.models.selfsup.emae.EMAEViT`.
"""
from typing import Dict, Optional

import torch

from .noise import mask_noise


def parts_for_ratio(mask_ratio: float) -> int:
    """K = 1 / (1 - mask_ratio), which must be a whole number >= 2.

    Raises:
        ValueError: Names the ratio and the nearest valid ones.
    """
    if not 0 < mask_ratio < 1:
        raise ValueError(f'mask_ratio must be in (0, 1), got {mask_ratio}')
    k = 1 / (1 - mask_ratio)
    if abs(k - round(k)) > 1e-6 or round(k) < 2:
        lo, hi = max(int(k), 2), max(int(k) + 1, 3)
        raise ValueError(
            f'EMAE needs 1 / (1 - mask_ratio) to be a whole number; '
            f'mask_ratio={mask_ratio} gives {k:.3f}. Nearest valid ratios: '
            f'{1 - 1 / lo:.4g} (K={lo}) and {1 - 1 / hi:.4g} (K={hi})')
    return int(round(k))


def parallel_masks(batch_size: int, num_patches: int, mask_ratio: float,
                   generator: Optional[torch.Generator] = None,
                   noise: Optional[torch.Tensor] = None,
                   device=None) -> Dict[str, torch.Tensor]:
    """Draw EMAE's K disjoint parts for every image.

    Args:
        batch_size (int): B.
        num_patches (int): L (any grid h * w; L must be divisible by K).
        mask_ratio (float): r; K = 1 / (1 - r) must be whole.
        generator (torch.Generator, optional): Source of the noise.
        noise (Tensor, optional): (B, L) noise to replay a draw (argsort
            order defines the permutation); overrides ``generator``.
        device: Device of the outputs when noise is drawn here.

    Returns:
        dict: with K parts of ``n = L / K`` visible patches each

        - ``ids_keep`` (K, B, n): visible patch indices of each part,
        - ``ids_restore`` (K, B, L): for the decoder, the position of every
          patch in [visible patches, hidden patches] order,
        - ``mask`` (K, B, L): 1 = hidden, 0 = visible.
    """
    k = parts_for_ratio(mask_ratio)
    if num_patches % k:
        raise ValueError(f'{num_patches} patches cannot be cut into {k} '
                         f'equal parts (mask_ratio={mask_ratio})')
    noise = mask_noise((batch_size, num_patches), generator, noise, device)
    n = num_patches // k
    perm = noise.argsort(dim=1)  # (B, L): one permutation per image
    chunks = perm.view(batch_size, k, n).transpose(0, 1)  # (K, B, n)
    # Part i's order: its own chunk first, then the others (any order).
    order = torch.stack([torch.cat([chunks[i], *chunks[:i], *chunks[i + 1:]],
                                   dim=1) for i in range(k)])
    ids_restore = order.argsort(dim=2)
    mask = torch.ones(k, batch_size, num_patches, device=noise.device)
    mask.scatter_(2, chunks, 0.)
    return dict(ids_keep=chunks, ids_restore=ids_restore, mask=mask)

"""Patch geometry shared by the masks and the models that use them.

Masks are (B, L) on an (h, w) patch grid in row-major order, 1 = hidden;
these helpers move between that and pixels, finer grids, coordinates and
the visible tokens.
"""
from typing import Tuple

import torch


def upsample_mask(mask: torch.Tensor, grid: Tuple[int, int],
                  factor: int) -> torch.Tensor:
    """Blow a (B, h * w) token mask up to a (B, 1, h * f, w * f) map.

    Every token becomes an f x f block of the finer grid (nearest
    neighbour): ConvMAE's stage-1/2 positions share the state of the
    stage-3 token they fall in, and with f = p a patch mask becomes a pixel
    mask.

    Raises:
        ValueError: ``mask`` does not have h * w tokens.
    """
    h, w = grid
    if mask.shape[1] != h * w:
        raise ValueError(f'mask has {mask.shape[1]} tokens, grid {grid} has '
                         f'{h * w}')
    m = mask.reshape(-1, 1, h, w)
    return m.repeat_interleave(factor, 2).repeat_interleave(factor, 3)


def pixel_mask(mask: torch.Tensor, grid: Tuple[int, int],
               patch_size: int) -> torch.Tensor:
    """Per-patch mask -> per-pixel mask.

    Args:
        mask (Tensor): (N, h * w) or (N, h, w), 1 = hidden, patches in
            row-major order.
        grid (tuple[int, int]): (h, w) patches.
        patch_size (int): p, pixels per patch side.

    Returns:
        Tensor: (N, 1, h * p, w * p) float, 1 = hidden.
    """
    return upsample_mask(mask.reshape(mask.shape[0], -1).float(), grid,
                         patch_size)


def grid_coords(batch_size: int, size: Tuple[int, int],
                device=None) -> torch.Tensor:
    """(B, 2, H, W) row and column index of every position of a grid.

    Float32, so the coordinates can be compacted and resized like features
    (UM-MAE's Swin compacts them with the visible patches).
    """
    rows = torch.arange(size[0], device=device, dtype=torch.float32)
    cols = torch.arange(size[1], device=device, dtype=torch.float32)
    coords = torch.stack(torch.meshgrid(rows, cols, indexing='ij'))
    return coords.expand(batch_size, -1, -1, -1)


def gather_tokens(x: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """(B, L, C) tokens at (B, n) indices -> (B, n, C)."""
    return x.gather(1, ids[..., None].expand(-1, -1, x.shape[-1]))

"""UM-MAE's uniform masking: pure, seeded tensor functions.

Li et al., *Uniform Masking: Enabling MAE Pre-training for Pyramid-based
Vision Transformers with Locality* (arXiv 2205.10063; official code
implus/UM-MAE). On a masking grid of h x w patches (16 px at 256 input,
h and w even):

* **Uniform sampling** (:func:`uniform_masks`): in every 2 x 2 cell exactly
  one patch, chosen at random, stays visible (25%).
* **Compaction** (:func:`compact`): the visible patch of every cell is moved
  into a dense (h/2 x w/2) map, so a windowed encoder sees a regular grid.
  Any map whose side is a multiple of the masking grid (image pixels,
  stride-4 tokens, their coordinates) is compacted the same way, so the
  true image coordinates of every compacted token are ``compact`` of the
  dense coordinate grid. :func:`uncompact` is the inverse scatter.
* **Secondary masking** (:func:`secondary_masks`): a fraction (25%) of the
  compacted cells is hidden again inside the encoder (replaced by a
  learnable token), so the task stays hard.

Mask convention: 1 = hidden. A cell's ``choice`` is the offset of its
visible patch, ``2 * row + col`` with row, col in {0, 1}.
"""
from typing import Dict, Optional, Tuple

import torch

from .noise import mask_noise


def _check_grid(grid: Tuple[int, int]) -> None:
    h, w = grid
    if h < 2 or w < 2 or h % 2 or w % 2:
        raise ValueError(f'uniform masking needs an even masking grid (2 x 2 '
                         f'cells), got {h} x {w}')


def uniform_masks(batch_size: int, grid: Tuple[int, int],
                  generator: Optional[torch.Generator] = None,
                  noise: Optional[torch.Tensor] = None,
                  device=None) -> Dict[str, torch.Tensor]:
    """Keep exactly one random patch in every 2 x 2 cell.

    Args:
        batch_size (int): B.
        grid (tuple): (h, w) masking grid, both even.
        generator (torch.Generator, optional): Source of the noise.
        noise (Tensor, optional): (B, h/2, w/2, 4) noise to replay a draw;
            the lowest of the four values of a cell is kept. Overrides
            ``generator``.
        device: Device of the outputs when noise is drawn here.

    Returns:
        dict: ``choice`` (B, h/2, w/2) long, the visible offset of every
        cell; ``mask`` (B, h * w) float, 1 = hidden, row-major.
    """
    _check_grid(grid)
    h, w = grid
    shape = (batch_size, h // 2, w // 2, 4)
    noise = mask_noise(shape, generator, noise, device)
    choice = noise.argmin(dim=-1)
    visible = torch.nn.functional.one_hot(choice, 4).float()  # B h/2 w/2 4
    visible = visible.view(batch_size, h // 2, w // 2, 2, 2)
    visible = visible.permute(0, 1, 3, 2, 4).reshape(batch_size, h * w)
    return dict(choice=choice, mask=1 - visible)


def _cells(x: torch.Tensor, cell_grid: Tuple[int, int]) -> torch.Tensor:
    """(B, C, H, W) -> (B, h/2, w/2, 4, C, s, s), s = H / h."""
    B, C, H, W = x.shape
    h2, w2 = cell_grid
    if H % (2 * h2) or W % (2 * w2) or H // h2 != W // w2:
        raise ValueError(f'a {H} x {W} map cannot be cut into the '
                         f'{2 * h2} x {2 * w2} masking grid')
    s = H // (2 * h2)
    x = x.view(B, C, h2, 2, s, w2, 2, s)
    return x.permute(0, 2, 5, 3, 6, 1, 4, 7).reshape(B, h2, w2, 4, C, s, s)


def compact(x: torch.Tensor, choice: torch.Tensor) -> torch.Tensor:
    """Move the visible patch of every cell into a dense half-size map.

    Args:
        x (Tensor): (B, C, H, W) map aligned with the masking grid (H = h *
            s for patches of s x s entries), e.g. images, tokens or their
            coordinates.
        choice (Tensor): (B, h/2, w/2) from :func:`uniform_masks`.

    Returns:
        Tensor: (B, C, H/2, W/2); cell (i, j) holds its visible patch.
    """
    B, C = x.shape[:2]
    cells = _cells(x, tuple(choice.shape[1:]))
    s = cells.shape[-1]
    index = choice[..., None, None, None, None].expand(
        -1, -1, -1, 1, C, s, s)
    picked = cells.gather(3, index).squeeze(3)  # B h/2 w/2 C s s
    h2, w2 = choice.shape[1:]
    return picked.permute(0, 3, 1, 4, 2, 5).reshape(B, C, h2 * s, w2 * s)


def uncompact(y: torch.Tensor, choice: torch.Tensor,
              fill: float = 0.) -> torch.Tensor:
    """Inverse of :func:`compact`: visible patches back, ``fill`` elsewhere.

    Args:
        y (Tensor): (B, C, H/2, W/2) compact map.
        choice (Tensor): (B, h/2, w/2).
        fill (float): Value of the hidden patches. Defaults to 0.

    Returns:
        Tensor: (B, C, H, W).
    """
    B, C, Hc, Wc = y.shape
    h2, w2 = choice.shape[1:]
    if Hc % h2 or Wc % w2 or Hc // h2 != Wc // w2:
        raise ValueError(f'a {Hc} x {Wc} compact map does not fit '
                         f'{h2} x {w2} cells')
    s = Hc // h2
    patches = y.view(B, C, h2, s, w2, s).permute(0, 2, 4, 1, 3, 5)
    cells = y.new_full((B, h2, w2, 4, C, s, s), fill)
    index = choice[..., None, None, None, None].expand(
        -1, -1, -1, 1, C, s, s)
    cells.scatter_(3, index, patches.unsqueeze(3))
    cells = cells.view(B, h2, w2, 2, 2, C, s, s)
    return cells.permute(0, 5, 1, 3, 6, 2, 4, 7).reshape(
        B, C, 2 * h2 * s, 2 * w2 * s)


def secondary_masks(batch_size: int, num_cells: int, ratio: float = 0.25,
                    generator: Optional[torch.Generator] = None,
                    noise: Optional[torch.Tensor] = None,
                    device=None) -> torch.Tensor:
    """Hide a fraction of the compacted cells inside the encoder.

    Args:
        batch_size (int): B.
        num_cells (int): n = h/2 * w/2 compacted cells.
        ratio (float): Fraction hidden, in [0, 1); exactly
            ``n - int(n * (1 - ratio))`` cells per image (as the official
            code). Defaults to 0.25.
        generator (torch.Generator, optional): Source of the noise.
        noise (Tensor, optional): (B, n) noise to replay; the highest
            values are hidden. Overrides ``generator``.
        device: Device of the output when noise is drawn here.

    Returns:
        Tensor: (B, n) float, 1 = replaced by the mask token.
    """
    if not 0 <= ratio < 1:
        raise ValueError(f'secondary mask ratio must be in [0, 1), got '
                         f'{ratio}')
    noise = mask_noise((batch_size, num_cells), generator, noise, device)
    keep = int(num_cells * (1 - ratio))
    order = noise.argsort(dim=1)
    hidden = torch.ones(batch_size, num_cells, device=noise.device)
    hidden.scatter_(1, order[:, :keep], 0.)
    return hidden


def visible_index(choice: torch.Tensor) -> torch.Tensor:
    """Row-major index of every cell's visible patch on the masking grid.

    Args:
        choice (Tensor): (B, h/2, w/2) from :func:`uniform_masks`.

    Returns:
        Tensor: (B, h/2 * w/2) long, in cell (compact map) order.
    """
    h2, w2 = choice.shape[1:]
    rows = torch.arange(h2, device=choice.device)[:, None] * 2 + choice // 2
    cols = torch.arange(w2, device=choice.device)[None, :] * 2 + choice % 2
    return (rows * 2 * w2 + cols).flatten(1)

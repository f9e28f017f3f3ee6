"""Patch geometry: masks blown up to finer grids and pixels, grid
coordinates and token gathering."""
import pytest
import torch

from backbones.masking.geometry import (gather_tokens, grid_coords, pixel_mask,
                                        upsample_mask)
from conftest import patch_constant


def test_upsampled_mask_is_constant_per_token_and_keeps_its_state():
    mask = (torch.rand(2, 12, generator=torch.Generator().manual_seed(0))
            > .5).float()
    up = upsample_mask(mask, (3, 4), 4)
    assert up.shape == (2, 1, 12, 16)
    assert patch_constant(up, 4)
    assert torch.equal(up[:, 0, ::4, ::4].flatten(1), mask)
    with pytest.raises(ValueError, match='grid \\(4, 4\\) has 16'):
        upsample_mask(mask, (4, 4), 2)


def test_pixel_mask_takes_flat_or_grid_masks_and_gives_floats():
    mask = torch.tensor([[1, 0, 0, 1, 1, 0]])
    flat = pixel_mask(mask, (2, 3), 2)
    assert flat.dtype == torch.float32 and flat.shape == (1, 1, 4, 6)
    assert torch.equal(flat, pixel_mask(mask.view(1, 2, 3), (2, 3), 2))
    assert torch.equal(flat, upsample_mask(mask.float(), (2, 3), 2))


def test_grid_coords_rows_and_columns():
    coords = grid_coords(3, (2, 3))
    assert coords.shape == (3, 2, 2, 3) and coords.dtype == torch.float32
    assert coords[0, 0].tolist() == [[0, 0, 0], [1, 1, 1]]
    assert coords[2, 1].tolist() == [[0, 1, 2], [0, 1, 2]]


def test_gather_tokens_picks_rows_per_sample():
    x = torch.arange(2 * 4 * 3.).view(2, 4, 3)
    ids = torch.tensor([[3, 0], [1, 1]])
    out = gather_tokens(x, ids)
    assert torch.equal(out[0], x[0, [3, 0]])
    assert torch.equal(out[1], x[1, [1, 1]])

"""UM-MAE's uniform masking: one visible patch per 2 x 2 cell, exact
secondary ratio, compaction round trips with the true coordinates, and
seeded replay."""
import pytest
import torch

from backbones.masking.geometry import grid_coords
from backbones.masking.uniform import (compact, secondary_masks, uncompact,
                                       uniform_masks, visible_index)


@pytest.mark.parametrize('grid', [(16, 16), (4, 6), (2, 2)])
def test_exactly_one_visible_patch_per_cell(grid):
    out = uniform_masks(3, grid, generator=torch.Generator().manual_seed(0))
    h, w = grid
    visible = (1 - out['mask']).view(3, h // 2, 2, w // 2, 2)
    assert torch.equal(visible.sum((2, 4)), torch.ones(3, h // 2, w // 2))
    assert out['mask'].sum().item() == 3 * h * w * 3 / 4
    # visible_index names exactly the visible patches, in cell order
    flat = visible_index(out['choice'])
    assert torch.equal(out['mask'].gather(1, flat), torch.zeros(
        3, h * w // 4))
    assert torch.equal(flat.sort(1).values, (out['mask'] == 0).nonzero()[
        :, 1].view(3, -1))


def test_choices_are_uniform_over_the_cell():
    choice = uniform_masks(200, (16, 16),
                           generator=torch.Generator().manual_seed(1))[
                               'choice']
    counts = torch.bincount(choice.flatten(), minlength=4).float()
    assert (counts / counts.sum() - 0.25).abs().max() < 0.01


def test_odd_grids_and_bad_noise_are_refused():
    with pytest.raises(ValueError, match='even masking grid'):
        uniform_masks(1, (15, 16))
    with pytest.raises(ValueError, match='noise must have shape'):
        uniform_masks(1, (4, 4), noise=torch.rand(1, 2, 2, 3))
    with pytest.raises(ValueError, match='cannot be cut'):
        compact(torch.zeros(1, 1, 10, 8), torch.zeros(1, 2, 2).long())


def test_same_seed_same_masks_and_noise_replay():
    def draw(seed):
        gen = torch.Generator().manual_seed(seed)
        return uniform_masks(2, (8, 8), generator=gen)['mask']
    assert torch.equal(draw(3), draw(3)) and not torch.equal(draw(3), draw(4))
    noise = torch.rand(2, 4, 4, 4, generator=torch.Generator().manual_seed(3))
    assert torch.equal(uniform_masks(2, (8, 8), noise=noise)['mask'], draw(3))
    a = secondary_masks(2, 64, generator=torch.Generator().manual_seed(5))
    b = secondary_masks(2, 64, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)


@pytest.mark.parametrize('n, ratio', [(64, 0.25), (256, 0.25), (10, 0.5),
                                      (16, 0.0)])
def test_secondary_ratio_is_exact(n, ratio):
    hidden = secondary_masks(4, n, ratio,
                             generator=torch.Generator().manual_seed(0))
    assert torch.equal(hidden.sum(1),
                       torch.full((4, ), float(n - int(n * (1 - ratio)))))
    with pytest.raises(ValueError, match=r'\[0, 1\)'):
        secondary_masks(4, n, 1.0)


@pytest.mark.parametrize('s', [1, 4, 16])
def test_compaction_round_trips_and_carries_true_coordinates(s):
    grid = (8, 6)
    out = uniform_masks(2, grid, generator=torch.Generator().manual_seed(2))
    size = (grid[0] * s, grid[1] * s)
    x = torch.randn(2, 3, *size)
    small = compact(x, out['choice'])
    assert small.shape == (2, 3, size[0] // 2, size[1] // 2)
    visible = out['mask'].view(2, 1, *grid).repeat_interleave(
        s, 2).repeat_interleave(s, 3) == 0
    back = uncompact(small, out['choice'], fill=float('nan'))
    assert torch.equal(back[visible.expand_as(x)], x[visible.expand_as(x)])
    assert back[~visible.expand_as(x)].isnan().all()
    assert torch.equal(compact(back, out['choice']), small)
    # compacting the coordinate grid gives every token's image position
    coords = compact(grid_coords(2, size), out['choice'])
    rows, cols = coords[:, 0].long(), coords[:, 1].long()
    for i in range(2):
        assert torch.equal(x[i][:, rows[i], cols[i]], small[i])

"""ConvMAE's block-wise masks on the stage-3 grid: ratio, indices and
seeded replay."""
import pytest
import torch

from backbones.masking.blockwise import block_masks


@pytest.mark.parametrize('grid', [(14, 14), (4, 4), (6, 10)])
def test_block_masks_ratio_indices_and_replay(grid):
    L = grid[0] * grid[1]
    gen = torch.Generator().manual_seed(0)
    out = block_masks(3, grid, 0.75, generator=gen)
    keep = int(L * 0.25)
    assert out['ids_keep'].shape == (3, keep)
    assert torch.equal(out['mask'].sum(1), torch.full((3, ), L - keep * 1.))
    assert torch.equal(out['mask'].gather(1, out['ids_keep']),
                       torch.zeros(3, keep))
    # ids_restore puts [visible, hidden] back into image order
    visible_first = torch.zeros(3, L)
    visible_first[:, keep:] = 1
    assert torch.equal(visible_first.gather(1, out['ids_restore']),
                       out['mask'])
    again = block_masks(3, grid, 0.75,
                        generator=torch.Generator().manual_seed(0))
    assert torch.equal(again['mask'], out['mask'])
    noise = torch.rand(3, L, generator=torch.Generator().manual_seed(0))
    assert torch.equal(block_masks(3, grid, 0.75, noise=noise)['mask'],
                       out['mask'])
    with pytest.raises(ValueError, match='noise must have shape'):
        block_masks(3, grid, 0.75, noise=torch.rand(3, L + 1))
    with pytest.raises(ValueError, match='mask_ratio'):
        block_masks(3, grid, 1.0)

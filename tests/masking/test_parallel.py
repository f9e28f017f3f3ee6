"""EMAE's parallel mask strategy: disjoint parts that cover every patch,
ratio r each, seeded replay, and errors naming the nearest valid ratios."""
import pytest
import torch

from backbones.masking.parallel import parallel_masks, parts_for_ratio


@pytest.mark.parametrize('ratio, k, grid', [
    (0.75, 4, (14, 14)), (0.75, 4, (6, 10)), (0.75, 4, (8, 8)),
    (0.5, 2, (14, 14)), (0.8, 5, (6, 10)), (0.8, 5, (10, 5))])
def test_parts_are_disjoint_cover_everything_and_have_ratio_r(ratio, k, grid):
    L = grid[0] * grid[1]
    gen = torch.Generator().manual_seed(0)
    out = parallel_masks(3, L, ratio, generator=gen)
    keep, mask = out['ids_keep'], out['mask']
    assert keep.shape == (k, 3, L // k) and mask.shape == (k, 3, L)
    visible = 1 - mask
    # each patch visible in exactly one part: disjoint and covering
    assert torch.equal(visible.sum(0), torch.ones(3, L))
    # every part hides exactly r of the patches
    assert torch.equal(mask.sum(-1), torch.full((k, 3), L - L // k,
                                                dtype=mask.dtype))
    # ids_keep are the visible positions of the mask
    for i in range(k):
        assert torch.equal(visible[i].gather(1, keep[i]),
                           torch.ones(3, L // k))
    # ids_restore maps [visible first, hidden after] back to image order
    for i in range(k):
        visible_first = torch.zeros(3, L)
        visible_first[:, :L // k] = 1
        assert torch.equal(visible_first.gather(1, out['ids_restore'][i]),
                           visible[i])
        # ... and a visible patch j to the slot of j among the kept tokens
        slot = out['ids_restore'][i].clamp(max=L // k - 1)
        patch = keep[i].gather(1, slot)
        here = torch.arange(L).expand(3, L)
        assert torch.equal(patch[visible[i] == 1], here[visible[i] == 1])


def test_same_seed_same_masks_and_noise_replay():
    a = parallel_masks(2, 64, 0.75,
                       generator=torch.Generator().manual_seed(5))
    b = parallel_masks(2, 64, 0.75,
                       generator=torch.Generator().manual_seed(5))
    c = parallel_masks(2, 64, 0.75,
                       generator=torch.Generator().manual_seed(6))
    assert torch.equal(a['mask'], b['mask'])
    assert not torch.equal(a['mask'], c['mask'])
    noise = torch.rand(2, 64, generator=torch.Generator().manual_seed(5))
    assert torch.equal(parallel_masks(2, 64, 0.75, noise=noise)['mask'],
                       a['mask'])


def test_invalid_ratio_names_the_nearest_valid_ones():
    with pytest.raises(ValueError, match=r'0\.7 .*0\.6667 \(K=3\).*0\.75 '
                       r'\(K=4\)'):
        parts_for_ratio(0.7)
    with pytest.raises(ValueError, match='cannot be cut into 4'):
        parallel_masks(1, 10, 0.75)

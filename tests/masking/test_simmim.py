"""SimMIM's block mask: whole blocks, the rounded-up ratio, seeded replay
and size errors."""
import pytest
import torch

from backbones.masking.simmim import simmim_mask
from conftest import patch_constant


def test_simmim_mask_blocks_ratio_and_errors():
    mask = simmim_mask(3, 32, 4, 8, 0.6, torch.Generator().manual_seed(0))
    assert mask.shape == (3, 8, 8)
    # ceil(16 blocks * 0.6) = 10 blocks of 2 x 2 tokens
    assert mask.sum((1, 2)).tolist() == [40] * 3
    assert patch_constant(mask[:, None].float(), 2)
    again = simmim_mask(3, 32, 4, 8, 0.6, torch.Generator().manual_seed(0))
    assert torch.equal(mask, again)
    with pytest.raises(ValueError, match='multiple of mask_patch_size'):
        simmim_mask(1, 30, 4, 8)

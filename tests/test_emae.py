"""EMAE: the parallel mask strategy's invariants, the K * B pass, the loss
terms, the stop-gradient, and equivalence with MAE on the same masks."""
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from backbones.emae import parallel_masks, parts_for_ratio, self_consistency
from conftest import CONFIGS

SMOKE = f'{CONFIGS}/emae/emae_vit-tiny-p4_1xb32-coslr-30e_tiny-in1k-32px.py'


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


def test_self_consistency_stop_gradient():
    p0 = torch.randn(1, 6, 3, requires_grad=True)
    p1 = torch.randn(1, 6, 3, requires_grad=True)
    mask = torch.tensor([[[1., 1, 0, 1, 0, 1]], [[1., 0, 0, 1, 1, 1]]])
    loss = self_consistency(torch.stack([p0, p1]).squeeze(1)[:, None],
                            mask, 'l1')
    loss.backward()
    both = mask[0] * mask[1]  # patches 0, 3, 5
    # Each prediction gets the gradient of one |p_i - sg(p_j)| term only:
    # half of what the plain symmetric sum would give.
    expected = torch.sign(p0 - p1).detach() * both[..., None] / (
        both.sum() * 3)
    assert torch.allclose(p0.grad, expected)
    assert torch.allclose(p1.grad, -expected)


@pytest.fixture(scope='module')
def emae_model():
    from mmpretrain.registry import MODELS

    import backbones  # noqa: F401
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(Config.fromfile(SMOKE).model)
    model.init_weights()
    return model


def test_k_times_b_encoder_batch_and_losses(emae_model):
    x = torch.randn(3, 3, 32, 32)
    latent, mask, ids_restore = emae_model.backbone(x)
    assert latent.shape == (4 * 3, 1 + 16, 64)  # K*B rows, L/K + cls
    assert mask.shape == ids_restore.shape == (12, 64)
    emae_model.zero_grad()
    losses = emae_model.loss(x, [])
    assert set(losses) == {'loss_rec', 'loss_sc'}
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    no_grad = [n for n, p in emae_model.named_parameters()
               if p.requires_grad and (p.grad is None or
                                       not p.grad.abs().sum())]
    assert not no_grad


def test_reconstruction_equals_mae_on_the_same_masks(emae_model,
                                                     monkeypatch):
    """sc weight 0: EMAE's loss is the mean of MAE's losses, each computed
    by mmpretrain's MAE (same weights) on one of the K parts' masks."""
    from mmpretrain.models.selfsup.mae import MAEViT
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(SMOKE).model
    cfg.type, cfg.backbone.type = 'MAE', 'MAEViT'
    cfg.pop('sc_weight')
    cfg.pop('sc_distance')
    mae = MODELS.build(cfg)
    mae.load_state_dict(emae_model.state_dict())
    x = torch.randn(2, 3, 32, 32)
    noise = torch.rand(2, 64, generator=torch.Generator().manual_seed(1))
    parts = parallel_masks(2, 64, 0.75, noise=noise)
    import backbones.emae as emae_module
    monkeypatch.setattr(emae_module, 'parallel_masks',
                        lambda *a, **k: parts)
    emae_model.sc_weight = 0
    try:
        ours = emae_model.loss(x, [])
    finally:
        emae_model.sc_weight = 1.0
    assert set(ours) == {'loss_rec'}
    per_part = []
    for i in range(4):
        def masking(self, tokens, ratio, i=i):
            keep = parts['ids_keep'][i]
            kept = tokens.gather(1, keep[..., None].expand(
                -1, -1, tokens.shape[-1]))
            return kept, parts['mask'][i], parts['ids_restore'][i]
        monkeypatch.setattr(MAEViT, 'random_masking', masking)
        per_part.append(mae.loss(x, [])['loss'])
    assert torch.allclose(ours['loss_rec'], torch.stack(per_part).mean(),
                          atol=1e-6)


def test_matched_budget_schedule_options_apply_to_the_smoke_config():
    import argparse

    from mmengine.config import DictAction

    from benchmarks.matched_budget import schedule_options
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    options = parser.parse_args(
        ['--cfg-options', *schedule_options(7, 3)]).cfg_options
    cfg = Config.fromfile(SMOKE)
    cfg.merge_from_dict(options)
    warm, cos = cfg.param_scheduler
    assert cfg.train_cfg.max_epochs == 7 and warm.end == cos.begin == 3
    assert (cos.T_max, cos.end) == (4, 7)
    assert cfg.default_hooks.checkpoint.interval == 7

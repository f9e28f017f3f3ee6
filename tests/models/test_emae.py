"""EMAE: the parallel mask strategy's invariants, the K * B pass, the loss
terms, the stop-gradient, and equivalence with MAE on the same masks."""
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from backbones.masking.parallel import parallel_masks
from backbones.models.selfsup.emae import self_consistency
from conftest import CONFIGS

SMOKE = f'{CONFIGS}/emae/emae_vit-tiny-p4_1xb32-coslr-30e_tiny-in1k-32px.py'


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
    import backbones.models.selfsup.emae as emae_module
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

"""Official MAE checkpoints (timm key layout, as facebookresearch/mae
writes them) import into the suite's layout; anything else is refused."""
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from timm.models.vision_transformer import VisionTransformer as TimmViT

from backbones.checkpoint import BackboneKeysError, load_strict
from backbones.converters import convert_official_mae
from conftest import SMOKE_PRETRAIN, run_cli

DIM, DEPTH, HEADS, PATCH, SIZE = 64, 4, 4, 4, 32


def official_pretrain_state():
    """What models_mae.MaskedAutoencoderViT saves, at the smoke size: the
    timm encoder (cls token, no head) plus the timm-block decoder."""
    torch.manual_seed(0)
    enc = TimmViT(img_size=SIZE, patch_size=PATCH, embed_dim=DIM,
                  depth=DEPTH, num_heads=HEADS, num_classes=0,
                  qkv_bias=True)
    dec = TimmViT(img_size=SIZE, patch_size=PATCH, embed_dim=DIM, depth=2,
                  num_heads=4, num_classes=0)
    state = {k: v for k, v in enc.state_dict().items()}
    for k, v in dec.state_dict().items():
        if k.startswith('blocks.'):
            state['decoder_' + k] = v
    grid = (SIZE // PATCH)**2
    state.update({
        'mask_token': torch.randn(1, 1, DIM),
        'decoder_embed.weight': torch.randn(DIM, DIM),
        'decoder_embed.bias': torch.randn(DIM),
        'decoder_pos_embed': torch.randn(1, grid + 1, DIM),
        'decoder_norm.weight': torch.randn(DIM),
        'decoder_norm.bias': torch.randn(DIM),
        'decoder_pred.weight': torch.randn(PATCH * PATCH * 3, DIM),
        'decoder_pred.bias': torch.randn(PATCH * PATCH * 3),
    })
    return enc, state


def smoke_mae_model():
    from mmpretrain.registry import MODELS

    import backbones  # noqa: F401
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(SMOKE_PRETRAIN)
    return MODELS.build(cfg.model)


def test_pretrain_checkpoint_fills_the_mae_model_and_matches_timm():
    enc, state = official_pretrain_state()
    converted = convert_official_mae(state)
    model = smoke_mae_model()
    load_strict(model, converted, 'official')  # no missing, no unexpected
    x = torch.randn(2, 3, SIZE, SIZE)
    enc.eval()
    model.eval()
    with torch.no_grad():
        ours = model.backbone(x, mask=None)[0][:, 0]  # cls, final norm
        theirs = enc.forward_features(x)[:, 0]
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_finetuned_checkpoint_maps_fc_norm_and_head():
    enc = TimmViT(img_size=SIZE, patch_size=PATCH, embed_dim=DIM,
                  depth=DEPTH, num_heads=HEADS, num_classes=8,
                  global_pool='avg', fc_norm=True)
    converted = convert_official_mae(enc.state_dict())
    assert {'backbone.ln2.weight', 'head.fc.weight',
            'head.fc.bias'} <= set(converted)
    assert not any(k.startswith('backbone.ln1') for k in converted)


def test_unknown_keys_are_listed():
    _, state = official_pretrain_state()
    state['something.else'] = torch.zeros(1)
    with pytest.raises(BackboneKeysError, match=r"something\.else"):
        convert_official_mae(state, 'x.pth')
    with pytest.raises(BackboneKeysError, match='no encoder blocks'):
        convert_official_mae({'cls_token': torch.zeros(1)}, 'y.pth')


def test_cli_writes_a_loadable_checkpoint(tmp_path):
    _, state = official_pretrain_state()
    torch.save({'model': state}, tmp_path / 'mae_pretrain.pth')
    run_cli([sys.executable, '-m', 'benchmarks.convert', 'mae',
             str(tmp_path / 'mae_pretrain.pth'), str(tmp_path / 'ours.pth')])
    from backbones.compat import safe_torch_load
    ckpt = safe_torch_load(str(tmp_path / 'ours.pth'))
    assert 'backbone.layers.3.ffn.layers.1.weight' in ckpt['state_dict']
    torch.save({'model': {'foo': torch.zeros(1)}}, tmp_path / 'bad.pth')
    proc = run_cli([sys.executable, '-m', 'benchmarks.convert', 'mae',
                    str(tmp_path / 'bad.pth'), str(tmp_path / 'no.pth')],
                   check=False)
    assert proc.returncode == 1 and "'foo'" in proc.stderr
    assert not (tmp_path / 'no.pth').exists()

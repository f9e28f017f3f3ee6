"""Strict loading of a pretrained encoder into a downstream backbone."""
import pytest
import torch
from mmengine.model import BaseModule
from mmengine.registry import WEIGHT_INITIALIZERS
from mmpretrain.models import VisionTransformer

from backbones.engine.checkpoint import BackboneKeysError, StrictPretrainedInit

TINY = dict(arch=dict(embed_dims=32, num_layers=2, num_heads=2,
                      feedforward_channels=64), img_size=32, patch_size=4)


def save_pretrain(path, **kwargs):
    """A whole-model checkpoint whose backbone is a tiny ViT."""
    vit = VisionTransformer(**{**TINY, **kwargs})
    state = {f'backbone.{k}': v for k, v in vit.state_dict().items()}
    state['neck.decoder.weight'] = torch.zeros(1)
    torch.save({'state_dict': state, 'meta': {}}, path)
    return vit


def test_pretrained_is_replaced():
    assert WEIGHT_INITIALIZERS.get('Pretrained') is StrictPretrainedInit


def test_exact_fit_loads_weights(tmp_path):
    path = str(tmp_path / 'pre.pth')
    src = save_pretrain(path)
    dst = VisionTransformer(**TINY, init_cfg=dict(
        type='Pretrained', checkpoint=path, prefix='backbone.'))
    dst.init_weights()
    for (k, a), b in zip(src.state_dict().items(),
                         dst.state_dict().values()):
        assert torch.equal(a, b), k


def test_missing_and_unexpected_keys_are_listed(tmp_path):
    path = str(tmp_path / 'pre.pth')
    save_pretrain(path)  # final_norm=True, cls token out -> has ln1
    dst = VisionTransformer(**TINY, final_norm=False, out_type='avg_featmap',
                            init_cfg=dict(type='Pretrained', checkpoint=path,
                                          prefix='backbone.'))
    with pytest.raises(BackboneKeysError) as info:
        dst.init_weights()
    msg = str(info.value)
    assert 'ln2.weight' in msg and 'ln1.weight' in msg and 'pre.pth' in msg


def test_allowed_patterns_pass(tmp_path):
    path = str(tmp_path / 'pre.pth')
    save_pretrain(path)
    dst = VisionTransformer(**TINY, final_norm=False, out_type='avg_featmap',
                            init_cfg=dict(type='Pretrained', checkpoint=path,
                                          prefix='backbone.',
                                          allow_missing=['ln2.*'],
                                          allow_unexpected=['ln1.*']))
    dst.init_weights()


def test_shape_mismatch_names_the_checkpoint(tmp_path):
    path = str(tmp_path / 'wide.pth')
    save_pretrain(path, arch=dict(embed_dims=64, num_layers=2, num_heads=2,
                                  feedforward_channels=64))
    dst = VisionTransformer(**TINY, init_cfg=dict(
        type='Pretrained', checkpoint=path, prefix='backbone.'))
    with pytest.raises(BackboneKeysError,
                       match=r'(?s)wide\.pth.*size mismatch for cls_token'):
        dst.init_weights()


def test_wrong_prefix_lists_available_prefixes(tmp_path):
    path = str(tmp_path / 'pre.pth')
    save_pretrain(path)
    dst = VisionTransformer(**TINY, init_cfg=dict(
        type='Pretrained', checkpoint=path, prefix='encoder.'))
    with pytest.raises(BackboneKeysError, match=r"'backbone\.'"):
        dst.init_weights()


def test_empty_checkpoint_path_explains_how_to_set_it():
    dst = VisionTransformer(**TINY, init_cfg=dict(
        type='Pretrained', checkpoint='', prefix='backbone.'))
    with pytest.raises(BackboneKeysError, match='init_cfg.checkpoint'):
        dst.init_weights()


def test_without_prefix_keeps_mmengine_behaviour(tmp_path):
    # Upstream configs load whole models leniently (e.g. torchvision
    # ResNets with an extra fc): unchanged.
    path = str(tmp_path / 'whole.pth')
    torch.save({'state_dict': {'extra.weight': torch.zeros(1)}}, path)

    class Tiny(BaseModule):

        def __init__(self):
            super().__init__(init_cfg=dict(type='Pretrained',
                                           checkpoint=path))
            self.fc = torch.nn.Linear(2, 2)

    Tiny().init_weights()

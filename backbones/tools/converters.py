"""Import released checkpoints into the suite's (mmpretrain) layout.

* :func:`convert_official_mae` maps facebookresearch/mae checkpoints (timm
  key layout; pretrained with decoder, or fine-tuned with ``fc_norm`` and
  ``head``) onto ``MAE`` (``backbone.`` = ``MAEViT`` / ``VisionTransformer``,
  ``neck.`` = ``MAEPretrainDecoder``) and ``ImageClassifier`` (``head.fc``).
* :func:`convert_official_convmae` maps Alpha-VL/ConvMAE checkpoints
  (``models_convmae.py`` pretrained with decoder, or ``models_convvit.py``
  fine-tuned with ``fc_norm`` and ``head``) onto ``MAE`` with
  ``ConvMAEViT`` / ``ConvMAEDecoder`` and ``ImageClassifier`` with
  ``ConvViT``. The convolution stages keep their official names; the
  transformer blocks become mmpretrain ``TransformerEncoderLayer`` s.
* :func:`convert_official_ummae_swin` maps implus/UM-MAE Swin checkpoints
  (``models_mae_swin.py`` pretrained with decoder, or ``models_swin.py``
  fine-tuned with ``fc_norm`` and ``head``) onto ``UMMAE`` with
  ``UMMAESwin`` / ``UMMAEDecoder`` and ``ImageClassifier`` with
  ``CoordSwin``, whose encoder keys are the official ones;
  :func:`convert_official_ummae_pvt` does the same for its PVT
  (``models_mae_pvt.py``, ``models_pvt.py``; ``UMMAEPVT``, ``CoordPVT``).
* :func:`convert_official_simmim_swin` and :func:`convert_official_simmim_pvt`
  map UM-MAE's SimMIM baselines (``models_simmim_swin.py``,
  ``models_simmim_pvt.py``) onto ``SimMIM`` with ``SimMIMCoordSwin`` /
  ``SimMIMCoordPVT`` and ``SimMIMLinearDecoder`` (the linear pixel decoder's
  outputs reordered for the decoder's pixel shuffle).

Every key must be recognised: a file with anything else is refused with the
list of keys, so a checkpoint of another model never half-loads.
"""
import re
from collections import OrderedDict
from typing import Callable, Dict, List, Optional, Tuple

from ..engine.checkpoint import BackboneKeysError

Rule = Tuple[str, Callable[[re.Match], str]]
# (official timm block sub-key, mmpretrain TransformerEncoderLayer sub-key)
_BLOCK = (
    ('norm1.', 'ln1.'),
    ('attn.qkv.', 'attn.qkv.'),
    ('attn.proj.', 'attn.proj.'),
    ('norm2.', 'ln2.'),
    ('mlp.fc1.', 'ffn.layers.0.0.'),
    ('mlp.fc2.', 'ffn.layers.1.'),
)
_PARAM = r'(weight|bias)'


def _same(prefix: str) -> Callable[[re.Match], str]:
    """Keep the official key, under ``prefix``."""
    return lambda m: prefix + m[0]


def _block_rules(official: str, ours: str) -> List[Rule]:
    """timm blocks ``official.N.*`` -> ``ours.N.*`` (mmpretrain names)."""
    return [(rf'{official}\.(\d+)\.{re.escape(src)}{_PARAM}',
             lambda m, d=dst: f'{ours}.{m[1]}.{d}{m[2]}')
            for src, dst in _BLOCK]


def _decoder_and_head_rules() -> List[Rule]:
    """MAE's decoder -> ``neck.``, classifier -> ``head.fc`` (MAE, ConvMAE).
    """
    return [
        (r'mask_token|decoder_pos_embed', _same('neck.')),
        (rf'decoder_(embed|pred)\.{_PARAM}', _same('neck.')),
        (rf'decoder_norm\.{_PARAM}', lambda m: f'neck.ln1.{m[1]}'),
        (rf'head\.{_PARAM}', lambda m: f'head.fc.{m[1]}'),
    ] + _block_rules('decoder_blocks', 'neck.decoder_blocks')


def _compile(rules: List[Rule]) -> List[Tuple[re.Pattern, Callable]]:
    return [(re.compile(f'(?:{p})$'), f) for p, f in rules]


_MAE_RULES = _compile([
    (r'cls_token|pos_embed', _same('backbone.')),
    (rf'patch_embed\.proj\.{_PARAM}',
     lambda m: f'backbone.patch_embed.projection.{m[1]}'),
    (rf'norm\.{_PARAM}', lambda m: f'backbone.ln1.{m[1]}'),
    (rf'fc_norm\.{_PARAM}', lambda m: f'backbone.ln2.{m[1]}'),
] + _block_rules('blocks', 'backbone.layers') + _decoder_and_head_rules())

_CONVMAE_RULES = _compile([
    (r'pos_embed', _same('backbone.')),
    (rf'patch_embed[123]\.(proj|norm)\.{_PARAM}', _same('backbone.')),
    (rf'(patch_embed4|stage[12]_output_decode|norm|fc_norm)\.{_PARAM}',
     _same('backbone.')),
    (rf'blocks[12]\.\d+\.(norm1|conv1|attn|conv2|norm2|mlp\.fc1|mlp\.fc2)'
     rf'\.{_PARAM}', _same('backbone.')),
] + _block_rules('blocks3', 'backbone.blocks3') + _decoder_and_head_rules())


_SWIN_ENCODER: List[Rule] = [
    (rf'patch_embed\.(proj|norm)\.{_PARAM}', _same('backbone.')),
    (rf'blocks\.\d+\.(norm1|norm2|attn\.qkv|attn\.proj|attn\.posmlp\.[02]|'
     rf'mlp\.fc1|mlp\.fc2|downsample\.norm|downsample\.proj)\.{_PARAM}',
     _same('backbone.')),
    (rf'(?:fc_norm|norm)\.{_PARAM}', lambda m: f'backbone.norm.{m[1]}'),
]
_PVT_ENCODER: List[Rule] = [
    (rf'patch_embed\.proj\.{_PARAM}|pos_embed', _same('backbone.')),
    (rf'blocks\.\d+\.(norm1|norm2|attn\.q|attn\.kv|attn\.proj|attn\.sr|'
     rf'attn\.norm|mlp\.fc1|mlp\.fc2|downsample\.proj)\.{_PARAM}',
     _same('backbone.')),
    (rf'(?:fc_norm|norm)\.{_PARAM}', lambda m: f'backbone.norm.{m[1]}'),
]
_VIS_MASK_TOKEN: Rule = (r'vis_mask_token',
                         lambda m: 'backbone.vis_mask_token')
# SimMIM (models_simmim_swin.py / models_simmim_pvt.py): the encoder's
# mask token and a linear pixel decoder (-> SimMIMLinearDecoder's conv)
_SIMMIM: List[Rule] = [
    (r'mask_token', lambda m: 'backbone.mask_token'),
    (rf'decoder_pred\.{_PARAM}', lambda m: f'neck.decoder.0.{m[1]}'),
]
_UMMAE_SWIN_RULES = _compile(_SWIN_ENCODER + [_VIS_MASK_TOKEN]
                             + _decoder_and_head_rules())
_UMMAE_PVT_RULES = _compile(_PVT_ENCODER + [_VIS_MASK_TOKEN]
                            + _decoder_and_head_rules())
_SIMMIM_SWIN_RULES = _compile(_SWIN_ENCODER + _SIMMIM)
_SIMMIM_PVT_RULES = _compile(_PVT_ENCODER + _SIMMIM)


def _convert(state_dict: Dict, rules, source: str, name: str,
             required: str) -> OrderedDict:
    out, unknown = OrderedDict(), []
    for key, value in state_dict.items():
        new: Optional[str] = None
        for pattern, rename in rules:
            match = pattern.match(key)
            if match:
                new = rename(match)
                break
        if new is None:
            unknown.append(key)
        else:
            out[new] = value
    if unknown or not any(k.startswith(required) for k in out):
        raise BackboneKeysError(
            f'{source} is not an official {name} checkpoint: '
            f'{len(unknown)} unrecognised keys {unknown[:50]}'
            + ('' if unknown else ' (and no encoder blocks)'))
    return out


def convert_official_mae(state_dict: Dict, source: str = 'checkpoint'
                         ) -> OrderedDict:
    """Rename an official MAE state dict to the suite's layout.

    Args:
        state_dict (dict): ``torch.load(path)['model']`` of a released MAE
            checkpoint (``mae_pretrain_vit_*.pth``, ``mae_visualize_*.pth``
            or ``mae_finetuned_vit_*.pth``).
        source (str): Name for error messages.

    Returns:
        OrderedDict: Tensors under ``backbone.``, ``neck.`` and ``head.``.

    Raises:
        BackboneKeysError: Keys that are not in the official MAE layout are
            listed (the file is another model's, or not MAE's at all).
    """
    return _convert(state_dict, _MAE_RULES, source, 'MAE',
                    'backbone.layers.')


def convert_official_convmae(state_dict: Dict, source: str = 'checkpoint'
                             ) -> OrderedDict:
    """Rename an official ConvMAE state dict to the suite's layout.

    Args:
        state_dict (dict): ``torch.load(path)['model']`` of a released
            ConvMAE checkpoint (pretrained ``convmae_base.pth`` with the
            decoder, or a fine-tuned ConvViT with ``fc_norm`` and ``head``).
        source (str): Name for error messages.

    Returns:
        OrderedDict: Tensors under ``backbone.``, ``neck.`` and ``head.``.

    Raises:
        BackboneKeysError: Keys that are not in the official ConvMAE layout
            are listed (e.g. a detection checkpoint with relative position
            tables, or another model's file).
    """
    return _convert(state_dict, _CONVMAE_RULES, source, 'ConvMAE',
                    'backbone.blocks3.')


def _convert_ummae(state_dict: Dict, rules, source: str,
                   name: str) -> OrderedDict:
    """UM-MAE layouts: the final norm is ``norm`` (pretraining, per token)
    or ``fc_norm`` (fine-tuning, after pooling), both ``backbone.norm``;
    the secondary mask token ``(1, 1, C)`` becomes ``(1, C)``."""
    if {'norm.weight', 'fc_norm.weight'} <= set(state_dict):
        raise BackboneKeysError(
            f'{source} has both norm and fc_norm: which one is the final '
            'norm of the encoder is ambiguous')
    out = _convert(state_dict, rules, source, name, 'backbone.blocks.')
    if 'backbone.vis_mask_token' in out:
        out['backbone.vis_mask_token'] = out[
            'backbone.vis_mask_token'].reshape(1, -1)
    return out


def convert_official_ummae_swin(state_dict: Dict,
                                source: str = 'checkpoint') -> OrderedDict:
    """Rename an official UM-MAE Swin state dict to the suite's layout.

    The official pretraining keeps its secondary mask token as a
    ``(1, 1, C)`` parameter and its final ``norm`` per token; fine-tuning
    replaces the norm by ``fc_norm`` after pooling. Both become
    ``backbone.norm`` (our ``CoordSwin`` with ``out_type='avg_featmap'``).

    Args:
        state_dict (dict): ``torch.load(path)['model']`` of a released
            UM-MAE Swin checkpoint (pretrained or fine-tuned).
        source (str): Name for error messages.

    Returns:
        OrderedDict: Tensors under ``backbone.``, ``neck.`` and ``head.``.

    Raises:
        BackboneKeysError: Keys that are not in the official UM-MAE Swin
            layout are listed (e.g. a PVT or a detection checkpoint).
    """
    return _convert_ummae(state_dict, _UMMAE_SWIN_RULES, source,
                          'UM-MAE Swin')


def convert_official_ummae_pvt(state_dict: Dict,
                               source: str = 'checkpoint') -> OrderedDict:
    """Rename an official UM-MAE PVT state dict to the suite's layout.

    As :func:`convert_official_ummae_swin`; the encoder keys (position
    table included) are the official ones of ``CoordPVT``. A table of
    another grid than the model's is resized when the model loads it.

    Args:
        state_dict (dict): ``torch.load(path)['model']`` of a released
            UM-MAE PVT checkpoint (pretrained or fine-tuned).
        source (str): Name for error messages.

    Returns:
        OrderedDict: Tensors under ``backbone.``, ``neck.`` and ``head.``.

    Raises:
        BackboneKeysError: Keys that are not in the official UM-MAE PVT
            layout are listed (e.g. a Swin or a detection checkpoint).
    """
    return _convert_ummae(state_dict, _UMMAE_PVT_RULES, source,
                          'UM-MAE PVT')


def _convert_simmim(state_dict: Dict, rules, source: str,
                    name: str) -> OrderedDict:
    """UM-MAE's SimMIM layouts. The mask token ``(1, 1, C)`` becomes
    ``(1, C)``; the decoder, a linear layer to ``4 * p * p * 3`` values
    per stage-4 token whose pixel shuffle by 2 gives one ``p * p * 3``
    patch vector (row, column, channel) per ``p``-pixel patch, becomes the
    1 x 1 conv of ``SimMIMLinearDecoder(encoder_stride=2 * p)``, whose
    pixel shuffle orders its ``(2p)^2 * 3`` channels as (channel, row,
    column) of the ``2p x 2p`` pixels under the token."""
    out = _convert(state_dict, rules, source, name, 'backbone.blocks.')
    if 'backbone.mask_token' in out:
        out['backbone.mask_token'] = out['backbone.mask_token'].reshape(
            1, -1)
    for key in ('neck.decoder.0.weight', 'neck.decoder.0.bias'):
        if key not in out:
            continue
        value = out[key]
        p = int(round((value.shape[0] / 12)**.5))
        if 12 * p * p != value.shape[0]:
            raise BackboneKeysError(
                f'{source}: {key} has {value.shape[0]} outputs, not '
                f'4 * p * p * 3 for a patch side p')
        # official output k = (((row * p + col) * 3 + ch) * 2 + i) * 2 + j
        # for pixel (i * p + row, j * p + col) of channel ch
        value = value.reshape(p, p, 3, 2, 2, -1).permute(2, 3, 0, 4, 1, 5)
        value = value.reshape(12 * p * p, -1)
        out[key] = value[..., None, None] if key.endswith('weight') \
            else value[:, 0]
    return out


def convert_official_simmim_swin(state_dict: Dict,
                                 source: str = 'checkpoint') -> OrderedDict:
    """Rename an official UM-MAE SimMIM Swin state dict to the suite's
    layout (``SimMIM`` with ``SimMIMCoordSwin`` and
    ``SimMIMLinearDecoder``).

    Args:
        state_dict (dict): ``torch.load(path)['model']`` of implus/UM-MAE
            ``models_simmim_swin.py`` (``simmim_swin_tiny_256``).
        source (str): Name for error messages.

    Returns:
        OrderedDict: Tensors under ``backbone.`` and ``neck.``.

    Raises:
        BackboneKeysError: Keys that are not in the official SimMIM Swin
            layout are listed (e.g. a UM-MAE checkpoint with its decoder).
    """
    return _convert_simmim(state_dict, _SIMMIM_SWIN_RULES, source,
                           'SimMIM Swin')


def convert_official_simmim_pvt(state_dict: Dict,
                                source: str = 'checkpoint') -> OrderedDict:
    """Rename an official UM-MAE SimMIM PVT state dict to the suite's
    layout (``SimMIM`` with ``SimMIMCoordPVT`` and
    ``SimMIMLinearDecoder``); as :func:`convert_official_simmim_swin`.

    Args:
        state_dict (dict): ``torch.load(path)['model']`` of implus/UM-MAE
            ``models_simmim_pvt.py`` (``simmim_pvt_small_256``).
        source (str): Name for error messages.

    Returns:
        OrderedDict: Tensors under ``backbone.`` and ``neck.``.

    Raises:
        BackboneKeysError: Keys that are not in the official SimMIM PVT
            layout are listed.
    """
    return _convert_simmim(state_dict, _SIMMIM_PVT_RULES, source,
                           'SimMIM PVT')

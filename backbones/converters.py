"""Import released checkpoints into the suite's (mmpretrain) layout.

:func:`convert_official_mae` maps the checkpoints of facebookresearch/mae
(timm key layout; pretrained with decoder, or fine-tuned with ``fc_norm``
and ``head``) onto ``MAE`` (``backbone.`` = ``MAEViT`` /
``VisionTransformer``, ``neck.`` = ``MAEPretrainDecoder``) and
``ImageClassifier`` (``head.fc``). Every key must be recognised: a file
with anything else is refused with the list of keys, so a checkpoint of
another model never half-loads.
"""
import re
from collections import OrderedDict
from typing import Callable, Dict, List, Optional, Tuple

from .checkpoint import BackboneKeysError

# (official block sub-key, mmpretrain TransformerEncoderLayer sub-key)
_BLOCK = (
    ('norm1.', 'ln1.'),
    ('attn.qkv.', 'attn.qkv.'),
    ('attn.proj.', 'attn.proj.'),
    ('norm2.', 'ln2.'),
    ('mlp.fc1.', 'ffn.layers.0.0.'),
    ('mlp.fc2.', 'ffn.layers.1.'),
)
_PARAM = r'(weight|bias)'


def _mae_rules() -> List[Tuple[str, Callable[[re.Match], str]]]:
    rules = [
        (r'cls_token', lambda m: 'backbone.cls_token'),
        (r'pos_embed', lambda m: 'backbone.pos_embed'),
        (rf'patch_embed\.proj\.{_PARAM}',
         lambda m: f'backbone.patch_embed.projection.{m[1]}'),
        (rf'norm\.{_PARAM}', lambda m: f'backbone.ln1.{m[1]}'),
        (rf'fc_norm\.{_PARAM}', lambda m: f'backbone.ln2.{m[1]}'),
        (rf'head\.{_PARAM}', lambda m: f'head.fc.{m[1]}'),
        (r'mask_token', lambda m: 'neck.mask_token'),
        (r'decoder_pos_embed', lambda m: 'neck.decoder_pos_embed'),
        (rf'decoder_embed\.{_PARAM}',
         lambda m: f'neck.decoder_embed.{m[1]}'),
        (rf'decoder_norm\.{_PARAM}', lambda m: f'neck.ln1.{m[1]}'),
        (rf'decoder_pred\.{_PARAM}',
         lambda m: f'neck.decoder_pred.{m[1]}'),
    ]
    for src, dst in _BLOCK:
        for official, ours in (('blocks', 'backbone.layers'),
                               ('decoder_blocks', 'neck.decoder_blocks')):
            rules.append((
                rf'{official}\.(\d+)\.{re.escape(src)}{_PARAM}',
                lambda m, o=ours, d=dst: f'{o}.{m[1]}.{d}{m[2]}'))
    return [(re.compile(p + '$'), f) for p, f in rules]


_MAE_RULES = _mae_rules()


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
    out, unknown = OrderedDict(), []
    for key, value in state_dict.items():
        new: Optional[str] = None
        for pattern, rename in _MAE_RULES:
            match = pattern.match(key)
            if match:
                new = rename(match)
                break
        if new is None:
            unknown.append(key)
        else:
            out[new] = value
    if unknown or not any(k.startswith('backbone.layers.') for k in out):
        raise BackboneKeysError(
            f'{source} is not an official MAE checkpoint: '
            f'{len(unknown)} unrecognised keys {unknown[:50]}'
            + ('' if unknown else ' (and no encoder blocks)'))
    return out

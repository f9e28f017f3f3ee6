"""Loading a pretrained encoder into a downstream model, loudly.

MMEngine's ``Pretrained`` initializer only *logs* missing and unexpected keys,
so a downstream run can silently train from random weights when a prefix or
an architecture does not match. :class:`StrictPretrainedInit` replaces the
``Pretrained`` entry of MMEngine's ``WEIGHT_INITIALIZERS`` (so every config
and every backbone that checks ``init_cfg['type'] == 'Pretrained'`` keeps
working) and, whenever a ``prefix`` is given, raises
:class:`BackboneKeysError` listing every key that was missing, unexpected or
of the wrong shape. Keys a protocol deliberately drops or adds (for example
MAE fine-tuning replaces the final ``ln1`` by a fresh ``ln2``) are named with
``allow_missing`` / ``allow_unexpected`` glob patterns in the config.
"""
import fnmatch
from collections import OrderedDict
from typing import Dict, Iterable, Optional, Sequence

import torch
from mmengine.logging import print_log
from mmengine.model.weight_init import PretrainedInit, update_init_info
from mmengine.registry import WEIGHT_INITIALIZERS
from mmengine.runner.checkpoint import CheckpointLoader
from torch import nn


class BackboneKeysError(KeyError):
    """A checkpoint does not fit the module it is loaded into."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


def extract_state_dict(checkpoint: dict, source: str) -> Dict:
    """Return the model weights stored in a checkpoint dict.

    Args:
        checkpoint (dict): An object loaded from a checkpoint file.
        source (str): Where it came from, for error messages.

    Returns:
        dict: ``checkpoint['state_dict']``, ``checkpoint['model']`` or the
        checkpoint itself when it is a plain state dict.
    """
    if not isinstance(checkpoint, dict):
        raise BackboneKeysError(
            f'{source}: expected a dict checkpoint, got '
            f'{type(checkpoint).__name__}')
    for key in ('state_dict', 'model'):
        if key in checkpoint and isinstance(checkpoint[key], dict):
            return checkpoint[key]
    return checkpoint


def strip_prefix(state_dict: Dict, prefix: str, source: str) -> OrderedDict:
    """Keep the entries under ``prefix`` with the prefix removed.

    Raises:
        BackboneKeysError: No key starts with ``prefix``; the message shows
            the prefixes the file does have.
    """
    out = OrderedDict((k[len(prefix):], v) for k, v in state_dict.items()
                      if k.startswith(prefix))
    if not out:
        heads = sorted({k.split('.', 1)[0] + '.' for k in state_dict})
        raise BackboneKeysError(
            f'{source}: no key starts with {prefix!r}; the checkpoint has '
            f'the prefixes {heads[:10]}')
    return out


def _matches(key: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(key, p) for p in patterns)


def load_strict(module: nn.Module,
                state_dict: Dict,
                source: str,
                allow_missing: Sequence[str] = (),
                allow_unexpected: Sequence[str] = ()) -> None:
    """Load ``state_dict`` into ``module``; fail on any key that does not fit.

    The module's own ``load_state_dict`` pre-hooks run first, so position
    embeddings of another grid size are resized by the backbone (which logs
    it) before shapes are compared.

    Args:
        module (nn.Module): The receiving module (e.g. a backbone).
        state_dict (dict): Weights with the module's own key names.
        source (str): Checkpoint path and prefix, for error messages.
        allow_missing (Sequence[str]): Glob patterns of module keys that may
            stay at their initial value. Defaults to ().
        allow_unexpected (Sequence[str]): Glob patterns of checkpoint keys
            that may be dropped. Defaults to ().

    Raises:
        BackboneKeysError: Lists the missing, unexpected and mismatched keys.
    """
    try:
        result = module.load_state_dict(state_dict, strict=False)
    except RuntimeError as err:  # size mismatches, listed by torch
        raise BackboneKeysError(
            f'{source} does not fit {type(module).__name__}: {err}') from err
    missing = [k for k in result.missing_keys
               if not _matches(k, allow_missing)]
    unexpected = [k for k in result.unexpected_keys
                  if not _matches(k, allow_unexpected)]
    if missing or unexpected:
        raise BackboneKeysError(
            f'{source} does not fit {type(module).__name__}: '
            f'{len(missing)} missing keys {missing}, '
            f'{len(unexpected)} unexpected keys {unexpected}. Check the '
            'architecture and prefix, or name deliberate differences in '
            'init_cfg allow_missing / allow_unexpected.')


@WEIGHT_INITIALIZERS.register_module(name='Pretrained', force=True)
class StrictPretrainedInit(PretrainedInit):
    """MMEngine's ``Pretrained`` initializer, strict when a prefix is given.

    Args:
        checkpoint (str): Checkpoint file.
        prefix (str, optional): Sub-module prefix in the checkpoint, e.g.
            ``'backbone.'``. Without it the behaviour is MMEngine's (whole
            model, keys logged), as upstream configs expect. Defaults to None.
        map_location (str): As :func:`torch.load`. Defaults to 'cpu'.
        strict (bool, optional): Fail on missing/unexpected keys. Defaults
            to None, meaning True with a prefix and False without.
        allow_missing (Sequence[str]): Glob patterns of module keys that may
            be absent from the checkpoint. Defaults to ().
        allow_unexpected (Sequence[str]): Glob patterns of checkpoint keys
            the module may not have. Defaults to ().
    """

    def __init__(self,
                 checkpoint: str,
                 prefix: Optional[str] = None,
                 map_location: str = 'cpu',
                 strict: Optional[bool] = None,
                 allow_missing: Sequence[str] = (),
                 allow_unexpected: Sequence[str] = ()) -> None:
        super().__init__(checkpoint, prefix, map_location)
        self.strict = prefix is not None if strict is None else strict
        self.allow_missing = tuple(allow_missing)
        self.allow_unexpected = tuple(allow_unexpected)

    def __call__(self, module: nn.Module) -> None:
        if not self.checkpoint:
            raise BackboneKeysError(
                f'init_cfg of {type(module).__name__} has type Pretrained but '
                'an empty checkpoint path: set model.backbone.init_cfg.'
                'checkpoint (e.g. --cfg-options model.backbone.init_cfg.'
                'checkpoint=work_dirs/pretrain/epoch_N.pth)')
        if not self.strict:
            super().__call__(module)
            return
        source = f'{self.checkpoint} [prefix {self.prefix or "none"}]'
        print_log(f'strict load of {source} into {type(module).__name__}',
                  logger='current')
        ckpt = CheckpointLoader.load_checkpoint(self.checkpoint,
                                                self.map_location)
        state_dict = extract_state_dict(ckpt, self.checkpoint)
        if self.prefix:
            state_dict = strip_prefix(state_dict, self.prefix, source)
        load_strict(module, state_dict, source, self.allow_missing,
                    self.allow_unexpected)
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=self._get_init_info())


def check_loaded_checkpoint(module: nn.Module, checkpoint: str,
                            prefix: str, **allow) -> None:
    """Verify that ``checkpoint[prefix*]`` fits ``module`` exactly.

    Used where MMEngine's runner has already loaded a checkpoint non-strictly
    (``mim test ... --checkpoint``): the weights are loaded again strictly,
    which is a no-op on success and an error listing the keys otherwise.
    """
    ckpt = CheckpointLoader.load_checkpoint(checkpoint, 'cpu')
    source = f'{checkpoint} [prefix {prefix}]'
    state_dict = strip_prefix(extract_state_dict(ckpt, checkpoint), prefix,
                              source)
    with torch.no_grad():
        load_strict(module, state_dict, source, **allow)

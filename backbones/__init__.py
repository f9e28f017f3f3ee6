"""MIM transfer benchmark: modules registered into the OpenMMLab registries.

``import backbones`` (configs do it through ``custom_imports``)

* makes MMEngine's checkpoint loading safe and working on torch >= 2.6
  (:mod:`backbones.compat`),
* replaces MMEngine's ``Pretrained`` initializer by a strict one for prefixed
  loads (:mod:`backbones.checkpoint`),
* registers the suite's hooks (:mod:`backbones.hooks`), the kNN evaluation
  loop (:mod:`backbones.knn`) and an image loader whose errors name the file
  (:mod:`backbones.transforms`).
"""
from . import compat
from .checkpoint import BackboneKeysError, StrictPretrainedInit
from .hooks import (NonFiniteLossError, NonFiniteLossHook, RNGStateHook,
                    RunSummaryHook)
from .knn import KNNTestLoop
from .transforms import CorruptImageError, NamedLoadImageFromFile

compat.install()

__all__ = [
    'BackboneKeysError', 'CorruptImageError', 'KNNTestLoop',
    'NamedLoadImageFromFile', 'NonFiniteLossError', 'NonFiniteLossHook',
    'RNGStateHook', 'RunSummaryHook', 'StrictPretrainedInit'
]

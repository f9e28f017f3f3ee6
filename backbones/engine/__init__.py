"""Engine: what makes the OpenMMLab stack run the suite, and its loops.

* :mod:`~backbones.engine.compat`: safe checkpoint loading on torch >= 2.6
  (``weights_only`` with MMEngine's few classes) and scipy's removed
  ``interp2d``.
* :mod:`~backbones.engine.amp`: ``AmpOptimWrapper`` (bf16 autocast) on CPU,
  mmdet's proposals and RoI extraction under bf16.
* :mod:`~backbones.engine.cpu_dist`: MMEngine's launchers without CUDA
  (gloo, DDP without device ids, SyncBN as rank-consistent BN).
* :mod:`~backbones.engine.checkpoint`: strict loading of a pretrained
  encoder (``Pretrained`` initializer replaced).
* :mod:`~backbones.engine.layer_decay`: layer-wise lr decay for detectors
  and segmentors.
* :mod:`~backbones.engine.hooks`: non-finite loss, RNG state, time budget,
  start weights, run summary.
* :mod:`~backbones.engine.knn`: the kNN evaluation loop.
* :mod:`~backbones.engine.fileio`: atomic file writes.
"""
from . import amp, compat, cpu_dist
from .checkpoint import BackboneKeysError, StrictPretrainedInit
from .hooks import (InitCheckpointHook, NonFiniteLossError, NonFiniteLossHook,
                    RNGStateHook, RunSummaryHook, TimeBudgetHook)
from .knn import KNNTestLoop
from .layer_decay import BackboneLayerDecayOptimWrapperConstructor

__all__ = [
    'BackboneKeysError', 'BackboneLayerDecayOptimWrapperConstructor',
    'InitCheckpointHook', 'KNNTestLoop', 'NonFiniteLossError',
    'NonFiniteLossHook', 'RNGStateHook', 'RunSummaryHook',
    'StrictPretrainedInit', 'TimeBudgetHook', 'amp', 'compat', 'cpu_dist'
]

"""MIM transfer benchmark: modules registered into the OpenMMLab registries.

``import backbones`` (configs do it through ``custom_imports``) registers
everything below and applies the stack fixes of :mod:`backbones.engine`.
Dependencies point one way: ``tools`` -> ``models`` -> ``masking``,
``engine``; ``datasets`` and ``masking`` import nothing else of ours.

* :mod:`backbones.engine`: the stack fixes (:mod:`~backbones.engine.compat`
  safe checkpoint loading, :mod:`~backbones.engine.amp` bf16 on CPU and in
  mmdet, :mod:`~backbones.engine.cpu_dist` launchers without CUDA), strict
  pretrained loading (:mod:`~backbones.engine.checkpoint`), layer decay
  (:mod:`~backbones.engine.layer_decay`), hooks
  (:mod:`~backbones.engine.hooks`), the kNN loop
  (:mod:`~backbones.engine.knn`), atomic writes
  (:mod:`~backbones.engine.fileio`).
* :mod:`backbones.masking`: every mask strategy as a pure function: EMAE's
  parallel parts (:mod:`~backbones.masking.parallel`), ConvMAE's block-wise
  masks (:mod:`~backbones.masking.blockwise`), UM-MAE's uniform and
  secondary masks (:mod:`~backbones.masking.uniform`), SimMIM's
  (:mod:`~backbones.masking.simmim`), their noise
  (:mod:`~backbones.masking.noise`) and patch geometry
  (:mod:`~backbones.masking.geometry`).
* :mod:`backbones.models`: encoders (:mod:`~backbones.models.encoders`:
  :mod:`~backbones.models.encoders.convvit`,
  :mod:`~backbones.models.encoders.coord_swin`,
  :mod:`~backbones.models.encoders.coord_pvt` on
  :mod:`~backbones.models.encoders.pyramid`,
  :mod:`~backbones.models.encoders.windowed_vit`), the simple feature
  pyramid (:mod:`~backbones.models.necks`), the MAE-style decoders
  (:mod:`~backbones.models.decoders`), the pretraining algorithms
  (:mod:`~backbones.models.selfsup`: :mod:`~backbones.models.selfsup.emae`,
  :mod:`~backbones.models.selfsup.convmae`,
  :mod:`~backbones.models.selfsup.ummae`,
  :mod:`~backbones.models.selfsup.simmim_pyramid`) and their arch helper
  (:mod:`~backbones.models.utils`).
* :mod:`backbones.datasets`: COCO, ADE20K and ImageNet checked before
  training (:mod:`~backbones.datasets.checked`, checks in
  :mod:`~backbones.datasets.checks`) and an image loader whose errors name
  the file (:mod:`~backbones.datasets.transforms`).
* :mod:`backbones.tools`: released-checkpoint converters
  (:mod:`~backbones.tools.converters`) and reconstruction pictures
  (:mod:`~backbones.tools.reconstruction`).
"""
from .datasets import (CheckedADE20KDataset, CheckedCocoDataset,
                       CheckedImageNet, CorruptImageError, DatasetCheckError,
                       NamedLoadImageFromFile)
from .engine import (BackboneKeysError,
                     BackboneLayerDecayOptimWrapperConstructor,
                     InitCheckpointHook, KNNTestLoop, NonFiniteLossError,
                     NonFiniteLossHook, RNGStateHook, RunSummaryHook,
                     StrictPretrainedInit, TimeBudgetHook, amp, compat,
                     cpu_dist)
from .masking import block_masks, parallel_masks, upsample_mask
from .models import (EMAE, UMMAE, UMMAEPVT, ConvMAEDecoder, ConvMAEViT,
                     ConvViT, CoordPVT, CoordSwin, EMAEViT, SimMIMCoordPVT,
                     SimMIMCoordSwin, SimpleFeaturePyramid, UMMAEDecoder,
                     UMMAESwin, WindowedViT)

compat.install()
amp.install()
cpu_dist.install()

__all__ = [
    'BackboneKeysError', 'BackboneLayerDecayOptimWrapperConstructor',
    'CheckedADE20KDataset', 'CheckedCocoDataset', 'CheckedImageNet',
    'ConvMAEDecoder', 'ConvMAEViT', 'ConvViT', 'CoordPVT', 'CoordSwin',
    'CorruptImageError', 'DatasetCheckError', 'EMAE', 'EMAEViT',
    'InitCheckpointHook', 'KNNTestLoop',
    'NamedLoadImageFromFile', 'NonFiniteLossError', 'NonFiniteLossHook',
    'RNGStateHook', 'RunSummaryHook', 'SimMIMCoordPVT', 'SimMIMCoordSwin',
    'SimpleFeaturePyramid',
    'StrictPretrainedInit', 'TimeBudgetHook', 'UMMAE', 'UMMAEDecoder',
    'UMMAEPVT', 'UMMAESwin',
    'WindowedViT',
    'block_masks', 'parallel_masks', 'upsample_mask'
]

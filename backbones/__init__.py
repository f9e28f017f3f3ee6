"""MIM transfer benchmark: modules registered into the OpenMMLab registries.

``import backbones`` (configs do it through ``custom_imports``)

* makes MMEngine's checkpoint loading safe and working on torch >= 2.6
  (:mod:`backbones.compat`),
* makes ``AmpOptimWrapper`` (bf16 autocast) run on CPU and mmdet's
  proposals and RoI extraction run under bf16 (:mod:`backbones.amp`),
* makes MMEngine's multi-process launchers work without CUDA (gloo, DDP
  without device ids; :mod:`backbones.cpu_dist`),
* replaces MMEngine's ``Pretrained`` initializer by a strict one for prefixed
  loads (:mod:`backbones.checkpoint`),
* registers EMAE (:mod:`backbones.emae`), ConvMAE's encoder ``ConvViT``
  (:mod:`backbones.convvit`) and its pretraining parts
  (:mod:`backbones.convmae`), UM-MAE's coordinate-aware Swin ``CoordSwin``
  (:mod:`backbones.coord_swin`) and PVT ``CoordPVT``
  (:mod:`backbones.coord_pvt`) with their uniform masking
  (:mod:`backbones.uniform_masking`), UM-MAE's pretraining parts
  (:mod:`backbones.ummae`) and SimMIM on the same encoders
  (:mod:`backbones.simmim_pyramid`),
* registers the dense plain-ViT backbone ``WindowedViT``
  (:mod:`backbones.windowed_vit`), ViTDet's simple feature pyramid for mmdet
  (:mod:`backbones.simple_fpn`) and layer-wise lr decay for detectors and
  segmentors (:mod:`backbones.layer_decay`),
* converts released checkpoints (:mod:`backbones.converters`),
* registers the suite's hooks (:mod:`backbones.hooks`), the kNN evaluation
  loop (:mod:`backbones.knn`) and an image loader whose errors name the file
  (:mod:`backbones.transforms`),
* registers the COCO, ADE20K and ImageNet data sets checked before training
  (:mod:`backbones.datasets`, checks in :mod:`backbones.data_checks`).
"""
from . import amp, compat, cpu_dist
from .checkpoint import BackboneKeysError, StrictPretrainedInit
from .convmae import ConvMAEDecoder, ConvMAEViT, block_masks, upsample_mask
from .convvit import ConvViT
from .coord_pvt import CoordPVT
from .coord_swin import CoordSwin
from .data_checks import DatasetCheckError
from .datasets import CheckedADE20KDataset, CheckedCocoDataset, CheckedImageNet
from .emae import EMAE, EMAEViT, parallel_masks
from .hooks import (InitCheckpointHook, NonFiniteLossError, NonFiniteLossHook,
                    RNGStateHook, RunSummaryHook, TimeBudgetHook)
from .knn import KNNTestLoop
from .layer_decay import BackboneLayerDecayOptimWrapperConstructor
from .simmim_pyramid import SimMIMCoordPVT, SimMIMCoordSwin
from .simple_fpn import SimpleFeaturePyramid
from .transforms import CorruptImageError, NamedLoadImageFromFile
from .ummae import UMMAE, UMMAEPVT, UMMAEDecoder, UMMAESwin
from .windowed_vit import WindowedViT

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

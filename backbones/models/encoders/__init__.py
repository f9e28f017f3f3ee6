"""Encoders, one file each: ConvMAE's ConvViT, UM-MAE's coordinate-aware
Swin and PVT (on a shared pyramid base) and the dense plain ViT."""
from .convvit import ConvViT
from .coord_pvt import CoordPVT
from .coord_swin import CoordSwin
from .pyramid import PyramidEncoder
from .windowed_vit import WindowedViT

__all__ = ['ConvViT', 'CoordPVT', 'CoordSwin', 'PyramidEncoder', 'WindowedViT']

"""Models registered in mmpretrain's and mmdet's ``MODELS``.

* :mod:`~backbones.models.encoders`: ConvViT, CoordSwin, CoordPVT,
  WindowedViT.
* :mod:`~backbones.models.necks`: ViTDet's simple feature pyramid.
* :mod:`~backbones.models.decoders`: the MAE-style decoders of ConvMAE and
  UM-MAE.
* :mod:`~backbones.models.selfsup`: EMAE, ConvMAE, UM-MAE and SimMIM on the
  pyramid encoders.
"""
from .decoders import ConvMAEDecoder, UMMAEDecoder
from .encoders import ConvViT, CoordPVT, CoordSwin, WindowedViT
from .necks import SimpleFeaturePyramid
from .selfsup import (EMAE, UMMAE, UMMAEPVT, ConvMAEViT, EMAEViT,
                      SimMIMCoordPVT, SimMIMCoordSwin, UMMAESwin)

__all__ = [
    'ConvMAEDecoder', 'ConvMAEViT', 'ConvViT', 'CoordPVT', 'CoordSwin', 'EMAE',
    'EMAEViT', 'SimMIMCoordPVT', 'SimMIMCoordSwin', 'SimpleFeaturePyramid',
    'UMMAE', 'UMMAEDecoder', 'UMMAEPVT', 'UMMAESwin', 'WindowedViT'
]

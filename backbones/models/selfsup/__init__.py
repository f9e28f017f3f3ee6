"""Pretraining algorithms, one file each (mmpretrain's MAE and SimMIM are
used as they are)."""
from .convmae import ConvMAEViT
from .emae import EMAE, EMAEViT
from .simmim_pyramid import SimMIMCoordPVT, SimMIMCoordSwin
from .ummae import UMMAE, UMMAEPVT, UMMAESwin

__all__ = [
    'ConvMAEViT', 'EMAE', 'EMAEViT', 'SimMIMCoordPVT', 'SimMIMCoordSwin',
    'UMMAE', 'UMMAEPVT', 'UMMAESwin'
]

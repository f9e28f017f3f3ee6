"""Data sets checked before training, and an image loader naming its file.

* :mod:`~backbones.datasets.checked`: the COCO, ADE20K and ImageNet data
  sets that check their files when built.
* :mod:`~backbones.datasets.checks`: the checks, as pure functions.
* :mod:`~backbones.datasets.transforms`: ``NamedLoadImageFromFile``.
"""
from .checked import CheckedADE20KDataset, CheckedCocoDataset, CheckedImageNet
from .checks import DatasetCheckError
from .transforms import CorruptImageError, NamedLoadImageFromFile

__all__ = [
    'CheckedADE20KDataset', 'CheckedCocoDataset', 'CheckedImageNet',
    'CorruptImageError', 'DatasetCheckError', 'NamedLoadImageFromFile'
]

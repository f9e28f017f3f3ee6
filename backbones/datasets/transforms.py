"""Image loading that names the file it could not read.

mmcv's ``LoadImageFromFile`` reports an undecodable image with an ``assert``
(gone under ``python -O``, where the run crashes later on ``None``) for the
cv2 backend and with no file name at all for the pillow backend
(``cannot identify image file <_io.BytesIO ...>``). On ImageNet-scale data
that leaves a researcher bisecting a million files. The subclass below
replaces the registry entries ``LoadImageFromFile`` of MMEngine and
mmpretrain (so every upstream pipeline of mmpretrain, mmdet and mmseg gets
it) and raises :class:`CorruptImageError` with the path.
"""
from typing import Optional

from mmcv.transforms import LoadImageFromFile
from mmengine.registry import TRANSFORMS
# mmpretrain registers mmcv's loader (without ``force``) when its transforms
# are imported: import them first, or that registration would fail on ours.
from mmpretrain.datasets import transforms as _pretrain_transforms  # noqa
from mmpretrain.registry import TRANSFORMS as PRETRAIN_TRANSFORMS


class CorruptImageError(OSError):
    """An image file is missing, unreadable or cannot be decoded."""


class NamedLoadImageFromFile(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile``; failures name the file.

    Args: as :class:`mmcv.transforms.LoadImageFromFile`. With
    ``ignore_empty=True`` an unreadable file is still skipped (returns None).
    """

    def transform(self, results: dict) -> Optional[dict]:
        try:
            return super().transform(results)
        except Exception as err:  # decode errors, asserts, None images
            raise CorruptImageError(
                f"cannot load image {results.get('img_path')!r} with the "
                f'{self.imdecode_backend} backend: '
                f'{type(err).__name__}: {err}') from err


# mmcv registers its loader in MMEngine's root registry (used by mmdet and
# mmseg scopes) and mmpretrain registers it again in its own.
for _registry in (TRANSFORMS, PRETRAIN_TRANSFORMS):
    _registry.register_module(
        name='LoadImageFromFile', module=NamedLoadImageFromFile, force=True)

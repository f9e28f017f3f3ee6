"""Data sets checked before training: mmdet's ``CocoDataset``, mmseg's
``ADE20KDataset`` and mmpretrain's ``ImageNet`` with the checks of
:mod:`backbones.datasets.checks` run on the raw files before the parent parses
them.

MMEngine builds a data set, and calls ``full_init`` (hence
``load_data_list``), inside ``Runner.train()`` before any hook's
``before_run``, so the checks live in ``load_data_list``: a broken data set
stops the run before its first iteration with :class:`DatasetCheckError`,
whose message names the file and lists up to ``max_listed`` invalid entries
with their count. ``skip_invalid=True`` drops them instead, with a warning
that gives the count. Every COCO, ADE20K and ImageNet config of the suite
uses these types (``CheckedCocoDataset``, ``CheckedADE20KDataset``,
``CheckedImageNet``).
"""
import logging
import os.path as osp
import time
from concurrent.futures import ThreadPoolExecutor
from typing import List

import mmengine
from mmdet.datasets import CocoDataset
from mmdet.datasets.api_wrappers import COCO
from mmdet.registry import DATASETS as DET_DATASETS
from mmengine.fileio import LocalBackend, get_file_backend, list_from_file
from mmengine.logging import print_log
from mmpretrain.datasets import ImageNet
from mmpretrain.registry import DATASETS as PRETRAIN_DATASETS
from mmseg.datasets import ADE20KDataset
from mmseg.registry import DATASETS as SEG_DATASETS

from .checks import (DatasetCheckError, Problem, check_coco_structure,
                     describe_problems, drop_coco_entries, find_coco_problems,
                     find_list_problems, find_pair_problems, label_problem,
                     resolve_problems)


def _is_local(path: str, backend_args=None) -> bool:
    """Whether ``path`` is on the local file system (files can be listed)."""
    return isinstance(get_file_backend(path, backend_args=backend_args),
                      LocalBackend)


def _log_checked(source: str, count: int, what: str, start: float) -> None:
    print_log(f'checked {source}: {count} {what} '
              f'({time.perf_counter() - start:.2f} s)',
              logger='current', level=logging.INFO)


class _CheckOptions:
    """The options shared by the checked data sets.

    Args:
        skip_invalid (bool): Drop invalid entries with a warning instead of
            stopping with :class:`DatasetCheckError`. Defaults to False.
        max_listed (int): How many invalid entries the message lists.
            Defaults to 10.
        *args, **kwargs: The parent data set's arguments.
    """

    def __init__(self, *args, skip_invalid: bool = False,
                 max_listed: int = 10, **kwargs):
        if not isinstance(skip_invalid, bool):
            raise ValueError(f'skip_invalid must be True or False, got '
                             f'{skip_invalid!r}')
        if isinstance(max_listed, bool) or not isinstance(max_listed, int) \
                or max_listed < 1:
            raise ValueError(f'max_listed must be a positive integer, got '
                             f'{max_listed!r}')
        self.skip_invalid = skip_invalid
        self.max_listed = max_listed
        super().__init__(*args, **kwargs)


@DET_DATASETS.register_module()
class CheckedCocoDataset(_CheckOptions, CocoDataset):
    """mmdet's ``CocoDataset``, its json checked before it is parsed.

    Stops on missing top-level keys, class names that are not categories,
    an empty ``annotations`` list (training sets), and invalid entries
    (:func:`~backbones.datasets.checks.find_coco_problems`: missing image
    files, boxes of non-positive size or outside the image, unknown
    ``category_id``, empty or malformed polygons) that mmdet would drop
    silently or crash on mid-run.

    Args:
        require_masks (bool): An annotation without ``segmentation`` is
            invalid (Mask R-CNN). Defaults to True.
        skip_invalid (bool): Drop invalid images and annotations with a
            warning instead. Defaults to False.
        max_listed (int): Entries listed in the message. Defaults to 10.
        **kwargs: :class:`mmdet.datasets.CocoDataset`'s arguments.
    """

    def __init__(self, *args, require_masks: bool = True, **kwargs):
        self.require_masks = require_masks
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Check the json, drop or refuse invalid entries, then parse it
        with mmdet's own code.

        Returns:
            list[dict]: mmdet's data list.
        """
        start = time.perf_counter()
        raw = mmengine.load(self.ann_file, file_format='json',
                            backend_args=self.backend_args)
        check_coco_structure(raw, self.ann_file, self.metainfo['classes'],
                             need_annotations=not self.test_mode)
        img_dir = self.data_prefix.get('img', '')
        local = _is_local(img_dir or '.', self.backend_args)
        problems = find_coco_problems(raw, img_dir if local else None,
                                      require_masks=self.require_masks)
        resolve_problems(self.ann_file, problems, 'images and annotations',
                         self.skip_invalid, self.max_listed)
        self._checked_json = drop_coco_entries(raw, problems) if problems \
            else raw
        if not self.test_mode and not self._checked_json['annotations']:
            raise DatasetCheckError(
                f'{self.ann_file}: no valid annotation left to train on')
        _log_checked(self.ann_file, len(raw['annotations']), 'annotations',
                     start)
        try:
            return super().load_data_list()
        finally:
            del self._checked_json

    def COCOAPI(self, local_path: str) -> COCO:  # noqa: N802
        """mmdet's hook for the annotation API (``self.COCOAPI(path)``):
        index the checked json instead of reading the file again.

        Args:
            local_path (str): The annotation file (already read).

        Returns:
            COCO: mmdet's COCO API over the checked json.
        """
        coco = COCO()
        coco.dataset = self._checked_json
        coco.createIndex()
        # mmdet's wrapper aliases these in __init__; createIndex rebinds them
        coco.img_ann_map, coco.cat_img_map = coco.imgToAnns, coco.catToImgs
        return coco


@SEG_DATASETS.register_module()
class CheckedADE20KDataset(_CheckOptions, ADE20KDataset):
    """mmseg's ``ADE20KDataset``, its files checked after listing.

    Stops on images without a label file (or the reverse), label maps whose
    size differs from the image's, label maps that are not single-channel,
    and label values outside the class range (0..150 with ADE20K's
    reduce-zero-label convention, 0..149 without; 255 = ignore is always
    valid). Label maps are decoded on a few threads (PIL releases the GIL).

    Args:
        skip_invalid (bool): Drop invalid samples with a warning instead.
            Defaults to False.
        max_listed (int): Entries listed in the message. Defaults to 10.
        **kwargs: :class:`mmseg.datasets.ADE20KDataset`'s arguments.
    """

    CHECK_THREADS = 4

    def load_data_list(self) -> List[dict]:
        """List the samples with mmseg's code, then check them.

        Returns:
            list[dict]: mmseg's data list without the dropped samples.
        """
        start = time.perf_counter()
        data_list = super().load_data_list()
        img_dir = self.data_prefix.get('img_path', '')
        seg_dir = self.data_prefix.get('seg_map_path')
        if seg_dir is None or not _is_local(img_dir or '.',
                                            self.backend_args):
            return data_list
        suffix_len = len(self.seg_map_suffix)
        problems = find_pair_problems(
            [d['img_path'] for d in data_list],
            [d['seg_map_path'] for d in data_list], seg_dir,
            self.seg_map_suffix,
            lambda rel: osp.join(img_dir, rel[:-suffix_len] + self.img_suffix))
        unpaired = {p.index for p in problems}
        # the label files' own convention: 0..150 with reduce_zero_label
        num_classes = len(self.METAINFO['classes'])
        max_label = num_classes if self.reduce_zero_label else num_classes - 1
        todo = [i for i in range(len(data_list)) if i not in unpaired]
        with ThreadPoolExecutor(self.CHECK_THREADS) as pool:
            reasons = pool.map(
                lambda i: label_problem(data_list[i]['img_path'],
                                        data_list[i]['seg_map_path'],
                                        max_label, self.ignore_index), todo)
            problems += [Problem(data_list[i]['seg_map_path'], r, i)
                         for i, r in zip(todo, reasons) if r]
        source = self.data_root or img_dir
        resolve_problems(source, problems, 'samples', self.skip_invalid,
                         self.max_listed)
        dropped = {p.index for p in problems}
        kept = [d for i, d in enumerate(data_list) if i not in dropped]
        if not kept:
            raise DatasetCheckError(f'{source}: no valid sample left')
        _log_checked(source, len(data_list), 'samples', start)
        return kept


@PRETRAIN_DATASETS.register_module()
class CheckedImageNet(_CheckOptions, ImageNet):
    """mmpretrain's ``ImageNet``, its image list checked before parsing.

    With an ``ann_file`` (``meta/train.txt``: ``<path> <label>`` lines),
    stops on lines that are not in that form (always: the file cannot be
    parsed), and on images missing from their folder or labels outside
    ``0..len(classes) - 1``. Without one, mmpretrain scans the class
    folders, which yields existing files and valid labels by construction.

    Args:
        skip_invalid (bool): Drop missing images and out-of-range labels
            with a warning instead. Defaults to False.
        max_listed (int): Entries listed in the message. Defaults to 10.
        **kwargs: :class:`mmpretrain.datasets.ImageNet`'s arguments.
    """

    def load_data_list(self) -> List[dict]:
        """Check the list, then parse it with mmpretrain's code.

        Returns:
            list[dict]: mmpretrain's data list without the dropped lines.

        Raises:
            DatasetCheckError: On malformed lines, or invalid ones unless
                ``skip_invalid``.
        """
        if not self.ann_file:
            return super().load_data_list()
        start = time.perf_counter()
        lines = list_from_file(self.ann_file)
        classes = self.CLASSES
        malformed, invalid = find_list_problems(
            lines, self.img_prefix, len(classes) if classes else None,
            self.with_label, check_files=_is_local(self.img_prefix or '.'))
        if malformed:
            raise DatasetCheckError(
                describe_problems(self.ann_file, malformed, 'lines',
                                  self.max_listed))
        resolve_problems(self.ann_file, invalid, 'lines', self.skip_invalid,
                         self.max_listed)
        dropped = {p.index for p in invalid}
        data_list = [d for i, d in enumerate(super().load_data_list())
                     if i not in dropped]
        if not data_list:
            raise DatasetCheckError(f'{self.ann_file}: no valid line left')
        _log_checked(self.ann_file, len(lines), 'lines', start)
        return data_list

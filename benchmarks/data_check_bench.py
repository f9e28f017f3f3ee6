"""Time the data-set checks against the upstream parsers' own load.

Writes a synthetic COCO-sized instances json (default 20,000 images x 6 =
120,000 annotations, 12-point polygons, an empty file per image) and a
synthetic ADE20K split (512 x 512 JPEG images, piecewise-constant PNG label
maps) into a temporary folder, then times

* mmdet's ``CocoDataset`` load (json, index, parse, filter) against the
  check alone (:func:`~backbones.datasets.checks.check_coco_structure` +
  :func:`~backbones.datasets.checks.find_coco_problems` with the image-folder
  listing, on the parsed json) and against the whole ``CheckedCocoDataset``
  load, and prints the ratios;
* mmseg's ``ADE20KDataset`` listing against ``CheckedADE20KDataset``
  (pairing, sizes, every label map decoded), per sample and extrapolated to
  ADE20K's 22,210 images (20,210 train + 2,000 val).

Usage: ``mimb-data-check-bench [--images 118287] [--ade-samples 200]``.
"""
import argparse
import json
import os
import os.path as osp
import tempfile
import time
from typing import Callable, Tuple

import numpy as np
from PIL import Image

from benchmarks.errors import cli_main

ADE20K_IMAGES = 20210 + 2000


def timed(fn: Callable) -> Tuple[float, object]:
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def write_coco(root: str, images: int, per_image: int, seed: int = 0) -> str:
    """A valid synthetic COCO json and empty image files; the json path."""
    from benchmarks.tiny_data import COCO_IDS
    rng = np.random.default_rng(seed)
    img_dir = osp.join(root, 'train2017')
    os.makedirs(img_dir)
    cat_ids = list(COCO_IDS.values())
    imgs, anns = [], []
    angles = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    for i in range(1, images + 1):
        name = f'{i:012d}.jpg'
        open(osp.join(img_dir, name), 'wb').close()
        imgs.append(dict(id=i, file_name=name, width=640, height=480))
        cx, cy = rng.uniform(60, 580, per_image), rng.uniform(60, 420,
                                                              per_image)
        radius = rng.uniform(5, 55, per_image)
        for k in range(per_image):
            xs = cx[k] + radius[k] * np.cos(angles)
            ys = cy[k] + radius[k] * np.sin(angles)
            poly = np.round(np.stack([xs, ys], 1).ravel(), 2).tolist()
            anns.append(dict(
                id=len(anns) + 1, image_id=i,
                category_id=int(cat_ids[rng.integers(len(cat_ids))]),
                iscrowd=0, area=float(np.pi * radius[k]**2),
                bbox=[round(float(xs.min()), 2), round(float(ys.min()), 2),
                      round(float(np.ptp(xs)), 2),
                      round(float(np.ptp(ys)), 2)],
                segmentation=[poly]))
    path = osp.join(root, 'instances_train2017.json')
    with open(path, 'w') as f:
        json.dump(dict(images=imgs, annotations=anns,
                       categories=[dict(id=v, name=k)
                                   for k, v in COCO_IDS.items()]), f)
    return path


def write_ade(root: str, samples: int, size: int, seed: int = 0) -> None:
    """Synthetic ADE20K training pairs under ``root``."""
    rng = np.random.default_rng(seed)
    img_dir = osp.join(root, 'images', 'training')
    seg_dir = osp.join(root, 'annotations', 'training')
    os.makedirs(img_dir)
    os.makedirs(seg_dir)
    for i in range(1, samples + 1):
        name = f'ADE_train_{i:08d}'
        img = rng.integers(0, 256, (size // 8, size // 8, 3), np.uint8)
        Image.fromarray(img).resize((size, size)).save(
            osp.join(img_dir, name + '.jpg'), quality=90)
        # regions of constant class, as real label maps have
        labels = rng.integers(0, 151, (size // 32, size // 32), np.uint8)
        Image.fromarray(labels).resize((size, size), Image.NEAREST).save(
            osp.join(seg_dir, name + '.png'))


def bench_coco(root: str, images: int, per_image: int) -> dict:
    from mmdet.datasets import CocoDataset

    from backbones.datasets import CheckedCocoDataset
    from backbones.datasets.checks import (check_coco_structure,
                                           find_coco_problems)
    ann = write_coco(root, images, per_image)
    kwargs = dict(ann_file=ann, data_prefix=dict(img=osp.join(root,
                                                              'train2017')),
                  filter_cfg=dict(filter_empty_gt=True, min_size=32),
                  pipeline=[], lazy_init=True)
    parse_s, _ = timed(lambda: CocoDataset(**kwargs).full_init())
    with open(ann) as f:
        raw = json.load(f)
    img_dir = kwargs['data_prefix']['img']

    def check():
        check_coco_structure(raw, ann)
        return find_coco_problems(raw, img_dir)

    check_s, problems = timed(check)
    if problems:
        raise RuntimeError(f'synthetic json has problems: {problems[:3]}')
    checked_s, _ = timed(lambda: CheckedCocoDataset(**kwargs).full_init())
    return dict(images=images, annotations=len(raw['annotations']),
                mmdet_parse_s=parse_s, check_s=check_s,
                check_ratio=check_s / parse_s, checked_load_s=checked_s,
                load_ratio=checked_s / parse_s)


def bench_ade(root: str, samples: int, size: int) -> dict:
    from mmseg.datasets import ADE20KDataset

    from backbones.datasets import CheckedADE20KDataset
    write_ade(root, samples, size)
    kwargs = dict(data_root=root, data_prefix=dict(
        img_path='images/training', seg_map_path='annotations/training'),
        pipeline=[], lazy_init=True)
    list_s, _ = timed(lambda: ADE20KDataset(**kwargs).full_init())
    checked_s, _ = timed(lambda: CheckedADE20KDataset(**kwargs).full_init())
    per_sample = (checked_s - list_s) / samples
    return dict(samples=samples, size=size, mmseg_list_s=list_s,
                checked_load_s=checked_s, check_ms_per_sample=per_sample * 1e3,
                ade20k_estimate_s=per_sample * ADE20K_IMAGES)


@cli_main('mimb-data-check-bench')
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog='mimb-data-check-bench', description=__doc__.split('\n\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('--images', type=int, default=20000,
                        help='COCO images (real train2017: 118287)')
    parser.add_argument('--anns-per-image', type=int, default=6,
                        help='annotations per image (real: 7.3)')
    parser.add_argument('--ade-samples', type=int, default=200,
                        help='ADE20K pairs written and checked')
    parser.add_argument('--ade-size', type=int, default=512,
                        help='side of the ADE20K images and labels')
    args = parser.parse_args(argv)
    for name in ('images', 'anns_per_image', 'ade_samples', 'ade_size'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1')
    import backbones  # noqa: F401  registers the checked data sets
    with tempfile.TemporaryDirectory(prefix='mimb-data-check-') as tmp:
        coco = bench_coco(osp.join(tmp, 'coco'), args.images,
                          args.anns_per_image)
        ade = bench_ade(osp.join(tmp, 'ade'), args.ade_samples,
                        args.ade_size)
    print(f"COCO {coco['images']} images, {coco['annotations']} "
          f"annotations: mmdet load {coco['mmdet_parse_s']:.2f} s, check "
          f"{coco['check_s']:.2f} s (ratio {coco['check_ratio']:.3f}), "
          f"CheckedCocoDataset load {coco['checked_load_s']:.2f} s (ratio "
          f"{coco['load_ratio']:.3f})")
    print(f"ADE20K {ade['samples']} pairs of {ade['size']} px: mmseg "
          f"listing {ade['mmseg_list_s']:.2f} s, CheckedADE20KDataset load "
          f"{ade['checked_load_s']:.2f} s = "
          f"{ade['check_ms_per_sample']:.2f} ms per sample; "
          f"{ADE20K_IMAGES} ADE20K images: ~{ade['ade20k_estimate_s']:.0f} s")
    return 0


if __name__ == '__main__':
    raise SystemExit(main())

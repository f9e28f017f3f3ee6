"""Generate tiny, learnable data sets in the real on-disk formats.

Three data sets, deterministic for a given seed:

* ``imagenet/``: ``train/<wnid>/<wnid>_<i>.JPEG``,
  ``val/ILSVRC2012_val_*.JPEG`` and ``meta/{train,val}.txt`` (``path label``
  lines), as mmpretrain's ``ImageNet`` dataset reads them. Class ``c`` is
  shape ``c`` in hue ``c`` (jittered) over a random texture, so classes are
  learnable from both cues.
* ``coco/``: ``annotations/instances_{train,val}2017.json`` with polygons,
  boxes, mask areas and ``iscrowd``, and ``{train,val}2017/*.jpg``: 1-4
  non-overlapping shapes per image. The files list all 80 COCO categories
  with their real ids (so the real 80-class ``CocoDataset`` keeps every
  image and ``CocoMetric`` maps an 80-class head's labels to ids), and each
  shape is annotated as one real category (:data:`SHAPE_COCO`): cross =
  airplane (5), hexagon = stop sign (13), star = frisbee (34), circle =
  sports ball (37), diamond = kite (38), bar = baseball bat (39), triangle =
  pizza (59), square = tv (72). The smoke detection configs train on these
  8 (:data:`TINY_COCO_CLASSES`, in id order).
* ``ade/ADEChallengeData2016/``: ``images|annotations/training|validation``
  with label PNGs in the ADE20K convention (0 = other/ignored, 1..150 =
  classes): background textures are classes 1-4, shapes classes 5-12, and a
  one-pixel seam of 0 separates the two background regions.

Usage: ``mimb-data --out data/tiny`` (``--help`` for the sizes).
"""
import argparse
import json
import math
import os
import os.path as osp
import sys
from typing import Dict, List, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

from benchmarks.errors import cli_main

SHAPES = ('circle', 'square', 'triangle', 'diamond', 'cross', 'star',
          'hexagon', 'bar')
# The first ImageNet-1k synsets, so folder names are real wnids.
WNIDS = ('n01440764', 'n01443537', 'n01484850', 'n01491361', 'n01494475',
         'n01496331', 'n01498041', 'n01514668')
# COCO 2017's 80 categories in id order; ids run 1..90 without these.
COCO_NAMES = (
    'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train',
    'truck', 'boat', 'traffic light', 'fire hydrant', 'stop sign',
    'parking meter', 'bench', 'bird', 'cat', 'dog', 'horse', 'sheep', 'cow',
    'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella',
    'handbag', 'tie', 'suitcase', 'frisbee', 'skis', 'snowboard',
    'sports ball', 'kite', 'baseball bat', 'baseball glove', 'skateboard',
    'surfboard', 'tennis racket', 'bottle', 'wine glass', 'cup', 'fork',
    'knife', 'spoon', 'bowl', 'banana', 'apple', 'sandwich', 'orange',
    'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair',
    'couch', 'potted plant', 'bed', 'dining table', 'toilet', 'tv', 'laptop',
    'mouse', 'remote', 'keyboard', 'cell phone', 'microwave', 'oven',
    'toaster', 'sink', 'refrigerator', 'book', 'clock', 'vase', 'scissors',
    'teddy bear', 'hair drier', 'toothbrush')
COCO_UNUSED_IDS = (12, 26, 29, 30, 45, 66, 68, 69, 71, 83)
COCO_IDS = dict(zip(COCO_NAMES, (i for i in range(1, 91)
                                 if i not in COCO_UNUSED_IDS)))
# The real COCO category each shape is annotated as (a look-alike).
SHAPE_COCO = dict(circle='sports ball', square='tv', triangle='pizza',
                  diamond='kite', cross='airplane', star='frisbee',
                  hexagon='stop sign', bar='baseball bat')
TINY_COCO_CLASSES = tuple(sorted(SHAPE_COCO.values(), key=COCO_IDS.get))
TEXTURES = ('noise', 'stripes', 'checker', 'gradient')
ADE_TEXTURE_BASE = 1  # texture t -> ADE class 1 + t
ADE_SHAPE_BASE = 5  # shape s -> ADE class 5 + s


def shape_polygon(shape: str, cx: float, cy: float, r: float,
                  angle: float) -> List[Tuple[float, float]]:
    """Vertices of a shape of radius ``r`` centred at (cx, cy), rotated."""
    if shape == 'circle':
        pts = [(math.cos(t), math.sin(t))
               for t in np.linspace(0, 2 * math.pi, 24, endpoint=False)]
    elif shape == 'square':
        pts = [(-.75, -.75), (.75, -.75), (.75, .75), (-.75, .75)]
    elif shape == 'triangle':
        pts = [(math.cos(t), math.sin(t)) for t in
               (-math.pi / 2, math.pi / 6, 5 * math.pi / 6)]
    elif shape == 'diamond':
        pts = [(0, -1), (.6, 0), (0, 1), (-.6, 0)]
    elif shape == 'cross':
        a, b = .3, 1.
        pts = [(-a, -b), (a, -b), (a, -a), (b, -a), (b, a), (a, a), (a, b),
               (-a, b), (-a, a), (-b, a), (-b, -a), (-a, -a)]
    elif shape == 'star':
        pts = [((1 if i % 2 == 0 else .45) * math.cos(t),
                (1 if i % 2 == 0 else .45) * math.sin(t))
               for i, t in enumerate(np.linspace(
                   -math.pi / 2, 3.5 * math.pi, 10, endpoint=False))]
    elif shape == 'hexagon':
        pts = [(math.cos(t), math.sin(t))
               for t in np.linspace(0, 2 * math.pi, 6, endpoint=False)]
    elif shape == 'bar':
        pts = [(-1, -.3), (1, -.3), (1, .3), (-1, .3)]
    else:
        raise ValueError(f'unknown shape {shape!r}; expected one of {SHAPES}')
    ca, sa = math.cos(angle), math.sin(angle)
    return [(cx + r * (x * ca - y * sa), cy + r * (x * sa + y * ca))
            for x, y in pts]


def hue_color(hue: float, rng: np.random.Generator) -> Tuple[int, int, int]:
    """A saturated RGB colour of the given hue in [0, 1), value jittered."""
    h = (hue % 1.0) * 6
    i, f = int(h), h - int(h)
    v = rng.uniform(0.75, 1.0)
    p, q, t = v * 0.15, v * (1 - 0.85 * f), v * (0.15 + 0.85 * f)
    rgb = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v),
           (v, p, q)][i % 6]
    return tuple(int(255 * c) for c in rgb)


def texture(kind: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """A (size, size, 3) uint8 low-saturation background texture."""
    base = rng.uniform(60, 190, size=3)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    if kind == 'noise':
        field = rng.normal(0, 1, size=(size, size))
    elif kind == 'stripes':
        theta = rng.uniform(0, math.pi)
        freq = rng.uniform(3, 8)
        field = np.sin(2 * math.pi * freq *
                       (xx * math.cos(theta) + yy * math.sin(theta)))
    elif kind == 'checker':
        n = rng.integers(3, 7)
        field = ((np.floor(xx * n) + np.floor(yy * n)) % 2) * 2 - 1
    elif kind == 'gradient':
        theta = rng.uniform(0, 2 * math.pi)
        field = 2 * (xx * math.cos(theta) + yy * math.sin(theta))
    else:
        raise ValueError(f'unknown texture {kind!r}; expected {TEXTURES}')
    img = base + 35 * field[..., None] * rng.uniform(0.5, 1.0, size=3)
    return np.clip(img, 0, 255).astype(np.uint8)


def _save(img: Image.Image, path: str, **kwargs) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    img.save(path, **kwargs)


def make_imagenet(root: str, rng: np.random.Generator, num_classes: int,
                  train_per_class: int, val_per_class: int,
                  size: int) -> Dict[str, int]:
    """Write the ImageNet-layout set; returns image counts per split."""
    lines = {'train': [], 'val': []}
    val_items = [(c, i) for c in range(num_classes)
                 for i in range(val_per_class)]
    rng.shuffle(val_items)
    jobs = [('train', c, i) for c in range(num_classes)
            for i in range(train_per_class)]
    jobs += [('val', c, i) for c, i in val_items]
    for n, (split, c, i) in enumerate(jobs):
        img = Image.fromarray(
            texture(TEXTURES[rng.integers(len(TEXTURES))], size, rng))
        r = size * rng.uniform(0.22, 0.34)
        cx, cy = rng.uniform(r, size - r, size=2)
        hue = c / num_classes + rng.uniform(-0.03, 0.03)
        ImageDraw.Draw(img).polygon(
            shape_polygon(SHAPES[c], cx, cy, r, rng.uniform(0, 2 * math.pi)),
            fill=hue_color(hue, rng))
        if split == 'train':
            rel = f'{WNIDS[c]}/{WNIDS[c]}_{i}.JPEG'
        else:
            rel = f'ILSVRC2012_val_{len(lines["val"]) + 1:08d}.JPEG'
        _save(img, osp.join(root, split, rel), format='JPEG', quality=95)
        lines[split].append(f'{rel} {c}')
    os.makedirs(osp.join(root, 'meta'), exist_ok=True)
    for split, rows in lines.items():
        with open(osp.join(root, 'meta', f'{split}.txt'), 'w') as f:
            f.write('\n'.join(rows) + '\n')
    return {k: len(v) for k, v in lines.items()}


def _scene(rng: np.random.Generator, size: int, max_objects: int):
    """Two textured regions and 1..max_objects shapes in separate cells.

    Returns:
        tuple: (PIL image, (H, W) uint8 ADE label map, list of
        (shape index, polygon, (H, W) bool mask)).
    """
    kinds = rng.choice(len(TEXTURES), size=2, replace=False)
    split = rng.integers(size // 4, 3 * size // 4)
    img = texture(TEXTURES[kinds[0]], size, rng)
    img[split:] = texture(TEXTURES[kinds[1]], size, rng)[split:]
    label = np.empty((size, size), np.uint8)
    label[:split] = ADE_TEXTURE_BASE + kinds[0]
    label[split:] = ADE_TEXTURE_BASE + kinds[1]
    label[split] = 0  # a seam of "other", ignored by reduce_zero_label
    pil = Image.fromarray(img)
    objects = []
    cell = size // 2
    cells = rng.permutation(4)[:rng.integers(1, max_objects + 1)]
    for k in cells:
        ox, oy = (k % 2) * cell, (k // 2) * cell
        s = int(rng.integers(len(SHAPES)))
        r = cell * rng.uniform(0.28, 0.45)
        cx = ox + rng.uniform(r, cell - r)
        cy = oy + rng.uniform(r, cell - r)
        poly = shape_polygon(SHAPES[s], cx, cy, r, rng.uniform(0, 2 * math.pi))
        mask_img = Image.new('L', (size, size), 0)
        ImageDraw.Draw(mask_img).polygon(poly, fill=1)
        mask = np.asarray(mask_img, dtype=bool)
        if mask.sum() < 4:
            continue
        ImageDraw.Draw(pil).polygon(
            poly, fill=hue_color(s / len(SHAPES), rng))
        label[mask] = ADE_SHAPE_BASE + s
        objects.append((s, poly, mask))
    return pil, label, objects


def make_coco_and_ade(coco_root: str, ade_root: str,
                      rng: np.random.Generator, num_train: int, num_val: int,
                      size: int, max_objects: int) -> Dict[str, int]:
    """Write the COCO and ADE20K sets (the same kind of scenes)."""
    categories = [dict(id=i, name=n) for n, i in COCO_IDS.items()]
    category_ids = [COCO_IDS[SHAPE_COCO[s]] for s in SHAPES]
    counts = {}
    for split, n_img in (('train', num_train), ('val', num_val)):
        images, annotations = [], []
        ade_split = 'training' if split == 'train' else 'validation'
        for i in range(n_img):
            pil, label, objects = _scene(rng, size, max_objects)
            image_id = i + 1
            name = f'{image_id:012d}.jpg'
            _save(pil, osp.join(coco_root, f'{split}2017', name),
                  format='JPEG', quality=95)
            images.append(dict(id=image_id, file_name=name, width=size,
                               height=size))
            for s, poly, mask in objects:
                ys, xs = np.nonzero(mask)
                x0, y0 = float(xs.min()), float(ys.min())
                annotations.append(dict(
                    id=len(annotations) + 1, image_id=image_id,
                    category_id=category_ids[s], iscrowd=0,
                    area=float(mask.sum()),
                    bbox=[x0, y0, float(xs.max()) + 1 - x0,
                          float(ys.max()) + 1 - y0],
                    segmentation=[[round(c, 2) for p in poly for c in p]]))
            ade_name = f'ADE_{split}_{image_id:08d}'
            _save(pil, osp.join(ade_root, 'images', ade_split,
                                ade_name + '.jpg'), format='JPEG', quality=95)
            _save(Image.fromarray(label), osp.join(
                ade_root, 'annotations', ade_split, ade_name + '.png'))
        os.makedirs(osp.join(coco_root, 'annotations'), exist_ok=True)
        with open(osp.join(coco_root, 'annotations',
                           f'instances_{split}2017.json'), 'w') as f:
            json.dump(dict(images=images, annotations=annotations,
                           categories=categories,
                           info=dict(description='mimb tiny COCO'),
                           licenses=[]), f)
        counts[split] = n_img
    return counts


def generate(out: str, seed: int = 0, num_classes: int = 8,
             train_per_class: int = 40, val_per_class: int = 10,
             imagenet_size: int = 64, dense_train: int = 48,
             dense_val: int = 16, dense_size: int = 128,
             max_objects: int = 3,
             only: Sequence[str] = ('imagenet', 'coco', 'ade20k')) -> dict:
    """Generate the tiny data sets under ``out``.

    Args:
        out (str): Output folder (created if needed).
        seed (int): Seed of everything drawn. Defaults to 0.
        num_classes (int): ImageNet classes, 1..8. Defaults to 8.
        train_per_class (int): ImageNet training images per class.
            Defaults to 40.
        val_per_class (int): ImageNet validation images per class.
            Defaults to 10.
        imagenet_size (int): ImageNet image side in pixels. Defaults to 64.
        dense_train (int): COCO/ADE20K training images. Defaults to 48.
        dense_val (int): COCO/ADE20K validation images. Defaults to 16.
        dense_size (int): COCO/ADE20K image side. Defaults to 128.
        max_objects (int): Shapes per COCO/ADE20K image, 1..4. Defaults to 3.
        only (Sequence[str]): Which sets to write.

    Returns:
        dict: Image counts per data set and split.

    Raises:
        ValueError: A size or count is out of range, or ``out`` cannot be
            created or written (the message names the value or folder).
    """
    checks = dict(train_per_class=(train_per_class, 1),
                  val_per_class=(val_per_class, 1),
                  dense_train=(dense_train, 1), dense_val=(dense_val, 1),
                  imagenet_size=(imagenet_size, 16),
                  dense_size=(dense_size, 32))
    for name, (value, low) in checks.items():
        if value < low:
            raise ValueError(f'{name} must be >= {low}, got {value}')
    if not 1 <= num_classes <= len(SHAPES):
        raise ValueError(f'num_classes must be in 1..{len(SHAPES)}, got '
                         f'{num_classes}')
    if not 1 <= max_objects <= 4:
        raise ValueError(f'max_objects must be in 1..4, got {max_objects}')
    unknown = set(only) - {'imagenet', 'coco', 'ade20k'}
    if unknown:
        raise ValueError(f'unknown data sets {sorted(unknown)}; expected '
                         'imagenet, coco, ade20k')
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as err:
        raise ValueError(f'cannot create output folder {out}: {err}') from err
    if not os.access(out, os.W_OK):
        raise ValueError(f'output folder {out} is not writable')
    counts = {}
    if 'imagenet' in only:
        counts['imagenet'] = make_imagenet(
            osp.join(out, 'imagenet'), np.random.default_rng([seed, 1]),
            num_classes, train_per_class, val_per_class, imagenet_size)
    if {'coco', 'ade20k'} & set(only):
        dense = make_coco_and_ade(
            osp.join(out, 'coco'), osp.join(out, 'ade',
                                            'ADEChallengeData2016'),
            np.random.default_rng([seed, 2]), dense_train, dense_val,
            dense_size, max_objects)
        counts['coco'] = counts['ade20k'] = dense
    return counts


@cli_main('mimb-data', code=2)
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog='mimb-data', description=__doc__.split('\n\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('--out', default='data/tiny', help='output folder')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num-classes', type=int, default=8)
    parser.add_argument('--train-per-class', type=int, default=40)
    parser.add_argument('--val-per-class', type=int, default=10)
    parser.add_argument('--imagenet-size', type=int, default=64)
    parser.add_argument('--dense-train', type=int, default=48)
    parser.add_argument('--dense-val', type=int, default=16)
    parser.add_argument('--dense-size', type=int, default=128)
    parser.add_argument('--only', nargs='+', default=['imagenet', 'coco',
                                                      'ade20k'])
    args = parser.parse_args(argv)
    counts = generate(
        args.out, args.seed, args.num_classes, args.train_per_class,
        args.val_per_class, args.imagenet_size, args.dense_train,
        args.dense_val, args.dense_size, only=args.only)
    print(f'mimb-data: wrote {counts} under {osp.abspath(args.out)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())

"""The tiny data sets: deterministic, in the real formats, loaded by the
real dataset classes of mmpretrain, mmdet and mmseg."""
import hashlib
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

from benchmarks.tiny_data import (COCO_IDS, COCO_NAMES, SHAPE_COCO, SHAPES,
                                  TINY_COCO_CLASSES, generate, main)
from conftest import CONFIGS


def digest(root):
    h = hashlib.sha256()
    for folder, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            h.update(name.encode())
            with open(osp.join(folder, name), 'rb') as f:
                h.update(f.read())
    return h.hexdigest()


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    kw = dict(train_per_class=2, val_per_class=1, dense_train=3,
              dense_val=2)
    generate(str(tmp_path / 'a'), seed=3, **kw)
    generate(str(tmp_path / 'b'), seed=3, **kw)
    generate(str(tmp_path / 'c'), seed=4, **kw)
    assert digest(tmp_path / 'a') == digest(tmp_path / 'b')
    assert digest(tmp_path / 'a') != digest(tmp_path / 'c')


def test_imagenet_layout_loads_in_mmpretrain(tiny_data):
    from mmpretrain.datasets import ImageNet
    root = osp.join(tiny_data, 'imagenet')
    for split, n in (('train', 320), ('val', 80)):
        ds = ImageNet(data_root=root, split=split,
                      metainfo=dict(classes=SHAPES))
        assert len(ds) == n
        labels = [ds.get_data_info(i)['gt_label'] for i in range(len(ds))]
        assert sorted(set(int(x) for x in labels)) == list(range(8))
        assert osp.isfile(ds.get_data_info(0)['img_path'])


def test_coco_layout_loads_in_mmdet_and_pycocotools(tiny_data):
    from mmdet.datasets import CocoDataset
    from pycocotools import mask as mask_utils
    from pycocotools.coco import COCO
    root = osp.join(tiny_data, 'coco')
    ann = osp.join(root, 'annotations', 'instances_val2017.json')
    coco = COCO(ann)
    assert len(coco.getImgIds()) == 16
    # polygon -> mask area agrees with the stored pixel area
    a = coco.loadAnns(coco.getAnnIds())[0]
    img = coco.loadImgs(a['image_id'])[0]
    rle = mask_utils.frPyObjects(a['segmentation'], img['height'],
                                 img['width'])
    area = float(mask_utils.area(mask_utils.merge(rle)))
    assert area == pytest.approx(a['area'], rel=0.15)
    ds = CocoDataset(data_root=root, ann_file='annotations/'
                     'instances_train2017.json',
                     data_prefix=dict(img='train2017/'),
                     metainfo=dict(classes=TINY_COCO_CLASSES), pipeline=[])
    info = ds.get_data_info(0)
    assert info['instances'] and osp.isfile(info['img_path'])
    assert all(0 <= i['bbox_label'] < len(SHAPES) for i in info['instances'])


def test_coco_has_real_categories_for_the_real_80_class_recipes(tiny_data):
    """Every COCO category with its real id is listed, the shapes are 8 of
    them, so the real 80-class CocoDataset keeps every image and the real
    recipe's CocoMetric scores perfect predictions at AP 1."""
    from mmdet.datasets import CocoDataset
    from mmdet.registry import METRICS
    from mmengine.registry import DefaultScope
    from pycocotools.coco import COCO
    assert COCO_IDS['person'] == 1 and COCO_IDS['toothbrush'] == 90
    assert tuple(COCO_IDS) == CocoDataset.METAINFO['classes']
    assert set(TINY_COCO_CLASSES) == set(SHAPE_COCO.values())
    smoke = Config.fromfile(osp.join(CONFIGS, '_base_', 'tiny_data.py'))
    assert smoke.tiny_coco_classes == TINY_COCO_CLASSES
    root = osp.join(tiny_data, 'coco')
    ann = osp.join(root, 'annotations', 'instances_val2017.json')
    coco = COCO(ann)
    assert [c['id'] for c in coco.loadCats(coco.getCatIds())] == list(
        COCO_IDS.values())
    used = {coco.loadCats(a['category_id'])[0]['name']
            for a in coco.loadAnns(coco.getAnnIds())}
    assert used <= set(TINY_COCO_CLASSES)
    ds = CocoDataset(data_root=root, ann_file='annotations/'
                     'instances_train2017.json',
                     data_prefix=dict(img='train2017/'), pipeline=[],
                     filter_cfg=dict(filter_empty_gt=True, min_size=32))
    assert len(ds) == 48  # the real 80 classes filter out no image
    cfg = Config.fromfile(osp.join(
        CONFIGS, 'benchmarks', 'vit',
        'mask-rcnn_vit-base-p16-sfp_8xb8-amp-lsj-100e_coco.py'))
    cfg.val_evaluator.ann_file = ann
    with DefaultScope.overwrite_default_scope('mmdet'):
        metric = METRICS.build(cfg.val_evaluator)
    metric.dataset_meta = CocoDataset.METAINFO
    samples = []
    for img in coco.loadImgs(coco.getImgIds()):
        anns = coco.loadAnns(coco.getAnnIds(imgIds=img['id']))
        boxes = torch.tensor([[x, y, x + w, y + h]
                              for x, y, w, h in (a['bbox'] for a in anns)])
        names = [coco.loadCats(a['category_id'])[0]['name'] for a in anns]
        samples.append(dict(
            img_id=img['id'], ori_shape=(img['height'], img['width']),
            pred_instances=dict(
                bboxes=boxes, scores=torch.ones(len(anns)),
                labels=torch.tensor([COCO_NAMES.index(n) for n in names]),
                masks=torch.from_numpy(np.stack(
                    [coco.annToMask(a) for a in anns]).astype(bool)))))
    metric.process({}, samples)
    result = metric.evaluate(len(samples))
    assert result['coco/bbox_mAP'] == 1.0
    assert result['coco/segm_mAP'] == 1.0


def test_ade20k_layout_loads_in_mmseg(tiny_data):
    from mmseg.datasets import ADE20KDataset
    root = osp.join(tiny_data, 'ade', 'ADEChallengeData2016')
    ds = ADE20KDataset(data_root=root, data_prefix=dict(
        img_path='images/validation',
        seg_map_path='annotations/validation'), pipeline=[])
    assert len(ds) == 16
    label = np.asarray(Image.open(ds.get_data_info(0)['seg_map_path']))
    assert label.dtype == np.uint8 and label.max() <= 150
    assert 0 in label and (label >= 5).any()  # seam + at least one shape


@pytest.mark.parametrize('argv, message', [
    (['--train-per-class', '0'], 'train_per_class must be >= 1'),
    (['--num-classes', '9'], 'num_classes must be in 1..8'),
    (['--only', 'cifar'], 'unknown data sets'),
])
def test_nonsense_arguments_are_named(tmp_path, capsys, argv, message):
    assert main(['--out', str(tmp_path / 'x'), *argv]) == 2
    assert message in capsys.readouterr().err


def test_unwritable_output_is_reported(tmp_path, capsys):
    blocker = tmp_path / 'a_file'
    blocker.write_text('not a folder')
    assert main(['--out', str(blocker / 'sub')]) == 2
    err = capsys.readouterr().err
    assert 'cannot create output folder' in err and 'a_file' in err

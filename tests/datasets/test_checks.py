"""Data sets are checked before training: broken copies of the tiny COCO,
ADE20K and ImageNet stop the smoke configs' data sets with a message naming
the file and the entry; ``skip_invalid=True`` drops the entries with a
warning that gives the count; the valid tiny sets pass."""
import json
import os
import os.path as osp
import shutil

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import DATASETS, DefaultScope
from PIL import Image

from backbones.datasets.checks import (DatasetCheckError, find_list_problems,
                                       list_files, missing_files,
                                       segmentation_problem)
from conftest import CONFIGS

VIT = osp.join(CONFIGS, 'benchmarks', 'vit')
SMOKE = dict(
    coco=osp.join(VIT, 'mask-rcnn_vit-tiny-p4-sfp_1xb2-6e_tiny-coco-128px.py'),
    ade=osp.join(VIT,
                 'upernet_vit-tiny-p4-mln_1xb4-300i_tiny-ade20k-64x64.py'),
    imagenet=osp.join(VIT, 'vit-tiny-p4_1xb32-coslr-8e_tiny-in1k-32px.py'))
SCOPE = dict(coco='mmdet', ade='mmseg', imagenet='mmpretrain')
TRAIN_JSON = osp.join('annotations', 'instances_train2017.json')
ADE = osp.join('ade', 'ADEChallengeData2016')
ADE_LABELS = osp.join('annotations', 'training')


@pytest.fixture(scope='module')
def configs():
    import backbones  # noqa: F401  registers the checked data sets
    return {kind: Config.fromfile(path) for kind, path in SMOKE.items()}


def dataset_cfg(cfg, kind, root, split='train', **options):
    """The smoke config's train (or val) data set on ``root``, pipeline-less
    (the checks run when the data set is built)."""
    loader = cfg[f'{split}_dataloader']
    ds = loader.dataset.dataset if kind == 'coco' and split == 'train' \
        else loader.dataset
    ds = ds.copy()
    ds.update(data_root=str(root), pipeline=[], **options)
    return ds


def build(configs, kind, root, split='train', **options):
    with DefaultScope.overwrite_default_scope(SCOPE[kind]):
        return DATASETS.build(
            dataset_cfg(configs[kind], kind, root, split, **options))


def copy_set(tiny_data, tmp_path, name):
    dst = tmp_path / name.replace(os.sep, '_')
    shutil.copytree(osp.join(tiny_data, name), dst)
    return dst


def edit_json(path, change):
    with open(path) as f:
        raw = json.load(f)
    change(raw)
    with open(path, 'w') as f:
        json.dump(raw, f)
    return raw


def log_file(tmp_path, name):
    """A fresh current MMEngine logger writing to a file; its path."""
    path = tmp_path / f'{name}.log'
    MMLogger.get_instance(f'test_data_checks_{name}', log_file=str(path))
    return path


# ---- COCO ------------------------------------------------------------------


def test_coco_json_without_annotations_names_file_and_key(
        configs, tiny_data, tmp_path):
    root = copy_set(tiny_data, tmp_path, 'coco')
    edit_json(root / TRAIN_JSON, lambda raw: raw.pop('annotations'))
    with pytest.raises(DatasetCheckError) as err:
        build(configs, 'coco', root)
    msg = str(err.value)
    assert str(root / TRAIN_JSON) in msg and "['annotations']" in msg


def set_ann(index, **values):
    def change(raw):
        raw['annotations'][index].update(values)
    return change


def first_ann(raw):
    """(annotation id, its image's file name) of the first annotation."""
    ann = raw['annotations'][0]
    names = {img['id']: img['file_name'] for img in raw['images']}
    return ann['id'], names[ann['image_id']]


@pytest.mark.parametrize('change, reason', [
    (set_ann(0, bbox=[10.0, 10.0, -5.0, 20.0]),
     'bbox [10.0, 10.0, -5.0, 20.0] has a non-positive width or height'),
    (set_ann(0, bbox=[10.0, 10.0, 20.0, 0.0]), 'non-positive width'),
    (set_ann(0, category_id=999), "category_id 999 is not in 'categories'"),
    (set_ann(0, bbox=[120.0, 10.0, 40.0, 20.0]),
     'lies outside the 128 x 128 image'),
    (set_ann(0, segmentation=[]), 'empty segmentation []'),
    (set_ann(0, segmentation=[[1.0, 2.0, 3.0, 4.0]]),
     'polygon 0 has 4 coordinates'),
    (set_ann(0, segmentation=[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]]),
     'polygon 0 has 7 coordinates'),
    (set_ann(0, area=0.0), 'area 0.0 is not positive'),
], ids=['negative-width', 'zero-height', 'unknown-category',
        'outside-image', 'empty-polygons', 'two-point-polygon',
        'odd-polygon', 'zero-area'])
def test_coco_invalid_annotation_stops_naming_file_and_entry(
        configs, tiny_data, tmp_path, change, reason):
    """mmdet drops each of these silently (or ignores the mask): the run
    "finishes successfully" without the instance."""
    root = copy_set(tiny_data, tmp_path, 'coco')
    raw = edit_json(root / TRAIN_JSON, change)
    ann_id, file_name = first_ann(raw)
    with pytest.raises(DatasetCheckError) as err:
        build(configs, 'coco', root)
    msg = str(err.value)
    assert f'{root / TRAIN_JSON}: 1 invalid images and annotations' in msg
    assert f'annotation {ann_id} (image ' in msg and repr(file_name) in msg
    assert reason in msg and 'skip_invalid=True' in msg


def test_coco_missing_image_file_is_named(configs, tiny_data, tmp_path):
    root = copy_set(tiny_data, tmp_path, 'coco')
    name = sorted(os.listdir(root / 'train2017'))[3]
    os.remove(root / 'train2017' / name)
    with pytest.raises(DatasetCheckError) as err:
        build(configs, 'coco', root)
    assert f"file {root / 'train2017' / name} is missing" in str(err.value)


def test_coco_lists_at_most_max_listed_with_the_count(
        configs, tiny_data, tmp_path):
    root = copy_set(tiny_data, tmp_path, 'coco')

    def negative(raw):
        for ann in raw['annotations'][:12]:
            ann['bbox'][2] = -1.0

    edit_json(root / TRAIN_JSON, negative)
    with pytest.raises(DatasetCheckError) as err:
        build(configs, 'coco', root, max_listed=10)
    lines = str(err.value).splitlines()
    assert '12 invalid images and annotations (first 10 listed)' in lines[0]
    assert sum('non-positive' in line for line in lines) == 10


def test_coco_skip_invalid_drops_them_with_a_warning(
        configs, tiny_data, tmp_path):
    root = copy_set(tiny_data, tmp_path, 'coco')
    valid = build(configs, 'coco', root)
    n_valid = sum(len(valid.get_data_info(i)['instances'])
                  for i in range(len(valid)))

    def corrupt(raw):
        # two annotations of images that keep others, and the last image
        anns = raw['annotations']
        other = next(a for a in anns if a['image_id'] != anns[0]['image_id'])
        anns[0]['category_id'] = 999
        other['bbox'][3] = -3.0
        os.remove(root / 'train2017' / raw['images'][-1]['file_name'])

    raw = edit_json(root / TRAIN_JSON, corrupt)
    last_anns = sum(a['image_id'] == raw['images'][-1]['id']
                    for a in raw['annotations'])
    log = log_file(tmp_path, 'coco_skip')
    ds = build(configs, 'coco', root, skip_invalid=True)
    assert len(ds) == len(valid) - 1
    assert sum(len(ds.get_data_info(i)['instances'])
               for i in range(len(ds))) == n_valid - 2 - last_anns
    text = log.read_text()
    assert 'WARNING' in text and '3 invalid images and annotations' in text
    assert 'skip_invalid=True: dropping these 3' in text


def test_coco_smoke_run_stops_before_training(configs, tiny_data, tmp_path):
    """Through the Runner, as ``mim train`` runs it: the error comes out of
    ``Runner.train()`` before the first iteration."""
    from mmengine.runner import Runner
    root = copy_set(tiny_data, tmp_path, 'coco')
    edit_json(root / TRAIN_JSON, set_ann(2, category_id=5000))
    cfg = configs['coco'].copy()
    cfg.train_dataloader.dataset.dataset.data_root = str(root)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg.test_dataloader = cfg.test_evaluator = cfg.test_cfg = None
    runner = Runner.from_cfg(cfg)
    with pytest.raises(DatasetCheckError, match='category_id 5000'):
        runner.train()  # raised while building the train loop's loader
    assert isinstance(runner._train_loop, dict)  # the loop never started


# ---- ADE20K -----------------------------------------------------------------


def ade_label(root, index=0):
    return root / ADE_LABELS / sorted(os.listdir(root / ADE_LABELS))[index]


def test_ade20k_label_value_200_names_the_file(configs, tiny_data, tmp_path):
    """F.cross_entropy's ``Target 199 is out of bounds`` today, mid-run."""
    root = copy_set(tiny_data, tmp_path, ADE)
    path = ade_label(root, 5)
    labels = np.asarray(Image.open(path)).copy()
    labels[:4, :4] = 200
    Image.fromarray(labels).save(path)
    with pytest.raises(DatasetCheckError) as err:
        build(configs, 'ade', root)
    msg = str(err.value)
    assert f'{path}: label values [200] are outside 0..150' in msg
    assert '1 invalid samples' in msg


def test_ade20k_size_mismatch_names_both_sizes(configs, tiny_data, tmp_path):
    root = copy_set(tiny_data, tmp_path, ADE)
    path = ade_label(root, 2)
    Image.open(path).resize((64, 96)).save(path)
    with pytest.raises(DatasetCheckError) as err:
        build(configs, 'ade', root)
    assert f'{path}: label is 64 x 96 (width x height), the image 128 x 128' \
        in str(err.value)


def test_ade20k_unpaired_files_are_named(configs, tiny_data, tmp_path):
    root = copy_set(tiny_data, tmp_path, ADE)
    gone = ade_label(root, 0)
    shutil.move(gone, root / ADE_LABELS / 'ADE_train_99999999.png')
    with pytest.raises(DatasetCheckError) as err:
        build(configs, 'ade', root)
    msg = str(err.value)
    image = root / 'images' / 'training' / gone.name.replace('.png', '.jpg')
    assert f'{image}: label file {gone} is missing' in msg
    assert (f"{root / ADE_LABELS / 'ADE_train_99999999.png'}: has no image "
            f"(expected {root / 'images' / 'training'}/ADE_train_99999999.jpg)"
            ) in msg
    assert '2 invalid samples' in msg


def test_ade20k_skip_invalid_loads_the_rest_with_a_warning(
        configs, tiny_data, tmp_path):
    """With the smoke config's training pipeline: the remaining samples
    load with in-range targets; the log has the warning with the count."""
    root = copy_set(tiny_data, tmp_path, ADE)
    for index in (1, 7):
        path = ade_label(root, index)
        labels = np.asarray(Image.open(path)).copy()
        labels[0, 0] = 151
        Image.fromarray(labels).save(path)
    log = log_file(tmp_path, 'ade_skip')
    ds_cfg = dataset_cfg(configs['ade'], 'ade', root, skip_invalid=True)
    ds_cfg.pipeline = configs['ade'].train_pipeline
    with DefaultScope.overwrite_default_scope('mmseg'):
        ds = DATASETS.build(ds_cfg)
    assert len(ds) == 48 - 2
    assert ade_label(root, 1).name not in {
        osp.basename(ds.get_data_info(i)['seg_map_path'])
        for i in range(len(ds))}
    target = ds[1]['data_samples'].gt_sem_seg.data
    assert ((target < 150) | (target == 255)).all()
    text = log.read_text()
    assert 'label values [151] are outside 0..150' in text
    assert 'skip_invalid=True: dropping these 2 invalid samples' in text


# ---- ImageNet lists ---------------------------------------------------------


def edit_list(path, index, line):
    lines = path.read_text().splitlines()
    lines[index] = line
    path.write_text('\n'.join(lines) + '\n')
    return lines


def test_imagenet_missing_file_names_list_line_and_path(
        configs, tiny_data, tmp_path):
    root = copy_set(tiny_data, tmp_path, 'imagenet')
    ann = root / 'meta' / 'train.txt'
    name = ann.read_text().splitlines()[9].split()[0]
    os.remove(root / 'train' / name)
    with pytest.raises(DatasetCheckError) as err:
        build(configs, 'imagenet', root)
    msg = str(err.value)
    assert f'{ann}: 1 invalid lines' in msg
    assert f"line 10 '{name} 0': file {root / 'train' / name} is missing" \
        in msg


def test_imagenet_label_outside_the_classes(configs, tiny_data, tmp_path):
    root = copy_set(tiny_data, tmp_path, 'imagenet')
    ann = root / 'meta' / 'val.txt'
    name = ann.read_text().splitlines()[3].split()[0]
    edit_list(ann, 3, f'{name} 8')
    with pytest.raises(DatasetCheckError) as err:
        build(configs, 'imagenet', root, split='val')
    assert f"{ann}: 1 invalid lines" in str(err.value)
    assert f"line 4 '{name} 8': label 8 is outside 0..7 (8 classes)" in str(
        err.value)


def test_imagenet_malformed_line_stops_even_with_skip(configs, tiny_data,
                                                      tmp_path):
    root = copy_set(tiny_data, tmp_path, 'imagenet')
    ann = root / 'meta' / 'val.txt'
    edit_list(ann, 0, 'ILSVRC2012_val_00000001.JPEG')
    with pytest.raises(DatasetCheckError) as err:
        build(configs, 'imagenet', root, split='val', skip_invalid=True)
    assert (f"{ann}: 1 invalid lines:\n  line 1 "
            "'ILSVRC2012_val_00000001.JPEG': is not \"<path> <integer "
            'label>"') in str(err.value)


def test_imagenet_skip_invalid_drops_lines_with_a_warning(
        configs, tiny_data, tmp_path):
    root = copy_set(tiny_data, tmp_path, 'imagenet')
    ann = root / 'meta' / 'val.txt'
    lines = ann.read_text().splitlines()
    edit_list(ann, 0, lines[0].split()[0] + ' -1')
    os.remove(root / 'val' / lines[1].split()[0])
    log = log_file(tmp_path, 'imagenet_skip')
    ds = build(configs, 'imagenet', root, split='val', skip_invalid=True)
    assert len(ds) == len(lines) - 2
    assert ds.get_data_info(0)['img_path'].endswith(lines[2].split()[0])
    assert 'dropping these 2 invalid lines' in log.read_text()


# ---- the valid tiny sets and the pure checks --------------------------------


@pytest.mark.parametrize('kind', ['coco', 'ade', 'imagenet'])
def test_valid_tiny_sets_pass(configs, tiny_data, kind):
    folder = dict(coco='coco', ade=ADE, imagenet='imagenet')[kind]
    sizes = dict(coco=(48, 16), ade=(48, 16), imagenet=(320, 80))[kind]
    for split, size in zip(('train', 'val'), sizes):
        ds = build(configs, kind, osp.join(tiny_data, folder), split)
        assert type(ds).__name__.startswith('Checked') and len(ds) == size


def test_bad_options_are_refused(configs, tiny_data):
    root = osp.join(tiny_data, 'imagenet')
    with pytest.raises(ValueError, match="max_listed must be a positive"):
        build(configs, 'imagenet', root, max_listed=0)
    with pytest.raises(ValueError, match="skip_invalid must be True or"):
        build(configs, 'imagenet', root, skip_invalid='yes')


def test_rle_segmentation_checked_against_the_image_size():
    rle = dict(counts='abc', size=[128, 128])
    assert segmentation_problem(rle, 128, 128) is None
    assert segmentation_problem(dict(rle, size=[64, 128]), 128, 128) == (
        "RLE size [64, 128] is not the image's [height, width] [128, 128]")
    assert segmentation_problem(dict(counts='abc'), 128, 128) == (
        "RLE segmentation lacks 'counts' or 'size'")


def test_file_listing_and_missing_files(tmp_path):
    (tmp_path / 'a' / 'b').mkdir(parents=True)
    for name in ('x.png', 'a/y.png', 'a/b/z.png', 'a/w.jpg'):
        (tmp_path / name).write_bytes(b'')
    assert list_files(str(tmp_path / 'a'), '.png', recursive=True) == {
        'y.png', 'b/z.png'}
    assert list_files(str(tmp_path / 'nope')) == set()
    paths = [str(tmp_path / p) for p in ('x.png', 'a/b/z.png', 'a/q.png',
                                         'nope/r.png')]
    assert missing_files(paths) == {paths[2], paths[3]}


def test_list_problems_merge_reasons_of_one_line(tmp_path):
    malformed, invalid = find_list_problems(
        ['a.jpg 3', 'b.jpg x', 'c.jpg'], str(tmp_path), 3)
    assert [p.entry for p in malformed] == ["line 2 'b.jpg x'",
                                            "line 3 'c.jpg'"]
    assert [p.reason for p in invalid] == ['label 3 is outside 0..2 (3 '
                                           'classes)']
    _, invalid = find_list_problems(['a.jpg 3'], str(tmp_path), 3)
    assert invalid[0].reason == (
        f"label 3 is outside 0..2 (3 classes); file "
        f"{tmp_path / 'a.jpg'} is missing")

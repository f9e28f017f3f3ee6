"""A corrupt image in a data set gives an error naming the file, through
the real dataset class and pipeline of a config."""
import os.path as osp
import shutil

import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope

from backbones.datasets.transforms import CorruptImageError
from conftest import SMOKE_PRETRAIN


@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
@pytest.mark.parametrize('content', [b'', b'not a jpeg', 'truncated'])
def test_corrupt_image_is_named(tiny_data, tmp_path, backend, content):
    from mmpretrain.registry import DATASETS
    root = tmp_path / 'imagenet'
    shutil.copytree(osp.join(tiny_data, 'imagenet'), root)
    victim = root / 'train' / 'n01443537' / 'n01443537_3.JPEG'
    if content == 'truncated':
        content = victim.read_bytes()[:300]
    victim.write_bytes(content)
    cfg = Config.fromfile(SMOKE_PRETRAIN)
    dataset_cfg = cfg.train_dataloader.dataset
    dataset_cfg.data_root = str(root)
    dataset_cfg.pipeline[0]['imdecode_backend'] = backend
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        dataset = DATASETS.build(dataset_cfg)
    index = next(i for i in range(len(dataset))
                 if dataset.get_data_info(i)['img_path'] == str(victim))
    dataset[index - 1]  # its neighbours still load
    with pytest.raises(CorruptImageError, match='n01443537_3.JPEG'):
        dataset[index]

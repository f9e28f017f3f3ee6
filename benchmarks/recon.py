"""Draw what a pretraining checkpoint reconstructs from masked images.

``mimb-recon CONFIG CHECKPOINT`` builds the model of the pretraining config,
loads the checkpoint, masks the first ``--num-images`` images as the method
does (random patches for MAE, the K parts for EMAE, SimMIM's masked blocks,
a model's own ``reconstruct`` for the others) and writes a PNG grid: the
original, then per masked view the masked input and the reconstruction
(predicted pixels in the hidden patches, original pixels elsewhere).

The images are those of the config's ``val_dataloader``; a pretraining
config has only a ``train_dataloader``, whose data set is read through a
test-time pipeline instead of its augmentation: the train pipeline's loader,
``ResizeEdge`` of the short edge to 8 / 7 of the crop size, ``CenterCrop`` to
the training crop size (its ``RandomResizedCrop``), ``PackInputs``.
"""
import argparse
import copy
import os.path as osp
import sys
from typing import List, Optional, Tuple

from mmengine.config import Config, DictAction
from mmengine.dataset import default_collate
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from mmpretrain.registry import DATASETS, MODELS

import backbones  # noqa: F401 (registers the suite, safe loading)
from backbones.engine.fileio import atomic_write_bytes
from backbones.tools.reconstruction import RECON_FILE, reconstruction_png
from benchmarks.errors import cli_main, read_config


class ReconError(RuntimeError):
    """The config, checkpoint or data cannot give a picture."""


def _type_name(transform: dict) -> str:
    return str(transform.get('type', '')).split('.')[-1]


def crop_size(cfg: Config) -> int:
    """The side of the training crop: ``RandomResizedCrop.scale`` of the
    train pipeline, else the backbone's ``img_size``."""
    for transform in cfg.train_dataloader.dataset.get('pipeline', []):
        if _type_name(transform) == 'RandomResizedCrop':
            scale = transform.get('scale')
            return max(scale) if isinstance(scale, (list, tuple)) else scale
    size = cfg.model.get('backbone', {}).get('img_size')
    if size is None:
        raise ReconError('cannot tell the image size: the train pipeline has '
                         'no RandomResizedCrop and model.backbone no img_size')
    return max(size) if isinstance(size, (list, tuple)) else size


def test_time_pipeline(cfg: Config) -> List[dict]:
    """Load, resize, center crop and pack, at the training crop size."""
    pipeline = cfg.train_dataloader.dataset.get('pipeline') or []
    if not pipeline or not _type_name(pipeline[0]).startswith('Load'):
        raise ReconError('the train pipeline does not start with an image '
                         f'loader: {pipeline[:1]}')
    size = crop_size(cfg)
    return [
        copy.deepcopy(pipeline[0]),
        dict(type='ResizeEdge', scale=round(size * 8 / 7), edge='short',
             backend='pillow', interpolation='bicubic'),
        dict(type='CenterCrop', crop_size=size),
        dict(type='PackInputs'),
    ]


def simmim_mask_cfg(cfg: Config) -> Optional[dict]:
    """The arguments of the train pipeline's ``SimMIMMaskGenerator``."""
    for transform in cfg.train_dataloader.dataset.get('pipeline', []):
        if _type_name(transform) == 'SimMIMMaskGenerator':
            return {k: v for k, v in transform.items() if k != 'type'}
    return None


def load_batch(cfg: Config, model, num_images: int) -> dict:
    """The first ``num_images`` images, through the model's preprocessor.

    Returns:
        dict: ``inputs`` (N, C, H, W) normalised and ``data_samples``.
    """
    loader = cfg.get('val_dataloader')
    if loader and loader.get('dataset'):
        dataset_cfg = copy.deepcopy(loader.dataset)
    else:
        dataset_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
        dataset_cfg.pipeline = test_time_pipeline(cfg)
    dataset = DATASETS.build(dataset_cfg)
    count = min(num_images, len(dataset))
    if count == 0:
        raise ReconError(f'the data set of the config is empty: '
                         f'{dataset_cfg.get("data_root", dataset_cfg)}')
    batch = default_collate([dataset[i] for i in range(count)])
    return model.data_preprocessor(batch, False)


def build_model(cfg: Config, checkpoint: str):
    """The config's model (with its data preprocessor), weights loaded
    strictly through MMEngine (safe loading from
    :mod:`backbones.engine.compat`)."""
    model_cfg = copy.deepcopy(cfg.model)
    if cfg.get('data_preprocessor'):
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(model_cfg)
    try:
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    except (RuntimeError, OSError, ValueError) as err:
        lines = str(err).splitlines()
        more = f'\n... ({len(lines) - 8} more lines)' if len(lines) > 8 else ''
        raise ReconError(f'cannot load {checkpoint} into the model of the '
                         'config: ' + '\n'.join(lines[:8]) + more) from err
    return model


def draw(config: str, checkpoint: str, out: str, num_images: int = 4,
         seed: int = 0, with_pred: bool = False,
         cfg_options: Optional[dict] = None) -> Tuple[str, int]:
    """Write the picture of ``checkpoint``; returns its path and size."""
    cfg = read_config(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if not cfg.get('model') or not cfg.get('train_dataloader'):
        raise ReconError(f'{config} is not a pretraining config (it needs '
                         'model and train_dataloader)')
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    try:
        model = build_model(cfg, checkpoint)
        data = load_batch(cfg, model, num_images)
    except (KeyError, FileNotFoundError) as err:
        raise ReconError(f'{config}: {err}') from err
    png = reconstruction_png(model, data['inputs'], data['data_samples'],
                             seed, simmim_mask_cfg(cfg), with_pred)
    atomic_write_bytes(out, png)
    return out, len(png)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='mimb-recon', description=__doc__.split('\n\n')[0],
        epilog='Example: mimb-recon configs/mae/mae_vit-tiny-p4_1xb32-coslr-'
        '30e_tiny-in1k-32px.py work_dirs/mae/epoch_30.pth',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('config', help='pretraining config')
    parser.add_argument('checkpoint', help='pretraining checkpoint')
    parser.add_argument('--out', help='PNG to write (None: '
                        f'{RECON_FILE} next to the checkpoint)')
    parser.add_argument('--num-images', type=int, default=4,
                        help='rows of the picture')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the masks')
    parser.add_argument('--with-pred', action='store_true',
                        help='also show the raw prediction of every view')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    args = parser.parse_args(argv)
    for kind, path in (('config', args.config),
                       ('checkpoint', args.checkpoint)):
        if not osp.isfile(path):
            parser.error(f'{kind} {path} does not exist')
    if args.num_images < 1:
        parser.error('--num-images must be at least 1')
    args.out = args.out or osp.join(osp.dirname(args.checkpoint), RECON_FILE)
    return args


@cli_main('mimb-recon', ReconError, TypeError)
def main(argv=None) -> int:
    args = parse_args(argv)
    out, size = draw(args.config, args.checkpoint, args.out,
                     args.num_images, args.seed, args.with_pred,
                     args.cfg_options)
    print(f'mimb-recon: {out} ({size} bytes)')
    return 0


if __name__ == '__main__':
    sys.exit(main())

"""Write the parity records of ``tests/data/parity`` from the official code.

Every record holds what one official model computes on CPU at a tiny size:
its checkpoint in the official key layout (every parameter perturbed by
seeded Gaussian noise: the official init has LayerNorms at 1 / 0 and zero
biases, which would hide swapped or dropped tensors), the input images,
the mask randomness it drew, and its latent, prediction and loss.
``tests/models/test_parity.py`` converts the checkpoint with ``mimb-convert``,
loads it into the suite's model, replays the masks and compares.

The official model files are exported with ``git archive`` from bare
snapshots of the official repositories (``--mae``, ``--convmae``,
``--ummae``) into a temporary folder and imported from there, so nothing
of the official source enters this repository. They were written for
timm 0.3-0.4; the shims below are applied at import time only (the
installed timm is not modified):

* ``timm.models.vision_transformer.Block`` gets a ``qk_scale`` keyword
  again (MAE ``models_mae.py`` and UM-MAE's decoders pass
  ``qk_scale=None``; timm >= 0.6 has no such argument). Only ``None`` is
  accepted, so the block computes what the old one computed.
* ``numpy.float`` (removed in numpy 1.24) is set to ``float`` again, which
  it was an alias of (``util/pos_embed.py`` of all three repositories
  builds the sin-cos tables with ``dtype=np.float``).
* ``turtle`` is replaced by a stub if it cannot be imported (UM-MAE's
  ``models_mae_swin.py`` and ``models_simmim_swin.py`` import ``pos`` from
  it without using it; ``turtle`` needs tkinter).
* Nothing else: timm 1.0 still has ``timm.models.layers``, ``helpers`` and
  ``registry`` as deprecated aliases (their warnings are silenced), and
  its ``PatchEmbed`` takes MAE's positional arguments.
* ``torch.rand`` is fed the record's noise while an official model draws
  its masks (the code itself is unchanged), so the noise is known exactly.

Example::

    python tools/make_parity_records.py \\
        --mae /path/to/facebookresearch+mae.git \\
        --convmae /path/to/Alpha-VL+ConvMAE.git \\
        --ummae /path/to/implus+UM-MAE.git
"""
import argparse
import contextlib
import importlib
import io
import json
import os.path as osp
import subprocess
import sys
import tarfile
import tempfile
import types
import warnings
from functools import partial
from typing import Dict, Iterator, List, Sequence

import numpy as np
import torch
from torch import nn

OUT = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'tests',
               'data', 'parity')
REPOS = {
    'mae': ('facebookresearch/mae', ['models_mae.py', 'util/pos_embed.py']),
    'convmae': ('Alpha-VL/ConvMAE', ['models_convmae.py',
                                     'vision_transformer.py',
                                     'util/pos_embed.py']),
    'ummae': ('implus/UM-MAE', ['models_mae_swin.py', 'models_mae_pvt.py',
                                'models_simmim_swin.py',
                                'models_simmim_pvt.py', 'mask_transform.py',
                                'util/pos_embed.py']),
}
BATCH = 2
NOISE_STD = 0.05  # perturbation of every official parameter
PRED_VALUES = 48  # stored prediction values per patch (evenly strided)
LN = partial(nn.LayerNorm, eps=1e-6)  # the official norm_layer


def export(git_dir: str, files: Sequence[str], dest: str) -> str:
    """Extract ``files`` of HEAD of a bare repository into ``dest``.

    Returns:
        str: The commit they came from.

    Raises:
        RuntimeError: git failed (not a repository, missing file).
    """
    def git(*args) -> bytes:
        proc = subprocess.run(['git', f'--git-dir={git_dir}', *args],
                              capture_output=True)
        if proc.returncode:
            raise RuntimeError(f'git {" ".join(args)} in {git_dir}: '
                               f'{proc.stderr.decode().strip()}')
        return proc.stdout

    commit = git('rev-parse', 'HEAD').decode().strip()
    archive = git('archive', '--format=tar', commit, '--', *files)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter='data')
    return commit


class _Block:
    """Factory for the timm-0.3 ``Block(..., qk_scale=None, ...)`` call."""

    def __init__(self, block_cls):
        self.block_cls = block_cls

    def __call__(self, *args, qk_scale=None, **kwargs):
        if qk_scale is not None:
            raise ValueError('the shim only reproduces qk_scale=None')
        return self.block_cls(*args, **kwargs)


@contextlib.contextmanager
def official_modules(folder: str, names: Sequence[str]) -> Iterator[dict]:
    """Import the official ``names`` from ``folder`` with the timm shims.

    Yields:
        dict: module name -> module. On exit the shims are undone and the
        official modules (and their ``util``) are forgotten, so the next
        repository's files of the same names import afresh.
    """
    import timm.models.vision_transformer as tvit
    block = tvit.Block
    tvit.Block = _Block(block)
    had_float = hasattr(np, 'float')
    np.float = float
    stub = None
    try:
        importlib.import_module('turtle')
    except ImportError:  # tkinter missing: UM-MAE only imports `pos`
        stub = sys.modules['turtle'] = types.ModuleType('turtle')
        stub.pos = None
    sys.path.insert(0, folder)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # timm's deprecated aliases
            yield {n: importlib.import_module(n) for n in names}
    finally:
        sys.path.remove(folder)
        tvit.Block = block
        if not had_float:
            del np.float
        if stub is not None:
            del sys.modules['turtle']
        for name in list(sys.modules):
            if name in names or name.split('.')[0] == 'util':
                del sys.modules[name]


@contextlib.contextmanager
def fed_rand(*noises: torch.Tensor) -> Iterator[None]:
    """Make ``torch.rand`` return ``noises`` in turn (shapes checked).

    Raises:
        RuntimeError: The official code drew more or other noise than fed.
    """
    queue, rand = list(noises), torch.rand

    def feed(*size, **kwargs):
        shape = tuple(size[0]) if len(size) == 1 and not isinstance(
            size[0], int) else tuple(size)
        if not queue or tuple(queue[0].shape) != shape:
            raise RuntimeError(f'official code drew torch.rand{shape}, '
                               f'fed {[tuple(n.shape) for n in queue]}')
        return queue.pop(0).clone()

    torch.rand = feed
    try:
        yield
    finally:
        torch.rand = rand
    if queue:
        raise RuntimeError(f'{len(queue)} fed noise tensors were not drawn')


def build(factory, seed: int) -> nn.Module:
    """An official model with every parameter perturbed, in eval mode."""
    torch.manual_seed(seed)
    with contextlib.redirect_stdout(io.StringIO()):  # 'vis_mask_token ...'
        model = factory()
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * NOISE_STD)
    return model.eval()


def images(size: int, seed: int) -> torch.Tensor:
    """(BATCH, 3, size, size) uint8 images; the models see ``x / 255``."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (BATCH, 3, size, size), generator=gen,
                         dtype=torch.uint8)


def noise(shape: Sequence[int], seed: int) -> torch.Tensor:
    """What ``torch.manual_seed(seed); torch.rand(shape)`` returns, so the
    suite's models, which draw from the global generator, replay it."""
    return torch.rand(tuple(shape),
                      generator=torch.Generator().manual_seed(seed))


def pred_values(pred: torch.Tensor) -> Dict[str, torch.Tensor]:
    """``pred_index`` and the prediction values at those channels."""
    index = torch.arange(0, pred.shape[-1],
                         max(pred.shape[-1] // PRED_VALUES, 1))
    return dict(pred_index=index, pred=pred[..., index].contiguous())


def record(name: str, source: dict, model: nn.Module, config: dict,
           **tensors) -> dict:
    """The record's dict: provenance, config, official checkpoint, tensors.
    """
    state = {k: v.detach().clone().contiguous()
             for k, v in model.state_dict().items()}
    out = dict(name=name, official=source, config=config,
               state_dict=state, noise_std=NOISE_STD)
    out.update({k: v.detach().clone() if torch.is_tensor(v) else v
                for k, v in tensors.items()})
    return out


def mae_records(mod, source: dict) -> List[dict]:
    """MAE (ViT) and EMAE's MAE-equal setting (K parts, no self-
    consistency), both from ``models_mae.MaskedAutoencoderViT``."""
    config = dict(img_size=32, patch_size=8, in_chans=3, embed_dim=32,
                  depth=2, num_heads=4, decoder_embed_dim=16,
                  decoder_depth=2, decoder_num_heads=4, mlp_ratio=4,
                  norm_pix_loss=True)
    length, ratio = (32 // 8)**2, 0.75
    out = []
    for name, seed in (('mae', 0), ('emae', 10)):
        model = build(partial(mod.MaskedAutoencoderViT, norm_layer=LN,
                              **config), seed)
        x_u8 = images(32, seed)
        x = x_u8.float() / 255
        drawn = noise((BATCH, length), seed + 2)
        parts = [drawn]
        if name == 'emae':
            # EMAE's K = 4 parts of one permutation: part k keeps the k-th
            # quarter of argsort(noise); an MAE pass of the rolled ranks
            # keeps exactly that quarter, in the permutation's order.
            k_parts, n = 4, length // 4
            rank = drawn.argsort(1).argsort(1)
            parts = [((rank - k * n) % length).float() / length
                     for k in range(k_parts)]
        runs = []
        with torch.no_grad():
            for part in parts:
                with fed_rand(part):
                    latent, mask, ids = model.forward_encoder(x, ratio)
                pred = model.forward_decoder(latent, ids)
                runs.append((latent, mask, pred,
                             model.forward_loss(x, pred, mask)))
        latent, mask, pred = (torch.cat([r[i] for r in runs])
                              for i in range(3))
        loss = torch.stack([r[3] for r in runs]).mean()
        out.append(record(
            name, dict(source, code='models_mae.py MaskedAutoencoderViT'),
            model, dict(config, mask_ratio=ratio, seed=seed + 2),
            images=x_u8, noise=drawn, mask=mask, latent=latent, loss=loss,
            **pred_values(pred)))
    return out


def convmae_record(mod, source: dict) -> dict:
    """ConvMAE from ``models_convmae.MaskedAutoencoderConvViT``; its
    masking is written for 224 px (a 14 x 14 stage-3 grid)."""
    config = dict(img_size=[224, 56, 28], patch_size=[4, 2, 2],
                  embed_dim=[8, 16, 32], depth=[1, 1, 2], num_heads=4,
                  decoder_embed_dim=16, decoder_depth=1, decoder_num_heads=4,
                  mlp_ratio=[4, 4, 4], norm_pix_loss=True)
    seed, ratio = 20, 0.75
    model = build(partial(mod.MaskedAutoencoderConvViT, norm_layer=LN,
                          **config), seed)
    x_u8 = images(224, seed)
    x = x_u8.float() / 255
    drawn = noise((BATCH, 196), seed + 2)
    with torch.no_grad():
        with fed_rand(drawn):
            latent, mask, ids = model.forward_encoder(x, ratio)
        pred = model.forward_decoder(latent, ids)
        loss = model.forward_loss(x, pred, mask)
    return record('convmae', dict(
        source, code='models_convmae.py MaskedAutoencoderConvViT'), model,
        dict(config, mask_ratio=ratio), images=x_u8, noise=drawn, mask=mask,
        latent=latent, loss=loss, **pred_values(pred))


def official_mask(mask_transform, grid: int, seed: int,
                  regular: bool = True) -> torch.Tensor:
    """(BATCH, grid * grid) bool masks of the official generator
    (``RandomMaskingGenerator``, ratio 0.75, numpy-seeded): uniform
    (``regular``, UM-MAE) or random patches (SimMIM)."""
    np.random.seed(seed)
    with contextlib.redirect_stdout(io.StringIO()):
        gen = mask_transform.RandomMaskingGenerator(grid, 0.75, regular)
        masks = [gen() for _ in range(BATCH)]
    return torch.from_numpy(np.stack(masks)).to(torch.bool)


def secondary_noise(mask: torch.Tensor, cell_noise: torch.Tensor
                    ) -> torch.Tensor:
    """(B, L) noise of the official secondary masking that hides the same
    visible patches as ``cell_noise`` (B, cells) does in cell order.

    The official code keeps the visible patches of lowest noise (it sorts
    ``mask + noise``); the suite's ``secondary_masks`` keeps the cells of
    lowest noise, cells in raster order of the compacted map. Cell (i, j)
    holds the visible patch of rows 2i, 2i + 1 and columns 2j, 2j + 1.
    """
    b, length = mask.shape
    side = int(length**.5)
    hidden = mask.view(b, side // 2, 2, side // 2, 2).permute(0, 1, 3, 2, 4)
    out = torch.full((b, side // 2, side // 2, 2, 2), 0.5)
    out[~hidden] = cell_noise.flatten()
    return out.permute(0, 1, 3, 2, 4).reshape(b, length)


def ummae_records(mods, source: dict) -> List[dict]:
    """UM-MAE Swin and PVT (``models_mae_swin.MaskedAutoencoderSwin``,
    ``models_mae_pvt.MaskedAutoencoderPVT``) with secondary masking."""
    common = dict(img_size=128, patch_size=4, in_chans=3, stride=16,
                  decoder_embed_dim=16, decoder_depth=1, decoder_num_heads=2,
                  norm_pix_loss=True, vis_mask_ratio=0.25)
    configs = {
        'ummae_swin': (mods['models_mae_swin'].MaskedAutoencoderSwin, dict(
            common, embed_dim=4, depths=[2, 2, 2, 1], num_heads=[1, 1, 2, 2],
            mlp_ratio=4, window_size=4, posmlp_dim=32), 30),
        'ummae_pvt': (mods['models_mae_pvt'].MaskedAutoencoderPVT, dict(
            common, embed_dims=[4, 8, 16, 32], depths=[2, 2, 2, 1],
            num_heads=[1, 1, 2, 2], mlp_ratios=[8, 8, 4, 4],
            sr_ratios=[4, 2, 1, 1], decoder_mlp_ratio=4), 40),
    }
    grid = 128 // 16
    out = []
    for name, (cls, config, seed) in configs.items():
        model = build(partial(cls, norm_layer=LN, **config), seed)
        x_u8 = images(128, seed)
        x = x_u8.float() / 255
        mask = official_mask(mods['mask_transform'], grid, seed)
        cells = noise((BATCH, (grid // 2)**2), seed + 2)
        drawn = secondary_noise(mask, cells)
        with torch.no_grad():
            with fed_rand(drawn):
                latent = model.forward_encoder(x, mask)
            pred, n_masked = model.forward_decoder(latent, mask)
            loss = model.forward_loss(x, pred[:, -n_masked:], mask)
        # the official secondary mask: visible patches beyond the lowest
        # int(visible * (1 - ratio)) values of mask + noise
        keep = int((grid * grid // 4) * (1 - config['vis_mask_ratio']))
        order = (mask.float() + drawn).argsort(1)
        secondary = torch.zeros_like(drawn).scatter_(1, order[:, keep:], 1.)
        secondary = secondary * (~mask)
        out.append(record(
            name, dict(source, code=f'{cls.__module__}.py {cls.__name__}'),
            model, dict(config, seed=seed + 2), images=x_u8, mask=mask,
            noise=drawn, cell_noise=cells, secondary=secondary,
            latent=latent, loss=loss, **pred_values(pred)))
    return out


def simmim_records(mods, source: dict) -> List[dict]:
    """UM-MAE's SimMIM baselines (``models_simmim_swin.SimMIMSwin``,
    ``models_simmim_pvt.SimMIMPVT``): every token enters the encoder, the
    hidden ones as the mask token; L1 on the hidden patches."""
    common = dict(img_size=128, patch_size=4, in_chans=3, stride=16)
    configs = {
        # narrow last stages: the decoder has 4 * 16 * 16 * 3 outputs
        'simmim_swin': (mods['models_simmim_swin'].SimMIMSwin, dict(
            common, embed_dim=3, depths=[2, 2, 2, 1], num_heads=[1, 1, 2, 2],
            mlp_ratio=4, window_size=4, posmlp_dim=32), 50),
        'simmim_pvt': (mods['models_simmim_pvt'].SimMIMPVT, dict(
            common, embed_dims=[4, 8, 16, 16], depths=[2, 2, 2, 1],
            num_heads=[1, 1, 2, 2], mlp_ratios=[8, 8, 4, 4],
            sr_ratios=[8, 4, 2, 1]), 60),
    }
    out = []
    for name, (cls, config, seed) in configs.items():
        model = build(partial(cls, norm_layer=LN, **config), seed)
        x_u8 = images(128, seed)
        x = x_u8.float() / 255
        mask = official_mask(mods['mask_transform'], 128 // 16, seed,
                             regular=False)
        with torch.no_grad(), fed_rand():  # draws no noise
            latent = model.forward_encoder(x, mask)
            pred = model.forward_decoder(latent)
            loss = model.forward_loss(x, pred, mask)
        out.append(record(
            name, dict(source, code=f'{cls.__module__}.py {cls.__name__}'),
            model, config, images=x_u8, mask=mask, latent=latent, loss=loss,
            **pred_values(pred)))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        epilog='Records: mae, emae, convmae, ummae_swin, ummae_pvt, '
        'simmim_swin, simmim_pvt.')
    parser.add_argument('--mae', required=True,
                        help='git dir of a facebookresearch/mae snapshot')
    parser.add_argument('--convmae', required=True,
                        help='git dir of an Alpha-VL/ConvMAE snapshot')
    parser.add_argument('--ummae', required=True,
                        help='git dir of an implus/UM-MAE snapshot')
    parser.add_argument('--out', default=OUT,
                        help='output folder (default: tests/data/parity)')
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    records, sources = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for key, (repo, files) in REPOS.items():
            folder = osp.join(tmp, key)
            try:
                commit = export(getattr(args, key), files, folder)
            except RuntimeError as err:
                parser.error(str(err))
            sources[key] = dict(repo=repo, commit=commit)
            names = [f[:-3] for f in files if '/' not in f]
            with official_modules(folder, names) as mods:
                if key == 'mae':
                    records += mae_records(mods['models_mae'], sources[key])
                elif key == 'convmae':
                    records.append(convmae_record(mods['models_convmae'],
                                                  sources[key]))
                else:
                    records += ummae_records(mods, sources[key])
                    records += simmim_records(mods, sources[key])
    index = {}
    for rec in records:
        path = osp.join(args.out, f'{rec["name"]}.pt')
        torch.save(rec, path)
        index[rec['name']] = dict(rec['official'], file=osp.basename(path),
                                  loss=float(rec['loss']),
                                  bytes=osp.getsize(path))
        print(f'{path}: {osp.getsize(path) / 1024:.0f} KiB, official loss '
              f'{float(rec["loss"]):.6f}')
    with open(osp.join(args.out, 'records.json'), 'w') as f:
        json.dump(index, f, indent=2, sort_keys=True)
        f.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())

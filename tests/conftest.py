"""Shared fixtures: the repository paths and one tiny data set per session."""
import os
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(REPO, 'configs')
SMOKE_PRETRAIN = osp.join(
    CONFIGS, 'mae', 'mae_vit-tiny-p4_1xb32-coslr-30e_tiny-in1k-32px.py')

# Tests run on the CPU even where a GPU is visible, on two threads.
os.environ.setdefault('CUDA_VISIBLE_DEVICES', '')


@pytest.fixture(scope='session')
def tiny_data(tmp_path_factory):
    """The default tiny data sets (as `mimb-data` writes them)."""
    from benchmarks.tiny_data import generate
    root = str(tmp_path_factory.mktemp('data') / 'tiny')
    generate(root)
    return root


def run_cli(args, cwd=REPO, timeout=900, check=True):
    """Run a command with this interpreter's environment; return the result.

    On failure the output is part of the assertion message.
    """
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(
            f'{args} exited {proc.returncode}\nstdout:\n'
            f'{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}')
    return proc


def mim(*args):
    """The argv prefix of `python -m mim ...` for this interpreter."""
    return [sys.executable, '-m', 'mim', *args]


def patch_constant(mask, p):
    """Every p x p patch of a (B, 1, H, W) mask is all 0 or all 1."""
    blocks = mask.unfold(2, p, p).unfold(3, p, p)
    return bool((blocks.amin((-1, -2)) == blocks.amax((-1, -2))).all())


def build_model(config, scope, checkpoint=None):
    """The model of a config, built in ``scope`` (mmpretrain, mmdet, mmseg)
    and initialised; ``checkpoint`` goes to the backbone's init_cfg. The
    default scope is set only while building, so no later test inherits
    it."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    import backbones  # noqa: F401  registers the suite's modules
    cfg = Config.fromfile(config)
    registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    if checkpoint:
        cfg.model.backbone.init_cfg.checkpoint = checkpoint
    with DefaultScope.overwrite_default_scope(scope):
        model = registry.build(cfg.model)
        model.init_weights()
    return model

"""The safe checkpoint loader: MMEngine's checkpoints load under
weights_only=True, anything that would run code is refused."""
import os.path as osp
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner import CheckpointLoader

import backbones  # noqa: F401  installs the loader
from backbones.engine.compat import (UnsafeCheckpointError, _load_from_local,
                                     safe_torch_load)


def mmengine_like_checkpoint(path):
    """What CheckpointHook writes: weights plus the message hub with
    HistoryBuffers of numpy values (arrays and scalars, float and int)."""
    hub = dict(log_scalars={
        'train/loss': HistoryBuffer([np.float64(0.5), np.float64(0.25)],
                                    [1, 1]),
        'train/iter': HistoryBuffer([np.int64(3)], [1])},
        runtime_info={'epoch': 2, 'iter': 20},
        resumed_keys={'epoch': False})
    ckpt = dict(meta=dict(epoch=2, iter=20, seed=np.int64(0)),
                state_dict={'w': torch.ones(2, 3)},
                message_hub=hub,
                optimizer={'state': {}, 'param_groups': []})
    torch.save(ckpt, path)
    return ckpt


class RunsACommand:
    """Unpickling this would create a file: a stand-in for a shell command."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, 'w'))


def test_default_torch_load_rejects_mmengine_checkpoints(tmp_path):
    # Why the fix exists: torch >= 2.6 refuses what MMEngine writes.
    path = str(tmp_path / 'epoch_2.pth')
    mmengine_like_checkpoint(path)
    with pytest.raises(pickle.UnpicklingError, match='Unsupported global'):
        torch.load(path)


def test_loader_reads_mmengine_checkpoints(tmp_path, monkeypatch):
    path = str(tmp_path / 'epoch_2.pth')
    mmengine_like_checkpoint(path)
    # as in a fresh process, where no HistoryBuffer registered its methods
    monkeypatch.setattr(HistoryBuffer, '_statistics_methods', {})
    ckpt = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    buf = ckpt['message_hub']['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer)
    assert buf.mean() == pytest.approx(0.375)
    assert torch.equal(ckpt['state_dict']['w'], torch.ones(2, 3))


def test_installed_scheme_is_the_safe_one():
    assert CheckpointLoader._schemes[''] is _load_from_local


def test_code_executing_checkpoint_is_refused(tmp_path):
    target = tmp_path / 'pwned'
    path = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {}, 'payload': RunsACommand(str(target))},
               path)
    with pytest.raises(UnsafeCheckpointError) as info:
        CheckpointLoader.load_checkpoint(path, map_location='cpu')
    assert 'evil.pth' in str(info.value)
    assert not target.exists()


class GetattrGadget:
    """getattr(HistoryBuffer, '__init__'): any attribute but the
    statistics methods must be refused."""

    def __reduce__(self):
        return (getattr, (HistoryBuffer, '__init__'))


def test_getattr_is_limited_to_history_buffer_statistics(tmp_path):
    path = str(tmp_path / 'gadget.pth')
    torch.save({'x': GetattrGadget()}, path)
    with pytest.raises(UnsafeCheckpointError, match='__init__'):
        safe_torch_load(path)


def test_missing_file_is_named(tmp_path):
    missing = str(tmp_path / 'nope.pth')
    with pytest.raises(FileNotFoundError, match=osp.basename(missing)):
        safe_torch_load(missing)

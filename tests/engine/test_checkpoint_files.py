"""Files that are not checkpoints, and checkpoints that would run code,
given wherever a checkpoint is read: a clear refusal naming the file."""
import os
import pickle
import shutil

import pytest
import torch
from mmengine.runner import load_checkpoint
from mmpretrain.models import VisionTransformer

import backbones  # noqa: F401  installs the safe loader
from backbones.engine.compat import (NotACheckpointError,
                                     UnsafeCheckpointError, safe_torch_load)
from benchmarks.convert import main as convert

TINY = dict(arch=dict(embed_dims=32, num_layers=1, num_heads=2,
                      feedforward_channels=32), img_size=16, patch_size=4)


def truncated_zip(path):
    torch.save({'state_dict': {'w': torch.ones(64)}}, path)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


# name -> (writes the file, what the message says was found)
NOT_CHECKPOINTS = {
    'text': (lambda p: p.write_text('epoch 30, top-1 83.6\n'),
             'starts with "epoch 30, top-1 83.6"'),
    'json': (lambda p: p.write_text('{"state_dict": {}}'),
             'starts with "{"'),
    'empty': (lambda p: p.write_bytes(b''), 'empty file'),
    'truncated zip': (truncated_zip, 'zip archive truncated'),
}


@pytest.fixture(params=list(NOT_CHECKPOINTS))
def not_a_checkpoint(request, tmp_path):
    write, found = NOT_CHECKPOINTS[request.param]
    path = tmp_path / f'{request.param.replace(" ", "_")}.pth'
    write(path)
    return path, found


def check_message(message, path, found):
    assert f'{path} is not a PyTorch checkpoint' in message
    assert found in message


def test_loader_names_the_file_and_what_it_found(not_a_checkpoint):
    path, found = not_a_checkpoint
    with pytest.raises(NotACheckpointError) as info:
        safe_torch_load(str(path))
    check_message(str(info.value), path, found)


@pytest.mark.parametrize('prefix', ['backbone.', None])
def test_fine_tune_init_refuses_it(not_a_checkpoint, prefix):
    # with a prefix our strict loader reads the file, without one MMEngine's
    # Pretrained initializer: both go through the installed safe loader
    path, found = not_a_checkpoint
    vit = VisionTransformer(**TINY, init_cfg=dict(
        type='Pretrained', checkpoint=str(path), prefix=prefix))
    with pytest.raises(NotACheckpointError) as info:
        vit.init_weights()
    check_message(str(info.value), path, found)


def test_runner_load_checkpoint_refuses_it(not_a_checkpoint):
    # what `mim test --checkpoint` calls (Runner.load_checkpoint)
    path, found = not_a_checkpoint
    with pytest.raises(NotACheckpointError) as info:
        load_checkpoint(VisionTransformer(**TINY), str(path))
    check_message(str(info.value), path, found)


def test_convert_prints_one_line(not_a_checkpoint, capsys):
    path, found = not_a_checkpoint
    out = path.with_name('out.pth')
    assert convert(['mae', str(path), str(out)]) == 1
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and err.startswith('mimb-convert: error: ')
    check_message(err, path, found)
    assert not out.exists()


class Calls:
    """Unpickling this calls ``function(*args)``."""

    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return (self.function, self.args)


@pytest.mark.parametrize('function', [os.system, shutil.rmtree],
                         ids=['blocked module', 'not allowed'])
def test_unsafe_global_is_named_from_torch_message(tmp_path, capsys,
                                                   function):
    marker = tmp_path / 'ran'
    marker.mkdir()
    args = (f'rmdir {marker}',) if function is os.system else (str(marker),)
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'x': Calls(function, *args)}, path)
    name = f'{function.__module__}.{function.__name__}'  # posix.system
    with pytest.raises(pickle.UnpicklingError) as real:  # torch's wording
        torch.load(path, weights_only=True)
    assert name in str(real.value)
    with pytest.raises(UnsafeCheckpointError) as info:
        safe_torch_load(str(path))
    assert f'{path}: it needs the global {name}, which is not' in str(
        info.value)
    assert convert(['mae', str(path), str(tmp_path / 'out.pth')]) == 1
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and f'the global {name}' in err
    assert marker.is_dir()  # nothing ran

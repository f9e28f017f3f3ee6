"""NonFiniteLossHook stops a real MMEngine run; RNGStateHook round-trips."""
import random

import numpy as np
import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

import backbones  # noqa: F401  registers the hooks
from backbones.hooks import NonFiniteLossError, RNGStateHook


class Blowup(BaseModel):
    """A linear model whose loss becomes NaN from the 3rd iteration."""

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(2, 1)
        self.calls = 0

    def forward(self, inputs, data_samples=None, mode='tensor'):
        self.calls += 1
        loss = self.fc(inputs).pow(2).mean()
        if self.calls >= 3:
            loss = loss * float('nan')
        return dict(loss=loss)


class Points(Dataset):

    def __len__(self):
        return 8

    def __getitem__(self, i):
        return dict(inputs=torch.ones(2) * i)


def make_runner(model, work_dir, hook, max_epochs, **kwargs):
    """A real MMEngine runner over 8 points, batches of 2, one hook."""
    return Runner(
        model=model, work_dir=str(work_dir),
        train_dataloader=dict(dataset=Points(), batch_size=2,
                              sampler=dict(type='DefaultSampler',
                                           shuffle=False),
                              collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        custom_hooks=[dict(type=hook)],
        default_hooks=dict(checkpoint=None), **kwargs)


def test_nan_loss_stops_the_run(tmp_path):
    runner = make_runner(Blowup(), tmp_path, 'NonFiniteLossHook', 2)
    with pytest.raises(NonFiniteLossError,
                       match=r'iteration 3 \(epoch 1\).*loss'):
        runner.train()


def test_rng_state_round_trip():
    hook = RNGStateHook()
    ckpt = {}
    torch.manual_seed(1)
    np.random.seed(1)
    random.seed(1)
    hook.before_save_checkpoint(None, ckpt)
    expected = (torch.rand(3), np.random.rand(3), random.random())
    torch.manual_seed(2)
    np.random.seed(2)
    random.seed(2)
    hook.after_load_checkpoint(None, ckpt)
    got = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(expected[0], got[0])
    assert np.array_equal(expected[1], got[1]) and expected[2] == got[2]


class Steady(Blowup):
    """Never NaN."""

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return dict(loss=self.fc(inputs).pow(2).mean())


@pytest.mark.parametrize('budget, epochs', [(None, 5), (1e-6, 1)])
def test_time_budget_stops_at_an_epoch_boundary(tmp_path, budget, epochs):
    from mmengine.config import Config
    runner = make_runner(Steady(), tmp_path, 'TimeBudgetHook', 5,
                         cfg=Config(dict(mimb_time_budget_s=budget)))
    runner.train()
    assert runner.epoch == epochs

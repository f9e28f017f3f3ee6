"""NonFiniteLossHook stops a real MMEngine run; RNGStateHook round-trips;
RunSummaryHook keeps a resumed run's history and marks missing metrics;
InitCheckpointHook saves the weights a run starts from."""
import random

import numpy as np
import pytest
import torch
from mmengine.evaluator import BaseMetric, Evaluator
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

import backbones  # noqa: F401  registers the hooks
from backbones.engine.hooks import NonFiniteLossError, RNGStateHook


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


class Draws(Dataset):
    """Each item is a numpy, a python and a torch random number."""

    def __len__(self):
        return 4

    def __getitem__(self, i):
        return torch.tensor([np.random.rand(), random.random(),
                             float(torch.rand(()))])


def draws_of_epochs(first, last):
    """What two persistent workers, seeded as MMEngine seeds them, draw in
    epochs ``first`` to ``last - 1`` under RNGStateHook."""
    from functools import partial
    from types import SimpleNamespace

    from mmengine.dataset import worker_init_fn
    loader = torch.utils.data.DataLoader(
        Draws(), batch_size=2, num_workers=2, persistent_workers=True,
        worker_init_fn=partial(worker_init_fn, num_workers=2, rank=0,
                               seed=0))
    runner = SimpleNamespace(train_dataloader=loader, seed=0, epoch=first)
    hook = RNGStateHook()
    hook.before_train(runner)
    draws = []
    for runner.epoch in range(first, last):
        hook.before_train_epoch(runner)
        draws.append(torch.cat(list(loader)))
    return draws


def test_persistent_workers_reseed_every_epoch():
    state = torch.get_rng_state()
    straight = draws_of_epochs(0, 3)
    # the loader draws its workers' base seed from a generator of its own
    assert torch.equal(torch.get_rng_state(), state)
    assert not torch.equal(straight[1], straight[2])
    # workers started at epoch 2, as in a resumed run, draw the same
    assert torch.equal(draws_of_epochs(2, 3)[0], straight[2])


class Steady(Blowup):
    """Never NaN; one output per point in validation."""

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode == 'predict':
            return list(self.fc(inputs))
        return dict(loss=self.fc(inputs).pow(2).mean())


@pytest.mark.parametrize('budget, epochs', [(None, 5), (1e-6, 1)])
def test_time_budget_stops_at_an_epoch_boundary(tmp_path, budget, epochs):
    from mmengine.config import Config
    runner = make_runner(Steady(), tmp_path, 'TimeBudgetHook', 5,
                         cfg=Config(dict(mimb_time_budget_s=budget)))
    runner.train()
    assert runner.epoch == epochs


@pytest.mark.parametrize('save, epochs',
                         [(True, 2), (True, 0), (False, 2)])
def test_init_checkpoint_is_the_start_of_training(tmp_path, save, epochs):
    from mmengine.config import Config
    torch.manual_seed(0)
    model = Steady()
    start = {k: v.clone() for k, v in model.state_dict().items()}
    runner = make_runner(model, tmp_path, 'InitCheckpointHook', epochs,
                         cfg=Config(dict(mimb_save_init=save)))
    runner.train()
    path = tmp_path / 'init.pth'
    assert path.is_file() == save
    trained = model.state_dict()
    assert torch.equal(trained['fc.weight'], start['fc.weight']) == (
        epochs == 0)
    if save:
        from backbones.engine.compat import safe_torch_load
        checkpoint = safe_torch_load(str(path))
        saved = checkpoint['state_dict']
        assert saved.keys() == start.keys()
        assert all(torch.equal(saved[k], start[k]) for k in start)
        assert 'optimizer' not in checkpoint


def summary_runner(work_dir, name, stage='pretrain', **kwargs):
    """A real runner over the 8 points with RunSummaryHook and checkpoints
    (every epoch, or every 4 iterations of an iteration-based loop), the
    model initialised from seed 0."""
    by_epoch = 'max_epochs' in kwargs['train_cfg']
    torch.manual_seed(0)
    return Runner(
        model=Steady(), work_dir=str(work_dir), experiment_name=name,
        train_dataloader=dict(dataset=Points(), batch_size=2,
                              sampler=dict(type='DefaultSampler',
                                           shuffle=False),
                              collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        custom_hooks=[dict(type='RunSummaryHook', stage=stage)],
        default_hooks=dict(checkpoint=dict(
            type='CheckpointHook', by_epoch=by_epoch,
            interval=1 if by_epoch else 4)),
        **kwargs)


def read_summary(work_dir):
    import json
    with open(work_dir / 'run_summary.json') as f:
        return json.load(f)


@pytest.mark.parametrize('train_cfg, stop, iters, resumed_at', [
    (dict(by_epoch=True, max_epochs=4), dict(max_epochs=2), 16, (2, 8)),
    # the checkpoint at iteration 4 falls inside the loop's one epoch
    (dict(by_epoch=False, max_iters=8), dict(max_iters=4), 8, (0, 4))])
def test_resumed_summary_keeps_the_history(tmp_path, train_cfg, stop, iters,
                                           resumed_at):
    summary_runner(tmp_path / 'straight', 'straight',
                   train_cfg=train_cfg).train()
    summary_runner(tmp_path / 'resumed', 'part1',
                   train_cfg=dict(train_cfg, **stop)).train()
    before = read_summary(tmp_path / 'resumed')
    summary_runner(tmp_path / 'resumed', 'part2', train_cfg=train_cfg,
                   resume=True).train()
    straight = read_summary(tmp_path / 'straight')
    resumed = read_summary(tmp_path / 'resumed')
    cost = resumed['cost']
    assert cost['iterations'] == straight['cost']['iterations'] == iters
    assert cost['images'] == straight['cost']['images'] == 2 * iters
    assert resumed['loss_curve'] == straight['loss_curve']
    assert straight['resumed_from'] == []
    (resume, ) = resumed['resumed_from']
    assert (resume['epoch'], resume['iteration']) == resumed_at
    # wall time: the first part up to its checkpoint plus the second part
    assert 0 < resume['wall_time_s'] <= before['cost']['wall_time_s']
    assert cost['wall_time_s'] > resume['wall_time_s']
    assert cost['device_hours'] == pytest.approx(cost['wall_time_s'] / 3600)
    assert cost['train_time_s'] > before['cost']['train_time_s']
    assert (resumed['provenance']['started_at'] ==
            before['provenance']['started_at'])


class CocoNothing(BaseMetric):
    """A COCO-like metric (box and mask AP) that finds nothing, as mmdet's
    CocoMetric does when a barely trained detector predicts no box."""

    def __init__(self):
        super().__init__(prefix='coco')
        self.metrics = ['bbox', 'segm']

    def process(self, data_batch, data_samples):
        pass

    def compute_metrics(self, results):
        return {}


class Found(CocoNothing):

    def compute_metrics(self, results):
        return {'bbox_mAP': 0.5}


@pytest.mark.parametrize('stage, metric, missing', [
    ('det', CocoNothing, ['coco/bbox', 'coco/segm']),
    ('det', Found, []),
    ('det', None, ['*']),  # an evaluated stage that never evaluated
    ('pretrain', None, [])])
def test_finished_run_without_metrics_is_marked(tmp_path, stage, metric,
                                                missing):
    val = {}
    if metric is not None:
        val = dict(val_dataloader=dict(
            dataset=Points(), batch_size=2,
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate')),
            val_cfg=dict(), val_evaluator=Evaluator(metric()))
    summary_runner(tmp_path, 'eval', stage=stage,
                   train_cfg=dict(by_epoch=True, max_epochs=1), **val).train()
    summary = read_summary(tmp_path)
    assert summary['finished'] is True
    assert summary['metrics_missing'] == missing
    assert bool(summary['metrics']) == (metric is Found)

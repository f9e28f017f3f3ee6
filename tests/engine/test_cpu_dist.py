"""MMEngine's launchers without CUDA (backbones.engine.cpu_dist): gloo, no
``set_device``, DDP without device ids, SyncBN as BN; unchanged with CUDA."""
import pytest
import torch
import torch.distributed as torch_dist
from mmengine.model import MMDistributedDataParallel
from torch import nn

import backbones  # noqa: F401  installs the wrappers
from backbones.engine.cpu_dist import cpu_ddp_init, cpu_init_dist

REAL_SET_DEVICE = torch.cuda.set_device


class Recorder:
    """Stands in for MMEngine's function: records each call and whether
    ``torch.cuda.set_device`` was the real one during it."""

    def __init__(self):
        self.calls = []

    def __call__(self, *args, **kwargs):
        self.calls.append(
            (args, kwargs, torch.cuda.set_device is REAL_SET_DEVICE))


def conv_with_sync_bn():
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.SyncBatchNorm(4), nn.ReLU(),
                         nn.Conv2d(4, 2, 1))


def test_without_cuda_gloo_and_no_set_device(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    real = Recorder()
    cpu_init_dist(real)('pytorch', backend='nccl', timeout=60)
    (args, kwargs, real_set_device), = real.calls
    assert args == ('pytorch', 'gloo', 'torch') and kwargs == {'timeout': 60}
    assert not real_set_device  # a no-op inside the call
    assert torch.cuda.set_device is REAL_SET_DEVICE  # and real again after


def test_with_cuda_mmengine_unchanged(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    real = Recorder()
    cpu_init_dist(real)('slurm', backend='nccl', port=29511)
    (args, kwargs, real_set_device), = real.calls
    assert args == ('slurm', 'nccl', 'torch') and kwargs == {'port': 29511}
    assert real_set_device

    calls = []
    cpu_ddp_init(lambda self, module, **kw: calls.append((module, kw)))(
        None, conv_with_sync_bn(), device_ids=[0])
    module, kw = calls[0]
    assert kw['device_ids'] == [0]
    assert any(isinstance(m, nn.SyncBatchNorm) for m in module.modules())


def test_runner_and_strategy_use_the_wrapper():
    import mmengine._strategy.distributed
    import mmengine.dist
    import mmengine.runner.runner
    for owner in (mmengine.dist, mmengine.dist.utils, mmengine.runner.runner,
                  mmengine._strategy.distributed):
        assert owner.init_dist.__wrapped_for_cpu__
    assert MMDistributedDataParallel.__init__.__wrapped_for_cpu__
    before = mmengine.runner.runner.init_dist
    backbones.engine.cpu_dist.install()  # idempotent
    assert mmengine.runner.runner.init_dist is before


@pytest.fixture
def one_process_group(monkeypatch):
    """A real gloo group of one process, started through MMEngine."""
    from mmengine.dist import init_dist

    import backbones.engine.cpu_dist
    from benchmarks.stages import free_port
    monkeypatch.setenv('RANK', '0')
    monkeypatch.setenv('LOCAL_RANK', '0')
    monkeypatch.setenv('WORLD_SIZE', '1')
    monkeypatch.setenv('MASTER_ADDR', '127.0.0.1')
    monkeypatch.setenv('MASTER_PORT', str(free_port()))
    logged = []
    monkeypatch.setattr(backbones.engine.cpu_dist, 'print_log',
                        lambda msg, **kw: logged.append(msg))
    init_dist('pytorch', backend='nccl')  # what the configs ask for
    yield logged
    torch_dist.destroy_process_group()


def test_real_ddp_of_a_cpu_module_with_sync_bn(one_process_group):
    assert torch_dist.get_backend() == 'gloo'
    assert "backend 'gloo' instead of 'nccl'" in one_process_group[0]
    # the runner's call: device_ids=[LOCAL_RANK]
    ddp = MMDistributedDataParallel(
        module=conv_with_sync_bn(), device_ids=[0], broadcast_buffers=False)
    assert ddp.device_ids is None
    assert not any(isinstance(m, nn.SyncBatchNorm) for m in ddp.modules())
    assert ('no CUDA device: 1 SyncBatchNorm layers run as BatchNorm'
            in one_process_group[1])
    out = ddp(torch.randn(2, 3, 8, 8))
    out.sum().backward()  # gloo all-reduce of the gradients
    assert all(p.grad is not None for p in ddp.parameters())
    bn = ddp.module[1]
    assert bn._forward_hooks and not torch.equal(
        bn.running_mean, torch.zeros(4))  # updated, then averaged (1 rank)


def test_running_stats_averaged_over_ranks(monkeypatch):
    """What the hook hands to all_reduce, and the division by the ranks."""
    from mmengine.model.utils import _BatchNormXd

    import backbones.engine.cpu_dist as cpu_dist
    bn = _BatchNormXd(3).train()
    bn.running_mean.fill_(1.0)
    bn.running_var.fill_(4.0)
    seen = []

    def all_reduce(t):  # the other rank holds 3 and 8
        seen.append(t.clone())
        t.add_(torch.full_like(t, 3.0 if len(seen) == 1 else 8.0))
    monkeypatch.setattr(cpu_dist.torch_dist, 'is_initialized', lambda: True)
    monkeypatch.setattr(cpu_dist.torch_dist, 'get_world_size', lambda: 2)
    monkeypatch.setattr(cpu_dist.torch_dist, 'all_reduce', all_reduce)
    cpu_dist.average_running_stats(bn, None, None)
    assert len(seen) == 2
    assert torch.equal(bn.running_mean, torch.full((3, ), 2.0))
    assert torch.equal(bn.running_var, torch.full((3, ), 6.0))
    bn.eval()  # evaluation leaves them alone
    cpu_dist.average_running_stats(bn, None, None)
    assert len(seen) == 2

"""MMEngine's multi-process launchers on a machine without CUDA.

mmengine 0.10.7 assumes that a distributed run has GPUs: every launcher
(``pytorch``, ``slurm``, ``mpi``) calls ``torch.cuda.set_device(local_rank)``
before ``init_process_group`` (which fails with "Found no NVIDIA driver"),
the configs ask for the ``nccl`` backend, the runner wraps the model in
:class:`~mmengine.model.MMDistributedDataParallel` with
``device_ids=[LOCAL_RANK]``, which torch refuses for a CPU module, and
torch's ``SyncBatchNorm`` refuses CPU tensors once a process group exists.

:func:`install` (applied by ``import backbones``) changes, only where
``torch.cuda.is_available()`` is False when the call happens:

* :func:`init_dist`: the process group uses ``gloo`` (logged when the config
  asked for another backend) and ``torch.cuda.set_device`` is skipped; the
  launchers' own rank, address and port handling is MMEngine's;
* :class:`~mmengine.model.MMDistributedDataParallel`: a module whose
  parameters are all on the CPU is wrapped without ``device_ids`` (torch's
  CPU form of DDP), and its ``SyncBatchNorm`` layers become ``BatchNorm``
  (each process normalises over its own batch) whose running statistics
  are averaged over the processes after every training forward
  (:func:`average_running_stats`), so that, as with SyncBN, every rank
  holds the same statistics and validates the model the checkpoint stores;
  a log line says how many layers.

With CUDA every call goes to MMEngine unchanged (nccl, ``set_device``,
``device_ids``, SyncBN).
"""
import contextlib
import functools
import logging
from typing import Iterator

import torch
import torch.distributed as torch_dist
from mmengine.logging import print_log
from mmengine.model import MMDistributedDataParallel, revert_sync_batchnorm
from mmengine.model.utils import _BatchNormXd

CPU_BACKEND = 'gloo'


@contextlib.contextmanager
def _without_cuda_set_device() -> Iterator[None]:
    """``torch.cuda.set_device`` does nothing inside the block."""
    original = torch.cuda.set_device
    torch.cuda.set_device = lambda device: None
    try:
        yield
    finally:
        torch.cuda.set_device = original


def cpu_init_dist(init_dist):
    """Wrap MMEngine's ``init_dist(launcher, backend, init_backend, **kw)``
    so that, without CUDA, it starts a ``gloo`` group and sets no device."""

    @functools.wraps(init_dist)
    def wrapper(launcher, backend='nccl', init_backend='torch', **kwargs):
        if torch.cuda.is_available():
            return init_dist(launcher, backend, init_backend, **kwargs)
        if backend != CPU_BACKEND:
            print_log(f'no CUDA device: torch.distributed backend '
                      f'{CPU_BACKEND!r} instead of {backend!r} '
                      f'(launcher {launcher!r})', logger='current')
        with _without_cuda_set_device():
            return init_dist(launcher, CPU_BACKEND, init_backend, **kwargs)

    wrapper.__wrapped_for_cpu__ = True
    return wrapper


def _on_cpu(module: torch.nn.Module) -> bool:
    devices = {p.device.type for p in module.parameters()}
    return devices <= {'cpu'}


def _count_sync_bn(module: torch.nn.Module) -> int:
    from mmcv.ops import SyncBatchNorm as MMCVSyncBatchNorm
    kinds = (torch.nn.SyncBatchNorm, MMCVSyncBatchNorm)
    return sum(isinstance(m, kinds) for m in module.modules())


def average_running_stats(layer: torch.nn.Module, args, output) -> None:
    """Forward hook of a BatchNorm that stands in for SyncBN: after a
    training forward, its running mean and variance become the average over
    the processes, so that every rank holds the same statistics (as with
    SyncBN) and evaluates the model that rank 0's checkpoint stores."""
    if not (layer.training and layer.track_running_stats
            and torch_dist.is_initialized()):
        return
    world_size = torch_dist.get_world_size()
    # Through .data: autograd keeps the running statistics as inputs of the
    # batch norm's backward (which, in training mode, does not read them)
    # and would refuse an in-place change of the tensors themselves.
    for stats in (layer.running_mean.data, layer.running_var.data):
        torch_dist.all_reduce(stats)
        stats.div_(world_size)


def cpu_ddp_init(init):
    """Wrap ``MMDistributedDataParallel.__init__`` so that a CPU module is
    wrapped without ``device_ids`` and without SyncBN."""

    @functools.wraps(init)
    def wrapper(self, module, *args, **kwargs):
        if not torch.cuda.is_available() and _on_cpu(module):
            if kwargs.get('device_ids') is not None:
                kwargs['device_ids'] = None
            n_sync = _count_sync_bn(module)
            if n_sync:
                module = revert_sync_batchnorm(module)
                for layer in module.modules():
                    if isinstance(layer, _BatchNormXd):
                        layer.register_forward_hook(average_running_stats)
                print_log(f'no CUDA device: {n_sync} SyncBatchNorm layers '
                          'run as BatchNorm (batch statistics of each '
                          'process, running statistics averaged over the '
                          'processes); on GPUs they synchronise',
                          logger='current', level=logging.WARNING)
        return init(self, module, *args, **kwargs)

    wrapper.__wrapped_for_cpu__ = True
    return wrapper


def install() -> None:
    """Apply both wrappers (idempotent)."""
    import mmengine._strategy.distributed
    import mmengine.dist
    import mmengine.dist.utils
    import mmengine.runner.runner
    if not getattr(mmengine.dist.utils.init_dist, '__wrapped_for_cpu__',
                   False):
        wrapped = cpu_init_dist(mmengine.dist.utils.init_dist)
        # Runner and FlexibleRunner's DDP strategy hold their own references
        for owner in (mmengine.dist.utils, mmengine.dist,
                      mmengine.runner.runner, mmengine._strategy.distributed):
            owner.init_dist = wrapped
    if not getattr(MMDistributedDataParallel.__init__, '__wrapped_for_cpu__',
                   False):
        MMDistributedDataParallel.__init__ = cpu_ddp_init(
            MMDistributedDataParallel.__init__)

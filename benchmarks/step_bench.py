"""Measure one training step of a config, interleaved with a baseline's.

Each config (the candidate and, with ``--baseline``, a baseline) is built
once, in a process of its own (so its peak memory is its own): the model,
the config's optimizer wrapper and a synthetic uint8 batch (a detector's:
mmdet's ``demo_mm_inputs`` boxes and masks). Then the parent drives the
processes one step at a time, candidate and baseline alternating
(``--warmup`` untimed pairs, one step under ``torch.utils.flop_counter``,
``--steps`` timed pairs; the order inside a pair flips every pair), so a
change of the machine's load hits both alike. One process steps at a time.

Reported per config: the median step time, images/s, peak memory (on CUDA
``torch.cuda.max_memory_allocated``, on CPU the process's max RSS) and the
part the steps add over the built model, optimizer and batch
(``step_memory_mb``: activations, gradients, optimizer state), FLOPs per
step, the achieved FLOP/s and MFU against the device's matmul peak measured
in the dtype the step ran in. The time ratio candidate / baseline is the
median of the per-pair ratios, with their interquartile range (25th-75th
percentile) in the table and min-max in the CSV. On CUDA, steps are timed
with CUDA events, the matmul probe synchronises.

Precision: on CUDA the config's ``AmpOptimWrapper`` runs as configured (bf16
or fp16 autocast). On CPU the step runs in fp32 with the config's optimizer
(mmengine's ``AmpOptimWrapper`` needs an accelerator) unless ``--cpu-amp``,
which runs the step under ``torch.autocast('cpu', dtype)`` of the config's
dtype; the ``precision`` and ``config_precision`` columns say which.

Usage: ``mimb-step-bench CONFIG [--baseline CONFIG] --batch-size 8``;
``--options`` / ``--baseline-options`` take ``--cfg-options``-style
overrides, e.g. the same detector with global attention everywhere:
``--backbone-only --baseline-options model.backbone.window_size=0``.
"""
import argparse
import contextlib
import multiprocessing as mp
import os.path as osp
import resource
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import pandas as pd
import torch
from mmengine.config import DictAction

from benchmarks.errors import cli_main

# short names of the autocast dtypes an AmpOptimWrapper takes
SHORT = dict(bfloat16='bf16', float16='fp16', float32='fp32')
PAIR_SPREAD = 'IQR (25th-75th percentile of the per-pair ratios)'


def is_cuda(device: str) -> bool:
    """Whether ``device`` (``cpu``, ``cuda``, ``cuda:1``) is a CUDA one."""
    return torch.device(device).type == 'cuda'


def config_amp_dtype(optim_cfg: Optional[dict]) -> Optional[str]:
    """The autocast dtype a config's optimizer wrapper asks for.

    Args:
        optim_cfg (dict, optional): The config's ``optim_wrapper``.

    Returns:
        str, optional: ``'bfloat16'`` / ``'float16'`` for an
        ``AmpOptimWrapper`` (its default dtype is float16), None otherwise.
    """
    optim_cfg = optim_cfg or {}
    if str(optim_cfg.get('type', '')).split('.')[-1] != 'AmpOptimWrapper':
        return None
    dtype = optim_cfg.get('dtype') or 'float16'
    dtype = str(dtype).replace('torch.', '')
    if dtype not in SHORT:
        raise ValueError(f'AmpOptimWrapper dtype {dtype!r} is not one of '
                         f'{sorted(SHORT)}')
    return None if dtype == 'float32' else dtype


def run_dtype(amp_dtype: Optional[str], device: str, cpu_amp: bool) -> str:
    """The dtype a step of a config runs in on ``device``.

    Args:
        amp_dtype (str, optional): :func:`config_amp_dtype` of the config.
        device (str): The device of the step.
        cpu_amp (bool): Run the config's autocast on CPU too.

    Returns:
        str: The config's AMP dtype on CUDA (and on CPU with ``cpu_amp``),
        else ``'float32'``.
    """
    if amp_dtype is None or (not is_cuda(device) and not cpu_amp):
        return 'float32'
    return amp_dtype


def precision_name(dtype: Optional[str]) -> str:
    """``bf16 autocast`` / ``fp16 autocast`` / ``fp32``."""
    if dtype in (None, 'float32'):
        return 'fp32'
    return f'{SHORT[dtype]} autocast'


def step_optim_cfg(optim_cfg: dict, dtype: str, device: str) -> dict:
    """The optimizer wrapper config a step on ``device`` in ``dtype`` uses:
    the config's own on CUDA; on CPU a plain ``OptimWrapper`` with the
    same optimizer, clipping and paramwise settings (autocast, if any, is
    then entered around the step)."""
    optim_cfg = optim_cfg.copy()
    if is_cuda(device) or config_amp_dtype(optim_cfg) is None:
        return optim_cfg
    optim_cfg.type = 'OptimWrapper'
    for key in ('dtype', 'loss_scale', 'use_fsdp'):
        optim_cfg.pop(key, None)
    return optim_cfg


def ratio_summary(ratios: Sequence[float]) -> Dict[str, float]:
    """Median, quartiles (linear interpolation) and range of ratios."""
    if not len(ratios):
        raise ValueError('no ratios to summarise: expected at least 1 pair')
    values = np.asarray(ratios, dtype=float)
    q25, median, q75 = np.percentile(values, [25, 50, 75])
    return dict(median=float(median), q25=float(q25), q75=float(q75),
                min=float(values.min()), max=float(values.max()),
                pairs=len(values))


def pair_order(pair: int, count: int) -> List[int]:
    """The order the ``count`` configs step in within pair ``pair``:
    forwards on even pairs, backwards on odd ones."""
    order = list(range(count))
    return order if pair % 2 == 0 else order[::-1]


def matmul_peak_flops(device: str, dtype: torch.dtype = torch.float32,
                      n: Optional[int] = None,
                      seconds: float = 1.0) -> float:
    """Measured matmul throughput of the device in ``dtype`` (FLOP/s).

    Args:
        device (str): Where to multiply.
        dtype (torch.dtype): The matmul's dtype. Defaults to float32.
        n (int, optional): Square size; defaults to 2048 on CPU and 8192
            on CUDA (small ones do not fill a large GPU).
        seconds (float): How long to keep multiplying. Defaults to 1.0.

    Returns:
        float: ``2 n^3`` per product over the wall time, synchronised.
    """
    cuda = is_cuda(device)
    n = n or (8192 if cuda else 2048)
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    sync = (lambda: torch.cuda.synchronize(device)) if cuda else (
        lambda: None)
    a @ b  # warm-up
    sync()
    reps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        reps += 1
        sync()
    return 2 * n**3 * reps / (time.perf_counter() - start)


def peak_memory_mb(device: str) -> float:
    """Peak memory of this process: CUDA allocator peak or CPU max RSS."""
    if is_cuda(device):
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _synthetic_batch(cfg, batch_size: int, img_size: int,
                     num_classes: int) -> dict:
    """A batch as the config's dataloader would collate it."""
    from mmengine.registry import FUNCTIONS
    if cfg.get('default_scope') == 'mmdet':
        from mmdet.testing import demo_mm_inputs
        return demo_mm_inputs(batch_size, (3, img_size, img_size),
                              num_classes=num_classes, with_mask=True,
                              use_box_type=True)
    from mmpretrain.registry import TRANSFORMS
    from mmpretrain.structures import DataSample
    gen = torch.Generator().manual_seed(0)
    samples = [dict(inputs=torch.randint(0, 256, (3, img_size, img_size),
                                         generator=gen, dtype=torch.uint8),
                    data_samples=DataSample().set_gt_label(i % num_classes))
               for i in range(batch_size)]
    # SimMIM draws its masks in the data pipeline: draw them here too.
    pipeline = (cfg.get('train_dataloader') or {}).get('dataset', {}).get(
        'pipeline', [])
    for step in pipeline:
        if step.get('type') == 'SimMIMMaskGenerator':
            masker = TRANSFORMS.build(step)
            for sample in samples:
                mask = masker({})['mask']
                sample['data_samples'].set_mask(torch.as_tensor(mask))
    collate = (cfg.get('train_dataloader') or {}).get('collate_fn') or {}
    collate_fn = FUNCTIONS.get(collate.get('type', 'pseudo_collate'))
    return collate_fn(samples)


def _num_classes(model_cfg) -> int:
    head = model_cfg.get('head') or model_cfg.get('roi_head', {}).get(
        'bbox_head', {})
    return head.get('num_classes') or 1000


def config_img_size(cfg) -> int:
    """The input side a config trains at: ``model.backbone.img_size``, else
    the crop of its training pipeline's ``RandomResizedCrop`` (the Swin and
    PVT pretraining configs: 256), else 224."""
    def side(value):
        return value[0] if isinstance(value, (list, tuple)) else value
    size = (cfg.model.get('backbone') or {}).get('img_size')
    if size:
        return side(size)
    dataset = (cfg.get('train_dataloader') or {}).get('dataset') or {}
    while 'pipeline' not in dataset and 'dataset' in dataset:
        dataset = dataset['dataset']  # RepeatDataset and the like
    for step in dataset.get('pipeline') or []:
        if str(step.get('type', '')).endswith('RandomResizedCrop'):
            return side(step.get('scale') or step.get('size') or 224)
    return 224


def _load_config(config: str, cfg_options: Optional[dict]):
    from mmengine.logging import MMLogger
    from mmengine.registry import init_default_scope

    import backbones  # noqa: F401  registers the suite's modules
    from benchmarks.errors import read_config

    # A quiet current logger: no per-parameter init tables on the console.
    MMLogger.get_instance('mimb-step-bench', log_level='WARNING')
    cfg = read_config(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    backbone_init = cfg.model.get('backbone', {}).get('init_cfg')
    if isinstance(backbone_init, dict) and backbone_init.get(
            'type') == 'Pretrained':
        cfg.model.backbone.init_cfg = None  # random weights time the same
    return cfg


def _model_step(cfg, batch_size: int, img_size: int, device: str,
                dtype: str) -> Callable:
    """``model.train_step`` with the config's optimizer wrapper."""
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import MODELS
    model_cfg = cfg.model.copy()
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(model_cfg).to(device)
    model.init_weights()
    optim = build_optim_wrapper(
        model, step_optim_cfg(cfg.optim_wrapper, dtype, device))
    data = _synthetic_batch(cfg, batch_size, img_size, _num_classes(model_cfg))
    model.train()
    return lambda: model.train_step(data, optim)


def _backbone_step(cfg, batch_size: int, img_size: int, device: str,
                   dtype: str) -> Callable:
    """Forward + backward + AdamW step of the config's backbone alone."""
    from mmengine.registry import MODELS
    backbone = MODELS.build(cfg.model.backbone).to(device)
    backbone.init_weights()
    backbone.train()
    optim = torch.optim.AdamW(backbone.parameters(), lr=1e-4)
    x = torch.randn(batch_size, 3, img_size, img_size, device=device)

    def step():
        optim.zero_grad()
        sum(out.float().mean() for out in backbone(x)).backward()
        optim.step()
    return step


class StepBench:
    """One config's training step, built once, timed step by step.

    Args:
        config (str): The config file.
        batch_size (int): Images per step.
        img_size (int, optional): Input side; defaults to
            :func:`config_img_size`.
        device (str): Where to run.
        cfg_options (dict, optional): ``--cfg-options``-style overrides.
        backbone_only (bool): Time the backbone's forward + backward only.
            Defaults to False.
        cpu_amp (bool): Run the config's autocast on CPU too. Defaults to
            False.
    """

    def __init__(self, config: str, batch_size: int,
                 img_size: Optional[int], device: str,
                 cfg_options: Optional[dict] = None,
                 backbone_only: bool = False, cpu_amp: bool = False):
        torch.manual_seed(0)
        if is_cuda(device):  # CUDA events record on the current device
            torch.cuda.set_device(device)
        cfg = _load_config(config, cfg_options)
        self.device = device
        self.amp_dtype = config_amp_dtype(cfg.get('optim_wrapper'))
        self.dtype = run_dtype(self.amp_dtype, device, cpu_amp)
        self.img_size = img_size or config_img_size(cfg)
        build = _backbone_step if backbone_only else _model_step
        step = build(cfg, batch_size, self.img_size, device, self.dtype)
        # AmpOptimWrapper autocasts a CUDA model step; a CPU AMP step and
        # an AMP backbone alone are autocast here
        if self.dtype != 'float32' and (backbone_only or not is_cuda(device)):
            autocast = dict(device_type=torch.device(device).type,
                            dtype=getattr(torch, self.dtype))

            def step_in_autocast():
                with torch.autocast(**autocast):
                    return step()
            self.step = step_in_autocast
        else:
            self.step = step
        self.info = dict(
            config=osp.basename(config), options=str(cfg_options or ''),
            batch_size=batch_size, img_size=self.img_size,
            precision=precision_name(self.dtype),
            config_precision=precision_name(self.amp_dtype), dtype=self.dtype,
            timer='cuda events' if is_cuda(device) else 'perf_counter')
        self.built_mb = peak_memory_mb(device)  # model, optimizer, batch

    def timed_step(self) -> float:
        """Seconds of one step (CUDA events on CUDA, wall time on CPU)."""
        if not is_cuda(self.device):
            start = time.perf_counter()
            self.step()
            return time.perf_counter() - start
        torch.cuda.synchronize(self.device)
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        self.step()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1e3

    def count_flops(self) -> int:
        """FLOPs of one step (``torch.utils.flop_counter``)."""
        from torch.utils.flop_counter import FlopCounterMode
        with FlopCounterMode(display=False) as counter:
            self.step()
        return counter.get_total_flops()

    def memory(self) -> Dict[str, float]:
        """Peak memory so far and what the steps added to the built state."""
        peak = peak_memory_mb(self.device)
        return dict(peak_memory_mb=peak, step_memory_mb=peak - self.built_mb)


def measure(config: str, batch_size: int, img_size: Optional[int],
            steps: int, warmup: int, device: str,
            cfg_options: Optional[dict] = None, backbone_only: bool = False,
            cpu_amp: bool = False) -> dict:
    """Time ``steps`` training steps of ``config`` alone, in this process."""
    bench = StepBench(config, batch_size, img_size, device, cfg_options,
                      backbone_only, cpu_amp)
    for _ in range(warmup):
        bench.step()
    flops = bench.count_flops()
    seconds = float(np.median([bench.timed_step() for _ in range(steps)]))
    return dict(**bench.info, step_time_s=seconds,
                images_per_s=batch_size / seconds, **bench.memory(),
                flops_per_step=flops, achieved_flops=flops / seconds)


def _serve(conn, args: tuple) -> None:
    """A worker process: build a :class:`StepBench`, then run commands."""
    try:
        bench = StepBench(*args)
        conn.send(('ok', bench.info))
        # (a step's own result holds tensors of the graph: not sent)
        commands = dict(step=lambda: bench.step() and None,
                        timed=bench.timed_step,
                        flops=bench.count_flops, memory=bench.memory)
        while True:
            command, arg = conn.recv()
            if command == 'stop':
                return
            if command == 'peak':
                conn.send(('ok', matmul_peak_flops(bench.device, getattr(
                    torch, arg))))
            else:
                conn.send(('ok', commands[command]()))
    except BaseException as err:  # reported by the parent
        with contextlib.suppress(OSError):
            conn.send(('error', f'{type(err).__name__}: {err}'))
    finally:
        conn.close()


class Worker:
    """A :class:`StepBench` in a spawned process, driven command by command.

    Args:
        label (str): The case's name in errors.
        args (tuple): :class:`StepBench`'s arguments.
    """

    def __init__(self, label: str, args: tuple):
        self.label, self.config = label, args[0]
        ctx = mp.get_context('spawn')
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child, args),
                                daemon=True)
        self.proc.start()
        child.close()
        self.info = None

    def ready(self) -> dict:
        """Wait for the build; the case's description."""
        if self.info is None:
            self.info = self._answer()
        return self.info

    def call(self, command: str, arg=None):
        """Run a command in the worker and return its answer."""
        self.conn.send((command, arg))
        return self._answer()

    def _answer(self):
        try:
            status, payload = self.conn.recv()
        except EOFError:
            self.proc.join(5)
            raise RuntimeError(
                f'benchmark of {self.config} ({self.label}) died with exit '
                f'code {self.proc.exitcode}') from None
        if status != 'ok':
            raise RuntimeError(
                f'benchmark of {self.config} ({self.label}) failed: {payload}')
        return payload

    def close(self) -> None:
        """Stop the process."""
        with contextlib.suppress(OSError, BrokenPipeError):
            self.conn.send(('stop', None))
        self.proc.join(30)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join()


def interleave(workers: List[Worker], steps: int, warmup: int) -> dict:
    """Step the workers in alternating pairs; per-worker step times and
    FLOPs, and the per-pair time ratios of each worker to the last."""
    for pair in range(warmup):
        for i in pair_order(pair, len(workers)):
            workers[i].call('step')
    flops = [worker.call('flops') for worker in workers]
    times = [[] for _ in workers]
    for pair in range(steps):
        for i in pair_order(pair, len(workers)):
            times[i].append(workers[i].call('timed'))
    ratios = [[t / b for t, b in zip(own, times[-1])] for own in times]
    return dict(times=times, flops=flops, ratios=ratios)


def compare(cases: List[tuple], batch_size: int, img_size: Optional[int],
            steps: int, warmup: int, device: str,
            backbone_only: bool = False,
            cpu_amp: bool = False) -> pd.DataFrame:
    """Build each (label, config, cfg_options) case once in its own process
    and step them interleaved.

    The last case is the baseline of the ratio columns; MFU is the achieved
    FLOP/s over the matmul peak measured in the dtype the case ran in.
    """
    workers = []
    try:
        for label, config, options in cases:
            print(f'[step-bench] {label}: {config} {options or ""}',
                  flush=True)
            workers.append(Worker(label, (config, batch_size, img_size,
                                          device, options, backbone_only,
                                          cpu_amp)))
        infos = [worker.ready() for worker in workers]
        run = interleave(workers, steps, warmup)
        memory = [worker.call('memory') for worker in workers]
        dtypes = {info['dtype'] for info in infos}
        # after every step and memory reading: the probe's own
        # allocations do not count
        peaks = {dtype: workers[0].call('peak', dtype)
                 for dtype in sorted(dtypes)}
    finally:
        for worker in workers:
            worker.close()
    rows = []
    for (label, _, _), info, mem, times, flops, ratios in zip(
            cases, infos, memory, run['times'], run['flops'], run['ratios']):
        seconds = float(np.median(times))
        info = dict(info)
        dtype = info.pop('dtype')
        spread = ratio_summary(ratios)
        inverse = ratio_summary([1 / r for r in ratios])
        rows.append(dict(
            case=label, **info, step_time_s=seconds,
            images_per_s=batch_size / seconds, **mem, flops_per_step=flops,
            achieved_flops=flops / seconds, device=device,
            matmul_peak_dtype=dtype, matmul_peak_flops=peaks[dtype],
            mfu=flops / seconds / peaks[dtype],
            step_time_s_vs_baseline=spread['median'],
            step_time_ratio_q25=spread['q25'],
            step_time_ratio_q75=spread['q75'],
            step_time_ratio_min=spread['min'],
            step_time_ratio_max=spread['max'], pairs=spread['pairs'],
            images_per_s_vs_baseline=inverse['median']))
    table = pd.DataFrame(rows)
    base = table.iloc[-1]
    for col in ('peak_memory_mb', 'step_memory_mb'):
        table[f'{col}_vs_baseline'] = table[col] / base[col]
    return table


SHOWN = ['case', 'config', 'options', 'precision', 'batch_size', 'img_size',
         'step_time_s', 'images_per_s', 'peak_memory_mb', 'step_memory_mb',
         'achieved_flops', 'mfu', 'step_time_s_vs_baseline',
         'step_time_ratio_q25', 'step_time_ratio_q75',
         'peak_memory_mb_vs_baseline', 'step_memory_mb_vs_baseline']


def summary_line(table: pd.DataFrame) -> str:
    """What the ratio columns are, in words."""
    row, base = table.iloc[0], table.iloc[-1]
    if len(table) == 1:
        ratio = f'{row.pairs} timed steps of {row.case}, no baseline'
    else:
        ratio = (f'step time {row.case} / {base.case}: median '
                 f'{row.step_time_s_vs_baseline:.3g} over {row.pairs} '
                 f'interleaved pairs, IQR {row.step_time_ratio_q25:.3g}-'
                 f'{row.step_time_ratio_q75:.3g}, min-max '
                 f'{row.step_time_ratio_min:.3g}-'
                 f'{row.step_time_ratio_max:.3g}')
    precisions = ' / '.join(f'{r.precision} (config: {r.config_precision})'
                            for r in table.itertuples())
    return (f'{ratio}; precision {precisions}; timer {row.timer}; MFU '
            f'against the matmul peak in that precision on {row.device}')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='mimb-step-bench', description=__doc__.split('\n\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('--options', nargs='+', action=DictAction,
                        help='cfg-options of the candidate')
    parser.add_argument('--baseline', help='baseline config, same run')
    parser.add_argument('--baseline-options', nargs='+', action=DictAction,
                        help='cfg-options of the baseline (alone: the '
                        'candidate config with these options)')
    parser.add_argument('--backbone-only', action='store_true',
                        help='time forward+backward of model.backbone only')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--img-size', type=int,
                        help='default: model.backbone.img_size, else the '
                        "training pipeline's RandomResizedCrop, else 224")
    parser.add_argument('--steps', type=int, default=5,
                        help='timed steps (pairs with a baseline)')
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--device', default=('cuda' if
                        torch.cuda.is_available() else 'cpu'))
    parser.add_argument('--cpu-amp', action='store_true',
                        help="on CPU run the config's AMP dtype under "
                        'torch.autocast instead of fp32')
    parser.add_argument('--name', default='step_bench',
                        help='output file stem under --out')
    parser.add_argument('--out', help='write <name>.csv/.md here')
    args = parser.parse_args(argv)
    if args.batch_size < 1 or args.steps < 1 or args.warmup < 0:
        parser.error('--batch-size and --steps must be >= 1, --warmup >= 0')
    if is_cuda(args.device) and not torch.cuda.is_available():
        parser.error(f'--device {args.device}: torch sees no CUDA device')
    return args


@cli_main('mimb-step-bench')
def main(argv=None) -> int:
    args = parse_args(argv)
    for config in filter(None, (args.config, args.baseline)):
        if not osp.isfile(config):
            raise FileNotFoundError(f'config {config} does not exist')
    cases = [('candidate', args.config, args.options)]
    if args.baseline or args.baseline_options:
        cases.append(('baseline', args.baseline or args.config,
                      args.baseline_options))
    table = compare(cases, args.batch_size, args.img_size, args.steps,
                    args.warmup, args.device, args.backbone_only,
                    args.cpu_amp)
    markdown = (table[SHOWN].to_markdown(index=False, floatfmt='.4g') +
                '\n\n' + summary_line(table) + '\n')
    print(markdown, end='')
    if args.out:
        from benchmarks.leaderboard import write_tables
        write_tables(table, args.out, args.name, markdown)
    return 0


if __name__ == '__main__':
    sys.exit(main())

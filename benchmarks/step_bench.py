"""Measure one training step of a config, side by side with a baseline.

For each config (the candidate and, with ``--baseline``, a baseline in the
same invocation) a fresh process builds the model and the config's optimizer
wrapper, runs ``--warmup`` untimed and ``--steps`` timed
``model.train_step`` calls on a synthetic uint8 batch (or, with
``--backbone-only``, forward + backward of the backbone alone), and reports
the median step time, images/s, peak memory (CUDA allocator peak or the
process's max RSS on CPU) and the part of it the steps add over the built
model, optimizer and batch (``step_memory_mb``: activations, gradients,
optimizer state), FLOPs per step (``torch.utils.flop_counter``),
the achieved FLOP/s, and the fraction of the machine's measured fp32 matmul
peak (MFU). Ratios candidate / baseline are printed and, with ``--out``,
written as CSV and Markdown.

Usage: ``mimb-step-bench CONFIG [--baseline CONFIG] --batch-size 8``;
``--options`` / ``--baseline-options`` take ``--cfg-options``-style
overrides, e.g. the same detector with global attention everywhere:
``--backbone-only --baseline-options model.backbone.window_size=0``.
"""
import argparse
import multiprocessing as mp
import os.path as osp
import statistics
import sys
import time
from typing import List, Optional

import pandas as pd
import torch
from mmengine.config import DictAction

from benchmarks.errors import cli_main


def matmul_peak_flops(device: str, n: int = 2048,
                      seconds: float = 1.0) -> float:
    """Measured fp32 matmul throughput of the device (FLOP/s)."""
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    a @ b  # warm-up
    reps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        reps += 1
        if device == 'cuda':
            torch.cuda.synchronize()
    return 2 * n**3 * reps / (time.perf_counter() - start)


def _synthetic_batch(cfg, batch_size: int, img_size: int,
                     num_classes: int) -> dict:
    """A batch as the config's dataloader would collate it."""
    from mmengine.registry import FUNCTIONS
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


def _load_config(config: str, cfg_options: Optional[dict]):
    from mmengine.config import Config
    from mmengine.logging import MMLogger
    from mmengine.registry import init_default_scope

    import backbones  # noqa: F401  registers the suite's modules

    # A quiet current logger: no per-parameter init tables on the console.
    MMLogger.get_instance('mimb-step-bench', log_level='WARNING')
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    backbone_init = cfg.model.get('backbone', {}).get('init_cfg')
    if isinstance(backbone_init, dict) and backbone_init.get(
            'type') == 'Pretrained':
        cfg.model.backbone.init_cfg = None  # random weights time the same
    return cfg


def _model_step(cfg, batch_size: int, img_size: int, device: str):
    """``model.train_step`` with the config's optimizer wrapper."""
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import MODELS
    model_cfg = cfg.model.copy()
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(model_cfg).to(device)
    model.init_weights()
    optim_cfg = cfg.optim_wrapper.copy()
    if device == 'cpu' and optim_cfg.get('type') == 'AmpOptimWrapper':
        # AMP needs an accelerator; time the fp32 step of the same optimizer.
        optim_cfg.type = 'OptimWrapper'
        optim_cfg.pop('dtype', None)
        optim_cfg.pop('loss_scale', None)
    optim = build_optim_wrapper(model, optim_cfg)
    num_classes = cfg.model.get('head', {}).get('num_classes') or 1000
    data = _synthetic_batch(cfg, batch_size, img_size, num_classes)
    model.train()
    return lambda: model.train_step(data, optim)


def _backbone_step(cfg, batch_size: int, img_size: int, device: str):
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


def measure(config: str, batch_size: int, img_size: Optional[int],
            steps: int, warmup: int, device: str,
            cfg_options: Optional[dict] = None,
            backbone_only: bool = False) -> dict:
    """Time ``steps`` training steps of ``config`` in this process."""
    from torch.utils.flop_counter import FlopCounterMode

    from backbones.hooks import peak_memory_mb
    torch.manual_seed(0)
    cfg = _load_config(config, cfg_options)
    img_size = img_size or cfg.model.get('backbone', {}).get('img_size', 224)
    build = _backbone_step if backbone_only else _model_step
    step = build(cfg, batch_size, img_size, device)
    built_mb = peak_memory_mb(device)  # libraries, model, optimizer, batch
    for _ in range(warmup):
        step()
    with FlopCounterMode(display=False) as counter:
        step()
    flops = counter.get_total_flops()
    times = []
    for _ in range(steps):
        if device == 'cuda':
            torch.cuda.synchronize()
        start = time.perf_counter()
        step()
        if device == 'cuda':
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    return dict(config=osp.basename(config), options=str(cfg_options or ''),
                batch_size=batch_size, img_size=img_size,
                step_time_s=seconds, images_per_s=batch_size / seconds,
                peak_memory_mb=peak_memory_mb(device),
                step_memory_mb=peak_memory_mb(device) - built_mb,
                flops_per_step=flops, achieved_flops=flops / seconds)


def _child(queue, *args) -> None:
    try:
        queue.put(('ok', measure(*args)))
    except BaseException as err:  # reported by the parent
        queue.put(('error', f'{type(err).__name__}: {err}'))


def measure_in_subprocess(*args) -> dict:
    """:func:`measure` in a fresh process, so peak memory is its own."""
    ctx = mp.get_context('spawn')
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(queue, *args))
    proc.start()
    status, payload = queue.get()
    proc.join()
    if status != 'ok':
        raise RuntimeError(f'benchmark of {args[0]} failed: {payload}')
    return payload


def compare(cases: List[tuple], batch_size: int, img_size: Optional[int],
            steps: int, warmup: int, device: str,
            backbone_only: bool = False) -> pd.DataFrame:
    """Measure each (label, config, cfg_options) case in its own process.

    The last case is the baseline of the ratio columns; MFU is the achieved
    FLOP/s over the measured fp32 matmul peak.
    """
    peak = matmul_peak_flops(device)
    rows = []
    for label, config, options in cases:
        print(f'[step-bench] {label}: {config} {options or ""}', flush=True)
        row = measure_in_subprocess(config, batch_size, img_size, steps,
                                    warmup, device, options, backbone_only)
        rows.append(dict(case=label, **row))
    table = pd.DataFrame(rows)
    table['device'] = device
    table['matmul_peak_flops'] = peak
    table['mfu'] = table['achieved_flops'] / peak
    base = table.iloc[-1]
    for col in ('step_time_s', 'images_per_s', 'peak_memory_mb',
                'step_memory_mb'):
        table[f'{col}_vs_baseline'] = table[col] / base[col]
    return table


@cli_main('mimb-step-bench')
def main(argv=None) -> int:
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
                        help='default: model.backbone.img_size or 224')
    parser.add_argument('--steps', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--device', default=('cuda' if
                        torch.cuda.is_available() else 'cpu'))
    parser.add_argument('--name', default='step_bench',
                        help='output file stem under --out')
    parser.add_argument('--out', help='write <name>.csv/.md here')
    args = parser.parse_args(argv)
    if args.batch_size < 1 or args.steps < 1:
        parser.error('--batch-size and --steps must be >= 1')
    for config in filter(None, (args.config, args.baseline)):
        if not osp.isfile(config):
            parser.error(f'config {config} does not exist')
    cases = [('candidate', args.config, args.options)]
    if args.baseline or args.baseline_options:
        cases.append(('baseline', args.baseline or args.config,
                      args.baseline_options))
    table = compare(cases, args.batch_size, args.img_size, args.steps,
                    args.warmup, args.device, args.backbone_only)
    shown = ['case', 'config', 'options', 'batch_size', 'img_size',
             'step_time_s', 'images_per_s', 'peak_memory_mb',
             'step_memory_mb', 'achieved_flops', 'mfu',
             'step_time_s_vs_baseline', 'peak_memory_mb_vs_baseline',
             'step_memory_mb_vs_baseline']
    markdown = table[shown].to_markdown(index=False, floatfmt='.4g') + '\n'
    print(markdown, end='')
    if args.out:
        from benchmarks.leaderboard import write_tables
        write_tables(table, args.out, args.name, markdown)
    return 0


if __name__ == '__main__':
    sys.exit(main())

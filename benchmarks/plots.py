"""Leaderboard plots as PNG files (matplotlib, no display needed).

* ``plot_<metric>_vs_cost.png``: a downstream metric against pretraining
  cost, one series per method; measured rows are filled markers at their
  device-hours, published rows hollow markers at their published
  device-hours, or in a separate panel at their wall hours where the
  source gives no device count; the ``random-init`` rows (no
  pretraining) are dashed horizontal lines, one per backbone.
* ``plot_pretrain_loss.png``: the per-epoch pretraining loss of every
  setting (method, backbone, schedule), averaged over its seeds.
"""
import io
import json
import os
import os.path as osp
from typing import List

import matplotlib
import pandas as pd

from backbones.engine.fileio import atomic_write_bytes
from benchmarks.comparisons import RANDOM_INIT

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402


def _save(fig, path: str) -> str:
    """Save atomically: a unique temporary file, then ``os.replace``."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format='png', dpi=100)
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def plot_metrics_vs_cost(table: pd.DataFrame, metrics: List[str],
                         out_dir: str) -> List[str]:
    """One PNG per metric that has at least one point with a cost.

    Device-hours (measured, and published where the source gives the
    device count) and published wall hours (no device count) are
    different units, so the latter get a panel of their own.
    """
    os.makedirs(out_dir, exist_ok=True)
    axes_of = [('pretrain_device_hours', 'pretraining device-hours'),
               ('pretrain_wall_hours',
                'published wall hours (device count not given)')]
    paths = []
    baselines = table[table.method == RANDOM_INIT]
    table = table[table.method != RANDOM_INIT]
    for metric in metrics:
        panels = []
        for col, label in axes_of:
            if col in table and metric in table:
                points = table[['method', 'source', col, metric]].dropna()
                if len(points):
                    panels.append((points.rename(columns={col: 'cost'}),
                                   label))
        if not panels:
            continue
        fig, axes = plt.subplots(1, len(panels), squeeze=False,
                                 figsize=(6 * len(panels), 4))
        methods = sorted(set(table.method.dropna()))
        for ax, (points, label) in zip(axes[0], panels):
            for i, base in enumerate(baselines.itertuples()):
                if pd.notna(getattr(base, metric, None)):
                    ax.axhline(getattr(base, metric), color='0.4',
                               linestyle=('--', ':', '-.')[i % 3],
                               linewidth=1,
                               label=f'{RANDOM_INIT} {base.backbone}')
            _scatter(ax, points, metric, methods)
            ax.set_xlabel(label)
        fig.tight_layout()
        paths.append(_save(fig, osp.join(out_dir,
                                         f'plot_{metric}_vs_cost.png')))
    return paths


def _scatter(ax, points: pd.DataFrame, metric: str,
             methods: List[str]) -> None:
    """Measured rows filled circles, published rows hollow squares, one
    colour per method (the same in every panel)."""
    for method, rows in points.groupby('method'):
        color = f'C{methods.index(method) % 10}'
        for source, marker in (('measured', 'o'), ('published', 's')):
            part = rows[rows.source == source]
            if len(part):
                ax.scatter(part.cost, part[metric], color=color,
                           marker=marker, s=50,
                           facecolors=color if source == 'measured'
                           else 'none',
                           label=f'{method} ({source})')
    ax.set_xscale('log')
    ax.set_ylabel(metric)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)


def plot_loss_curves(runs: pd.DataFrame, out_dir: str) -> List[str]:
    """Per-epoch pretraining loss per setting (mean over its seeds)."""
    rows = []
    for r in runs.itertuples():
        if isinstance(r.pretrain_loss_curve, str):
            for epoch, loss in json.loads(r.pretrain_loss_curve):
                rows.append((f'{r.method} {r.backbone} {r.schedule}',
                             epoch, loss))
    if not rows:
        return []
    curves = pd.DataFrame(rows, columns=['setting', 'epoch', 'loss'])
    os.makedirs(out_dir, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 4))
    for setting, curve in curves.groupby('setting'):
        mean = curve.groupby('epoch')['loss'].mean()
        ax.plot(mean.index, mean.values, label=setting)
    ax.set_xlabel('epoch')
    ax.set_ylabel('pretraining loss (mean over seeds)')
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return [_save(fig, osp.join(out_dir, 'plot_pretrain_loss.png'))]

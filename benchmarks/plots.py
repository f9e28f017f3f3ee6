"""Leaderboard plots as PNG files (matplotlib, no display needed).

* ``plot_<metric>_vs_cost.png``: a downstream metric against pretraining
  cost, one series per method; measured rows are filled markers at their
  device-hours, published rows hollow markers at their published hours.
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

from backbones.fileio import atomic_write_bytes

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
    """One PNG per metric that has at least one point with a cost."""
    os.makedirs(out_dir, exist_ok=True)
    cost = table.get('pretrain_device_hours', pd.Series(dtype=float))
    if 'pretrain_hours' in table:
        cost = cost.fillna(table['pretrain_hours'])
    paths = []
    for metric in metrics:
        points = table.assign(cost=cost)[['method', 'source', 'cost',
                                          metric]].dropna()
        if points.empty:
            continue
        fig, ax = plt.subplots(figsize=(6, 4))
        for i, (method, rows) in enumerate(points.groupby('method')):
            color = f'C{i % 10}'
            for source, marker in (('measured', 'o'), ('published', 's')):
                part = rows[rows.source == source]
                if len(part):
                    ax.scatter(part.cost, part[metric], color=color,
                               marker=marker, s=50,
                               facecolors=color if source == 'measured'
                               else 'none',
                               label=f'{method} ({source})')
        ax.set_xscale('log')
        ax.set_xlabel('pretraining cost (device-hours; published: hours)')
        ax.set_ylabel(metric)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        paths.append(_save(fig, osp.join(out_dir,
                                         f'plot_{metric}_vs_cost.png')))
    return paths


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

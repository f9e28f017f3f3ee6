"""Build the leaderboard from the runs' pipeline summaries with pandas.

One row per pipeline run (method, backbone, pretraining schedule, seed):
the pretraining cost (device, devices, device-hours, peak memory, images/s),
the downstream metrics, and the provenance (config, config hash, git commit,
package versions, date). Written as ``leaderboard.csv`` and
``leaderboard.md`` (each replaced atomically).

Usage: ``mimb-leaderboard work_dirs/pipeline [more run folders] --out results``
"""
import argparse
import glob
import json
import os.path as osp
import sys
from typing import Iterable, List, Optional

import pandas as pd

from backbones.fileio import atomic_write_text

PIPELINE_SUMMARY = 'pipeline_summary.json'
# column -> (stage, metric key written by the evaluator, factor to percent)
METRICS = {
    'ft_top1': ('finetune', 'accuracy/top1', 1),
    'linear_top1': ('linear', 'accuracy/top1', 1),
    'knn_top1': ('knn', 'knn/top1', 1),
    'coco_box_ap': ('det', 'coco/bbox_mAP', 100),  # CocoMetric: 0..1
    'coco_mask_ap': ('det', 'coco/segm_mAP', 100),
    'ade20k_miou': ('seg', 'mIoU', 1),
}
KEY = ['method', 'backbone', 'schedule', 'seed']


def find_summaries(roots: Iterable[str]) -> List[str]:
    """Every pipeline summary below the given folders (or the files)."""
    found = set()
    for root in roots:
        if osp.isfile(root):
            found.add(osp.realpath(root))
        else:
            pattern = osp.join(root, '**', PIPELINE_SUMMARY)
            found.update(osp.realpath(p)
                         for p in glob.glob(pattern, recursive=True))
    return sorted(found)


def summary_to_row(summary: dict, path: str) -> dict:
    """Flatten one pipeline summary into a leaderboard row."""
    stages = summary.get('stages') or {}
    pre = stages.get('pretrain') or {}
    cost = pre.get('cost') or {}
    prov = pre.get('provenance') or {}
    row = {k: summary.get(k) for k in KEY}
    row.update(
        source='measured',
        smoke=bool(summary.get('smoke')),
        device=cost.get('device_name') or cost.get('device'),
        num_devices=cost.get('num_devices'),
        pretrain_device_hours=cost.get('device_hours'),
        pretrain_images_per_s=cost.get('images_per_s'),
        pretrain_peak_memory_mb=cost.get('peak_memory_mb'),
        pretrain_epochs=cost.get('epochs'),
    )
    for column, (stage, metric, factor) in METRICS.items():
        value = ((stages.get(stage) or {}).get('metrics') or {}).get(metric)
        row[column] = None if value is None else value * factor
    versions = prov.get('versions') or {}
    row.update(
        config=prov.get('config') or summary.get('pretrain_config'),
        config_sha256=prov.get('config_sha256'),
        git_commit=prov.get('git_commit'),
        git_dirty=prov.get('git_dirty'),
        versions=' '.join(f'{k}={v}' for k, v in sorted(versions.items())
                          if v),
        date=prov.get('written_at'),
        summary=path)
    return row


def build_leaderboard(roots: Iterable[str],
                      warn=print) -> pd.DataFrame:
    """Read every summary below ``roots`` into one table.

    A summary that is missing fields, half-written or not JSON is reported
    through ``warn`` with its path and skipped; the other rows stay.
    """
    rows = []
    for path in find_summaries(roots):
        try:
            with open(path) as f:
                summary = json.load(f)
            if not isinstance(summary, dict):
                raise ValueError('not a JSON object')
            rows.append(summary_to_row(summary, path))
        except (OSError, ValueError, AttributeError, TypeError) as err:
            warn(f'mimb-leaderboard: skipped {path}: {err}',
                 file=sys.stderr)
    columns = KEY + ['source', 'smoke', 'device', 'num_devices',
                     'pretrain_device_hours', 'pretrain_images_per_s',
                     'pretrain_peak_memory_mb', 'pretrain_epochs',
                     *METRICS, 'config', 'config_sha256', 'git_commit',
                     'git_dirty', 'versions', 'date', 'summary']
    table = pd.DataFrame(rows, columns=columns)
    return table.sort_values(KEY, kind='stable').reset_index(drop=True)


def to_markdown(table: pd.DataFrame) -> str:
    """A compact Markdown table: key, cost and metric columns."""
    shown = KEY + ['source', 'device', 'pretrain_device_hours',
                   'pretrain_images_per_s', 'pretrain_peak_memory_mb',
                   *METRICS, 'git_commit']
    view = table[shown].copy()
    view['git_commit'] = view['git_commit'].str[:8]
    return view.to_markdown(index=False, floatfmt='.4g') + '\n'


def write_tables(table: pd.DataFrame, out_dir: str,
                 name: str = 'leaderboard',
                 markdown: Optional[str] = None) -> List[str]:
    """Write ``<name>.csv`` (every column) and ``<name>.md`` (``markdown``,
    by default the leaderboard view) under ``out_dir``, atomically."""
    csv_path = osp.join(out_dir, f'{name}.csv')
    md_path = osp.join(out_dir, f'{name}.md')
    atomic_write_text(csv_path, table.to_csv(index=False))
    atomic_write_text(md_path, markdown or to_markdown(table))
    return [csv_path, md_path]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog='mimb-leaderboard', description=__doc__.split('\n\n')[0])
    parser.add_argument('runs', nargs='*', default=['work_dirs/pipeline'],
                        help='run folders or pipeline_summary.json files')
    parser.add_argument('--out', default='results', help='output folder')
    args = parser.parse_args(argv)
    table = build_leaderboard(args.runs)
    paths = write_tables(table, args.out)
    print(f'mimb-leaderboard: {len(table)} rows -> ' + ', '.join(paths))
    return 0


if __name__ == '__main__':
    sys.exit(main())

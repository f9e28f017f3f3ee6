"""Build the leaderboard from the runs' pipeline summaries with pandas.

``leaderboard_runs.csv``: one row per pipeline run (method, backbone,
pretraining schedule, seed) with the pretraining cost (device, devices,
device-hours, peak memory, images/s), the downstream metrics and the
provenance (config, config hash, git commit, package versions, date), and
``dense_init``: the encoder the detection and segmentation numbers came
from (``pretrain``, or ``finetune`` for intermediate fine-tuning; per stage
when they differ; empty for summaries that predate the record).

``variant``: what a named variant of a published recipe changes (the
pretraining config's ``mimb_variant``; empty for the published recipes).

``leaderboard.{csv,md,html}``: one row per (method, backbone, schedule,
smoke, dense_init, variant): the seeds of a setting collapse to their
mean, with ``<metric>_std`` and the seed count; the published numbers of
``results/published.csv`` are added as rows marked ``published``, and
``<metric>_vs_published`` gives measured minus published where both exist;
``reconstruction`` is the pretraining run's picture (``mimb-recon``),
linked from the HTML with a thumbnail; ``metrics_missing`` names the
metrics of stages that finished without them, whose cells read ``missing``.
The files are replaced together: a failure leaves the previous set.
``leaderboard_budget.{csv,md}`` compares the methods at equal pretraining
device-hours (:func:`matched_budget`). ``random-init`` rows are the
untrained encoder through the same protocols; every measured row shows its
gain over the one of its encoder (``<metric>_vs_random_init``), and
``leaderboard_pairs.{csv,md}`` says for every two settings on one backbone
whether their difference exceeds the seed spread
(:mod:`benchmarks.comparisons`).

Usage: ``mimb-leaderboard work_dirs/pipeline [more run folders] --out results``
"""
import argparse
import base64
import glob
import html
import io
import json
import os
import os.path as osp
import sys
import urllib.parse
from typing import Iterable, List, Optional, Sequence

import numpy as np
import pandas as pd
from PIL import Image

from backbones.engine.fileio import atomic_write_text
from backbones.tools.reconstruction import RECON_FILE
from benchmarks.atomic import file_set
from benchmarks.comparisons import (RANDOM_INIT, pairs_markdown, pairwise,
                                    with_random_init_gains)
from benchmarks.errors import cli_main
from benchmarks.summary_checks import SummaryValues, stage_metrics_missing

PIPELINE_SUMMARY = 'pipeline_summary.json'
PUBLISHED = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                     'results', 'published.csv')
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
TASKS = {'cls': ['ft_top1', 'linear_top1', 'knn_top1'],
         'det': ['coco_box_ap', 'coco_mask_ap'], 'seg': ['ade20k_miou']}
SETTING = ['method', 'backbone', 'schedule']
# published pretraining costs: device-hours where the device count is known
PUBLISHED_COST = ['pretrain_device_hours', 'pretrain_wall_hours']
COST = ['pretrain_device_hours', 'pretrain_images_per_s',
        'pretrain_peak_memory_mb']
DENSE_STAGES = ('det', 'seg')
PRETRAIN_DIR = 'pretrain'  # the pipeline's folder of the pretraining stage
THUMBNAIL = (240, 96)  # largest thumbnail of a reconstruction in the HTML
# the cell of a metric whose stage finished without it
MISSING = 'missing'
# every file write_leaderboard can write, in the order it lists them
OUTPUT_FILES = ('leaderboard_runs.csv', 'leaderboard.csv', 'leaderboard.md',
                'leaderboard_budget.csv', 'leaderboard_budget.md',
                'leaderboard_pairs.csv', 'leaderboard_pairs.md',
                'leaderboard.html',
                *(f'plot_{m}_vs_cost.png' for m in METRICS),
                'plot_pretrain_loss.png')


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


def dense_init(summary: dict,
               values: Optional[SummaryValues] = None) -> Optional[str]:
    """The stage whose encoder the dense stages started from.

    Read from the summary's ``init_from`` (stage -> source stage, as
    ``benchmarks.stages.init_sources``). One source for every dense
    stage run gives its name, different ones ``det=...,seg=...``; None
    without the record or without a dense stage.

    Args:
        summary (dict): A pipeline summary.
        values (SummaryValues, optional): Checks and reports the types.
            Defaults to None (the summary is trusted).
    """
    sources = (values.section(summary, 'init_from', 'init_from') if values
               else summary.get('init_from') or {})
    used = {s: values.text(sources, s, f'init_from.{s}') if values else
            sources[s] for s in DENSE_STAGES if s in sources}
    used = {s: v for s, v in used.items() if v is not None}
    if len(set(used.values())) == 1:
        return next(iter(used.values()))
    return ','.join(f'{s}={v}' for s, v in used.items()) or None


def summary_to_row(summary: dict, path: str, warn=print) -> dict:
    """Flatten one pipeline summary into a leaderboard row.

    Every value is checked (:class:`SummaryValues`): one of the wrong type
    or out of range is reported through ``warn`` with the path and key,
    and left empty. ``metrics_missing`` names the metric columns of stages
    that finished without them (COCO's -1, 'no objects', counts as
    missing).

    Raises:
        UnusableSummary: The run's method, backbone, schedule, seed or
            smoke flag is unusable.
    """
    values = SummaryValues(path, warn)
    stages = values.section(summary, 'stages', 'stages')
    stage = {s: values.section(stages, s, f'stages.{s}') for s in stages}
    pre = stage.get('pretrain') or {}
    cost = values.section(pre, 'cost', 'stages.pretrain.cost')
    prov = values.section(pre, 'provenance', 'stages.pretrain.provenance')
    row = values.identity(summary)

    def cost_value(key: str, low: float = 0.0) -> Optional[float]:
        return values.number(cost, key, f'stages.pretrain.cost.{key}', low)

    row.update(
        source='measured',
        dense_init=dense_init(summary, values),
        variant=summary.get('variant'),
        device=(values.text(cost, 'device_name',
                            'stages.pretrain.cost.device_name') or
                values.text(cost, 'device', 'stages.pretrain.cost.device')),
        num_devices=cost_value('num_devices', 1),
        pretrain_device_hours=cost_value('device_hours'),
        pretrain_images_per_s=cost_value('images_per_s'),
        pretrain_peak_memory_mb=cost_value('peak_memory_mb'),
        pretrain_epochs=cost_value('epochs'),
        pretrain_loss_curve=json.dumps(values.loss_curve(
            pre, 'loss_curve', 'stages.pretrain.loss_curve')),
    )
    missing = []
    for column, (name, metric, factor) in METRICS.items():
        where = f'stages.{name}.metrics[{metric!r}]'
        metrics = values.section(stage.get(name) or {}, 'metrics',
                                 f'stages.{name}.metrics')
        if factor == 100 and metrics.get(metric) == -1:  # COCO: no objects
            value = None
        else:
            value = values.number(metrics, metric, where, 0, 100 / factor)
        row[column] = None if value is None else value * factor
        if value is None and (
                metrics.get(metric) == -1 or
                stage_metrics_missing(stage.get(name)) is not None):
            missing.append(column)
    row['metrics_missing'] = ','.join(missing) or None
    versions = values.section(prov, 'versions',
                              'stages.pretrain.provenance.versions')
    row.update(
        config=prov.get('config') or summary.get('pretrain_config'),
        config_sha256=prov.get('config_sha256'),
        git_commit=values.text(prov, 'git_commit',
                               'stages.pretrain.provenance.git_commit'),
        git_dirty=prov.get('git_dirty'),
        versions=' '.join(f'{k}={v}' for k, v in sorted(versions.items())
                          if v),
        date=prov.get('written_at'),
        summary=path,
        reconstruction=reconstruction_path(path))
    return row


def reconstruction_path(summary_path: str) -> Optional[str]:
    """The reconstruction picture of a pipeline run, if it was drawn."""
    path = osp.join(osp.dirname(summary_path), PRETRAIN_DIR, RECON_FILE)
    return path if osp.isfile(path) else None


def build_leaderboard(roots: Iterable[str],
                      warn=print) -> pd.DataFrame:
    """Read every summary below ``roots`` into one table.

    A summary that is half-written, not JSON or without a usable identity
    is reported through ``warn`` with its path and skipped; a value of the
    wrong type or out of range is reported with its key and dropped; the
    other rows and values stay.
    """
    rows = []
    for path in find_summaries(roots):
        try:
            with open(path) as f:
                summary = json.load(f)
            if not isinstance(summary, dict):
                raise ValueError('not a JSON object')
            rows.append(summary_to_row(summary, path, warn))
        except (OSError, ValueError) as err:
            warn(f'mimb-leaderboard: skipped {path}: {err}',
                 file=sys.stderr)
    columns = KEY + ['source', 'smoke', 'dense_init', 'variant', 'device',
                     'num_devices',
                     'pretrain_device_hours', 'pretrain_images_per_s',
                     'pretrain_peak_memory_mb', 'pretrain_epochs',
                     'pretrain_loss_curve', *METRICS, 'metrics_missing',
                     'config',
                     'config_sha256', 'git_commit', 'git_dirty', 'versions',
                     'date', 'summary', 'reconstruction']
    table = pd.DataFrame(rows, columns=columns)
    return table.sort_values(KEY, kind='stable').reset_index(drop=True)


def load_published(path: str = PUBLISHED) -> pd.DataFrame:
    """Published numbers (long CSV) as one wide row per setting.

    Columns: method, backbone, schedule, variant (empty for the published
    recipe this suite's protocol follows, e.g. ViTDet's Mask R-CNN for
    MAE; named otherwise), metric, value, source. Besides the
    :data:`METRICS`, ``pretrain_device_hours`` (hours x devices, where the
    source gives the device count; the device type is in the source) and
    ``pretrain_wall_hours`` (where it does not) are published costs.
    """
    long = pd.read_csv(path, keep_default_na=False, dtype={'value': float})
    if 'variant' not in long:
        long['variant'] = ''
    known = set(METRICS) | set(PUBLISHED_COST)
    unknown = set(long.metric) - known
    if unknown:
        raise ValueError(f'{path}: unknown metrics {sorted(unknown)}; '
                         f'expected one of {sorted(known)}')
    index = SETTING + ['variant']
    wide = long.pivot_table(index=index, columns='metric', values='value',
                            aggfunc='first').reset_index()
    sources = long.groupby(index)['source'].agg(
        lambda s: '; '.join(sorted(set(s)))).reset_index()
    wide = wide.merge(sources, on=index).rename(
        columns={'source': 'published_source'})
    wide['variant'] = wide['variant'].replace('', None)
    wide['source'] = 'published'
    return wide


def aggregate(runs: pd.DataFrame,
              published: Optional[pd.DataFrame] = None) -> pd.DataFrame:
    """Seeds -> mean, std and count per setting; published rows; deltas.

    Runs whose dense stages started from different encoders
    (``dense_init``), and named variants (``variant``), are different
    settings.
    """
    values = COST + list(METRICS)
    group = runs.groupby(SETTING + ['smoke', 'dense_init', 'variant'],
                         dropna=False)
    table = group[values].mean()
    stds = group[list(METRICS)].std().add_suffix('_std')
    table = table.join(stds).join(group.size().rename('seeds'))
    last = group[['device', 'git_commit', 'date', 'reconstruction']].last()
    missing = group['metrics_missing'].agg(_union).rename('metrics_missing')
    table = table.join(last).join(missing).reset_index()
    table['source'] = 'measured'
    if published is not None and len(published):
        keys = [_published_key(row) for _, row in table.iterrows()]
        ref_keys = [_published_key(row) for _, row in published.iterrows()]
        for metric in METRICS:
            if metric not in published:
                continue
            ref = {key: value for key, value in zip(ref_keys,
                                                    published[metric])
                   if pd.notna(value)}
            table[f'{metric}_vs_published'] = table[metric] - [
                ref.get(key, np.nan) for key in keys]
        table = pd.concat([table, published], ignore_index=True)
    return table.sort_values(SETTING + ['source'],
                             kind='stable').reset_index(drop=True)


def _published_key(row: pd.Series) -> tuple:
    """(method, backbone, schedule, variant or '') of a table row."""
    variant = row.get('variant')
    return (*(row[c] for c in SETTING),
            variant if isinstance(variant, str) else '')


def _union(names: pd.Series) -> Optional[str]:
    """The comma-separated names of any seed of a setting, once each."""
    found = {n for text in names.dropna() for n in text.split(',')}
    return ','.join(sorted(found)) or None


def select(table: pd.DataFrame, source: Optional[str] = None,
           family: Optional[str] = None, task: Optional[str] = None,
           sort: Optional[str] = None) -> pd.DataFrame:
    """Filter rows by source and backbone family (backbone name prefix,
    e.g. ``vit``, ``swin``), keep the rows with a metric of ``task``, and
    sort (descending) by a column."""
    if source:
        table = table[table.source == source]
    if family:
        table = table[table.backbone.str.startswith(family)]
    if task:
        table = table.dropna(how='all', subset=[
            m for m in TASKS[task] if m in table])
    if sort:
        if sort not in table:
            raise ValueError(f'cannot sort by {sort!r}; columns: '
                             f'{sorted(table.columns)}')
        table = table.sort_values(sort, ascending=False, kind='stable')
    return table.reset_index(drop=True)


def matched_budget(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Methods compared at equal pretraining device-hours.

    For each backbone, the budgets are the device-hours of every measured
    setting; each method's metric is linearly interpolated in log
    device-hours between its own measured schedules (empty outside them,
    no extrapolation). Rows: (backbone, device_hours); one column per method.
    The random-init rows have no pretraining budget and are left out.
    """
    measured = table[(table.source == 'measured') &
                     (table.method != RANDOM_INIT)].dropna(
        subset=[metric, 'pretrain_device_hours'])
    out = []
    for backbone, rows in measured.groupby('backbone'):
        budgets = sorted(rows.pretrain_device_hours.unique())
        for hours in budgets:
            entry = {'backbone': backbone, 'device_hours': hours}
            for method, points in rows.groupby('method'):
                points = points.sort_values('pretrain_device_hours')
                x = np.log(points.pretrain_device_hours.to_numpy())
                y = points[metric].to_numpy()
                inside = x[0] - 1e-12 <= np.log(hours) <= x[-1] + 1e-12
                entry[method] = (float(np.interp(np.log(hours), x, y))
                                 if inside else None)
            out.append(entry)
    return pd.DataFrame(out)


def _cell(row, metric: str) -> str:
    value = row.get(metric)
    missing = row.get('metrics_missing')
    missing = missing.split(',') if isinstance(missing, str) else []
    if value is None or pd.isna(value):
        return MISSING if metric in missing else ''
    std = row.get(f'{metric}_std')
    text = f'{value:.4g}'
    if metric in missing:
        text += f' ({MISSING} in some seeds)'
    if std is not None and not pd.isna(std):
        text += f' ± {std:.2g}'
    delta = row.get(f'{metric}_vs_published')
    if delta is not None and not pd.isna(delta):
        text += f' ({delta:+.3g} vs published)'
    gain = row.get(f'{metric}_vs_random_init')
    if gain is not None and not pd.isna(gain):
        text += (f' ({gain:+.3g} vs {RANDOM_INIT}, '
                 f"{row[f'{metric}_vs_random_init_verdict']})")
    return text


def display(table: pd.DataFrame) -> pd.DataFrame:
    """The human view: one text cell per metric (mean ± std, delta)."""
    rows = []
    for _, row in table.iterrows():
        out = {k: row.get(k) for k in SETTING + ['source']}
        for col in ('dense_init', 'variant'):
            text = row.get(col)
            out[col] = text if isinstance(text, str) else ''
        out['seeds'] = '' if pd.isna(row.get('seeds')) else int(row['seeds'])
        for col in ('device', *COST, 'pretrain_wall_hours'):
            value = row.get(col)
            out[col] = '' if value is None or pd.isna(value) else value
        out.update({m: _cell(row, m) for m in METRICS})
        commit = row.get('git_commit')
        out['git_commit'] = commit[:8] if isinstance(commit, str) else ''
        rows.append(out)
    return pd.DataFrame(rows)


def to_markdown(table: pd.DataFrame) -> str:
    """A compact Markdown table of :func:`display`."""
    return display(table).to_markdown(index=False, floatfmt='.4g') + '\n'


def _thumbnail(path: str) -> Optional[str]:
    """A small PNG of a picture as a data URI; None if unreadable."""
    try:
        with Image.open(path) as image:
            image = image.convert('RGB')
            image.thumbnail(THUMBNAIL)
            buffer = io.BytesIO()
            image.save(buffer, format='PNG')
    except OSError:
        return None
    return 'data:image/png;base64,' + base64.b64encode(
        buffer.getvalue()).decode()


def picture_cell(path: str, html_dir: str) -> str:
    """A link to a reconstruction picture, relative to the HTML file's
    folder, around its thumbnail (or the word 'picture')."""
    href = html.escape(urllib.parse.quote(osp.relpath(path, html_dir)))
    thumb = _thumbnail(path)
    inner = (f'<img alt="reconstruction" src="{thumb}">' if thumb else
             'picture')
    return f'<a href="{href}">{inner}</a>'


def to_html(table: pd.DataFrame, images: Sequence[str] = (),
            html_dir: str = '.') -> str:
    """A self-contained HTML page of :func:`display` (inline CSS) with the
    given PNG files embedded as data URIs, and a ``reconstruction`` column
    linking each row's picture (relative to ``html_dir``, where the page is
    written) around an embedded thumbnail."""
    view = display(table)
    cells = {}
    if 'reconstruction' in table and table.reconstruction.notna().any():
        view['reconstruction'] = ''
        for i, path in enumerate(table.reconstruction):
            if isinstance(path, str):
                view.loc[i, 'reconstruction'] = f'mimb-picture-{i}'
                cells[f'>mimb-picture-{i}<'] = '>' + picture_cell(
                    path, html_dir) + '<'
    body = view.to_html(index=False, na_rep='',
                        float_format=lambda v: f'{v:.4g}',
                        classes='leaderboard', border=0)
    for token, cell in cells.items():
        body = body.replace(token, cell)
    for path in images:
        with open(path, 'rb') as f:
            data = base64.b64encode(f.read()).decode()
        body += (f'\n<figure><img alt="{osp.basename(path)}" '
                 f'src="data:image/png;base64,{data}"><figcaption>'
                 f'{osp.basename(path)}</figcaption></figure>')
    return ('<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
            '<title>MIM transfer leaderboard</title><style>'
            'body{font-family:sans-serif;margin:2em}'
            'table{border-collapse:collapse;font-size:14px}'
            'th,td{padding:4px 8px;border-bottom:1px solid #ddd;'
            'text-align:right}th{background:#f4f4f4}'
            '</style></head><body><h1>MIM transfer leaderboard</h1>\n'
            f'{body}\n</body></html>\n')


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


def write_leaderboard(runs: pd.DataFrame, out_dir: str,
                      published: Optional[str] = PUBLISHED,
                      **filters) -> List[str]:
    """Per-run CSV; the aggregated table (after :func:`select` with
    ``filters``) as CSV, Markdown and HTML; the plots (metric vs cost per
    task, pretraining loss curves) as PNG, also embedded in the HTML.

    The set is built in a temporary folder and then moved into ``out_dir``
    (:func:`benchmarks.atomic.file_set`): if anything fails, the previous
    set stays whole; files of an earlier set that this one does not have
    (a plot without points now) are removed.

    Returns:
        list[str]: The paths written under ``out_dir``.
    """
    from benchmarks.plots import plot_loss_curves, plot_metrics_vs_cost
    with file_set(out_dir, OUTPUT_FILES) as build:
        atomic_write_text(osp.join(build, 'leaderboard_runs.csv'),
                          runs.to_csv(index=False))
        table = with_random_init_gains(select(aggregate(
            runs, load_published(published) if published else None),
            **filters), list(METRICS))
        write_tables(table, build)
        pairs = pairwise(table, list(METRICS))
        write_tables(pairs, build, 'leaderboard_pairs',
                     pairs_markdown(pairs))
        budget = pd.concat([matched_budget(table, m).assign(metric=m)
                            for m in METRICS], ignore_index=True)
        write_tables(budget, build, 'leaderboard_budget',
                     budget.to_markdown(index=False, floatfmt='.4g') + '\n')
        plots = plot_metrics_vs_cost(table, list(METRICS), build)
        plots += plot_loss_curves(runs, build)
        atomic_write_text(osp.join(build, 'leaderboard.html'),
                          to_html(table, plots, out_dir))
        names = sorted(os.listdir(build), key=OUTPUT_FILES.index)
    return [osp.join(out_dir, name) for name in names]


@cli_main('mimb-leaderboard', code=2)
def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog='mimb-leaderboard', description=__doc__.split('\n\n')[0])
    parser.add_argument('runs', nargs='*', default=['work_dirs/pipeline'],
                        help='run folders or pipeline_summary.json files')
    parser.add_argument('--out', default='results', help='output folder')
    parser.add_argument('--published', default=PUBLISHED,
                        help="published numbers ('' for none)")
    parser.add_argument('--source', choices=('measured', 'published'),
                        help='only these rows')
    parser.add_argument('--family', help='backbone name prefix: vit, '
                        'convvit, swin, pvt, ...')
    parser.add_argument('--task', choices=sorted(TASKS),
                        help='only rows with a metric of this task')
    parser.add_argument('--sort', help='column to sort by, descending')
    args = parser.parse_args(argv)
    runs = build_leaderboard(args.runs)
    paths = write_leaderboard(runs, args.out, args.published,
                              source=args.source, family=args.family,
                              task=args.task, sort=args.sort)
    print(f'mimb-leaderboard: {len(runs)} runs -> ' + ', '.join(paths))
    return 0


if __name__ == '__main__':
    sys.exit(main())

"""The leaderboard survives any summary: bad values are reported by path
and key and dropped, the outputs are replaced as one set, and a stage that
finished without metrics shows them as missing."""
import math

import pandas as pd
import pytest

from backbones.engine.fileio import atomic_write_json
from benchmarks.leaderboard import build_leaderboard, main, write_leaderboard


def summary(method='mae', seed=0, top1=83.0, **stages):
    return dict(
        method=method, backbone='vit-base-p16', schedule='800e', seed=seed,
        smoke=False,
        stages=dict(
            pretrain=dict(cost=dict(device='cpu', num_devices=1,
                                    device_hours=1.0, images_per_s=10.0,
                                    peak_memory_mb=100.0, epochs=2),
                          loss_curve=[[1, 1.0], [2, 0.5]]),
            finetune=dict(finished=True, metrics={'accuracy/top1': top1}),
            knn=dict(finished=True, metrics={'knn/top1': 50.0}), **stages))


def write(root, name, payload):
    path = root / name / 'pipeline_summary.json'
    atomic_write_json(str(path), payload)
    return str(path)


def test_bad_values_are_named_and_dropped(tmp_path):
    runs = tmp_path / 'runs'
    write(runs, 'good', summary(seed=0))
    bad = summary(seed=1, top1='45.0')  # a string metric
    bad['stages']['det'] = dict(metrics={'coco/bbox_mAP': 3.0,  # AP 300
                                         'coco/segm_mAP': 0.25})
    bad['stages']['knn']['metrics']['knn/top1'] = math.nan
    bad['stages']['pretrain']['cost']['device_hours'] = 'two'
    bad['stages']['pretrain']['loss_curve'] = 'falling'
    bad_path = write(runs, 'bad', bad)
    empty = summary(seed=2, det=dict(finished=True, metrics={
        'coco/bbox_mAP': -1, 'coco/segm_mAP': -1}))  # COCO: no objects
    empty['stages']['linear'] = dict(metrics={'accuracy/top1': -5.0})
    empty_path = write(runs, 'empty', empty)
    no_seed = write(runs, 'no_seed', {**summary(), 'seed': '0'})
    listed = write(runs, 'listed', {**summary(seed=3), 'stages': []})
    warnings = []
    table = build_leaderboard([str(runs)],
                              warn=lambda m, **k: warnings.append(m))
    rows = table.set_index('seed')
    assert sorted(rows.index) == [0, 1, 2, 3]  # no_seed skipped
    assert pd.isna(rows.loc[1, 'ft_top1']) and rows.loc[0, 'ft_top1'] == 83
    assert pd.isna(rows.loc[1, 'coco_box_ap'])
    assert rows.loc[1, 'coco_mask_ap'] == 25.0  # the good value stays
    assert pd.isna(rows.loc[1, 'knn_top1'])
    assert pd.isna(rows.loc[1, 'pretrain_device_hours'])
    assert rows.loc[1, 'pretrain_images_per_s'] == 10.0
    assert rows.loc[1, 'pretrain_loss_curve'] == '[]'
    assert pd.isna(rows.loc[2, 'coco_box_ap'])  # -1 is not -100
    assert pd.isna(rows.loc[2, 'linear_top1'])
    expected = [
        (bad_path, "stages.finetune.metrics['accuracy/top1'] = '45.0'"),
        (bad_path, "stages.det.metrics['coco/bbox_mAP'] = 3.0"),
        (bad_path, "stages.knn.metrics['knn/top1'] = nan"),
        (bad_path, "stages.pretrain.cost.device_hours = 'two'"),
        (bad_path, "stages.pretrain.loss_curve = 'falling'"),
        (empty_path, "stages.linear.metrics['accuracy/top1'] = -5.0"),
        (listed, 'stages = []'),
        (no_seed, "seed = '0'"),
    ]
    for path, where in expected:
        assert any(path in w and where in w for w in warnings), where
    assert len(warnings) == len(expected)  # COCO's -1 is not warned about
    assert main([str(runs), '--out', str(tmp_path / 'out'),
                 '--published', '']) == 0
    md = (tmp_path / 'out' / 'leaderboard.md').read_text()
    assert '45.0' not in md and max(map(len, md.split('|'))) < 60


def listing(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_failure_leaves_the_previous_set(tmp_path, monkeypatch):
    out = tmp_path / 'results'
    out.mkdir()
    (out / 'published.csv').write_text('kept\n')  # not ours: untouched
    write(tmp_path / 'runs', 'a', summary(seed=0))
    write_leaderboard(build_leaderboard([str(tmp_path / 'runs')]), str(out),
                      published=None)
    before = listing(out)
    assert 'plot_knn_top1_vs_cost.png' in before
    write(tmp_path / 'runs', 'b', summary(seed=1, top1=90.0))
    runs = build_leaderboard([str(tmp_path / 'runs')])

    def broken(*args):
        raise OSError('disk full')

    import benchmarks.plots
    monkeypatch.setattr(benchmarks.plots, 'plot_loss_curves', broken)
    with pytest.raises(OSError, match='disk full'):
        write_leaderboard(runs, str(out), published=None)
    assert listing(out) == before  # not a new runs CSV with old tables
    assert not [p for p in tmp_path.iterdir() if p.name.startswith('.')]
    monkeypatch.undo()
    for run in runs.itertuples():  # the next set has no kNN numbers
        write(tmp_path / 'runs', run.summary.split('/')[-2], {
            **summary(seed=run.seed), 'stages': {}})
    paths = write_leaderboard(build_leaderboard([str(tmp_path / 'runs')]),
                              str(out), published=None)
    names = set(listing(out))
    assert 'plot_knn_top1_vs_cost.png' not in names  # stale plot removed
    assert names == {p.split('/')[-1] for p in paths} | {'published.csv'}


def test_finished_without_metrics_reads_missing(tmp_path):
    runs = tmp_path / 'runs'
    # the hook's record, and a summary written before it existed
    write(runs, 'a', summary(seed=0, det=dict(
        finished=True, metrics={},
        metrics_missing=['coco/bbox_mAP', 'coco/segm_mAP'])))
    write(runs, 'b', summary(seed=1, det=dict(finished=True, metrics={})))
    write(runs, 'c', summary('emae', seed=0))  # never ran det: not missing
    table = build_leaderboard([str(runs)])
    assert table.metrics_missing.fillna('').tolist() == [
        '', 'coco_box_ap,coco_mask_ap', 'coco_box_ap,coco_mask_ap']
    assert main([str(runs), '--out', str(tmp_path / 'out'),
                 '--published', '']) == 0
    view = pd.read_csv(tmp_path / 'out' / 'leaderboard.csv')
    assert view.set_index('method').metrics_missing.fillna('').to_dict() == {
        'emae': '', 'mae': 'coco_box_ap,coco_mask_ap'}
    md = (tmp_path / 'out' / 'leaderboard.md').read_text().splitlines()
    header = [c.strip() for c in md[0].split('|')]
    mae = [c.strip() for c in next(r for r in md if '| mae ' in r).split('|')]
    emae = [c.strip() for c in next(r for r in md if '| emae ' in r)
            .split('|')]
    box = header.index('coco_box_ap')
    assert mae[box] == 'missing' and emae[box] == ''
    assert mae[header.index('ft_top1')] == '83 ± 0'  # two seeds
    page = (tmp_path / 'out' / 'leaderboard.html').read_text()
    assert page.count('<td>missing</td>') == 2

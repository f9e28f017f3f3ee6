"""Gains over the random-init row and which differences exceed the seed
spread, on fixture summaries (benchmarks/comparisons.py)."""
import numpy as np
import pandas as pd
import pytest

from backbones.engine.fileio import atomic_write_json
from benchmarks.comparisons import ONE_SEED, WITHIN, pairwise, verdict
from benchmarks.leaderboard import build_leaderboard, write_leaderboard

# method -> kNN top-1 of seeds 0, 1, 2
KNN = {'random-init': (60.0, 62.0, 64.0), 'mae': (80.0, 81.0, 82.0),
       'emae': (63.0, 65.0, 67.0)}


def summary(method, seed, knn, backbone='vit-tiny-p4'):
    return dict(
        method=method, backbone=backbone,
        schedule='0e' if method == 'random-init' else '30e', seed=seed,
        smoke=True, init_from=dict(knn='pretrain'),
        stages=dict(pretrain=dict(cost=dict(device='cpu', num_devices=1,
                                            device_hours=0.01)),
                    knn=dict(metrics={'knn/top1': knn})))


@pytest.fixture
def table(tmp_path):
    for method, values in KNN.items():
        for seed, knn in enumerate(values):
            atomic_write_json(str(tmp_path / 'runs' / f'{method}{seed}' /
                                  'pipeline_summary.json'),
                              summary(method, seed, knn))
    # one seed of another backbone: no random-init row, no spread
    atomic_write_json(str(tmp_path / 'runs' / 'swin' /
                          'pipeline_summary.json'),
                      summary('um-mae', 0, 70.0, 'swin-micro'))
    write_leaderboard(build_leaderboard([str(tmp_path / 'runs')]),
                      str(tmp_path / 'out'), published='')
    return tmp_path / 'out'


def test_verdict_rule():
    assert verdict(10.0, 1.0, 3, 7.0, 1.0, 3) == 'a > b'
    assert verdict(7.0, 1.0, 3, 10.0, 1.0, 3) == 'a < b'
    assert verdict(10.0, 1.5, 3, 7.0, 1.5, 3) == WITHIN  # |3| <= 3
    assert verdict(10.0, 0.1, 1, 0.0, 0.1, 3) == ONE_SEED
    assert verdict(10.0, np.nan, 2, 0.0, 0.1, 3) == ONE_SEED


def test_gain_over_random_init_on_every_measured_row(table):
    board = pd.read_csv(table / 'leaderboard.csv')
    row = board.set_index('method')
    assert row.loc['mae', 'knn_top1_vs_random_init'] == pytest.approx(19.0)
    assert row.loc['mae', 'knn_top1_vs_random_init_verdict'] == \
        'beyond spread'
    # EMAE +3 over random init, but both spread by 2 + 2
    assert row.loc['emae', 'knn_top1_vs_random_init'] == pytest.approx(3.0)
    assert row.loc['emae', 'knn_top1_vs_random_init_verdict'] == WITHIN
    assert pd.isna(row.loc['random-init', 'knn_top1_vs_random_init'])
    assert pd.isna(row.loc['um-mae', 'knn_top1_vs_random_init'])
    md = (table / 'leaderboard.md').read_text()
    assert '81 ± 1 (+19 vs random-init, beyond spread)' in md
    # no pretraining, no budget: not in the equal-budget comparison
    budget = pd.read_csv(table / 'leaderboard_budget.csv')
    assert 'random-init' not in budget and 'mae' in budget
    assert '65 ± 2 (+3 vs random-init, within spread)' in md


def test_pairs_on_one_backbone_with_their_verdicts(table):
    pairs = pd.read_csv(table / 'leaderboard_pairs.csv')
    assert set(pairs.backbone) == {'vit-tiny-p4'}  # swin: a single setting
    assert len(pairs) == 3 and set(pairs.metric) == {'knn_top1'}
    got = {(p.a, p.b): (p.difference, p.spread, p.verdict)
           for p in pairs.itertuples()}
    assert got[('emae 30e', 'mae 30e')] == (-16.0, 3.0, 'a < b')
    assert got[('emae 30e', 'random-init 0e')] == (3.0, 4.0, WITHIN)
    assert got[('mae 30e', 'random-init 0e')] == (19.0, 3.0, 'a > b')
    md = (table / 'leaderboard_pairs.md').read_text()
    assert '| emae 30e' in md and 'sum of the two standard deviations' in md


def test_one_seed_pairs_have_no_verdict():
    rows = pd.DataFrame([
        dict(source='measured', method=m, backbone='b', smoke=True,
             schedule='1e', seeds=1, knn_top1=v, knn_top1_std=np.nan)
        for m, v in (('x', 1.0), ('y', 9.0))])
    pairs = pairwise(rows, ['knn_top1', 'ft_top1'])
    assert pairs.verdict.tolist() == [ONE_SEED]
    assert np.isnan(pairs.spread.item())


def test_rows_without_dense_stages_find_their_baseline():
    from benchmarks.comparisons import with_random_init_gains
    rows = pd.DataFrame([
        dict(source='measured', method=m, backbone='b', smoke=True,
             schedule='1e', seeds=1, dense_init=init, knn_top1=v,
             knn_top1_std=np.nan)
        for m, init, v in (('random-init', 'pretrain', 40.0),
                           ('emae', None, 50.0), ('mae', 'pretrain', 45.0))])
    gains = with_random_init_gains(rows, ['knn_top1']).set_index('method')
    assert gains.loc['emae', 'knn_top1_vs_random_init'] == 10.0
    assert gains.loc['mae', 'knn_top1_vs_random_init'] == 5.0

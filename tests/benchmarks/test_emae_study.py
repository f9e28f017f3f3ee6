"""mimb-emae-study's pure logic: the grid, the equal-wall-time epochs, the
derived configs and the table built from fixture run summaries (no
training)."""
import json
import os.path as osp
from pathlib import Path

import pandas as pd
import pytest
from mmengine.config import Config

from benchmarks.emae_study import (EMAE_SMOKE, MAE_SMOKE, Setting, build_table,
                                   collect, config_path, derived_config,
                                   equal_time_epochs, expand_grid, run_folder,
                                   stretched_schedule, to_markdown)
from benchmarks.stages import parse_config_name


def test_grid_is_off_then_every_distance_weight_then_mae():
    grid = expand_grid(['0.3', '1'], ['l1', 'mse:1,3', 'l1'], 30)
    assert [s.name for s in grid] == [
        'emae-sc-off', 'emae-l1-w0p3', 'emae-l1-w1', 'emae-mse-w1',
        'emae-mse-w3', 'mae']
    off, mae = grid[0], grid[-1]
    assert (off.sc_weight, off.is_emae, mae.is_emae) == (0.0, True, False)
    assert mae.base == MAE_SMOKE and off.base == EMAE_SMOKE
    assert all(s.epochs == 30 for s in grid)
    assert (grid[4].sc_distance, grid[4].sc_weight) == ('mse', 3.0)


@pytest.mark.parametrize('weights, distances, match', [
    (['1'], ['huber'], r"distance 'huber': expected one of \('l1', 'mse'\)"),
    (['0'], ['l1'], "must be a finite number > 0.*got '0'"),
    (['-1'], ['l1'], "got '-1'"),
    (['nan'], ['l1'], "got 'nan'"),
    (['x'], ['l1'], "sc weight 'x' is not a number"),
    ([], ['l1'], "distance 'l1' has no weights"),
])
def test_bad_grid_names_the_value(weights, distances, match):
    with pytest.raises(ValueError, match=match):
        expand_grid(weights, distances, 30)


def mae_runs(wall, train, epochs=30):
    return pd.DataFrame(dict(pretrain_wall_s=wall, pretrain_train_s=train,
                             epochs=epochs))


def test_equal_time_epochs_subtracts_the_fixed_part():
    # fixed 10 s (wall - train), 1 s per epoch (train / 30)
    runs = mae_runs([40.0, 42.0], [30.0, 30.0])
    assert equal_time_epochs(131.0, runs) == (120, 11.0, 1.0)
    assert equal_time_epochs(40.0, runs)[0] == 29  # (40 - 11) // 1
    with pytest.raises(ValueError, match='does not fit one MAE epoch'):
        equal_time_epochs(11.5, runs)
    with pytest.raises(ValueError, match='no finished MAE pretraining'):
        equal_time_epochs(100.0, mae_runs([], []))


def test_stretched_schedule_keeps_the_warm_up():
    base = Config.fromfile(MAE_SMOKE).param_scheduler
    warm, cosine = stretched_schedule(base, 117)
    assert warm == dict(base[0])
    assert (cosine['begin'], cosine['end'], cosine['T_max']) == (3, 117, 114)
    assert cosine['type'] == 'CosineAnnealingLR'
    with pytest.raises(ValueError, match='do not go past the 3 warm-up'):
        stretched_schedule(base, 3)
    with pytest.raises(ValueError, match=r"got schedulers \['StepLR'\]"):
        stretched_schedule([dict(type='StepLR')], 10)


def test_derived_configs_override_only_their_setting(tmp_path):
    emae = expand_grid(['0.3'], ['mse'], 30)[1]
    timed = Setting('mae-time', 'MAE, equal wall time', MAE_SMOKE, 117)
    paths = {}
    for s in (emae, timed):
        paths[s.name] = config_path(s, str(tmp_path))
        with open(paths[s.name], 'w') as f:
            f.write(derived_config(s, ['knn', 'linear']))
    assert parse_config_name(paths['emae-mse-w0p3']) == dict(
        method='emae-mse-w0p3', backbone='vit-tiny-p4', schedule='30e',
        data='tiny-in1k-32px')
    assert parse_config_name(paths['mae-time'])['schedule'] == '117e'
    assert run_folder(paths['mae-time'], 2, '/r') == \
        '/r/mae-time_vit-tiny-p4_117e_seed2'
    cfg = Config.fromfile(paths['emae-mse-w0p3'])
    smoke = Config.fromfile(EMAE_SMOKE)
    assert (cfg.model.sc_weight, cfg.model.sc_distance) == (0.3, 'mse')
    assert cfg.param_scheduler == smoke.param_scheduler
    assert sorted(cfg.mimb_downstream) == ['knn', 'linear']
    for stage, path in cfg.mimb_downstream.items():
        assert osp.isabs(path) and osp.isfile(path)
        assert path == osp.normpath(osp.join(
            osp.dirname(EMAE_SMOKE), smoke.mimb_downstream[stage]))
    cfg = Config.fromfile(paths['mae-time'])
    assert cfg.model.type == 'MAE' and cfg.train_cfg.max_epochs == 117
    assert cfg.param_scheduler[1].end == 117


def write_run(folder, knn, linear, scalars, wall=100.0):
    """A fixture run: summaries of three stages and a scalars.json."""
    def summary(stage, **extra):
        path = folder / stage / 'run_summary.json'
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(dict(stage=stage, **extra)))

    summary('pretrain', finished=True, metrics={}, cost=dict(
        wall_time_s=wall, train_time_s=wall - 10, epochs=2))
    summary('knn', finished=knn is not None, metrics={} if knn is None
            else {'knn/top1': knn})
    summary('linear', finished=True, metrics={'accuracy/top1': linear})
    for stamp, records in scalars.items():
        path = folder / 'pretrain' / stamp / 'vis_data' / 'scalars.json'
        path.parent.mkdir(parents=True)
        path.write_text(''.join(json.dumps(r) + '\n' for r in records))


def rec(step, epoch, rec_loss, sc):
    return dict(loss=rec_loss + sc, loss_rec=rec_loss, loss_sc=sc,
                epoch=epoch, iter=step, step=step)


def test_table_from_fixture_summaries(tmp_path):
    s = Setting('emae-l1-w2', 'EMAE, l1 x 2', EMAE_SMOKE, 2, 2.0, 'l1')
    config = str(tmp_path / 'emae-l1-w2_vit-tiny-p4_1xb32-2e_tiny.py')
    runs_root = tmp_path / 'runs'
    write_run(runs_root / 'emae-l1-w2_vit-tiny-p4_2e_seed0', 50.0, 40.0, {
        # two records in epoch 1; epoch 2 logged, then again after a resume
        '20260101_000000': [rec(5, 1, 1.0, 0.2), rec(10, 1, 0.8, 0.4),
                            rec(20, 2, 9.0, 9.0)],
        '20260101_010000': [rec(20, 2, 0.6, 0.1)]}, wall=100.0)
    write_run(runs_root / 'emae-l1-w2_vit-tiny-p4_2e_seed1', 54.0, 44.0, {
        '20260101_000000': [rec(10, 1, 0.8, 0.2), rec(20, 2, 0.4, 0.3)]},
        wall=110.0)
    write_run(runs_root / 'emae-l1-w2_vit-tiny-p4_2e_seed2', None, 30.0, {
        '20260101_000000': [rec(10, 1, 0.8, 0.2), rec(20, 2, 0.5, 0.2)]},
        wall=120.0)
    runs, losses = collect(s, config, [0, 1, 2, 3], str(runs_root))
    assert list(runs.seed) == [0, 1, 2]  # seed 3 never ran
    assert runs.knn_top1.isna().tolist() == [False, False, True]
    seed0 = losses[losses.seed == 0].set_index('epoch')
    assert seed0.rec.tolist() == pytest.approx([0.9, 0.6])
    assert seed0.sc.tolist() == pytest.approx([0.15, 0.05])  # / weight 2
    mae = Setting('mae', 'MAE', MAE_SMOKE, 2)
    table = build_table([s, mae], runs, losses)
    row = table.iloc[0]
    assert row.seeds == 3 and table.iloc[1].seeds == 0
    assert row.knn_top1_mean == pytest.approx(52.0)
    assert row.knn_top1_std == pytest.approx(8 ** 0.5)
    assert row.linear_top1_mean == pytest.approx(38.0)
    assert row.pretrain_wall_s_mean == pytest.approx(110.0)
    assert row.final_rec == pytest.approx(0.5)
    assert row.final_sc == pytest.approx((0.05 + 0.15 + 0.1) / 3)
    # paired by seed with the first setting (itself here): 0 +- 0
    assert (row.knn_top1_vs_first_mean, row.knn_top1_vs_first_std) == (0, 0)
    assert pd.isna(table.iloc[1].knn_top1_vs_first_mean)
    markdown = to_markdown(table, ['a note'])
    assert 'a note' in markdown and '52.0 ± 2.8' in markdown
    assert '| MAE ' in markdown and 'emae_study_losses.png' in markdown


def test_main_with_a_stand_in_pipeline(tmp_path, monkeypatch):
    """The study's order of runs, the equal-wall-time MAE from the measured
    runs and the outputs, with a stand-in that writes fixture runs."""
    import benchmarks.emae_study as study
    calls = []

    def fake_run(config, seed, stages, runs_root, log, threads):
        calls.append((parse_config_name(config)['method'], seed))
        method = calls[-1][0]
        # 2-epoch fixture runs of 10 s fixed + train time: EMAE 100 s, MAE
        # 40 s (15 s per epoch)
        wall = 40.0 if method == 'mae' else 100.0
        write_run(Path(run_folder(config, seed, runs_root)), 50.0 + seed,
                  40.0, {'t': [rec(10, 1, 1.0, 0.1)]}, wall=wall)
        if seed == 0:  # the pipeline's random-init baseline of the backbone
            write_run(Path(runs_root, 'random-init_vit-tiny-p4_0e_seed0'),
                      30.0, 20.0, {}, wall=1.0)
        return 0

    monkeypatch.setattr(study, 'run_setting', fake_run)
    out = tmp_path / 'out'
    assert study.main(['--seeds', '0', '1', '--weights', '1', '--distances',
                       'l1', '--work-dir', str(tmp_path / 'w'), '--out',
                       str(out)]) == 0
    assert calls == [('emae-sc-off', 0), ('emae-sc-off', 1),
                     ('emae-l1-w1', 0), ('mae', 0), ('emae-l1-w1', 1),
                     ('mae', 1), ('mae-time', 0), ('mae-time', 1)]
    table = pd.read_csv(out / 'emae_study.csv')
    assert list(table.setting) == ['emae-sc-off', 'emae-l1-w1', 'mae',
                                   'mae-time', 'random-init']
    assert table.epochs.iloc[3] == 6  # (100 - 10) // 15
    assert table.knn_top1_mean.tolist() == [50.5] * 4 + [30.0]
    assert table.seeds.tolist() == [2, 2, 2, 2, 1]
    assert table.knn_top1_vs_first_mean.tolist() == [0.0] * 4 + [-20.0]
    assert (out / 'emae_study_losses.png').stat().st_size > 1000
    assert len(pd.read_csv(out / 'emae_study_runs.csv')) == 9
    assert 'MAE, equal wall time (6)' in (out / 'emae_study.md').read_text()

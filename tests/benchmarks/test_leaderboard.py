"""The leaderboard from fixture summaries, malformed ones included."""
import pandas as pd
import pytest

from backbones.engine.fileio import atomic_write_json
from benchmarks.leaderboard import build_leaderboard, main


def summary(method, seed, top1):
    return dict(
        method=method, backbone='vit-base-p16', schedule='800e', seed=seed,
        smoke=False,
        stages=dict(
            pretrain=dict(cost=dict(device='cuda', device_name='A100',
                                    num_devices=8, device_hours=100.0,
                                    images_per_s=3000.0,
                                    peak_memory_mb=20000.0, epochs=800),
                          provenance=dict(config='c.py', config_sha256='ab',
                                          git_commit='0123456789abcdef',
                                          versions=dict(torch='2.14.1'))),
            finetune=dict(metrics={'accuracy/top1': top1}),
            knn=dict(metrics={'knn/top1': 50.0})))


def test_rows_values_and_skipped_files(tmp_path, capsys):
    atomic_write_json(str(tmp_path / 'a' / 'pipeline_summary.json'),
                      summary('mae', 0, 83.6))
    atomic_write_json(str(tmp_path / 'b' / 'pipeline_summary.json'),
                      summary('emae', 1, 84.0))
    (tmp_path / 'c').mkdir()
    (tmp_path / 'c' / 'pipeline_summary.json').write_text('{"method": "x"')
    (tmp_path / 'd').mkdir()
    (tmp_path / 'd' / 'pipeline_summary.json').write_text('[1, 2]')
    warnings = []
    table = build_leaderboard([str(tmp_path)],
                              warn=lambda m, **k: warnings.append(m))
    assert table.method.tolist() == ['emae', 'mae']
    assert table.ft_top1.tolist() == [84.0, 83.6]
    assert table.linear_top1.isna().all()
    assert table.pretrain_device_hours.tolist() == [100.0, 100.0]
    assert len(warnings) == 2
    assert any('/c/pipeline_summary.json' in w for w in warnings)
    assert any('/d/pipeline_summary.json' in w for w in warnings)


def test_cli_writes_csv_and_markdown(tmp_path):
    atomic_write_json(str(tmp_path / 'runs' / 'a' / 'pipeline_summary.json'),
                      summary('mae', 0, 83.6))
    assert main([str(tmp_path / 'runs'), '--out',
                 str(tmp_path / 'out')]) == 0
    table = pd.read_csv(tmp_path / 'out' / 'leaderboard.csv')
    measured = table[table.source == 'measured']
    assert measured.git_commit.tolist() == ['0123456789abcdef']
    runs = pd.read_csv(tmp_path / 'out' / 'leaderboard_runs.csv')
    assert runs.seed.tolist() == [0]
    md = (tmp_path / 'out' / 'leaderboard.md').read_text()
    assert '01234567 ' in md and '83.6' in md
    assert not list((tmp_path / 'out').glob('.tmp_*'))


def test_seeds_collapse_published_rows_and_deltas(tmp_path):
    from html.parser import HTMLParser

    from benchmarks.leaderboard import build_leaderboard, write_leaderboard
    for seed, top1 in ((0, 83.0), (1, 84.0), (2, 85.0)):
        atomic_write_json(
            str(tmp_path / 'runs' / f's{seed}' / 'pipeline_summary.json'),
            summary('mae', seed, top1))
    atomic_write_json(str(tmp_path / 'runs' / 'e' / 'pipeline_summary.json'),
                      summary('emae', 0, 83.0))
    (tmp_path / 'published.csv').write_text(
        'method,backbone,schedule,metric,value,source\n'
        'mae,vit-base-p16,800e,ft_top1,83.5,"paper, Table 1"\n'
        'convmae,convvit-base,1600e,coco_box_ap,53.2,readme\n')
    runs = build_leaderboard([str(tmp_path / 'runs')])
    assert len(runs) == 4
    paths = write_leaderboard(runs, str(tmp_path / 'out'),
                              str(tmp_path / 'published.csv'))
    table = pd.read_csv(tmp_path / 'out' / 'leaderboard.csv')
    mae = table[(table.method == 'mae') & (table.source == 'measured')]
    assert len(mae) == 1 and mae.seeds.item() == 3
    assert mae.ft_top1.item() == 84.0 and mae.ft_top1_std.item() == 1.0
    assert mae.ft_top1_vs_published.item() == 0.5
    published = table[table.source == 'published']
    assert set(published.method) == {'mae', 'convmae'}
    assert 'paper, Table 1' in published.published_source.tolist()
    md = (tmp_path / 'out' / 'leaderboard.md').read_text()
    assert '84 ± 1 (+0.5 vs published)' in md

    class Cells(HTMLParser):
        rows, cells = 0, []

        def handle_starttag(self, tag, attrs):
            self.rows += tag == 'tr'

        def handle_data(self, data):
            self.cells.append(data)

    page = Cells()
    page.feed((tmp_path / 'out' / 'leaderboard.html').read_text())
    assert page.rows == 1 + 4  # header + emae, mae, 2 published
    assert '84 ± 1 (+0.5 vs published)' in page.cells
    assert len([p for p in paths if not p.endswith(".png")]) == 8


def test_plots_filters_html_images_and_permissions(tmp_path):
    import stat

    from PIL import Image

    from benchmarks.leaderboard import (build_leaderboard, select,
                                        write_leaderboard)
    for method in ('mae', 'emae'):
        s = summary(method, 0, 83.0)
        s['stages']['pretrain']['loss_curve'] = [[1, 1.0], [2, 0.5]]
        atomic_write_json(str(tmp_path / 'runs' / method /
                              'pipeline_summary.json'), s)
    runs = build_leaderboard([str(tmp_path / 'runs')])
    paths = write_leaderboard(runs, str(tmp_path / 'out'))
    pngs = [p for p in paths if p.endswith('.png')]
    names = {p.rsplit('/', 1)[1] for p in pngs}
    assert {'plot_ft_top1_vs_cost.png', 'plot_knn_top1_vs_cost.png',
            'plot_pretrain_loss.png'} <= names
    for png in pngs:
        with Image.open(png) as im:
            # results/published.csv: UM-MAE's and SimMIM's published
            # costs are wall hours without a device count, a second panel
            two = png.endswith('plot_ft_top1_vs_cost.png')
            assert im.format == 'PNG'
            assert im.size == ((1200 if two else 600), 400), png
    html = (tmp_path / 'out' / 'leaderboard.html').read_text()
    assert html.count('src="data:image/png;base64,') == len(pngs)
    mode = (tmp_path / 'out' / 'leaderboard.csv').stat().st_mode
    assert mode & stat.S_IRGRP  # readable by others, not mkstemp's 0600
    table = pd.read_csv(tmp_path / 'out' / 'leaderboard.csv')
    assert set(select(table, source='published').source) == {'published'}
    # the measured ViT-B runs and MAE's published ViT-B/L rows
    assert set(select(table, family='vit').backbone) == {'vit-base-p16',
                                                         'vit-large-p16'}
    det = select(table, task='det')
    assert det.coco_box_ap.notna().all()
    ranked = select(table, source='measured', sort='knn_top1')
    assert ranked.knn_top1.is_monotonic_decreasing


def test_two_leaderboard_commands_at_once_leave_whole_files(tmp_path):
    import subprocess
    import sys
    for seed in range(20):
        atomic_write_json(str(tmp_path / 'runs' / f's{seed}' /
                              'pipeline_summary.json'),
                          summary('mae', seed, 80.0 + seed / 10))
    cmd = [sys.executable, '-m', 'benchmarks.leaderboard',
           str(tmp_path / 'runs'), '--out', str(tmp_path / 'out')]
    procs = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for _ in range(2)]
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    table = pd.read_csv(tmp_path / 'out' / 'leaderboard.csv')
    mae = table[table.source == 'measured']
    assert mae.seeds.tolist() == [20]
    assert not list((tmp_path / 'out').glob('.tmp_*'))


def test_matched_budget_interpolates_between_schedules():
    from benchmarks.leaderboard import matched_budget
    table = pd.DataFrame([
        dict(method='mae', backbone='vit', source='measured',
             pretrain_device_hours=10.0, knn_top1=50.0),
        dict(method='mae', backbone='vit', source='measured',
             pretrain_device_hours=40.0, knn_top1=60.0),
        dict(method='emae', backbone='vit', source='measured',
             pretrain_device_hours=20.0, knn_top1=58.0),
        dict(method='x', backbone='vit', source='published',
             pretrain_device_hours=20.0, knn_top1=99.0)])
    view = matched_budget(table, 'knn_top1').set_index('device_hours')
    assert list(view.index) == [10.0, 20.0, 40.0]
    assert view.loc[20.0, 'mae'] == pytest.approx(55.0)  # log midpoint
    assert view.loc[20.0, 'emae'] == 58.0
    assert pd.isna(view.loc[10.0, 'emae'])  # no extrapolation
    assert 'x' not in view  # published rows are not interpolated


def test_html_links_reconstruction_pictures(tmp_path):
    from html.parser import HTMLParser

    from PIL import Image

    from backbones.tools.reconstruction import RECON_FILE
    from benchmarks.leaderboard import write_leaderboard
    for method in ('mae', 'emae', 'convmae'):
        atomic_write_json(str(tmp_path / 'runs' / method /
                              'pipeline_summary.json'),
                          summary(method, 0, 83.0))
    mae_png = tmp_path / 'runs' / 'mae' / 'pretrain' / RECON_FILE
    mae_png.parent.mkdir()
    Image.new('RGB', (884, 408), (200, 10, 10)).save(mae_png)
    broken = tmp_path / 'runs' / 'emae' / 'pretrain' / RECON_FILE
    broken.parent.mkdir()
    broken.write_bytes(b'\x89PNG half-written')  # linked, no thumbnail
    runs = build_leaderboard([str(tmp_path / 'runs')])
    assert runs.set_index('method').reconstruction.fillna('').to_dict() == {
        'convmae': '', 'emae': str(broken), 'mae': str(mae_png)}
    out = tmp_path / 'site' / 'out'
    write_leaderboard(runs, str(out), published=None)

    class Links(HTMLParser):
        links, thumbnails = [], []

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag == 'a':
                self.links.append(attrs['href'])
            if tag == 'img' and attrs.get('alt') == 'reconstruction':
                self.thumbnails.append(attrs['src'])

    page = Links()
    page.feed((out / 'leaderboard.html').read_text())
    assert sorted(page.links) == [
        '../../runs/emae/pretrain/reconstruction.png',
        '../../runs/mae/pretrain/reconstruction.png']
    for link in page.links:  # relative to the HTML file
        assert (out / link).resolve().is_file()
    assert len(page.thumbnails) == 1
    assert page.thumbnails[0].startswith('data:image/png;base64,')
    table = pd.read_csv(out / 'leaderboard.csv')
    assert table.set_index('method').reconstruction.notna().to_dict() == {
        'convmae': False, 'emae': True, 'mae': True}


def test_dense_init_says_which_encoder_the_dense_numbers_came_from(
        tmp_path):
    from benchmarks.leaderboard import aggregate, dense_init, display
    runs_root = tmp_path / 'runs'
    fine = dict(finetune='pretrain', det='finetune', seg='finetune')
    cases = [  # (seed, init_from of the pipeline summary)
        (0, fine), (1, fine),
        (2, dict(finetune='pretrain', det='pretrain', seg='pretrain')),
        (3, dict(det='finetune', seg='pretrain')),
        (4, None),  # a summary written before the record existed
    ]
    for seed, init_from in cases:
        run = summary('um-mae', seed, 80.0)
        run['stages']['det'] = dict(metrics={'coco/bbox_mAP': 0.4})
        if init_from is not None:
            run['init_from'] = init_from
        atomic_write_json(
            str(runs_root / f's{seed}' / 'pipeline_summary.json'), run)
    runs = build_leaderboard([str(runs_root)])
    assert runs.dense_init.fillna('').tolist() == [
        'finetune', 'finetune', 'pretrain', 'det=finetune,seg=pretrain', '']
    assert dense_init(dict(init_from=dict(finetune='pretrain'))) is None
    table = aggregate(runs)
    # the two runs from the fine-tuned encoder are one setting, the others
    # stay apart
    assert len(table) == 4
    ft = table[table.dense_init == 'finetune']
    assert ft.seeds.item() == 2 and ft.coco_box_ap.item() == 40.0
    assert sorted(display(table).dense_init) == [
        '', 'det=finetune,seg=pretrain', 'finetune', 'pretrain']
    assert main([str(runs_root), '--out', str(tmp_path / 'out')]) == 0
    written = pd.read_csv(tmp_path / 'out' / 'leaderboard_runs.csv')
    assert written.dense_init.fillna('').tolist() == [
        'finetune', 'finetune', 'pretrain', 'det=finetune,seg=pretrain', '']
    md = (tmp_path / 'out' / 'leaderboard.md').read_text()
    assert '| dense_init ' in md and '| det=finetune,seg=pretrain ' in md


def test_variant_rows_stay_apart_from_the_published_method(tmp_path):
    """A named variant (the pretraining config's mimb_variant, written into
    the pipeline summary) is its own setting, even under the same method
    name, and the Markdown says what it changes."""
    from benchmarks.leaderboard import aggregate
    runs_root = tmp_path / 'runs'
    cases = [(0, None, 80.0), (1, None, 82.0),
             (0, 'per-patch decoder positions', 70.0)]
    for seed, variant, top1 in cases:
        run = summary('um-mae', seed, top1)
        run['variant'] = variant
        atomic_write_json(str(runs_root / f'{variant}{seed}' /
                              'pipeline_summary.json'), run)
    table = aggregate(build_leaderboard([str(runs_root)]))
    assert len(table) == 2
    published = table[table.variant.isna()]
    assert published.seeds.item() == 2 and published.ft_top1.item() == 81.0
    variant = table[table.variant == 'per-patch decoder positions']
    assert variant.seeds.item() == 1 and variant.ft_top1.item() == 70.0
    assert main([str(runs_root), '--out', str(tmp_path / 'out')]) == 0
    md = (tmp_path / 'out' / 'leaderboard.md').read_text()
    assert '| variant ' in md and '| per-patch decoder positions ' in md


def test_published_mae_rows_costs_and_their_units(tmp_path):
    from benchmarks.leaderboard import (COST, METRICS, PUBLISHED, aggregate,
                                        load_published)
    published = load_published(PUBLISHED)
    mae = published[published.method == 'mae']
    mae = mae.set_index(['backbone', 'schedule', mae.variant.fillna('')])
    # ViTDet's Mask R-CNN is the reference of the suite's ViT protocol;
    # the MAE paper's own detector stays a named published variant
    assert mae.loc[('vit-base-p16', '1600e', ''), 'coco_box_ap'] == 51.6
    assert mae.loc[('vit-base-p16', '1600e', 'mae-paper-detector'),
                   'coco_box_ap'] == 50.3
    assert mae.loc[('vit-large-p16', '1600e', ''), 'ade20k_miou'] == 53.6
    # device-hours only where the source gives the device count
    assert mae.loc[('vit-large-p16', '800e', ''),
                   'pretrain_device_hours'] == 15.4 * 128
    assert mae.loc[('vit-large-p16', '800e', 'pytorch-gpu-rerun'),
                   'pretrain_device_hours'] == 42 * 64
    wall = published.dropna(subset=['pretrain_wall_hours'])
    assert set(wall.method) == {'um-mae', 'simmim'}
    assert wall.pretrain_device_hours.isna().all()
    runs = pd.DataFrame([dict(method='mae', backbone='vit-base-p16',
                              schedule='1600e', seed=0, smoke=False,
                              dense_init='pretrain', variant=None,
                              coco_box_ap=50.6, metrics_missing=None,
                              device='cuda', git_commit='0' * 40,
                              date='2026-12-01', reconstruction=None)])
    runs = runs.reindex(columns=[*runs.columns, *(
        c for c in (*COST, *METRICS) if c not in runs)])
    table = aggregate(runs, published)
    row = table[table.source == 'measured'].iloc[0]
    assert row.coco_box_ap_vs_published == pytest.approx(-1.0)
    bad = tmp_path / 'published.csv'
    bad.write_text('method,backbone,schedule,metric,value,source\n'
                   'mae,vit-base-p16,1600e,pretrain_hours,1,x\n')
    with pytest.raises(ValueError, match='unknown metrics.*pretrain_hours'):
        load_published(str(bad))

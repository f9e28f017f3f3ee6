"""The leaderboard from fixture summaries, malformed ones included."""
import pandas as pd

from backbones.fileio import atomic_write_json
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
    assert len(paths) == 4

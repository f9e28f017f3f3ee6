"""The step benchmark measures a real training step (sanity, not speed)."""
from benchmarks.step_bench import main, matmul_peak_flops, measure
from conftest import CONFIGS, SMOKE_PRETRAIN


def test_measure_smoke_step():
    row = measure(SMOKE_PRETRAIN, batch_size=4, img_size=None, steps=2,
                  warmup=1, device='cpu')
    assert row['img_size'] == 32
    assert row['step_time_s'] > 0 and row['images_per_s'] > 0
    assert row['flops_per_step'] > 1e6 and row['peak_memory_mb'] > 0
    assert 0 <= row['step_memory_mb'] <= row['peak_memory_mb']


def test_matmul_peak_is_positive():
    assert matmul_peak_flops('cpu', n=256, seconds=0.1) > 1e6


def test_side_by_side_writes_ratio(tmp_path):
    assert main([SMOKE_PRETRAIN, '--baseline', SMOKE_PRETRAIN,
                 '--batch-size', '2', '--steps', '1', '--warmup', '0',
                 '--out', str(tmp_path), '--name', 'same']) == 0
    text = (tmp_path / 'same.csv').read_text()
    assert 'step_time_s_vs_baseline' in text


def test_backbone_only_with_options_side_by_side(tmp_path):
    import pandas as pd
    det = (f'{CONFIGS}/benchmarks/vit/'
           'mask-rcnn_vit-tiny-p4-sfp_1xb2-6e_tiny-coco-128px.py')
    assert main([det, '--backbone-only', '--baseline-options',
                 'model.backbone.window_size=0', '--batch-size', '1',
                 '--img-size', '64', '--steps', '1', '--warmup', '0',
                 '--out', str(tmp_path), '--name', 'win']) == 0
    table = pd.read_csv(tmp_path / 'win.csv')
    assert table.case.tolist() == ['candidate', 'baseline']
    assert 'window_size' in table.options[1]
    assert (table.flops_per_step > 0).all()

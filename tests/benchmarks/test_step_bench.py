"""The step benchmark measures a real training step (sanity, not speed),
steps candidate and baseline interleaved, and picks the precision and the
optimizer wrapper a device runs a config's AMP in."""
import pandas as pd
import pytest
from mmengine.config import ConfigDict

from benchmarks import step_bench
from benchmarks.step_bench import (config_amp_dtype, interleave, main,
                                   matmul_peak_flops, measure, pair_order,
                                   precision_name, ratio_summary, run_dtype,
                                   step_optim_cfg)
from conftest import CONFIGS, SMOKE_PRETRAIN

MAE_B = f'{CONFIGS}/mae/mae_vit-base-p16_8xb512-amp-coslr-800e_in1k.py'


def test_measure_smoke_step():
    row = measure(SMOKE_PRETRAIN, batch_size=4, img_size=None, steps=2,
                  warmup=1, device='cpu')
    assert row['img_size'] == 32
    assert row['step_time_s'] > 0 and row['images_per_s'] > 0
    assert row['flops_per_step'] > 1e6 and row['peak_memory_mb'] > 0
    assert 0 <= row['step_memory_mb'] <= row['peak_memory_mb']
    assert row['precision'] == 'fp32' and row['timer'] == 'perf_counter'


def test_measure_cpu_amp_runs_the_configs_bf16_autocast():
    row = measure(SMOKE_PRETRAIN, batch_size=2, img_size=None, steps=1,
                  warmup=0, device='cpu', cpu_amp=True,
                  cfg_options={'optim_wrapper.type': 'AmpOptimWrapper',
                               'optim_wrapper.dtype': 'bfloat16'})
    assert row['precision'] == 'bf16 autocast'
    assert row['config_precision'] == 'bf16 autocast'
    assert row['dtype'] == 'bfloat16'


def test_matmul_peak_is_positive():
    assert matmul_peak_flops('cpu', n=256, seconds=0.1) > 1e6
    import torch
    assert matmul_peak_flops('cpu', torch.bfloat16, n=128, seconds=0.05) > 0


def test_config_amp_dtype():
    assert config_amp_dtype(dict(type='AmpOptimWrapper',
                                 dtype='bfloat16')) == 'bfloat16'
    # AmpOptimWrapper's own default is float16
    assert config_amp_dtype(dict(type='AmpOptimWrapper')) == 'float16'
    assert config_amp_dtype(dict(type='OptimWrapper')) is None
    assert config_amp_dtype(None) is None
    with pytest.raises(ValueError, match="'int8' is not one of"):
        config_amp_dtype(dict(type='AmpOptimWrapper', dtype='int8'))


def test_run_dtype_follows_the_config_on_cuda_only():
    assert run_dtype('bfloat16', 'cuda', cpu_amp=False) == 'bfloat16'
    assert run_dtype('float16', 'cuda:1', cpu_amp=False) == 'float16'
    assert run_dtype('bfloat16', 'cpu', cpu_amp=False) == 'float32'
    assert run_dtype('bfloat16', 'cpu', cpu_amp=True) == 'bfloat16'
    assert run_dtype(None, 'cuda', cpu_amp=True) == 'float32'
    assert precision_name('bfloat16') == 'bf16 autocast'
    assert precision_name('float32') == precision_name(None) == 'fp32'


def test_step_optim_cfg_keeps_amp_on_cuda_and_drops_it_on_cpu():
    from benchmarks.errors import read_config
    wrapper = read_config(MAE_B).optim_wrapper
    assert step_optim_cfg(wrapper, 'bfloat16', 'cuda') == wrapper
    cpu = step_optim_cfg(wrapper, 'float32', 'cpu')
    assert cpu.type == 'OptimWrapper' and 'dtype' not in cpu
    assert cpu.optimizer == wrapper.optimizer
    assert cpu.paramwise_cfg == wrapper.paramwise_cfg
    assert wrapper.type == 'AmpOptimWrapper'  # the config is left alone
    plain = ConfigDict(type='OptimWrapper', optimizer=dict(type='SGD'))
    assert step_optim_cfg(plain, 'float32', 'cpu') == plain


def test_ratio_summary():
    summary = ratio_summary([1.0, 2.0, 3.0, 4.0, 10.0])
    assert summary == dict(median=3.0, q25=2.0, q75=4.0, min=1.0, max=10.0,
                           pairs=5)
    assert ratio_summary([0.5])['q25'] == ratio_summary([0.5])['max'] == 0.5
    with pytest.raises(ValueError, match='at least 1 pair'):
        ratio_summary([])


def test_pair_order_flips_every_pair():
    assert pair_order(0, 2) == [0, 1] and pair_order(1, 2) == [1, 0]
    assert pair_order(2, 3) == [0, 1, 2] and pair_order(3, 1) == [0]


class FakeWorker:
    """Answers like a worker; a shared log records the order of calls."""

    def __init__(self, name, times, log):
        self.name, self.times, self.log = name, list(times), log

    def call(self, command, arg=None):
        self.log.append((self.name, command))
        if command == 'timed':
            return self.times.pop(0)
        return 100 if command == 'flops' else None


def test_interleave_alternates_and_pairs_the_ratios():
    log = []
    cand = FakeWorker('c', [1.0, 4.0, 3.0], log)
    base = FakeWorker('b', [2.0, 2.0, 1.0], log)
    run = interleave([cand, base], steps=3, warmup=1)
    assert log == [('c', 'step'), ('b', 'step'), ('c', 'flops'),
                   ('b', 'flops'), ('c', 'timed'), ('b', 'timed'),
                   ('b', 'timed'), ('c', 'timed'), ('c', 'timed'),
                   ('b', 'timed')]
    assert run['ratios'] == [[0.5, 2.0, 3.0], [1.0, 1.0, 1.0]]
    assert run['flops'] == [100, 100]


def test_backbone_only_with_options_interleaved(tmp_path, capsys):
    det = (f'{CONFIGS}/benchmarks/vit/'
           'mask-rcnn_vit-tiny-p4-sfp_1xb2-6e_tiny-coco-128px.py')
    assert main([det, '--backbone-only', '--baseline-options',
                 'model.backbone.window_size=0', '--batch-size', '1',
                 '--img-size', '64', '--steps', '3', '--warmup', '1',
                 '--out', str(tmp_path), '--name', 'win']) == 0
    table = pd.read_csv(tmp_path / 'win.csv')
    assert table.case.tolist() == ['candidate', 'baseline']
    assert 'window_size' in table.options[1]
    assert (table.flops_per_step > 0).all()
    assert (table.pairs == 3).all()
    cand = table.iloc[0]
    assert (cand.step_time_ratio_min <= cand.step_time_ratio_q25 <=
            cand.step_time_s_vs_baseline <= cand.step_time_ratio_q75 <=
            cand.step_time_ratio_max)
    assert table.iloc[1].step_time_s_vs_baseline == 1
    assert (table.matmul_peak_dtype == 'float32').all()
    assert (table.mfu > 0).all() and (table.peak_memory_mb > 0).all()
    text = (tmp_path / 'win.md').read_text()
    assert 'over 3 interleaved pairs, IQR' in text
    assert 'over 3 interleaved pairs, IQR' in capsys.readouterr().out


def test_detector_model_step_on_a_synthetic_detection_batch():
    det = (f'{CONFIGS}/benchmarks/vit/'
           'mask-rcnn_vit-tiny-p4-sfp_1xb2-6e_tiny-coco-128px.py')
    row = measure(det, batch_size=1, img_size=64, steps=1, warmup=0,
                  device='cpu')
    assert row['flops_per_step'] > 0 and row['step_time_s'] > 0


def test_worker_serves_step_commands_of_a_model():
    import multiprocessing as mp
    import threading
    parent, child = mp.Pipe()
    thread = threading.Thread(target=step_bench._serve, args=(
        child, (SMOKE_PRETRAIN, 2, None, 'cpu')))
    thread.start()
    answers = [parent.recv()]  # built
    for command in ('step', 'timed', 'memory'):
        parent.send((command, None))
        answers.append(parent.recv())
    parent.send(('stop', None))
    thread.join()
    assert [status for status, _ in answers] == ['ok'] * 4, answers
    info, step, seconds, memory = (payload for _, payload in answers)
    assert info['precision'] == 'fp32' and step is None and seconds > 0
    assert memory['peak_memory_mb'] >= memory['step_memory_mb'] >= 0


def test_worker_reports_a_failed_build(tmp_path):
    import multiprocessing as mp
    bad = tmp_path / 'bad.py'
    bad.write_text('model = dict(\n')
    parent, child = mp.Pipe()
    step_bench._serve(child, (str(bad), 1, None, 'cpu'))  # in this process
    status, message = parent.recv()
    assert status == 'error'
    assert message.startswith('ConfigFileError: cannot read config')


def test_cuda_device_without_cuda_is_refused(capsys):
    with pytest.raises(SystemExit):
        main([SMOKE_PRETRAIN, '--device', 'cuda'])
    assert 'torch sees no CUDA device' in capsys.readouterr().err


def test_summary_line_names_the_spread_or_the_missing_baseline():
    row = dict(case='candidate', pairs=4, precision='fp32',
               config_precision='bf16 autocast', timer='perf_counter',
               device='cpu', step_time_s_vs_baseline=0.5,
               step_time_ratio_q25=0.4, step_time_ratio_q75=0.6,
               step_time_ratio_min=0.3, step_time_ratio_max=0.7)
    alone = step_bench.summary_line(pd.DataFrame([row]))
    assert alone.startswith('4 timed steps of candidate, no baseline;')
    both = step_bench.summary_line(pd.DataFrame([row, dict(
        row, case='baseline', config_precision='fp32')]))
    assert both.startswith('step time candidate / baseline: median 0.5 over '
                           '4 interleaved pairs, IQR 0.4-0.6, min-max 0.3-0.7')
    assert 'fp32 (config: bf16 autocast) / fp32 (config: fp32)' in both


def test_config_img_size_from_backbone_or_pipeline():
    from benchmarks.errors import read_config
    swin = read_config(f'{CONFIGS}/um-mae/'
                       'um-mae_swin-tiny_8xb512-amp-coslr-200e_in1k-256px.py')
    assert step_bench.config_img_size(swin) == 256  # its RandomResizedCrop
    assert step_bench.config_img_size(read_config(SMOKE_PRETRAIN)) == 32
    assert step_bench.config_img_size(read_config(MAE_B)) == 224

"""mimb-doctor: what it reports for given devices, extensions and records
(set by the test), the op comparisons it runs here on the CPU, and its exit
code."""
import io
import os.path as osp

import pandas as pd
import pytest

from benchmarks import doctor, gpu_env
from benchmarks.doctor import (Check, device_checks, mmcv_checks, op_checks,
                               report, run_steps, version_checks)
from conftest import REPO, SMOKE_PRETRAIN

FATBIN = osp.join(REPO, 'tests', 'data', 'gpu', 'fatbin_sm80_sm90ptx.o')
A100 = dict(name='NVIDIA A100-SXM4-80GB', memory_gb=79.2, capability=(8, 0))
V100 = dict(name='Tesla V100-SXM2-32GB', memory_gb=31.7, capability=(7, 0))
CPU_OPS = dict(cuda_ops=False, sass=[], ptx=[])
SM80 = dict(cuda_ops=True, sass=['8.0'], ptx=[])


def statuses(checks):
    return [check.status for check in checks]


def test_devices_memory_capability_bf16():
    checks = device_checks([A100] * 8, expect_gpus=8)
    assert statuses(checks) == ['ok'] * 8
    assert checks[7].detail == ('cuda:7 NVIDIA A100-SXM4-80GB, 79.2 GB, '
                                'capability 8.0, bf16')
    v100 = device_checks([V100])
    assert statuses(v100) == ['FAIL'] and 'no bf16' in v100[0].detail
    assert statuses(device_checks([V100], configs_bf16=False)) == ['ok']
    assert statuses(device_checks([])) == ['GPU']
    short = device_checks([A100] * 4, expect_gpus=8)
    assert short[0] == Check('gpus', 'FAIL', '4 visible, --expect-gpus 8')


def test_versions_need_nccl_only_where_gpus_are_expected():
    facts = dict(torch='2.14.1+cpu', torch_cuda=None, cudnn=None, nccl=None,
                 packages=dict(mmcv='2.1.0'))
    assert statuses(version_checks(facts)) == ['ok', 'GPU', 'GPU', 'ok']
    failing = version_checks(dict(facts, expect_gpus=8))
    assert statuses(failing) == ['ok', 'FAIL', 'FAIL', 'ok']
    assert 'mmdet missing' in failing[-1].detail


def test_mmcv_ops_against_the_visible_gpus():
    assert statuses(mmcv_checks(CPU_OPS, None, 'not available', []))[0] == \
        'ok'
    cpu_on_gpus = mmcv_checks(CPU_OPS, None, 'not available', [(8, 0)])[0]
    assert cpu_on_gpus.status == 'FAIL' and 'CPU ops only' in \
        cpu_on_gpus.detail
    assert mmcv_checks(SM80, None, '13.0', [(8, 0), (8, 6)])[0].status == \
        'ok'
    h100 = mmcv_checks(SM80, None, '13.0', [(9, 0)])[0]
    assert h100.status == 'FAIL' and 'capability 9.0' in h100.detail
    with open(FATBIN, 'rb') as f:  # sm_80 + sm_90 code, compute_90 PTX
        real = gpu_env.so_variant(f.read())
    both = mmcv_checks(real, None, '13.0', [(9, 0), (10, 0)])[0]
    assert both.status == 'ok'  # 10.0 through the compute_90 PTX
    assert 'sm 8.0 9.0, PTX 9.0' in both.detail


def test_mmcv_variant_against_setup_envs_record():
    marker = dict(key='mmcv-2.1.0_..._cuda13.0-ops_arch8.0', cuda_ops=True,
                  archs=['8.0'])
    assert mmcv_checks(SM80, marker, '13.0', [])[1].status == 'ok'
    wrong = mmcv_checks(CPU_OPS, marker, 'not available', [])[1]
    assert wrong.status == 'FAIL'
    assert 'CPU ops only, CUDA ops were asked for' in wrong.detail
    missing = mmcv_checks(CPU_OPS, None, 'not available', [])[1]
    assert missing.status == 'FAIL' and 'rerun' in missing.detail


def test_mmcv_ops_match_torchvision_on_cpu():
    checks = op_checks('cpu')
    assert [c.name for c in checks] == ['nms on cpu', 'batched_nms on cpu',
                                        'roi_align on cpu']
    assert statuses(checks) == ['ok'] * 3, checks


def test_a_wrong_op_result_is_a_fail(monkeypatch):
    import mmcv.ops

    def keep_all(boxes, scores, iou_threshold):
        import torch
        return None, torch.arange(len(boxes))
    monkeypatch.setattr(mmcv.ops, 'nms', keep_all)
    checks = op_checks('cpu')
    assert statuses(checks) == ['FAIL', 'ok', 'ok']
    assert 'NOT the same' in checks[0].detail


def test_report_counts_and_exit_code():
    out = io.StringIO()
    assert report([Check('a', 'ok', 'x'), Check('b', 'GPU', 'y')], out) == 0
    assert out.getvalue().splitlines() == [
        '[ ok ] a: x', '[GPU ] b: y', '1 ok, 0 FAIL, 1 need a GPU (not run '
        'here)']
    assert report([Check('c', 'FAIL', 'z')], io.StringIO()) == 1


def fake_compare(cases, batch_size, img_size, steps, warmup, device):
    (_, config, _), = cases
    if 'broken' in config:
        raise RuntimeError(f'benchmark of {config} (doctor) failed: boom')
    return pd.DataFrame([dict(
        config=osp.basename(config), images_per_s=12.5, batch_size=batch_size,
        img_size=224, peak_memory_mb=3100.0, mfu=0.41,
        matmul_peak_dtype='bfloat16', matmul_peak_flops=2.9e14,
        precision='bf16 autocast', config_precision='bf16 autocast')])


def test_run_steps_reports_throughput_memory_mfu_or_the_failure():
    checks = run_steps(['a/mae.py', 'b/broken.py'], 'cuda:0', 8, 3,
                       fake_compare)
    assert statuses(checks) == ['ok', 'FAIL']
    assert checks[0].detail == (
        '12.5 img/s at batch 8 x 224 px, peak 3100 MB, MFU 0.41 of the '
        'bfloat16 matmul peak 290 TFLOP/s, bf16 autocast (config: bf16 '
        'autocast)')
    assert 'boom' in checks[1].detail


def test_default_step_configs_exist_with_their_per_gpu_batch():
    for config in doctor.STEP_CONFIGS:
        assert osp.isfile(osp.join(REPO, config)), config
    assert doctor.config_batch_size(osp.join(REPO, doctor.STEP_CONFIGS[0])) \
        == 512  # MAE 8xb512
    seen = []
    run_steps([SMOKE_PRETRAIN], 'cuda:0', None, 3,
              lambda cases, batch, *args: seen.append(batch) or
              fake_compare(cases, batch, *args))
    assert seen == [32]  # the smoke config's 1xb32


def test_main_on_this_cpu_machine(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(gpu_env.sys, 'prefix', str(tmp_path))
    gpu_env.verify('mmcv-2.1.0_x_cpu-ops', 'cpu-ops', False, ())
    import benchmarks.step_bench
    monkeypatch.setattr(benchmarks.step_bench, 'compare', fake_compare)
    assert doctor.main(['--steps', '--configs', SMOKE_PRETRAIN]) == 0
    out = capsys.readouterr().out
    assert '--steps on CPU: 3 fp32 steps' in out
    assert '[ ok ] mmcv variant: matches cache key mmcv-2.1.0_x_cpu-ops' in out
    assert '[GPU ] gpus: no CUDA device visible' in out
    assert out.rstrip().endswith('need a GPU (not run here)')
    assert doctor.main(['--expect-gpus', '1']) == 1
    assert '[FAIL] gpus: 0 visible, --expect-gpus 1' in capsys.readouterr().out


def test_bad_arguments(capsys):
    with pytest.raises(SystemExit):
        doctor.main(['--num-steps', '0'])
    assert '--num-steps 0: expected >= 1' in capsys.readouterr().err

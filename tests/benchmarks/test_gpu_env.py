"""Every decision of the GPU install path, with its inputs set by the test
(device count, capabilities, nvcc versions, environment): no GPU needed,
nothing skipped without one."""
import importlib.util
import os
import os.path as osp
import subprocess
import zipfile

import pytest

from benchmarks import gpu_env
from benchmarks.gpu_env import (GpuEnvError, arch_list, cache_key,
                                cached_wheel, choose_nvcc, covers,
                                nvcc_candidates, parse_arch_list, parse_flag,
                                parse_nvcc_home, parse_nvcc_version, plan,
                                precheck, so_variant, uncovered, unsupported,
                                variant_tag, wants_cuda_ops, wheel_problems)
from conftest import REPO

FATBIN = osp.join(REPO, 'tests', 'data', 'gpu', 'fatbin_sm80_sm90ptx.o')
NVCC13 = dict(path='/opt/cuda-13.0/bin/nvcc', version='13.0',
              home='/opt/cuda-13.0',
              archs=['compute_75', 'compute_80', 'compute_86', 'compute_89',
                     'compute_90', 'compute_100', 'compute_120'])
NVCC12 = dict(NVCC13, path='/usr/local/cuda/bin/nvcc', version='12.4',
              home='/usr/local/cuda-12.4')
TORCH_GPU = dict(version='2.14.1+cu130', cuda='13.0',
                 capabilities=[(8, 0)] * 8)
TORCH_NO_GPU = dict(TORCH_GPU, capabilities=[],
                    header_dirs=['/v/nvidia/cu13/include'])
NVCC_VERSION = '''nvcc: NVIDIA (R) Cuda compiler driver
Cuda compilation tools, release 13.0, V13.0.88
Build cuda_13.0.r13.0/compiler.36424714_0
'''


def cpu_mmcv_so():
    with open(importlib.util.find_spec('mmcv._ext').origin, 'rb') as f:
        return f.read()


def test_flags():
    assert parse_flag('X', None) is None and parse_flag('X', ' ') is None
    assert parse_flag('X', '1') and parse_flag('X', 'Yes')
    assert parse_flag('X', '0') is False
    with pytest.raises(GpuEnvError, match="X='maybe': expected 1 or 0"):
        parse_flag('X', 'maybe')


def test_cuda_ops_when_a_gpu_is_visible_or_asked_for():
    assert not wants_cuda_ops(0, {})  # the default here: CPU ops
    assert not wants_cuda_ops(0, dict(MIMB_CUDA_OPS='0'))
    assert wants_cuda_ops(0, dict(MIMB_CUDA_OPS='1'))
    assert wants_cuda_ops(2, {})
    assert wants_cuda_ops(2, dict(MIMB_CUDA_OPS='1'))
    with pytest.raises(GpuEnvError, match='MIMB_CUDA_OPS=0 but torch sees 2'):
        wants_cuda_ops(2, dict(MIMB_CUDA_OPS='0'))


def test_arch_list_named_then_visible_then_default():
    env = dict(TORCH_CUDA_ARCH_LIST='9.0 8.0;8.0,8.6+PTX')
    assert arch_list([(8, 0)], env) == ('8.0', '8.6+PTX', '9.0')
    assert arch_list([(9, 0), (8, 6), (9, 0)], {}) == ('8.6', '9.0')
    assert arch_list([], {}) == ('8.0', '9.0')
    assert arch_list([], dict(TORCH_CUDA_ARCH_LIST='')) == ('8.0', '9.0')
    assert parse_arch_list('10.0;9.0a') == ('9.0a', '10.0')
    with pytest.raises(GpuEnvError, match="entry 'Ampere': expected"):
        parse_arch_list('8.0;Ampere')
    with pytest.raises(GpuEnvError, match='names no architecture'):
        parse_arch_list(' ; ')


def test_which_code_runs_on_which_gpu():
    assert covers('8.0', (8, 6)) and covers('8.0', (8, 0))
    assert not covers('8.6', (8, 0)) and not covers('8.0', (9, 0))
    assert covers('8.0+PTX', (9, 0)) and not covers('9.0+PTX', (8, 0))
    assert covers('9.0a', (9, 0)) and not covers('9.0a', (9, 1))
    assert uncovered(('8.0', ), [(8, 0), (9, 0), (8, 9)]) == [(9, 0)]
    assert uncovered(('8.0', '9.0'), [(9, 0)]) == []
    assert unsupported(('7.0', '8.0', '9.0a'), NVCC13['archs']) == ['7.0']


def test_nvcc_version_home_and_search_order():
    assert parse_nvcc_version(NVCC_VERSION) == '13.0'
    with pytest.raises(GpuEnvError, match='not an nvcc --version output'):
        parse_nvcc_version('command not found')
    dryrun = '#$ _SPACE_= \n#$ _HERE_=/usr/local/cuda-13.0/bin\n#$ TOP=x\n'
    assert parse_nvcc_home(dryrun) == '/usr/local/cuda-13.0'
    assert parse_nvcc_home('nothing') is None
    assert nvcc_candidates(dict(CUDA_HOME='/opt/cuda'), '/usr/bin/nvcc') == [
        '/opt/cuda/bin/nvcc', '/usr/bin/nvcc', '/usr/local/cuda/bin/nvcc']
    assert nvcc_candidates({}, '/usr/local/cuda/bin/nvcc') == [
        '/usr/local/cuda/bin/nvcc']


def test_choose_nvcc_matches_torchs_major_or_says_what_to_install():
    assert choose_nvcc([NVCC12, NVCC13], '2.14.1+cu130', '13.0') == NVCC13
    assert choose_nvcc([dict(NVCC13, version='13.1')], '2.14.1+cu130',
                       '13.0')['version'] == '13.1'  # minor may differ
    with pytest.raises(GpuEnvError) as err:
        choose_nvcc([NVCC12], '2.14.1+cu130', '13.0')
    message = str(err.value)
    assert '/usr/local/cuda/bin/nvcc (CUDA 12.4)' in message
    assert 'Install the CUDA Toolkit 13.0' in message
    assert 'set CUDA_HOME' in message
    with pytest.raises(GpuEnvError, match='found no nvcc in'):
        choose_nvcc([], '2.14.1+cu130', '13.0')
    with pytest.raises(GpuEnvError, match='CPU-only build'):
        choose_nvcc([NVCC13], '2.14.1+cpu', None)


def test_cache_key_names_the_variant():
    cpu = cache_key('2.1.0', '2.14.1+cu130', 'cp311', variant_tag(False))
    assert cpu == 'mmcv-2.1.0_torch-2.14.1+cu130_cp311_cpu-ops'
    cuda = cache_key('2.1.0', '2.14.1+cu130', 'cp311',
                     variant_tag(True, '13.0', ('8.0', '9.0')))
    assert cuda == ('mmcv-2.1.0_torch-2.14.1+cu130_cp311_'
                    'cuda13.0-ops_arch8.0-9.0')
    assert variant_tag(True, '13.0', ('8.0', '8.6+PTX')) == \
        'cuda13.0-ops_arch8.0-8.6+PTX'
    with pytest.raises(GpuEnvError, match='needs the CUDA version'):
        variant_tag(True, None, ('8.0', ))


def test_plan_cpu_default_and_cuda_variants():
    cpu = plan({}, TORCH_NO_GPU, [], '2.1.0', 'cp311')
    assert not cpu['cuda_ops'] and cpu['tag'] == 'cpu-ops'
    assert cpu['build_env'] == dict(FORCE_CUDA='0')
    # no GPU here, asked for: A100 + H100 code, the matching nvcc's home
    asked = plan(dict(MIMB_CUDA_OPS='1', CPATH='/mine'), TORCH_NO_GPU,
                 [NVCC12, NVCC13], '2.1.0', 'cp311')
    assert asked['archs'] == ['8.0', '9.0']
    assert asked['build_env'] == dict(
        FORCE_CUDA='1', CUDA_HOME='/opt/cuda-13.0',
        TORCH_CUDA_ARCH_LIST='8.0;9.0',
        CPATH='/v/nvidia/cu13/include:/mine')
    assert asked['key'].endswith('_cuda13.0-ops_arch8.0-9.0')
    # 8 A100s visible: their architecture only, without being asked
    node = plan({}, TORCH_GPU, [NVCC13], '2.1.0', 'cp311')
    assert node['archs'] == ['8.0'] and node['cuda_ops']
    assert node['key'] != cpu['key'] != asked['key']


def test_plan_refusals():
    with pytest.raises(GpuEnvError, match='capability 9.0: add them'):
        plan(dict(TORCH_CUDA_ARCH_LIST='8.0'),
             dict(TORCH_GPU, capabilities=[(9, 0)]), [NVCC13], '2.1.0',
             'cp311')
    with pytest.raises(GpuEnvError, match='cannot compile 6.0'):
        plan(dict(TORCH_CUDA_ARCH_LIST='6.0;8.0', MIMB_CUDA_OPS='1'),
             TORCH_NO_GPU, [NVCC13], '2.1.0', 'cp311')
    with pytest.raises(GpuEnvError, match='nvcc of CUDA 13.x'):
        plan({}, TORCH_GPU, [NVCC12], '2.1.0', 'cp311')


def test_header_path_puts_torchs_cuda_headers_first():
    assert gpu_env.header_path(['/a/include', '/b/include'], None) == \
        '/a/include:/b/include'
    assert gpu_env.header_path([], '/x::/y') == '/x:/y'


def test_probe_finds_the_cuda_headers_of_torchs_wheel():
    # the torch here is the cu130 wheel: its nvidia-* packages ship them
    dirs = gpu_env.probe_torch()['header_dirs']
    assert any(osp.isfile(osp.join(d, 'cusparse.h')) for d in dirs), dirs


def test_precheck_before_anything_is_installed():
    assert precheck({}, 0, []) is None  # CPU ops: no nvcc needed
    assert 'nvcc found at /x/nvcc' in precheck(dict(MIMB_CUDA_OPS='1'), 0,
                                               ['/x/nvcc'])
    with pytest.raises(GpuEnvError, match='nvidia-smi lists 8 GPU.*Install'):
        precheck({}, 8, [])
    with pytest.raises(GpuEnvError, match='MIMB_CUDA_OPS=1: .* needs nvcc'):
        precheck(dict(MIMB_CUDA_OPS='1'), 0, [])


def test_so_variant_reads_the_fatbin_of_a_real_nvcc_object():
    with open(FATBIN, 'rb') as f:
        found = so_variant(f.read())
    # what cuobjdump --list-elf --list-ptx prints for it (tests/data/gpu)
    assert found == dict(cuda_ops=True, sass=['8.0', '9.0'], ptx=['9.0'])
    assert wheel_problems(found, True, ('8.0', '9.0+PTX')) == []
    assert wheel_problems(found, True, ('8.0', '8.6', '8.0+PTX')) == [
        'no sm_86 machine code for 8.6', 'no compute_80 PTX for 8.0+PTX']
    assert wheel_problems(found, False) == [
        'it has CUDA ops, the CPU-ops variant was asked for']
    with pytest.raises(GpuEnvError, match='not a 64-bit'):
        so_variant(b'#!/bin/sh\n')


def test_the_installed_cpu_mmcv_has_no_cuda_ops():
    found = so_variant(cpu_mmcv_so())
    assert found == dict(cuda_ops=False, sass=[], ptx=[])
    assert wheel_problems(found, False) == []
    assert wheel_problems(found, True, ('8.0', )) == [
        'it has CPU ops only, CUDA ops were asked for']


def fake_wheel(folder, so_bytes):
    os.makedirs(folder, exist_ok=True)
    path = osp.join(folder, 'mmcv-2.1.0-cp311-cp311-linux_x86_64.whl')
    with zipfile.ZipFile(path, 'w') as zf:
        zf.writestr('mmcv/_ext.cpython-311-x86_64-linux-gnu.so', so_bytes)
        zf.writestr('mmcv/__init__.py', '')
    return path


def test_a_cpu_wheel_is_never_used_for_cuda_ops(tmp_path, capsys):
    cache = str(tmp_path)
    cuda_key = cache_key('2.1.0', 't', 'cp311',
                         variant_tag(True, '13.0', ('8.0', )))
    # a CPU-only wheel put (by hand, or an old script) under the CUDA key
    fake_wheel(osp.join(cache, cuda_key), cpu_mmcv_so())
    assert cached_wheel(cache, cuda_key, None, True, ('8.0', )) is None
    assert 'CPU ops only, CUDA ops were asked for' in capsys.readouterr().err
    with open(FATBIN, 'rb') as f:
        good = fake_wheel(osp.join(cache, cuda_key + 'x'), f.read())
    assert cached_wheel(cache, cuda_key + 'x', None, True,
                        ('8.0', )) == good
    assert cached_wheel(cache, cuda_key + 'x', None, True, ('8.6', )) is None


def test_legacy_cpu_wheel_is_checked_then_cached_under_its_variant(tmp_path):
    cache = str(tmp_path)
    legacy = gpu_env.legacy_key('2.1.0', 't', 'cp311')
    key = cache_key('2.1.0', 't', 'cp311', 'cpu-ops')
    fake_wheel(osp.join(cache, legacy), cpu_mmcv_so())
    found = cached_wheel(cache, key, legacy, False, ())
    assert found == osp.join(cache, key, osp.basename(found))
    assert osp.isfile(found)
    with open(FATBIN, 'rb') as f:  # an old key holding a CUDA build
        fake_wheel(osp.join(cache, 'old'), f.read())
    assert cached_wheel(cache, 'new', 'old', False, ()) is None
    assert not osp.exists(osp.join(cache, 'new'))


def test_plan_output_is_shell_that_setup_env_evaluates():
    text = gpu_env._shell(mmcv_key='k', mmcv_note="it's 8.0;9.0",
                          build_env=['FORCE_CUDA=1', 'CUDA_HOME=/a b/cuda',
                                     'TORCH_CUDA_ARCH_LIST=8.0;9.0'])
    out = subprocess.run(
        ['bash', '-c', 'eval "$1"; printf "%s|" "$mmcv_note" '
         '"${build_env[@]}"', '_', text],
        capture_output=True, text=True, check=True).stdout
    assert out == ("it's 8.0;9.0|FORCE_CUDA=1|CUDA_HOME=/a b/cuda|"
                   'TORCH_CUDA_ARCH_LIST=8.0;9.0|')


def test_setup_env_stops_before_installing_anything(tmp_path):
    venv = tmp_path / 'venv'
    env = dict(os.environ, MIMB_VENV=str(venv), MIMB_CUDA_OPS='maybe')
    done = subprocess.run(['bash', osp.join(REPO, 'tools', 'setup_env.sh')],
                          env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2, done.stderr
    assert "MIMB_CUDA_OPS='maybe': expected 1 or 0" in done.stderr
    assert not venv.exists()


def test_verify_records_the_installed_cpu_variant(tmp_path, monkeypatch):
    monkeypatch.setattr(gpu_env.sys, 'prefix', str(tmp_path))
    record = gpu_env.verify('key_cpu-ops', 'cpu-ops', False, ())
    assert record['compiling_cuda_version'] == 'not available'
    assert record['tag'] == 'cpu-ops' and not record['cuda_ops']
    assert osp.isfile(tmp_path / gpu_env.MARKER)
    with pytest.raises(GpuEnvError, match='CPU ops only, CUDA ops were'):
        gpu_env.verify('key_cuda', 'cuda13.0-ops_arch8.0', True, ('8.0', ))

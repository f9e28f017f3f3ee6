"""Check a machine before a long run: versions, devices, mmcv's ops.

``mimb-doctor`` prints torch, CUDA, cuDNN, NCCL, mmcv (and the OpenMMLab
packages') versions; the visible GPUs with their memory, compute capability
and bf16 support; which architectures mmcv's extension carries code for
(read from its ``.nv_fatbin`` section, :mod:`benchmarks.gpu_env`) and
whether they cover the visible GPUs; whether the installed extension is the
variant ``tools/setup_env.sh`` recorded for it (cache key); and it runs
mmcv's ``nms``, ``batched_nms`` and ``roi_align`` on every available device
(CPU and each GPU) against torchvision's.

``--steps`` also runs a few training steps of each method's real
pretraining config and one real detection config on the first device, with
the configs' AMP (on CUDA; fp32 on CPU), at each config's own per-GPU batch
on CUDA (does the real run fit?) and batch 2 on CPU, through
:func:`benchmarks.step_bench.compare`, and prints images/s, peak memory and
MFU against the device's matmul peak measured in the step's dtype. On a CPU
these are real-size models: minutes per config (``--batch-size``,
``--configs`` choose less).

Every check ends in ``ok`` or ``FAIL`` with the reason (``GPU`` marks the
checks that need a GPU and were not run); the exit code is 1 on any FAIL.

Usage: ``mimb-doctor [--steps] [--expect-gpus 8]``.
"""
import argparse
import importlib
import importlib.util
import json
import os.path as osp
import sys
from typing import Callable, List, NamedTuple, Optional, Sequence

from benchmarks import gpu_env
from benchmarks.errors import cli_main

# per method the real pretraining config --steps runs, and the detector
STEP_CONFIGS = (
    'configs/mae/mae_vit-base-p16_8xb512-amp-coslr-800e_in1k.py',
    'configs/emae/emae_vit-base-p16_8xb512-amp-coslr-300e_in1k.py',
    'configs/convmae/convmae_convvit-base-p16_8xb384-amp-coslr-1600e_in1k.py',
    'configs/um-mae/um-mae_swin-tiny_8xb512-amp-coslr-200e_in1k-256px.py',
    'configs/simmim/simmim_swin-tiny_8xb512-amp-coslr-200e_in1k-256px.py',
    'configs/benchmarks/vit/mask-rcnn_vit-base-p16-sfp_8xb8-amp-lsj-100e_coco'
    '.py')
PACKAGES = ('mmcv', 'mmengine', 'mmpretrain', 'mmdet', 'mmseg',
            'torchvision')


class Check(NamedTuple):
    """One line of the report: ``status`` is ``ok``, ``FAIL`` or ``GPU``
    (needs a GPU, not run)."""
    name: str
    status: str
    detail: str


def ok(name: str, detail: str) -> Check:
    return Check(name, 'ok', detail)


def fail(name: str, detail: str) -> Check:
    return Check(name, 'FAIL', detail)


def needs_gpu(name: str, detail: str) -> Check:
    return Check(name, 'GPU', detail)


def bf16_supported(capability: Sequence[int]) -> bool:
    """bf16 tensor cores: compute capability 8.0 (Ampere) and later."""
    return tuple(capability) >= (8, 0)


def version_checks(facts: dict) -> List[Check]:
    """torch / CUDA / cuDNN / NCCL / package versions (informational; a
    CPU-only torch is a FAIL only where GPUs are expected)."""
    cuda = facts.get('torch_cuda')
    checks = [ok('torch', f"{facts['torch']} (CUDA build: {cuda or 'none'})")]
    for name in ('cudnn', 'nccl'):
        value = facts.get(name)
        if value:
            checks.append(ok(name, value))
        else:
            checks.append((fail if facts.get('expect_gpus') else needs_gpu)(
                name, f'{name} not available in this torch build'))
    checks.append(ok('packages', ', '.join(
        f'{pkg} {facts["packages"].get(pkg) or "missing"}'
        for pkg in PACKAGES)))
    return checks


def device_checks(devices: Sequence[dict], expect_gpus: int = 0,
                  configs_bf16: bool = True) -> List[Check]:
    """The visible GPUs: name, memory, capability and bf16 support.

    Args:
        devices (Sequence[dict]): Each GPU as ``dict(name, memory_gb,
            capability)``.
        expect_gpus (int): FAIL when fewer are visible. Defaults to 0.
        configs_bf16 (bool): The configs use bf16 AMP, so a GPU without
            bf16 is a FAIL. Defaults to True.
    """
    checks = []
    if len(devices) < expect_gpus:
        checks.append(fail('gpus', f'{len(devices)} visible, '
                           f'--expect-gpus {expect_gpus}'))
    if not devices:
        checks.append(needs_gpu('gpus', 'no CUDA device visible: the GPU '
                                'checks (CUDA ops, bf16, CUDA steps) are not '
                                'run'))
        return checks
    for i, dev in enumerate(devices):
        cap = '.'.join(map(str, dev['capability']))
        detail = (f"cuda:{i} {dev['name']}, {dev['memory_gb']:.1f} GB, "
                  f'capability {cap}')
        if bf16_supported(dev['capability']):
            checks.append(ok(f'gpu {i}', detail + ', bf16'))
        elif configs_bf16:
            checks.append(fail(f'gpu {i}', detail + ': no bf16, which the '
                               'configs\' AMP uses (optim_wrapper.dtype='
                               'float16 runs fp16 instead)'))
        else:
            checks.append(ok(f'gpu {i}', detail + ', no bf16'))
    return checks


def mmcv_checks(found: dict, marker: Optional[dict], compiling_cuda: str,
                capabilities: Sequence[Sequence[int]]) -> List[Check]:
    """What mmcv's extension carries against the GPUs and the recorded
    variant.

    Args:
        found (dict): :func:`benchmarks.gpu_env.so_variant` of the
            installed extension.
        marker (dict, optional): What ``tools/setup_env.sh`` recorded
            (:func:`benchmarks.gpu_env.verify`), None if nothing.
        compiling_cuda (str): ``mmcv.ops.get_compiling_cuda_version()``.
        capabilities (Sequence): The visible GPUs' capabilities.
    """
    caps = [tuple(c) for c in capabilities]
    if found['cuda_ops']:
        archs = found['sass'] + [f'{a}+PTX' for a in found['ptx']]
        built = (f"CUDA ops (CUDA {compiling_cuda}) for sm "
                 f"{' '.join(found['sass']) or '-'}, PTX "
                 f"{' '.join(found['ptx']) or '-'}")
        missing = gpu_env.uncovered(archs, caps)
        if missing:
            check = fail('mmcv ops', built + ': no code for the visible '
                         'capability ' + ', '.join(f'{M}.{m}'
                                                   for M, m in missing))
        else:
            check = ok('mmcv ops', built)
    elif caps:
        check = fail('mmcv ops', 'CPU ops only, and GPUs are visible: Mask '
                     "R-CNN's RoIAlign/NMS fail there; rerun "
                     'tools/setup_env.sh (it builds CUDA ops with a GPU '
                     'visible)')
    else:
        check = ok('mmcv ops', 'CPU ops only (no GPU visible; '
                   'MIMB_CUDA_OPS=1 bash tools/setup_env.sh builds CUDA ops)')
    checks = [check]
    if marker is None:
        checks.append(fail('mmcv variant', 'the installed mmcv was not '
                           'recorded by tools/setup_env.sh (no '
                           f'{gpu_env.marker_path()}): rerun it'))
        return checks
    problems = gpu_env.wheel_problems(found, marker['cuda_ops'],
                                      marker.get('archs') or ())
    if problems:
        checks.append(fail('mmcv variant', f"cache key {marker['key']}, but "
                           f"{'; '.join(problems)}"))
    else:
        checks.append(ok('mmcv variant', f"matches cache key {marker['key']}"))
    return checks


def random_boxes(n: int, size: float, generator):
    """``n`` overlapping (x1, y1, x2, y2) boxes inside ``size``."""
    import torch
    xy = torch.rand(n, 2, generator=generator) * size * 0.6
    wh = torch.rand(n, 2, generator=generator) * size * 0.4 + 1
    return torch.cat([xy, xy + wh], 1)


def op_checks(device: str) -> List[Check]:
    """mmcv's nms, batched_nms and roi_align on ``device`` against
    torchvision's (same kept indices; RoIAlign within 1e-4)."""
    import torch
    import torchvision
    gen = torch.Generator().manual_seed(0)
    boxes, scores, labels, feats, rois = (t.to(device) for t in (
        random_boxes(300, 64, gen), torch.rand(300, generator=gen),
        torch.randint(0, 5, (300, ), generator=gen),
        torch.rand(2, 8, 32, 32, generator=gen),
        torch.cat([torch.randint(0, 2, (40, 1), generator=gen).float(),
                   random_boxes(40, 128, gen)], 1)))

    def nms():
        from mmcv.ops import nms
        _, keep = nms(boxes, scores, 0.5)
        return keep, torchvision.ops.nms(boxes, scores, 0.5)

    def batched_nms():
        from mmcv.ops import batched_nms
        _, keep = batched_nms(boxes, scores, labels,
                              dict(type='nms', iou_threshold=0.5))
        return keep, torchvision.ops.batched_nms(boxes, scores, labels, 0.5)

    def roi_align():
        from mmcv.ops import roi_align
        return (roi_align(feats, rois, (7, 7), 0.25, 2, 'avg', True),
                torchvision.ops.roi_align(feats, rois, (7, 7), 0.25, 2,
                                          True))

    checks = []
    for name, run in (('nms', nms), ('batched_nms', batched_nms),
                      ('roi_align', roi_align)):
        label = f'{name} on {device}'
        try:
            ours, theirs = run()
        except Exception as err:  # "not compiled with GPU support", ...
            checks.append(fail(label, f'{type(err).__name__}: {err}'))
            continue
        if ours.dtype.is_floating_point:
            diff = (ours - theirs).abs().max().item()
            good = diff <= 1e-4
            detail = f'max |mmcv - torchvision| {diff:.2g}'
        else:
            good = torch.equal(ours.cpu(), theirs.cpu())
            detail = (f'{len(ours)} kept, '
                      f"{'same' if good else 'NOT the same'} as torchvision "
                      f'({len(theirs)} kept)')
        checks.append((ok if good else fail)(label, detail))
    return checks


def step_checks(table) -> List[Check]:
    """One check per measured config of a :func:`step_bench.compare`
    table: images/s, peak memory, MFU, precision."""
    checks = []
    for row in table.itertuples():
        checks.append(ok(f'steps {row.config}', (
            f'{row.images_per_s:.3g} img/s at batch {row.batch_size} x '
            f'{row.img_size} px, peak {row.peak_memory_mb:.0f} MB, MFU '
            f'{row.mfu:.2f} of the {row.matmul_peak_dtype} matmul peak '
            f'{row.matmul_peak_flops / 1e12:.3g} TFLOP/s, {row.precision} '
            f'(config: {row.config_precision})')))
    return checks


def config_batch_size(config: str) -> int:
    """The per-GPU batch a config trains with (``train_dataloader``)."""
    from benchmarks.errors import read_config
    return int(read_config(config).train_dataloader.batch_size)


def run_steps(configs: Sequence[str], device: str,
              batch_size: Optional[int], steps: int,
              compare: Callable) -> List[Check]:
    """A few steps of each config on ``device`` (each in its own
    process), at ``batch_size`` or else the config's own per-GPU batch
    (whether the real run fits the device); a config that fails is a
    FAIL with its error (an out-of-memory one included)."""
    checks = []
    for config in configs:
        name = f'steps {osp.basename(config)}'
        try:
            batch = batch_size or config_batch_size(config)
            table = compare([('doctor', config, None)], batch, None, steps, 1,
                            device)
        except (RuntimeError, ValueError) as err:
            checks.append(fail(name, str(err)))
            continue
        checks += step_checks(table)
    return checks


def gather_facts(expect_gpus: int = 0) -> dict:
    """The machine's side: versions, GPUs, mmcv's extension and marker."""
    import torch
    facts = dict(torch=torch.__version__, torch_cuda=torch.version.cuda,
                 expect_gpus=expect_gpus, packages={})
    cudnn = torch.backends.cudnn.version() if \
        torch.backends.cudnn.is_available() else None
    facts['cudnn'] = (f'{cudnn // 10000}.{cudnn // 100 % 100}.{cudnn % 100}'
                      if cudnn else None)
    try:
        facts['nccl'] = '.'.join(map(str, torch.cuda.nccl.version()))
    except (AttributeError, RuntimeError):
        facts['nccl'] = None
    for pkg in PACKAGES:
        try:
            facts['packages'][pkg] = importlib.import_module(pkg).__version__
        except ImportError:
            facts['packages'][pkg] = None
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    facts['devices'] = []
    for i in range(count):
        props = torch.cuda.get_device_properties(i)
        facts['devices'].append(dict(
            name=props.name, memory_gb=props.total_memory / 2**30,
            capability=(props.major, props.minor)))
    return facts


def mmcv_facts() -> dict:
    """The installed extension (:func:`gpu_env.so_variant`), the compiling
    CUDA version mmcv reports and setup_env.sh's record."""
    from mmcv.ops import get_compiling_cuda_version
    so = importlib.util.find_spec('mmcv._ext').origin
    with open(so, 'rb') as f:
        found = gpu_env.so_variant(f.read())
    marker = None
    if osp.isfile(gpu_env.marker_path()):
        with open(gpu_env.marker_path()) as f:
            marker = json.load(f)
    return dict(found=found, marker=marker,
                compiling_cuda=get_compiling_cuda_version())


def report(checks: Sequence[Check], out=None) -> int:
    """Print the checks (on ``out``, default stdout) and a count; 1 if any
    failed, else 0."""
    out = out or sys.stdout
    for check in checks:
        print(f'[{check.status:^4}] {check.name}: {check.detail}', file=out)
    counts = {s: sum(c.status == s for c in checks)
              for s in ('ok', 'FAIL', 'GPU')}
    print(f"{counts['ok']} ok, {counts['FAIL']} FAIL, {counts['GPU']} need a "
          'GPU (not run here)', file=out)
    return 1 if counts['FAIL'] else 0


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='mimb-doctor', description=__doc__.split('\n\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('--steps', action='store_true',
                        help='also run training steps of each method\'s '
                        'real pretraining config and a real detector')
    parser.add_argument('--configs', nargs='+', default=None,
                        help='the configs of --steps (default: one real '
                        'pretraining config per method + Mask R-CNN ViT-B)')
    parser.add_argument('--batch-size', type=int, default=None,
                        help="--steps batch (default: each config's own "
                        'per-GPU batch on CUDA, 2 on CPU)')
    parser.add_argument('--num-steps', type=int, default=3,
                        help='timed steps per config')
    parser.add_argument('--expect-gpus', type=int, default=0,
                        help='FAIL when fewer GPUs are visible')
    args = parser.parse_args(argv)
    for name in ('batch_size', 'num_steps', 'expect_gpus'):
        value = getattr(args, name)
        if value is not None and value < (0 if name == 'expect_gpus' else 1):
            parser.error(f'--{name.replace("_", "-")} {value}: expected >= '
                         f'{0 if name == "expect_gpus" else 1}')
    return args


def repo_path(path: str) -> str:
    """A config path relative to the repository root (as in
    :data:`STEP_CONFIGS`), unless it exists as given."""
    if osp.exists(path):
        return path
    return osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), path)


@cli_main('mimb-doctor')
def main(argv=None) -> int:
    args = parse_args(argv)
    configs = [repo_path(c) for c in (args.configs or STEP_CONFIGS)]
    for config in configs if args.steps else ():
        if not osp.isfile(config):  # before anything long starts
            raise FileNotFoundError(f'config {config} does not exist')
    facts = gather_facts(args.expect_gpus)
    caps = [d['capability'] for d in facts['devices']]
    checks = version_checks(facts) + device_checks(facts['devices'],
                                                   args.expect_gpus)
    try:
        mmcv = mmcv_facts()
    except ImportError as err:
        checks.append(fail('mmcv ops', f'mmcv.ops does not import: {err}'))
    else:
        checks += mmcv_checks(mmcv['found'], mmcv['marker'],
                              mmcv['compiling_cuda'], caps)
        checks += op_checks('cpu')
        for i in range(len(caps)):
            checks += op_checks(f'cuda:{i}')
        if not caps:
            checks.append(needs_gpu('ops on cuda', 'nms, batched_nms, '
                                    'roi_align on each GPU: none visible'))
    if args.steps:
        device = 'cuda:0' if caps else 'cpu'
        batch = args.batch_size or (None if caps else 2)
        if not caps:
            print(f'mimb-doctor: --steps on CPU: {args.num_steps} fp32 steps '
                  f'(+1 warm-up, +1 FLOP count) of {len(configs)} real-size '
                  f'config(s) at batch {batch}, each in its own process; '
                  'expect minutes per config. On CUDA they run with the '
                  "configs' bf16 AMP.", flush=True)
        else:
            print(f'mimb-doctor: --steps on cuda:0: {args.num_steps} steps '
                  f'(+1 warm-up, +1 FLOP count) of {len(configs)} config(s) '
                  f'at batch {batch or "of each config (per GPU)"}, with '
                  "the configs' AMP", flush=True)
        from benchmarks.step_bench import compare
        checks += run_steps(configs, device, batch, args.num_steps, compare)
    elif not caps:
        checks.append(needs_gpu('steps', 'training steps with the configs\' '
                                'AMP on a GPU: run mimb-doctor --steps there '
                                '(on CPU it runs them in fp32)'))
    return report(checks)


if __name__ == '__main__':
    sys.exit(main())

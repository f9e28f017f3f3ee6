"""Which mmcv to build and install: CPU ops only, or CUDA ops for which GPUs.

``tools/setup_env.sh`` runs this file as a script (the standard library at
import, torch only in :func:`probe_torch`; the suite need not be installed)
and ``mimb-doctor`` reports with it. Each decision is a pure function of its
inputs (device count, capabilities, nvcc version, environment), so tests set
them: :func:`wants_cuda_ops` (a visible GPU or ``MIMB_CUDA_OPS=1``),
:func:`arch_list` (``TORCH_CUDA_ARCH_LIST``, else the visible GPUs, else
8.0;9.0), :func:`choose_nvcc` (the nvcc of torch's CUDA major version, or
what to install), :func:`cache_key` (naming the variant, ``cpu-ops`` or
``cuda13.0-ops_arch8.0-9.0``) and :func:`wheel_problems` (a wheel's
extension, read by :func:`so_variant` from its ``.nv_fatbin`` section,
against the variant, before it is used).

Commands (``python benchmarks/gpu_env.py -h``): ``precheck`` (before torch
is installed), ``plan`` (shell assignments for setup_env.sh), ``check-wheel``
and ``verify`` (the installed mmcv; writes the record ``mimb-doctor`` reads).
"""
import argparse
import json
import os
import os.path as osp
import re
import shlex
import shutil
import struct
import subprocess
import sys
import zipfile
from typing import Dict, List, Optional, Sequence, Tuple

DEFAULT_ARCHS = ('8.0', '9.0')  # A100, H100: when no GPU is visible
NVCC_DIRS = ('/usr/local/cuda/bin', )  # after $CUDA_HOME/bin and PATH
ARCH = re.compile(r'^(\d+)\.(\d+)([af]?)(\+PTX)?$')
MARKER = osp.join('share', 'mim-transfer-bench', 'mmcv_variant.json')
FATBIN_MAGIC = struct.pack('<I', 0xBA55ED50)
FATBIN_KINDS = {1: 'ptx', 2: 'elf'}
TRUE, FALSE = ('1', 'true', 'yes', 'on'), ('0', 'false', 'no', 'off')


class GpuEnvError(ValueError):
    """A setting or a machine state the install cannot go on with."""


Capability = Tuple[int, int]


def parse_flag(name: str, value: Optional[str]) -> Optional[bool]:
    """An on/off environment variable: None when unset or empty."""
    if value is None or value.strip() == '':
        return None
    if value.strip().lower() in TRUE:
        return True
    if value.strip().lower() in FALSE:
        return False
    raise GpuEnvError(f'{name}={value!r}: expected 1 or 0 (or unset)')


def wants_cuda_ops(device_count: int, env: Dict[str, str]) -> bool:
    """Whether mmcv is built with its CUDA ops.

    Args:
        device_count (int): GPUs torch sees (``torch.cuda.device_count()``).
        env (dict): The environment (``MIMB_CUDA_OPS``).

    Returns:
        bool: True with a visible GPU or ``MIMB_CUDA_OPS=1``.

    Raises:
        GpuEnvError: ``MIMB_CUDA_OPS=0`` while a GPU is visible (detection's
            RoIAlign and NMS would fail on it), or a value that is no flag.
    """
    flag = parse_flag('MIMB_CUDA_OPS', env.get('MIMB_CUDA_OPS'))
    if device_count > 0:
        if flag is False:
            raise GpuEnvError(
                f'MIMB_CUDA_OPS=0 but torch sees {device_count} GPU(s): an '
                'mmcv with CPU ops only fails Mask R-CNN\'s RoIAlign and NMS '
                'there; unset it, or hide the GPUs (CUDA_VISIBLE_DEVICES=) '
                'to build CPU ops on purpose')
        return True
    return bool(flag)


def parse_arch(entry: str) -> Tuple[int, int, str, bool]:
    """``'8.6+PTX'`` -> (8, 6, '', True); ``'9.0a'`` -> (9, 0, 'a', False)."""
    match = ARCH.match(entry.strip())
    if not match:
        raise GpuEnvError(
            f'TORCH_CUDA_ARCH_LIST entry {entry!r}: expected a compute '
            "capability like '8.0', '9.0a' or '8.6+PTX'")
    major, minor, suffix, ptx = match.groups()
    return int(major), int(minor), suffix, bool(ptx)


def parse_arch_list(text: str) -> Tuple[str, ...]:
    """The entries of a ``TORCH_CUDA_ARCH_LIST`` value (``;``, ``,`` or
    space separated), checked, without repeats, in numeric order."""
    entries = [e for e in re.split(r'[;,\s]+', text.strip()) if e]
    if not entries:
        raise GpuEnvError(f'TORCH_CUDA_ARCH_LIST={text!r} names no '
                          'architecture')
    return tuple(sorted(dict.fromkeys(entries), key=parse_arch))


def arch_list(capabilities: Sequence[Capability],
              env: Dict[str, str]) -> Tuple[str, ...]:
    """The architectures to compile mmcv's CUDA ops for.

    Args:
        capabilities (Sequence[tuple]): (major, minor) of each visible GPU.
        env (dict): The environment (``TORCH_CUDA_ARCH_LIST``).

    Returns:
        tuple[str]: ``TORCH_CUDA_ARCH_LIST``'s entries when set, else the
        visible GPUs' capabilities, else :data:`DEFAULT_ARCHS`.
    """
    named = env.get('TORCH_CUDA_ARCH_LIST', '')
    if named.strip():
        return parse_arch_list(named)
    if capabilities:
        return parse_arch_list(';'.join(f'{M}.{m}' for M, m in capabilities))
    return DEFAULT_ARCHS


def covers(entry: str, capability: Capability) -> bool:
    """Whether code compiled for ``entry`` runs on a GPU of ``capability``:
    machine code (SASS) on the same major version and an equal or higher
    minor one (``a``/``f`` variants on exactly their own capability), PTX
    (``+PTX``) on any capability at least its own, JIT-compiled."""
    major, minor, suffix, ptx = parse_arch(entry)
    if ptx and capability >= (major, minor):
        return True
    if suffix:
        return capability == (major, minor)
    return capability[0] == major and capability[1] >= minor


def uncovered(archs: Sequence[str],
              capabilities: Sequence[Capability]) -> List[Capability]:
    """The capabilities no entry of ``archs`` runs on."""
    return [cap for cap in dict.fromkeys(capabilities)
            if not any(covers(entry, cap) for entry in archs)]


def unsupported(archs: Sequence[str],
                nvcc_archs: Sequence[str]) -> List[str]:
    """The entries of ``archs`` that an nvcc whose ``--list-gpu-arch``
    printed ``nvcc_archs`` (``compute_80``, ...) cannot compile."""
    known = {a.strip() for a in nvcc_archs}
    return [entry for entry in archs
            if 'compute_{}{}{}'.format(*parse_arch(entry)[:3]) not in known
            and 'compute_{}{}'.format(*parse_arch(entry)[:2]) not in known]


def parse_nvcc_version(text: str) -> str:
    """``'13.0'`` from ``nvcc --version``'s ``release 13.0, V13.0.88``."""
    match = re.search(r'release (\d+)\.(\d+)', text)
    if not match:
        raise GpuEnvError(f'not an nvcc --version output: {text[-200:]!r}')
    return f'{match.group(1)}.{match.group(2)}'


def parse_nvcc_home(text: str) -> Optional[str]:
    """The toolkit folder from ``nvcc --dryrun``'s ``_HERE_=.../bin`` line
    (an nvcc on PATH may be a wrapper script outside the toolkit)."""
    match = re.search(r'^#\$ _HERE_=(.+)$', text, re.M)
    return osp.dirname(match.group(1).strip()) if match else None


def nvcc_candidates(env: Dict[str, str],
                    on_path: Optional[str]) -> List[str]:
    """Where to look for nvcc, in order: ``$CUDA_HOME/bin/nvcc``, the one
    on ``PATH`` (``on_path``), ``/usr/local/cuda/bin/nvcc``."""
    found = []
    if env.get('CUDA_HOME'):
        found.append(osp.join(env['CUDA_HOME'], 'bin', 'nvcc'))
    if on_path:
        found.append(on_path)
    found += [osp.join(d, 'nvcc') for d in NVCC_DIRS]
    return list(dict.fromkeys(found))


def choose_nvcc(found: Sequence[dict], torch_version: str,
                torch_cuda: Optional[str]) -> dict:
    """The nvcc to compile with.

    Args:
        found (Sequence[dict]): Each candidate that exists, in search
            order, as ``dict(path=..., version='13.0', home=...)``.
        torch_version (str): ``torch.__version__``.
        torch_cuda (str, optional): ``torch.version.cuda`` (None: a CPU
            build of torch).

    Returns:
        dict: The first candidate whose CUDA major version is torch's.

    Raises:
        GpuEnvError: torch has no CUDA, or no candidate matches; the
            message says what was found and what to install.
    """
    if not torch_cuda:
        raise GpuEnvError(
            f'CUDA ops were asked for but torch {torch_version} is a CPU-only '
            'build: install a CUDA build of torch (requirements/'
            'constraints.txt pins one)')
    major = torch_cuda.split('.')[0]
    for nvcc in found:
        if nvcc['version'].split('.')[0] == major:
            return nvcc
    seen = ', '.join(f"{n['path']} (CUDA {n['version']})" for n in found)
    raise GpuEnvError(
        f'CUDA ops need nvcc of CUDA {major}.x to match torch '
        f'{torch_version} (CUDA {torch_cuda}); found '
        f'{seen or "no nvcc"} in $CUDA_HOME/bin, PATH and '
        f'{", ".join(NVCC_DIRS)}. Install the CUDA Toolkit {torch_cuda} '
        f'(its compiler, nvcc; e.g. `pip install "nvidia-cuda-nvcc=='
        f'{torch_cuda}.*"` or NVIDIA\'s toolkit installer) and set CUDA_HOME '
        'to the folder holding bin/nvcc')


def variant_tag(cuda_ops: bool, cuda_version: Optional[str] = None,
                archs: Sequence[str] = ()) -> str:
    """``cpu-ops``, or ``cuda13.0-ops_arch8.0-9.0`` (``+PTX`` kept)."""
    if not cuda_ops:
        return 'cpu-ops'
    if not cuda_version or not archs:
        raise GpuEnvError('a CUDA-ops variant needs the CUDA version and '
                          f'the arch list, got {cuda_version!r}, {archs!r}')
    return f'cuda{cuda_version}-ops_arch{"-".join(archs)}'


def cache_key(mmcv_version: str, torch_version: str, py_tag: str,
              tag: str) -> str:
    """The wheel cache folder's name: mmcv, the torch build it was compiled
    against, the Python tag and the variant."""
    return f'mmcv-{mmcv_version}_torch-{torch_version}_{py_tag}_{tag}'


def legacy_key(mmcv_version: str, torch_version: str, py_tag: str) -> str:
    """The folder name used before the variant was part of the key (it
    holds a wheel of unknown variant: checked before any reuse)."""
    return f'mmcv-{mmcv_version}_torch-{torch_version}_{py_tag}'


def elf_sections(data: bytes) -> Dict[str, Tuple[int, int]]:
    """Section name -> (offset, size) of a 64-bit little-endian ELF file."""
    if data[:4] != b'\x7fELF' or data[4] != 2 or data[5] != 1:
        raise GpuEnvError('not a 64-bit little-endian ELF file')
    shoff, = struct.unpack_from('<Q', data, 0x28)
    entsize, count, names = struct.unpack_from('<HHH', data, 0x3A)
    headers = [struct.unpack_from('<IIQQQQ', data, shoff + i * entsize)
               for i in range(count)]
    base = headers[names][4]

    def name(offset):
        start = base + offset
        return data[start:data.index(b'\0', start)].decode()
    return {name(h[0]): (h[4], h[5]) for h in headers}


def fatbin_archs(blob: bytes) -> List[Tuple[str, int]]:
    """(kind, sm) of every entry of the fat binaries in a ``.nv_fatbin``
    section: kind ``elf`` (machine code) or ``ptx``, sm e.g. 80."""
    entries, pos = [], blob.find(FATBIN_MAGIC)
    while pos >= 0 and pos + 16 <= len(blob):
        _, _, header, size = struct.unpack_from('<IHHQ', blob, pos)
        at, end = pos + header, pos + header + size
        while at + 32 <= min(end, len(blob)):
            kind, _, entry_header = struct.unpack_from('<HHI', blob, at)
            padded, = struct.unpack_from('<Q', blob, at + 8)
            sm, = struct.unpack_from('<I', blob, at + 28)
            entries.append((FATBIN_KINDS.get(kind, str(kind)), sm))
            if entry_header + padded == 0:
                break
            at += entry_header + padded
        pos = blob.find(FATBIN_MAGIC, max(end, pos + 4))
    return entries


def so_variant(data: bytes) -> dict:
    """What an extension carries: ``cuda_ops`` (a ``.nv_fatbin`` section),
    ``sass`` (``8.0`` ... with machine code) and ``ptx`` architectures."""
    sections = elf_sections(data)
    if '.nv_fatbin' not in sections:
        return dict(cuda_ops=False, sass=[], ptx=[])
    offset, size = sections['.nv_fatbin']
    entries = set(fatbin_archs(data[offset:offset + size]))

    def archs(kind):
        return sorted({f'{sm // 10}.{sm % 10}' for k, sm in entries
                       if k == kind}, key=parse_arch)
    return dict(cuda_ops=True, sass=archs('elf'), ptx=archs('ptx'))


def wheel_so(wheel: str) -> bytes:
    """The bytes of the ``mmcv/_ext*.so`` inside a wheel."""
    with zipfile.ZipFile(wheel) as zf:
        names = [n for n in zf.namelist()
                 if re.match(r'mmcv/_ext[^/]*\.so$', n)]
        if not names:
            raise GpuEnvError(f'{wheel} has no compiled mmcv/_ext*.so')
        return zf.read(names[0])


def wheel_problems(found: dict, cuda_ops: bool,
                   archs: Sequence[str] = ()) -> List[str]:
    """Why an extension (:func:`so_variant`) is not the wanted variant:
    CUDA ops missing or present against the wish, or an architecture of
    ``archs`` without its code. Empty when it fits."""
    if not cuda_ops:
        return ['it has CUDA ops, the CPU-ops variant was asked for'] if \
            found['cuda_ops'] else []
    if not found['cuda_ops']:
        return ['it has CPU ops only, CUDA ops were asked for']
    problems = []
    for entry in archs:
        major, minor, _, ptx = parse_arch(entry)
        arch = f'{major}.{minor}'
        if arch not in found['sass']:
            problems.append(f'no sm_{major}{minor} machine code for {entry}')
        if ptx and arch not in found['ptx']:
            problems.append(f'no compute_{major}{minor} PTX for {entry}')
    return problems


# -- probes (the machine's side of the decisions) -------------------------

def probe_nvcc(path: str) -> Optional[dict]:
    """``dict(path, version, home, archs)`` of an nvcc, None if absent."""
    if not (osp.isfile(path) and os.access(path, os.X_OK)):
        return None

    def run(*args):
        done = subprocess.run([path, *args], capture_output=True,
                              text=True, timeout=60)
        return done.stdout + done.stderr
    version = parse_nvcc_version(run('--version'))
    home = parse_nvcc_home(run('--dryrun', '-c', '-x', 'cu', os.devnull,
                               '-o', os.devnull))
    archs = run('--list-gpu-arch').split()
    return dict(path=path, version=version,
                home=home or osp.dirname(osp.dirname(path)), archs=archs)


def find_nvccs(env: Dict[str, str]) -> List[dict]:
    """Every nvcc of :func:`nvcc_candidates` that exists, probed."""
    found = (probe_nvcc(p) for p in nvcc_candidates(
        env, shutil.which('nvcc', path=env.get('PATH'))))
    return [nvcc for nvcc in found if nvcc]


def probe_torch() -> dict:
    """torch's version, CUDA build, the visible GPUs' capabilities and the
    header folders of the CUDA packages its wheel depends on."""
    import glob

    import torch
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    site = osp.dirname(osp.dirname(torch.__file__))
    return dict(version=torch.__version__, cuda=torch.version.cuda,
                capabilities=[torch.cuda.get_device_capability(i)
                              for i in range(count)],
                header_dirs=sorted(glob.glob(osp.join(site, 'nvidia', '*',
                                                      'include'))))


def header_path(header_dirs: Sequence[str], cpath: Optional[str]) -> str:
    """``CPATH`` for the build: torch's CUDA headers (``ATen/cuda`` includes
    cusparse.h, cublas_v2.h, which the pip wheels ``nvidia-*`` hold and a
    toolkit with nvcc alone lacks) before the caller's own ``CPATH``."""
    return ':'.join(list(header_dirs) + [p for p in (cpath or '').split(':')
                                         if p])


def plan(env: Dict[str, str], torch_info: dict, nvccs: Sequence[dict],
         mmcv_version: str, py_tag: str) -> dict:
    """The whole install decision: variant, cache key, build environment.

    Args:
        env (dict): The environment.
        torch_info (dict): :func:`probe_torch`'s answer.
        nvccs (Sequence[dict]): :func:`find_nvccs`'s answer (only read
            when CUDA ops are wanted).
        mmcv_version (str): The mmcv to build.
        py_tag (str): e.g. ``cp311``.

    Returns:
        dict: ``cuda_ops``, ``archs``, ``tag``, ``key``, ``build_env`` (the
        variables the build runs with) and a one-line ``note``.
    """
    caps = [tuple(c) for c in torch_info['capabilities']]
    if not wants_cuda_ops(len(caps), env):
        tag = variant_tag(False)
        return dict(cuda_ops=False, archs=[], tag=tag, note='CPU ops only',
                    key=cache_key(mmcv_version, torch_info['version'],
                                  py_tag, tag),
                    build_env=dict(FORCE_CUDA='0'))
    archs = arch_list(caps, env)
    missing = uncovered(archs, caps)
    if missing:
        raise GpuEnvError(
            f'TORCH_CUDA_ARCH_LIST={";".join(archs)} has no code for the '
            f'visible GPU(s) of capability '
            f'{", ".join(f"{M}.{m}" for M, m in missing)}: add them')
    nvcc = choose_nvcc(nvccs, torch_info['version'], torch_info['cuda'])
    bad = unsupported(archs, nvcc['archs'])
    if bad:
        raise GpuEnvError(
            f'nvcc {nvcc["version"]} ({nvcc["path"]}) cannot compile '
            f'{";".join(bad)} of TORCH_CUDA_ARCH_LIST={";".join(archs)}; it '
            f'knows {" ".join(nvcc["archs"])}')
    tag = variant_tag(True, nvcc['version'], archs)
    return dict(cuda_ops=True, archs=list(archs), tag=tag,
                key=cache_key(mmcv_version, torch_info['version'], py_tag,
                              tag),
                note=f'CUDA ops for {";".join(archs)} with nvcc '
                f'{nvcc["version"]} ({nvcc["path"]})',
                build_env=dict(FORCE_CUDA='1', CUDA_HOME=nvcc['home'],
                               TORCH_CUDA_ARCH_LIST=';'.join(archs),
                               CPATH=header_path(
                                   torch_info.get('header_dirs') or (),
                                   env.get('CPATH'))))


def precheck(env: Dict[str, str], smi_gpus: int,
             nvcc_paths: Sequence[str]) -> Optional[str]:
    """The check before anything is installed (torch not yet there): with
    ``MIMB_CUDA_OPS=1`` or a GPU that ``nvidia-smi -L`` lists, some nvcc
    must exist; its version is checked against torch's later by
    :func:`plan`. Returns a note, raises :class:`GpuEnvError` otherwise."""
    flag = parse_flag('MIMB_CUDA_OPS', env.get('MIMB_CUDA_OPS'))
    if not flag and smi_gpus == 0:
        return None
    why = 'MIMB_CUDA_OPS=1' if flag else f'nvidia-smi lists {smi_gpus} GPU(s)'
    if not nvcc_paths:
        raise GpuEnvError(
            f'{why}: mmcv will be built with CUDA ops, which needs nvcc, and '
            'there is none in $CUDA_HOME/bin, PATH or '
            f'{", ".join(NVCC_DIRS)}. Install the CUDA Toolkit whose major '
            "version is torch's (torch 2.14.1+cu130: CUDA 13.x) and set "
            'CUDA_HOME to it')
    return f'{why}: nvcc found at {nvcc_paths[0]}'


def cached_wheel(cache: str, key: str, legacy: Optional[str],
                 cuda_ops: bool, archs: Sequence[str]) -> Optional[str]:
    """A cached wheel that is the wanted variant, or None (build one).

    The wheel under ``cache/key`` is used if its extension checks out; a
    wheel under the ``legacy`` folder (keys without the variant) is
    checked and, if it is the wanted variant, copied under ``key``. Wheels
    that do not check out are reported on stderr and left alone.
    """
    for folder in filter(None, (key, legacy)):
        wheels = sorted(f for f in os.listdir(osp.join(cache, folder))
                        if f.endswith('.whl')) if osp.isdir(
                            osp.join(cache, folder)) else []
        for name in wheels:
            path = osp.join(cache, folder, name)
            try:
                problems = wheel_problems(so_variant(wheel_so(path)),
                                          cuda_ops, archs)
            except (GpuEnvError, OSError, zipfile.BadZipFile) as err:
                problems = [str(err)]
            if problems:
                print(f'gpu_env: not using cached {path}: '
                      f'{"; ".join(problems)}', file=sys.stderr)
                continue
            if folder == key:
                return path
            os.makedirs(osp.join(cache, key), exist_ok=True)
            target = osp.join(cache, key, name)
            shutil.copy2(path, target)
            print(f'gpu_env: {path} checked ({variant_tag(cuda_ops)}), '
                  f'now cached as {target}', file=sys.stderr)
            return target
    return None


def marker_path(prefix: Optional[str] = None) -> str:
    """Where setup_env.sh records the installed mmcv's variant (under the
    environment's ``sys.prefix`` by default)."""
    return osp.join(prefix or sys.prefix, MARKER)


def _shell(**values) -> str:
    lines = []
    for name, value in values.items():
        if isinstance(value, (list, tuple)):
            lines.append(f'{name}=({" ".join(map(shlex.quote, value))})')
        else:
            lines.append(f'{name}={shlex.quote(str(value))}')
    return '\n'.join(lines)


def _archs(text: str) -> Tuple[str, ...]:
    return parse_arch_list(text) if text.strip() else ()


def main(argv=None) -> int:
    """The script's commands (see the module docstring)."""
    parser = argparse.ArgumentParser(
        prog='gpu_env.py', description=__doc__.split('\n\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)
    sub.add_parser('precheck', help='before installing: nvcc there if '
                   'CUDA ops will be built')
    p = sub.add_parser('plan', help='shell assignments of the install plan')
    p.add_argument('--mmcv', required=True)
    p.add_argument('--cache', required=True)
    for name in ('check-wheel', 'verify'):
        p = sub.add_parser(name)
        p.add_argument('--cuda-ops', type=int, choices=(0, 1), required=True)
        p.add_argument('--archs', default='')
        if name == 'check-wheel':
            p.add_argument('wheel')
        else:
            p.add_argument('--key', required=True)
            p.add_argument('--tag', required=True)
    args = parser.parse_args(argv)
    env = dict(os.environ)
    try:
        if args.command == 'precheck':
            smi = shutil.which('nvidia-smi')
            gpus = 0
            if smi:
                listed = subprocess.run([smi, '-L'], capture_output=True,
                                        text=True, timeout=60).stdout
                gpus = sum(line.startswith('GPU ') for line in
                           listed.splitlines())
            paths = [p for p in nvcc_candidates(env, shutil.which('nvcc'))
                     if osp.isfile(p)]
            note = precheck(env, gpus, paths)
            if note:
                print(note)
        elif args.command == 'plan':
            info = probe_torch()
            py_tag = f'cp{sys.version_info[0]}{sys.version_info[1]}'
            nvccs = find_nvccs(env) if wants_cuda_ops(
                len(info['capabilities']), env) else []
            decided = plan(env, info, nvccs, args.mmcv, py_tag)
            wheel = cached_wheel(
                args.cache, decided['key'],
                None if decided['cuda_ops'] else legacy_key(
                    args.mmcv, info['version'], py_tag),
                decided['cuda_ops'], decided['archs'])
            print(_shell(
                mmcv_key=decided['key'], mmcv_tag=decided['tag'],
                mmcv_cuda_ops=int(decided['cuda_ops']),
                mmcv_archs=';'.join(decided['archs']),
                mmcv_note=decided['note'], mmcv_wheel=wheel or '',
                build_env=[f'{k}={v}' for k, v in
                           decided['build_env'].items()]))
        elif args.command == 'check-wheel':
            problems = wheel_problems(so_variant(wheel_so(args.wheel)),
                                      bool(args.cuda_ops),
                                      _archs(args.archs))
            if problems:
                raise GpuEnvError(f'{args.wheel}: {"; ".join(problems)}')
        else:
            verify(args.key, args.tag, bool(args.cuda_ops),
                   _archs(args.archs))
    except GpuEnvError as err:
        print(f'gpu_env: error: {err}', file=sys.stderr)
        return 2
    return 0


def verify(key: str, tag: str, cuda_ops: bool,
           archs: Sequence[str]) -> dict:
    """Check the installed mmcv against the variant and record it.

    Args:
        key (str): The cache key the wheel came from.
        tag (str): Its variant (:func:`variant_tag`).
        cuda_ops (bool): Whether CUDA ops were wanted.
        archs (Sequence[str]): For which architectures.

    Raises:
        GpuEnvError: ``mmcv.ops`` does not import, or the extension is not
            the variant (:func:`wheel_problems`).

    Returns:
        dict: What was written to :func:`marker_path`.
    """
    import importlib.util
    try:
        from mmcv.ops import get_compiling_cuda_version
    except ImportError as err:
        raise GpuEnvError(f'mmcv.ops does not import: {err}') from err
    so = importlib.util.find_spec('mmcv._ext').origin
    with open(so, 'rb') as f:
        found = so_variant(f.read())
    problems = wheel_problems(found, cuda_ops, archs)
    compiled = get_compiling_cuda_version()
    if cuda_ops and compiled == 'not available':
        problems.append('mmcv.ops reports no compiling CUDA version')
    if problems:
        raise GpuEnvError(f'installed mmcv ({so}): {"; ".join(problems)}')
    record = dict(key=key, tag=tag, cuda_ops=cuda_ops, archs=list(archs),
                  so=so, sass=found['sass'], ptx=found['ptx'],
                  compiling_cuda_version=compiled)
    path = marker_path()
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(record, f, indent=1)
    return record


if __name__ == '__main__':
    sys.exit(main())

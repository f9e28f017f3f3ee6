#!/usr/bin/env bash
# Creates the suite's Python environment (default: .venv/ at the repository
# root; override with MIMB_VENV=/path) and installs the pinned stack of
# requirements/constraints.txt. mmcv 2.1.0 is compiled from its PyPI source
# (C++20 for torch >= 2.10): with CPU ops only on a machine without GPU (the
# default), with CUDA ops when torch sees a GPU or MIMB_CUDA_OPS=1, for the
# architectures of TORCH_CUDA_ARCH_LIST, else of the visible GPUs, else 8.0;9.0
# (nvcc of torch's CUDA major version needed: $CUDA_HOME/bin, PATH or
# /usr/local/cuda/bin; checked before anything is installed). The wheel is
# cached under ${XDG_CACHE_HOME:-~/.cache}/mim-transfer-bench/wheels, keyed on
# the torch build, Python tag and variant (cpu-ops, or cudaX.Y-ops_archA-B),
# and checked before reuse; benchmarks/gpu_env.py makes these decisions.
#
# Usage: [MIMB_CUDA_OPS=1] [TORCH_CUDA_ARCH_LIST='8.0;9.0'] [MAX_JOBS=2] \
#   bash tools/setup_env.sh [--help]
set -euo pipefail

if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${MIMB_VENV:-$repo/.venv}
constraints=$repo/requirements/constraints.txt
python_bin=${MIMB_PYTHON:-python3.11}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/mim-transfer-bench/wheels
log() { printf '[setup_env %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

if ! command -v "$python_bin" >/dev/null; then
  echo "setup_env: $python_bin not found; set MIMB_PYTHON to a Python 3.11 interpreter" >&2
  exit 2
fi
gpu_env=$repo/benchmarks/gpu_env.py
# nvcc must be there before any long step when CUDA ops will be built
"$python_bin" "$gpu_env" precheck || exit 2
if [[ ! -x "$venv/bin/python" ]]; then
  log "creating $venv"
  "$python_bin" -m venv "$venv"
fi
py=$venv/bin/python
pipc() { "$py" -m pip install --disable-pip-version-check -q -c "$constraints" "$@"; }

log "pip, setuptools, wheel, ninja"
pipc --upgrade pip 'setuptools' wheel ninja
log "torch + torchvision"
pipc torch torchvision

plan=$("$py" "$gpu_env" plan --mmcv 2.1.0 --cache "$cache") || exit 2
eval "$plan"  # mmcv_key, mmcv_tag, mmcv_cuda_ops, mmcv_archs, mmcv_note, mmcv_wheel, build_env
py_tag=$("$py" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
key_dir=$cache/$mmcv_key
wheel=$mmcv_wheel
if [[ -z "$wheel" ]]; then
  if [[ "$mmcv_cuda_ops" == 1 ]]; then
    took="136 units, about 35 min on 2 quiet cores for one architecture, more per extra one"
  else
    took="about 13 min on 2 cores"
  fi
  log "building mmcv 2.1.0 with $mmcv_note against torch $("$py" -c 'import torch; print(torch.__version__)') ($took)"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  "$py" -m pip download --disable-pip-version-check -q --no-deps --no-binary :all: --no-build-isolation \
    -d "$work" mmcv==2.1.0
  tar -xzf "$work"/mmcv-2.1.0.tar.gz -C "$work"
  src=$work/mmcv-2.1.0
  # torch >= 2.10 headers need C++20; mmcv's setup.py hard-codes C++17 (g++ and nvcc).
  sed -i 's/-std=c++17/-std=c++20/g' "$src/setup.py"
  grep -q -- '-std=c++20' "$src/setup.py" || { echo "setup_env: mmcv setup.py has no -std flag to patch" >&2; exit 1; }
  (cd "$src" && env "${build_env[@]}" MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-2} \
    "$py" -m pip wheel --disable-pip-version-check -q --no-deps --no-build-isolation \
    -w "$work/dist" .)
  built=$(ls "$work"/dist/mmcv-2.1.0-*.whl)
  case "$built" in
    *-${py_tag}-${py_tag}-linux_*.whl) ;;
    *) echo "setup_env: mmcv built as $built, without compiled ops" >&2; exit 1 ;;
  esac
  # The extension carries ~80 MB of debug info; strip it (not the CUDA
  # code: .nv_fatbin is no debug section) before caching.
  "$py" -m wheel unpack -d "$work/unpacked" "$built" >/dev/null
  find "$work/unpacked" -name '*.so' -exec strip --strip-debug {} +
  mkdir -p "$work/packed"  # wheel 0.48 pack does not create it
  "$py" -m wheel pack -d "$work/packed" "$work"/unpacked/mmcv-2.1.0 >/dev/null
  packed=$(ls "$work"/packed/mmcv-2.1.0-*.whl)
  "$py" "$gpu_env" check-wheel --cuda-ops "$mmcv_cuda_ops" --archs "$mmcv_archs" "$packed" || exit 1
  mkdir -p "$key_dir"
  mv "$packed" "$key_dir/"
  wheel=$key_dir/$(basename "$packed")
  log "cached $wheel"
else
  log "using cached $wheel ($mmcv_note)"
fi
# the same mmcv version of another variant may be installed: replace it
pipc --force-reinstall --no-deps "$wheel"
pipc "$wheel"
"$py" "$gpu_env" verify --key "$mmcv_key" --tag "$mmcv_tag" --cuda-ops "$mmcv_cuda_ops" \
  --archs "$mmcv_archs" || exit 1

log "OpenMMLab stack, timm, pandas, openmim, pycocotools and the suite (editable)"
pipc -e "$repo[test]"
"$py" -c 'import mmcv.ops, mmdet, mmseg, mmpretrain, backbones; print("import check ok")'
log "done: $venv"

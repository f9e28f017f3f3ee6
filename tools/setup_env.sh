#!/usr/bin/env bash
# Creates the suite's Python environment (default: .venv/ at the repository
# root; override with MIMB_VENV=/path) and installs the pinned stack of
# requirements/constraints.txt. mmcv 2.1.0 is compiled from its PyPI source with
# its CPU ops (C++20 for torch >= 2.10); the wheel is cached under
# ${XDG_CACHE_HOME:-~/.cache}/mim-transfer-bench/wheels, keyed on the torch build
# and Python tag, so a second install on the same machine does not recompile.
#
# Usage: bash tools/setup_env.sh [--help]
set -euo pipefail

if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
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

torch_tag=$("$py" -c 'import torch; print(torch.__version__)')
py_tag=$("$py" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
key_dir=$cache/mmcv-2.1.0_torch-${torch_tag}_${py_tag}
wheel=$(ls "$key_dir"/mmcv-2.1.0-*.whl 2>/dev/null | head -n 1 || true)
if [[ -z "$wheel" ]]; then
  log "building mmcv 2.1.0 with CPU ops against torch $torch_tag (about 13 min on 2 cores)"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  "$py" -m pip download --disable-pip-version-check -q --no-deps --no-binary :all: --no-build-isolation \
    -d "$work" mmcv==2.1.0
  tar -xzf "$work"/mmcv-2.1.0.tar.gz -C "$work"
  src=$work/mmcv-2.1.0
  # torch >= 2.10 headers need C++20; mmcv's setup.py hard-codes C++17.
  sed -i 's/-std=c++17/-std=c++20/g' "$src/setup.py"
  grep -q -- '-std=c++20' "$src/setup.py" || { echo "setup_env: mmcv setup.py has no -std flag to patch" >&2; exit 1; }
  (cd "$src" && MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS=${MAX_JOBS:-2} \
    "$py" -m pip wheel --disable-pip-version-check -q --no-deps --no-build-isolation \
    -w "$work/dist" .)
  built=$(ls "$work"/dist/mmcv-2.1.0-*.whl)
  case "$built" in
    *-${py_tag}-${py_tag}-linux_*.whl) ;;
    *) echo "setup_env: mmcv built as $built, without compiled ops" >&2; exit 1 ;;
  esac
  # The extension carries ~80 MB of debug info; strip it before caching.
  "$py" -m wheel unpack -d "$work/unpacked" "$built" >/dev/null
  find "$work/unpacked" -name '*.so' -exec strip --strip-debug {} +
  mkdir -p "$key_dir"
  "$py" -m wheel pack -d "$key_dir" "$work"/unpacked/mmcv-2.1.0 >/dev/null
  wheel=$(ls "$key_dir"/mmcv-2.1.0-*.whl | head -n 1)
  log "cached $wheel"
else
  log "using cached $wheel"
fi
pipc "$wheel"

log "OpenMMLab stack, timm, pandas, openmim, pycocotools and the suite (editable)"
pipc -e "$repo[test]"
"$py" -c 'import mmcv.ops, mmdet, mmseg, mmpretrain, backbones; print("import check ok")'
log "done: $venv"

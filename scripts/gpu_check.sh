#!/usr/bin/env bash
# The whole GPU check of fovea in one command (docs/gpu.md): on a machine with one NVIDIA
# GPU, from the repository root:
#
#     OUT=/some/dir bash scripts/gpu_check.sh          # results in $OUT/results.md|json
#
# 1. Python packages: uses what is installed; pip-installs only what is missing (CuPy
#    through the `cuda` extra, matching the driver's CUDA major version; PyTorch; pytest).
#    Offline, carry wheels and set PIP_FIND_LINKS=DIR (pip then installs from there).
# 2. Runs scripts/gpu_check.py: the GPU tests, the op suite against PyTorch on the GPU,
#    training-step timings against PyTorch eager with memory, `fovea train --device cuda`,
#    Fashion-MNIST to >= 0.94 under a time cap. Each phase has its own time limit; the
#    whole check is sized for about 8 minutes (--budget 450 s of phases plus start-up).
#
# PYTHON=... picks the interpreter (default python3: use the one that has, or should get,
# the packages; NO_INSTALL=1 never runs pip).
# Options are passed on to gpu_check.py (e.g. --device cpu --quick to check the script on
# a machine without a GPU, --data-dir DIR for the Fashion-MNIST files, --skip op_suite).
set -u
cd "$(dirname "$0")/.."
OUT="${OUT:-gpu_check_out}"
mkdir -p "$OUT"
PY="${PYTHON:-python3}"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

have() { "$PY" -c "import $1" >/dev/null 2>&1; }

need=()
if ! have cupy; then
  # CuPy publishes one wheel per CUDA major version: pick the driver's.
  major=$(nvidia-smi 2>/dev/null | sed -n 's/.*CUDA Version: \([0-9]*\).*/\1/p' | head -1)
  case "${major:-12}" in
    11) need+=("cupy-cuda11x>=13.0") ;;
    12) need+=("cupy-cuda12x>=13.0") ;;   # what `pip install -e ".[cuda]"` installs
    *)  need+=("cupy-cuda${major}x>=13.0") ;;
  esac
fi
have torch || need+=(torch)
for m in pytest hypothesis numba llvmlite safetensors sklearn matplotlib tqdm PIL; do
  have "$m" || need+=("$( [ "$m" = sklearn ] && echo scikit-learn || { [ "$m" = PIL ] && echo pillow || echo "$m"; } )")
done
if [ ${#need[@]} -gt 0 ] && [ "${NO_INSTALL:-0}" = 1 ]; then
  echo "missing (not installed: NO_INSTALL=1): ${need[*]}" | tee "$OUT/install.log"
elif [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}" | tee "$OUT/install.log"
  "$PY" -m pip install -q "${need[@]}" >>"$OUT/install.log" 2>&1 \
    || echo "pip install failed (see $OUT/install.log); continuing with what is there"
fi
have pytest_timeout && export PYTEST_ADDOPTS="${PYTEST_ADDOPTS:-} --timeout=120"
"$PY" scripts/gpu_check.py --out "$OUT" "$@"
rc=$?
echo "results: $OUT/results.md (exit $rc)"
exit $rc

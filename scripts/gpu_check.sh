#!/usr/bin/env bash
# The prepared GPU check (issue 5): the test suite with a GPU present (CUDA device tests run,
# `auto` resolves to CUDA), RDE training on the GPU, and the RDE benchmark on CUDA and on
# the host's CPU.
# Meant for a lent GPU machine, under 5 minutes; writes its logs to ${OUT:-gpu-check}/.
#   bash scripts/gpu_check.sh
# Python: $PYTHON, else .venv/bin/python, else python3. Where algospace is not installed
# (an offline GPU host) it runs from src/, after installing any wheels carried in .whl/.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-gpu-check}"
mkdir -p "$out"
py="${PYTHON:-}"
if [[ -z "$py" ]]; then
    if [[ -x .venv/bin/python ]]; then py=.venv/bin/python; else py=python3; fi
fi
if ! "$py" -c "import algospace" 2>/dev/null; then
    if compgen -G ".whl/*.whl" >/dev/null; then
        "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
        export PYTHONPATH="/tmp/site:${PYTHONPATH:-}"
    fi
    export PYTHONPATH="$PWD/src:${PYTHONPATH:-}"
fi
stamp() { echo "== $(date -u +%H:%M:%S) $*"; }

stamp "device" | tee "$out/device.txt"
"$py" - <<'PY' 2>&1 | tee -a "$out/device.txt"
import torch, algospace
print("algospace", algospace.__version__, "torch", torch.__version__, "cuda available:", torch.cuda.is_available())
if torch.cuda.is_available():
    print("device:", torch.cuda.get_device_name(0), "capability", torch.cuda.get_device_capability(0))
PY

stamp "test suite (GPU present)" | tee "$out/tests.txt"
"$py" -m pytest -q -rs -p no:cacheprovider ${TESTS:-tests} 2>&1 | tee -a "$out/tests.txt"

stamp "train rde, default preset, on cuda" | tee "$out/train.txt"
"$py" -m algospace train rde --data spy-1m --preset default --device cuda --max-minutes 3 --quiet \
    --out "${TMPDIR:-/tmp}/gpu-check-rde" 2>&1 | tee -a "$out/train.txt"

stamp "bench_rde --device cuda" | tee "$out/bench.txt"
"$py" benchmarks/bench_rde.py --reps 300 --device cuda 2>&1 | tee -a "$out/bench.txt"
stamp "bench_rde on this host's CPU (every backend)" | tee -a "$out/bench.txt"
"$py" benchmarks/bench_rde.py --reps 300 --calls 2000 2>&1 | grep -v Warning | tee -a "$out/bench.txt"
stamp "done" | tee -a "$out/bench.txt"

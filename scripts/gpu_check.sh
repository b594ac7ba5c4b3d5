#!/usr/bin/env bash
# The prepared GPU check (issue 5): device-handling tests and the RDE benchmark on CUDA.
# Meant for a lent GPU machine, under 5 minutes; writes its logs to ${OUT:-gpu-check}/.
#   bash scripts/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-gpu-check}"
mkdir -p "$out"
make setup >/dev/null
.venv/bin/python - <<'PY' | tee "$out/device.txt"
import torch
print("torch", torch.__version__, "cuda available:", torch.cuda.is_available())
if torch.cuda.is_available():
    print("device:", torch.cuda.get_device_name(0))
PY
.venv/bin/python -m pytest -q -rs tests/test_rde_devices.py tests/test_artifacts.py -k "cuda or device" 2>&1 | tee "$out/tests.txt"
.venv/bin/python benchmarks/bench_rde.py --calls 2000 --reps 200 --device cuda 2>&1 | tee "$out/bench.txt"

#!/usr/bin/env bash
# The GPU check of a lent device (docs/speed.md): each paper's paper-profile architecture,
# float32 against bf16 autocast, steps per second and peak memory; under 8 minutes on one GPU.
# Run from the repository root on the device machine, with the project's environment:
#   bash benchmarks/gpu_check.sh            # prints the table; also saves it under $OUT if set
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=python3
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
out=${OUT:-.}
timeout 450 "$PYTHON" benchmarks/gpu_check.py --device cuda --steps 20 --repeats 3 | tee "$out/gpu_check.md"

#!/usr/bin/env bash
# CIFAR nets on one GPU: bf16 training images/s and MFU for WRN-28-10 and the fast net on
# random CIFAR-shaped data, then an end-to-end `multiview cifar` run (sized for < 5 min on
# one H200). On a CPU, pass --tiny (or set CIFAR_GPU_TINY=1) to check the script itself.
#   experiments/cifar_gpu.sh [--tiny] [--out DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
extra=()
[ "${CIFAR_GPU_TINY:-0}" = "1" ] && extra+=(--tiny)
exec timeout "${CIFAR_GPU_TIMEOUT:-300}" "${PYTHON:-python}" experiments/cifar_gpu_bench.py \
  ${extra[@]+"${extra[@]}"} "$@"

#!/usr/bin/env bash
# The synthetic model on one GPU, sized for < 5 minutes on one H200 (docs/performance.md):
#   1. the `paper` preset check: multiview check --preset paper --seeds 10
#   2. the bench (roofline, step rates, vmap vs loop, reference, k scaling) plus the sweep
#      throughput: trained models per second for L = 100 and 1000 members of `small` under vmap
# Results: OUT/paper/check.json, OUT/bench/bench.json, OUT/bench/bench.txt, OUT/log.txt.
#
#   experiments/gpu_bench.sh [--smoke] [OUT]      (OUT defaults to runs/gpu_bench)
#
# --smoke (or GPU_BENCH_SMOKE=1) shrinks every part so the script checks itself on a CPU in a
# few minutes: paper preset with few steps and 2 seeds, the quick bench, throughput L = 2.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
PY=${PYTHON:-python}
smoke=${GPU_BENCH_SMOKE:-0}
if [ "${1:-}" = "--smoke" ]; then smoke=1; shift; fi
out=${1:-runs/gpu_bench}
mkdir -p "$out"
exec > >(tee "$out/log.txt") 2>&1

"$PY" -c "import jax; print('devices:', jax.devices())"
if [ "$smoke" = "1" ]; then
  check_args=(--seeds 2 --methods single,ensemble --set train.steps=40 --set train.chunk=20
              --set data.N_test=500)
  bench_args=(--quick --throughput 2)
  t_check=600; t_bench=600
else
  check_args=(--seeds 10)
  bench_args=(--throughput 100,1000)
  t_check=170; t_bench=120
fi

start=$SECONDS
echo "== 1. paper preset check (limit ${t_check} s)"
timeout "$t_check" "$PY" -m multiview check --preset paper "${check_args[@]}" \
  --out "$out/paper" --no-progress || echo "check: exit status $? (124: time limit)"
echo "   $((SECONDS - start)) s"

echo "== 2. bench + sweep throughput (limit ${t_bench} s)"
timeout "$t_bench" "$PY" -m multiview bench --out "$out/bench" "${bench_args[@]}" \
  || echo "bench: exit status $? (124: time limit)"
echo "== done in $((SECONDS - start)) s; results under $out"

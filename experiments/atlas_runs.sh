#!/bin/bash
# Record the atlas figure's runs: one `multiview check` per preset and base seed, written to
# figures/atlas_runs/<preset>/seed<S>/check.json (docs/figures.md, "atlas"). Resumable: a run
# whose check.json is already there is skipped, so a stopped recording picks up where it was.
#
#   experiments/atlas_runs.sh [PRESET ...]      (default: small deck asymptotic)
#
# SEEDS (default "0 1 2") are the base seeds; PYTHON (default python) runs the package, e.g.
#   PYTHON=.venv/bin/python PYTHONPATH=$PWD nice experiments/atlas_runs.sh limit
# Members and methods per preset: asymptotic 5 members and the distillation methods of
# docs/findings.md (every method would take tens of minutes a seed on the 2-core CPU); any other
# preset 10 members and every method.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
SEEDS=${SEEDS:-0 1 2}
OUT=${OUT:-figures/atlas_runs}
[ $# -gt 0 ] || set -- small deck asymptotic

for preset in "$@"; do
  case $preset in
    asymptotic) members=5; methods=single,ensemble,kd,kd_twin,self_distill,kd_hard,kd_smooth ;;
    *) members=10; methods=all ;;
  esac
  for seed in $SEEDS; do
    dir=$OUT/$preset/seed$seed
    if [ -f "$dir/check.json" ]; then echo "skip $dir (recorded)"; continue; fi
    echo "run  $dir: check --preset $preset --seeds $members --seed $seed --methods $methods"
    start=$(date +%s)
    "$PY" -m multiview check --preset "$preset" --seeds "$members" --seed "$seed" \
      --methods "$methods" --no-progress --out "$dir"
    echo "done $dir in $(( $(date +%s) - start )) s"
  done
done

#!/usr/bin/env bash
# The theorems across k in the limit d = infinity, the k's this 2-core CPU cannot afford, on one
# GPU: the same k sweep as experiments/theorems_vs_k.sh (docs/studies/20-theorems-vs-k.md),
# with the d = infinity engine (multiview/limit.py), both objectives, the CPU run's 5 members
# per base seed (a sweep folder holds one ensemble size: MEMBERS=10 needs another OUT).
#
#   bash experiments/paper_gpu.sh [OUT]        (default OUT=runs/theorems_vs_k)
#   K="16 20 30" bash experiments/paper_gpu.sh     (other k's)
#
# It writes into the same folder layout as the CPU run (OUT/<objective>/seed<S>/), so the
# figure draws every k recorded there: `multiview plot theorems-vs-k --in OUT`. Every point is
# a resumable sweep point: a rerun skips what is done.
# Expected time on one H100: not measured (no GPU has been lent to this project yet). The
# limit engine's step is memory-bound: at k = 20 with 10 members its state is 51 MB, streamed
# a few times a step (about 45 ms a step on the 2-core CPU, docs/performance.md; 5 members
# halve both). A run of the
# default K (20, 30: k <= 16 ran on the CPU) is 3 base seeds x 2 objectives x 2 k's = 12
# checks of ~3e5 steps, the bounded ones reading back the theorem run's label stages
# (OUT/stages); at the 0.1-0.3 ms per step that kernel launches allow, 5-20 minutes.
set -euo pipefail
OUT=${1:-runs/theorems_vs_k}
export K=${K:-20 30}
export MEMBERS=${MEMBERS:-5}
export SEEDS_HIGH=${SEEDS_HIGH:-0 1 2}
here=$(dirname "$0")
bash "$here/theorems_vs_k.sh" "$OUT"
${MULTIVIEW:-python -m multiview} plot theorems-vs-k --in "$OUT" --out "$OUT" --force
echo "results and figure under $OUT"

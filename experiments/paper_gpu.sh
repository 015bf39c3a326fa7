#!/usr/bin/env bash
# The theorems across k in the limit d = infinity, the k's this 2-core CPU cannot afford, on one
# GPU: the same k sweep as experiments/theorems_vs_k.sh (docs/studies/20-theorems-vs-k.md),
# with the d = infinity engine (multiview/limit.py), both objectives, the CPU run's 5 members
# per base seed (a sweep folder holds one ensemble size: MEMBERS=10 needs another OUT).
#
#   bash experiments/paper_gpu.sh [OUT]        (default OUT=runs/theorems_vs_k, K=30)
#   K="30 40" bash experiments/paper_gpu.sh        (other k's)
#
# It writes into the same folder layout as the CPU run (OUT/<objective>/seed<S>/), so the
# figure draws every k recorded there: `multiview plot theorems-vs-k --in OUT`. Every point is
# a resumable sweep point: a rerun skips what is done.
# Expected time on one H100: not measured (no GPU has been lent to this project yet). The
# limit engine's step is memory-bound: at k = 20 with 10 members its state is 51 MB, streamed
# a few times a step (about 45 ms a step on the 2-core CPU, docs/performance.md; 5 members
# halve both). The default K is 30, the next k after the CPU's (k = 5 to 20 ran there, 4.7
# hours for k = 20 alone): 3 base seeds x 2 objectives = 6 checks of about 3e5 steps (single
# models fit at about half the cap T = 2000k/eta = 29,340, single_long, the twins on labels and
# 11 students), the bounded ones reading back the theorem run's label stages (OUT/stages); at
# the 0.1-0.3 ms per step that kernel launches allow, 3-9 minutes plus compilation.
set -euo pipefail
OUT=${1:-runs/theorems_vs_k}
export K=${K:-30}
export MEMBERS=${MEMBERS:-5}
export SEEDS_HIGH=${SEEDS_HIGH:-0 1 2}
here=$(dirname "$0")
bash "$here/theorems_vs_k.sh" "$OUT"
${MULTIVIEW:-python -m multiview} plot theorems-vs-k --in "$OUT" --out "$OUT" --force
echo "results and figure under $OUT"

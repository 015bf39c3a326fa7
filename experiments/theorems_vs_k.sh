#!/usr/bin/env bash
# The theorems across k in the limit d = infinity, for two objectives, with CIs over base seeds
# (docs/studies/20-theorems-vs-k.md; the figure: figures/theorems_vs_k.*).
#
#   bash experiments/theorems_vs_k.sh [OUT]           (default OUT=runs/theorems_vs_k)
#   K="5 8" SEEDS_LOW="0 1 2 3 4" bash experiments/theorems_vs_k.sh     (a part of it)
#
# One sweep directory per objective and base seed, OUT/<objective>/seed<S>, each a grid over
# data.k filled one k at a time, smallest k first and both objectives at each k before the next,
# so that an interrupted run holds whole k's. Every point is a resumable sweep point: rerunning
# skips what is done. The constants live in experiments/studies/theorems-vs-k.toml.
#   theorem: the paper's distillation update (distill.objective = theorem, eta'/eta = 20)
#   bounded: Hinton's objective at alpha 0.73 and the students' step 10.9, the bounded setting
#            with the largest kd gain over labels_alone in `multiview search` at k = 5
#            (experiments/search_bounded_k5.toml, trial 5; the search's top score, logit
#            matching at a step of 0.45, is degenerate: its students learn less than labels
#            alone, so only the no-gain controls hold; docs/studies/20-theorems-vs-k.md)
# OBJECTIVES picks which of the two run (default both). Both keep their finished stages in
# OUT/stages (sweep --stages): the bounded run of a (k, seed) reads back the theorem run's
# single models, single_long, twins on labels and sum, and trains only its students; a stopped
# run resumes from its last finished stage. The folder grows by a few GB per (k, seed) at k = 20
# (each stage's parameters over the limit's coordinates); delete it once the sweep is done.
# Members: MEMBERS (default 5) per base seed; base seeds 0-4 up to k = 12 (SEEDS_LOW) and 0-2
# above (SEEDS_HIGH).
set -euo pipefail
OUT=${1:-runs/theorems_vs_k}
MV=${MULTIVIEW:-python -m multiview}
K=${K:-5 8 12 16 20}
MEMBERS=${MEMBERS:-5}
SEEDS_LOW=${SEEDS_LOW:-0 1 2 3 4}
SEEDS_HIGH=${SEEDS_HIGH:-0 1 2}
OBJECTIVES=${OBJECTIVES:-theorem bounded}
BOUNDED=${BOUNDED:-"--set distill.objective=hinton --set distill.alpha=0.73 --set distill.lr=10.9"}
METHODS=single,single_long,ensemble,kd,kd_twin,kd_hard,kd_random,kd_smooth,kd_shuffled,\
kd_smooth_twin,kd_smooth_fixed,ensemble_kd,self_distill,self_distill_twin,sum_trained
for k in $K; do
  if [ "$k" -le 12 ]; then seeds=$SEEDS_LOW; else seeds=$SEEDS_HIGH; fi
  for seed in $seeds; do
    for obj in $OBJECTIVES; do
      if [ "$obj" = bounded ]; then read -r -a extra <<< "$BOUNDED"
      else extra=(--set distill.objective=theorem); fi
      mkdir -p "$OUT/$obj"
      start=$(date +%s)
      $MV sweep --preset limit --config experiments/studies/theorems-vs-k.toml "${extra[@]}" \
        --grid data.k=$k --seeds "$MEMBERS" --seed "$seed" --methods "$METHODS" \
        --no-progress --stages "$OUT/stages" --out "$OUT/$obj/seed$seed" \
        > "$OUT/$obj/seed$seed.k$k.log" 2>&1 \
        || { echo "k=$k seed=$seed $obj failed: see $OUT/$obj/seed$seed.k$k.log"; exit 1; }
      echo "k=$k seed=$seed $obj: $(( $(date +%s) - start )) s" | tee -a "$OUT/times.txt"
    done
  done
done
echo "results under $OUT; figure: multiview plot theorems-vs-k --in $OUT"

#!/usr/bin/env bash
# Teacher dependence at GPU scale (k >= 20): does distillation's gain depend on the teacher there?
#
#   bash experiments/paper_gpu.sh [OUT]        (default OUT=runs/paper_gpu)
#
# At the k a 2-core CPU affords (5-12) the theorem update's gain does not depend on the teacher
# (docs/studies/08-no-regime-at-cpu-sizes.md). The theorems are asymptotic in k;
# this script asks the same question at the paper preset (k = 20, d = 2000, P = 40) on one GPU:
#   1. check with every network method and its controls (kd_twin, self_distill_twin), for the
#      theorem objective and for logit matching;
#   2. the teacher dose-response for both objectives;
#   3. a sweep of teacher dependence over k (20, 30; P = 2k patches) x the step ratio eta'/eta.
# Every result is resumable or cached under OUT; rerunning skips what is done.
# Expected time on one H100/H200: about 20-40 minutes (not yet measured: no GPU was at hand).
set -euo pipefail
OUT=${1:-runs/paper_gpu}
MV=${MULTIVIEW:-python -m multiview}
mkdir -p "$OUT"
NET=single,ensemble,kd,kd_twin,self_distill,self_distill_twin,ensemble_kd,kd_hard,sum_trained

for obj in theorem logits; do
  extra=()
  if [ "$obj" = logits ]; then extra=(--set distill.alpha=1 --set distill.lr=0.3); fi
  [ -f "$OUT/check_$obj/check.json" ] || \
    $MV check --preset paper --seeds 10 --methods "$NET" --set distill.objective=$obj \
      "${extra[@]}" --out "$OUT/check_$obj" | tee "$OUT/check_$obj.txt"
  [ -f "$OUT/dose_$obj/dose.json" ] || \
    $MV dose --preset paper --seeds 10 --set distill.objective=$obj "${extra[@]}" \
      --out "$OUT/dose_$obj" | tee "$OUT/dose_$obj.txt"
done

$MV sweep --preset paper --seeds 6 --methods single,ensemble,kd,kd_twin \
  --set data.P=0 --grid data.k=20,30 --grid distill.eta_ratio=1,5,20 --out "$OUT/sweep_teacher"
$MV plot phase-teacher --in "$OUT/sweep_teacher" --out "$OUT"
for obj in theorem logits; do $MV plot dose --in "$OUT/dose_$obj" --out "$OUT" --name "dose_$obj"; done
echo "results under $OUT"

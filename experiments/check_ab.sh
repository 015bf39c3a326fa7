#!/bin/bash
# Side-by-side timing of the all-methods check: an earlier commit against the working tree,
# interleaved, ROUNDS rounds; each round runs the earlier code, the current code with an empty
# compilation cache (cold), then the current code with the cache the cold run filled (warm).
# docs/performance.md has the measured table.
#
#   experiments/check_ab.sh [BASE_COMMIT (default 29c7eb9)] [ROUNDS (default 3)] [OUT (default runs/check_ab)]
#
# Needs the repository's virtual environment (make .venv/.installed); the two versions share it.
set -euo pipefail
BASE=${1:-29c7eb9}
ROUNDS=${2:-3}
OUT=$(realpath -m "${3:-runs/check_ab}")
ROOT=$(git rev-parse --show-toplevel)
PY=$ROOT/.venv/bin/python
# CHECK_ARGS replaces the check's arguments (e.g. a quick smoke run of this script)
read -r -a ARGS <<< "${CHECK_ARGS:-check --preset small --seeds 10 --no-progress}"
mkdir -p "$OUT"
WT=$(mktemp -d)
trap 'git -C "$ROOT" worktree remove --force "$WT" >/dev/null 2>&1 || true' EXIT
git -C "$ROOT" worktree add --detach "$WT" "$BASE" >/dev/null

timed() {   # name dir env... : wall seconds of one check into $OUT/name.wall
  local name=$1 dir=$2; shift 2
  (cd "$dir" && /usr/bin/time -f "%e" -o "$OUT/$name.wall" env PYTHONPATH="$dir" "$@" \
     "$PY" -m multiview "${ARGS[@]}" --out "$OUT/$name" > "$OUT/$name.log" 2>&1)
}

for r in $(seq 1 "$ROUNDS"); do
  rm -rf "$OUT/cache$r"
  timed "base$r" "$WT" MULTIVIEW_COMPILE_CACHE=off
  timed "cold$r" "$ROOT" MULTIVIEW_COMPILE_CACHE="$OUT/cache$r"
  timed "warm$r" "$ROOT" MULTIVIEW_COMPILE_CACHE="$OUT/cache$r"
  echo "round $r: base $(cat "$OUT/base$r.wall") s, cold $(cat "$OUT/cold$r.wall") s, warm" \
       "$(cat "$OUT/warm$r.wall") s (load $(cut -d' ' -f1-3 /proc/loadavg))"
done

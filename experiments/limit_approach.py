"""Does the direct engine at large d approach the d = ∞ limit? (evidence for docs/regime.md,
"Towards d = ∞").

For each d in --d (and d = inf) and base seed S it runs what `multiview check --seed S
--methods single,single_long` runs on `small` with data.noise = orthogonal (no noise along the
views) at the limit's noise norm: sigma_p = s / sqrt(d), s = data.noise_norm (√10, small's).
At the same seed every d draws the same view coefficients c (data.py), so the gaps to the
limit are paired by seed. Results go to OUT/points.jsonl, one line per (d, seed); a rerun skips
what is there. The table gives, per finite d, the mean over seeds of (value at d − value at
d = ∞) with a 95 % t-interval over the seeds, for single's and single_long's single-view test
accuracy and views.one.

    python experiments/limit_approach.py --d 1000,10000 --seed 0,1,2 --seeds 10 \\
        --out out/limit_approach
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

METHODS = ["single", "single_long"]
QUANTITIES = [("single", "test_acc_single"), ("single", "views_one"),
              ("single_long", "test_acc_single"), ("single_long", "views_one")]


def run_point(d, seed: int, L: int, n_test: int | None) -> dict:
    from multiview.check import run_check
    from multiview.config import override, preset

    s = preset("limit").data.noise_norm
    sets = {"data.d": "inf"} if d == "inf" else \
        {"data.d": int(d), "data.noise": "orthogonal", "data.sigma_p": s / math.sqrt(int(d))}
    if n_test:
        sets["data.N_test"] = n_test
    cfg = override(preset("small"), sets)
    t = time.perf_counter()
    rec = run_check(cfg, L, seed, METHODS, progress=False)
    out = {"d": str(d), "seed": seed, "L": L, "seconds": time.perf_counter() - t,
           "engine": rec["run"]["engine"]}
    for m in METHODS:
        r = rec["methods"][m]
        out[m] = {"test_acc_single": r["test_acc_single"], "views_one": r["views"]["one"]}
    return out


def table(rows: list[dict]) -> str:
    from scipy import stats

    by = {(r["d"], r["seed"]): r for r in rows}
    seeds = sorted({r["seed"] for r in rows if r["d"] == "inf"})
    ds = sorted({r["d"] for r in rows if r["d"] != "inf"}, key=int)
    head = "| d | seeds | " + " | ".join(f"{m} {q}: d − ∞ [95 % CI]" for m, q in QUANTITIES) + " |"
    lines = [head, "|" + "---|" * (2 + len(QUANTITIES))]
    for d in ds + ["inf"]:
        have = [s for s in seeds if (d, s) in by]
        cells = []
        for m, q in QUANTITIES:
            v = np.array([by[(d, s)][m][q] for s in have])
            if d == "inf":
                cells.append(f"{v.mean():.3f} (value)")
                continue
            g = v - np.array([by[("inf", s)][m][q] for s in have])
            if len(g) > 1:
                h = stats.t.ppf(0.975, len(g) - 1) * g.std(ddof=1) / math.sqrt(len(g))
                cells.append(f"{g.mean():+.3f} [{g.mean() - h:+.3f}, {g.mean() + h:+.3f}]")
            else:
                cells.append(f"{g.mean():+.3f}")
        lines.append(f"| {d} | {','.join(map(str, have))} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--d", default="1000,10000")
    ap.add_argument("--seed", default="0,1,2")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--n-test", type=int, default=None, help="data.N_test (default small's)")
    ap.add_argument("--out", default="out/limit_approach")
    ap.add_argument("--table", action="store_true", help="print the table of OUT only")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "points.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    if not args.table:
        done = {(r["d"], r["seed"]) for r in rows}
        for seed in map(int, args.seed.split(",")):
            for d in ["inf"] + args.d.split(","):
                if (d, seed) in done:
                    continue
                row = run_point(d, seed, args.seeds, args.n_test)
                print(json.dumps(row), flush=True)
                with path.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                rows.append(row)
    print(table(rows))


if __name__ == "__main__":
    main()

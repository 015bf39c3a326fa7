"""kd's single-view gain over labels_alone, per trial and base seed, of a recorded distillation
search (docs/studies/20-theorems-vs-k.md, "The two objectives").

    python experiments/search_kd_gains.py runs/search_bounded_k8 [--first T3.train,T3.single]

Reads OUT/search.json and the trials' point files OUT/seed-<b>/<key>.json; prints one row per
complete trial, by the search's ranking (or re-ranked with --first, as `[search] first` would
rank them): its parameters, score, and per base seed kd, labels_alone and their difference.
"""
import argparse
import json
from pathlib import Path

from multiview.search import ranked


def gains(out: Path, summary: dict) -> list[dict]:
    """One row per complete trial of OUT's search.json `summary`: number, params, score, and per
    base seed (kd, labels_alone)."""
    rows = []
    for t in summary["trials"]:
        if t["state"] != "complete":
            continue
        seeds = []
        for b, key in zip(summary["base_seeds"], t["points"]):
            res = json.loads((out / f"seed-{b}" / f"{key}.json").read_text())["result"]
            kd = res["methods"]["kd"]["test_acc_single"]
            alone = res["diagnostics"]["labels_alone"]["test_acc_single"]
            seeds.append((b, kd, alone))
        rows.append({"number": t["number"], "params": t["params"], "score": t["score"],
                     "seeds": seeds})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="the search's folder")
    ap.add_argument("--first", default=None, help="re-rank as `[search] first` would")
    a = ap.parse_args()
    summary = json.loads((a.out / "search.json").read_text())
    first = None if a.first is None else a.first.split(",")
    order = [t["number"] for t in ranked(summary, first)]
    rows = {r["number"]: r for r in gains(a.out, summary)}
    print("| rank | trial | objective | α | step | score | " +
          " | ".join(f"kd − labels_alone, seed {b}" for b in summary["base_seeds"]) + " |")
    print("|---|---|---|---|---|---|" + "---|" * len(summary["base_seeds"]))
    for i, n in enumerate(x for x in order if x in rows):
        r = rows[n]
        p = r["params"]
        cells = " | ".join(f"{kd:.3f} − {al:.3f} = {kd - al:+.3f}" for _, kd, al in r["seeds"])
        print(f"| {i + 1} | {n} | {p.get('distill.objective', '')} | "
              f"{p.get('distill.alpha', float('nan')):.2f} | {p.get('distill.lr', float('nan')):.2f} "
              f"| {r['score']} | {cells} |")


if __name__ == "__main__":
    main()

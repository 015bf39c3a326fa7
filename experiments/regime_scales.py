"""The paper's regime of scales at d = 1,000: lottery stability under long training, the
teachers' dark knowledge, and Theorems 1-4, over a small grid and several base seeds
(evidence for docs/studies/12-towards-asymptotic.md).

For every grid point and base seed S it trains what `multiview check --seed S` trains (the
library's own recipe: `recipe.train_methods`, the same records and predictions), and adds:

- single_long: the single models' initialisations trained on labels with no stop for
  `--long` x B steps, B = the step at which the last of them first reached 100 % train
  accuracy (rounded up to a whole chunk). GD has no optimizer state, so this is the single
  stage's own trajectory, continued where train.steps is shorter. T1.stable: views.one >= 0.7
  and T1's single-view band [0.35, 0.70] on single_long. The both-views share is kept at
  every chunk (the stability curve).
- the teachers' dark knowledge, extended: the ensemble teacher's mean off-class logit on
  multi-view training points with and without a view of that class, and the softmax ratio
  (with / without) at T = 1, at the distillation temperature (distill.T for hinton), and at
  any `--T`; Λ/ϱ of the single models' learned views (median).

Results go to OUT/points.jsonl, one line per (point, seed); a rerun skips what is there
(resumable). The table (mean [min, max] over the seeds of each point) is printed at the end,
and with --table alone from an existing file.

    python experiments/regime_scales.py --preset small --set data.mu_train=0 ... \\
        --grid model.q=4,6 --seed 0,1,2 --seeds 10 --out out/regime_scales
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import math
import time
from pathlib import Path

import numpy as np

STUDENTS = "single,ensemble,kd,kd_twin,self_distill,kd_hard"
LOTTERY_BAND = (0.7, 1.0)        # T1.lottery's band on views.one (multiview/theory.py)
SINGLE_BAND = (0.35, 0.70)       # T1.single's band on single-view test accuracy


def first_full(train_acc: np.ndarray) -> np.ndarray:
    """Per member, the first step with train accuracy 1 (-1: never); train_acc [steps, L]."""
    hit = train_acc >= 1.0
    return np.where(hit.any(0), hit.argmax(0), -1)


def single_long(run, factor: float) -> dict:
    """The single models' initialisations trained with no stop for factor x B steps."""
    from multiview.learners import label_loss, logits_of, shared_inputs, view_monitor
    from multiview.metrics import learned_threshold, slice_accuracies, views_fractions, views_learned
    from multiview.model import phi_lam
    from multiview.train import fit

    cfg, problem = run.cfg, run.problem
    assert cfg.train.optimizer == "gd", "single_long continues a run: plain GD only"
    fit_res = run.stages["single"].trained.fit
    chunk = cfg.train.chunk
    first = first_full(fit_res.history["train_acc"])
    reached = bool((first >= 0).all())
    B = int(first.max()) if reached else int(fit_res.steps_run)
    T = int(math.ceil(factor * B / chunk) * chunk)
    lam_hist = fit_res.history["lam"]
    snaps = dict(fit_res.snapshots)
    if not reached:          # no B: report the end of the run, T1.stable is n/a
        T, W = int(fit_res.steps_run), fit_res.params
    elif T <= fit_res.steps_run and T in snaps:
        W = snaps[T]
    else:
        extra = T - fit_res.steps_run
        res = fit(label_loss(cfg.model.q), fit_res.params, shared_inputs(cfg, problem), None,
                  dataclasses.replace(cfg.train, steps=extra, stop="none"),
                  monitor=view_monitor, progress=False)
        W = res.params
        lam_hist = np.concatenate([lam_hist, res.history["lam"]])
    thr = learned_threshold(cfg.model)
    import jax
    lam = np.asarray(jax.vmap(lambda w: phi_lam(w, problem.views)[1])(W))
    views = views_fractions(views_learned(lam, thr))
    te = slice_accuracies(logits_of(W, problem.test.x, cfg), problem.test)
    tr = slice_accuracies(logits_of(W, problem.train.x, cfg), problem.train)
    single_acc = float(np.mean(te["single"]))
    both_curve = [(int(t), float(((lam_hist[t - 1] >= thr).sum(-1) == 2).mean()))
                  for t in range(chunk, min(T, len(lam_hist)) + 1, chunk)]
    holds = (LOTTERY_BAND[0] <= views["one"] <= LOTTERY_BAND[1]
             and SINGLE_BAND[0] <= single_acc <= SINGLE_BAND[1])
    return {"B": B, "all_reached": reached, "steps": T, "views": views,
            "train_acc": float(np.mean(tr["acc"])), "test_acc_multi": float(np.mean(te["multi"])),
            "test_acc_single": single_acc, "T1.stable": bool(holds) if reached else None,
            "lam_over_varrho": float(np.median(lam / cfg.model.varrho)),
            "both_curve": both_curve}


def dark_knowledge_ext(G: np.ndarray, train, temperatures) -> dict:
    """Teacher logits G [n, k] on the training set: off-class logits on multi-view points with
    vs without a view of that class among the point's off-class features, and the softmax
    ratio at each temperature."""
    off = np.asarray(train.off).any(-1)
    y = np.asarray(train.y)
    multi = ~np.asarray(train.single)
    notown = np.ones_like(off)
    notown[np.arange(len(y)), y] = False
    with_v, without_v = off & notown & multi[:, None], ~off & notown & multi[:, None]
    G = np.asarray(G, dtype=np.float64)
    out = {"logit_with_view": float(G[with_v].mean()), "logit_without_view": float(G[without_v].mean()),
           "own_logit": float(G[np.arange(len(y)), y][multi].mean())}
    out["logit_gap"] = out["logit_with_view"] - out["logit_without_view"]
    ratios = {}
    for T in temperatures:
        z = G / T
        p = np.exp(z - z.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        ratios[f"{T:g}"] = float(p[with_v].mean() / p[without_v].mean())
    out["softmax_ratio"] = ratios
    return out


def distill_temperature(cfg) -> float | None:
    """The temperature of the distillation objective: distill.T for hinton; none for logit
    matching (it matches raw logits) or the theorem (its logit^tau is in check's diagnostics)."""
    return cfg.distill.T if cfg.distill.objective == "hinton" else None


def one_point(cfg, L: int, seed: int, methods, factor: float, temperatures) -> dict:
    from multiview import theory
    from multiview.check import _diagnostics, record_method
    from multiview.methods import STAGES, stages_for
    from multiview.metrics import learned_threshold
    from multiview.recipe import train_methods

    t0 = time.perf_counter()
    students = any(STAGES[s].learner == "student" for s in stages_for(methods))
    run = train_methods(cfg, L, seed, methods, extra_stages=("alone",) if students else (),
                        progress=False, snapshots=True)
    results = {name: record_method(run, name) for name in methods}
    diag = _diagnostics(run)
    preds = theory.check(results, L, baselines=diag)
    seconds = time.perf_counter() - t0
    long = single_long(run, factor)
    lam = run.stages["single"].lam / cfg.model.varrho
    learned = lam[lam >= learned_threshold(cfg.model) / cfg.model.varrho]
    T_used = distill_temperature(cfg)
    temps = sorted({1.0, *temperatures, *([T_used] if T_used else [])})
    dk = dark_knowledge_ext(run.stages["single"].train_logits.mean(0), run.problem.train, temps)
    dk["T_used"] = T_used
    dk["lam_over_varrho_learned"] = float(np.median(learned)) if learned.size else None
    keep = ("train_acc", "test_acc_multi", "test_acc_single", "views", "lam_over_varrho")
    return {"methods": {n: {k: r[k] for k in keep} for n, r in results.items()},
            "labels_alone": ({k: diag["labels_alone"][k] for k in keep}
                             if "labels_alone" in diag else None),
            "predictions": {p["id"]: {"measured": p["measured"], "holds": p["holds"]}
                            for p in preds},
            "dark_knowledge": dk, "dark_knowledge_check": diag.get("dark_knowledge"),
            "single_long": long, "seconds": seconds,
            "seconds_with_long": time.perf_counter() - t0,
            "student_steps": run.cfg.distill.steps or run.budget}


# --- the table ------------------------------------------------------------------------------

def _get(rec, path):
    v = rec
    for key in path.split("/"):
        if v is None:
            return None
        v = v.get(key) if isinstance(v, dict) else None
    return v


COLUMNS = [  # (header, path in a record, format)
    ("sgl train", "methods/single/train_acc", ".3f"),
    ("sgl 1view", "methods/single/test_acc_single", ".3f"),
    ("sgl one", "methods/single/views/one", ".2f"),
    ("T1", "T1", "holds"),
    ("ens 1view", "methods/ensemble/test_acc_single", ".3f"),
    ("T2", "T2", "holds"),
    ("B", "single_long/B", ".0f"),
    ("long one", "single_long/views/one", ".2f"),
    ("long 1view", "single_long/test_acc_single", ".3f"),
    ("T1.stable", "single_long/T1.stable", "holds"),
    ("kd", "methods/kd/test_acc_single", ".3f"),
    ("kd_twin", "methods/kd_twin/test_acc_single", ".3f"),
    ("alone", "labels_alone/test_acc_single", ".3f"),
    ("kd_hard", "methods/kd_hard/test_acc_single", ".3f"),
    ("self_d", "methods/self_distill/test_acc_single", ".3f"),
    ("T3.teach", "predictions/T3.teacher/measured", ".2f"),
    ("Λ/ϱ lrn", "dark_knowledge/lam_over_varrho_learned", ".2f"),
    ("gap", "dark_knowledge/logit_gap", ".2f"),
    ("ratio T1", "dark_knowledge/softmax_ratio/1", ".2f"),
    ("s", "seconds", ".0f"),
]
T1_IDS = ("T1.train", "T1.multi", "T1.single", "T1.lottery")
T2_IDS = ("T2.train", "T2.multi", "T2.single", "T2.gain")


def _value(rec, path):
    if path in ("T1", "T2"):
        ids = T1_IDS if path == "T1" else T2_IDS
        hs = [_get(rec, f"predictions/{i}/holds") for i in ids]
        return None if any(h is None for h in hs) else all(hs)
    if path == "single_long/B" and not _get(rec, "single_long/all_reached"):
        return None              # a member never fit: B is undefined
    return _get(rec, path)


def format_table(rows: list[dict]) -> str:
    """One line per grid point: mean [min, max] over its seeds; holds as 'yes/of'."""
    points: dict[str, list] = {}
    for r in rows:
        key = json.dumps({"base": r["base"], "point": r["point"]}, sort_keys=True)
        points.setdefault(key, []).append(r)
    lines = []
    for key, recs in points.items():
        seeds = sorted(r["seed"] for r in recs)
        lines.append(f"point {key}  seeds {seeds}")
        for head, path, fmt in COLUMNS:
            vals = [_value(r, path) for r in recs]
            if fmt == "holds":
                known = [v for v in vals if v is not None]
                text = f"holds in {sum(bool(v) for v in known)} of {len(vals)}" + (
                    f" ({len(vals) - len(known)} n/a)" if len(known) < len(vals) else "")
            else:
                num = [float(v) for v in vals if v is not None]
                if not num:
                    text = "n/a"
                else:
                    each = " ".join(format(v, fmt) for v in num)
                    text = (f"{np.mean(num):{fmt}} [{min(num):{fmt}}, {max(num):{fmt}}]"
                            f"   ({each})")
            lines.append(f"  {head:<11} {text}")
        temps = sorted({t for r in recs for t in _get(r, "dark_knowledge/softmax_ratio") or {}},
                       key=float)
        for t in temps:
            if t == "1":
                continue
            num = [_get(r, f"dark_knowledge/softmax_ratio/{t}") for r in recs]
            num = [v for v in num if v is not None]
            lines.append(f"  ratio T={t:<4} {np.mean(num):.2f} [{min(num):.2f}, {max(num):.2f}]")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", default="small")
    ap.add_argument("--set", action="append", default=[], help="SECTION.FIELD=VALUE (base)")
    ap.add_argument("--grid", action="append", default=[], help="SECTION.FIELD=V1,V2,...")
    ap.add_argument("--seed", default="0,1,2", help="base seeds, comma-separated")
    ap.add_argument("--seeds", type=int, default=10, help="members per run (L)")
    ap.add_argument("--methods", default=STUDENTS)
    ap.add_argument("--long", type=float, default=5.0, help="single_long's factor on B")
    ap.add_argument("--T", default="", help="extra temperatures for the softmax ratio")
    ap.add_argument("--out", default="out/regime_scales")
    ap.add_argument("--table", action="store_true", help="print the table of OUT and exit")
    args = ap.parse_args()
    out = Path(args.out)
    path = out / "points.jsonl"
    rows = [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []
    if not args.table:
        from multiview.config import resolve

        out.mkdir(parents=True, exist_ok=True)
        grid = [(g.split("=", 1)[0], g.split("=", 1)[1].split(",")) for g in args.grid]
        temps = [float(t) for t in args.T.split(",") if t]
        methods = args.methods.split(",")
        done = {(json.dumps(r["point"], sort_keys=True), json.dumps(r["base"]), r["seed"])
                for r in rows}
        for combo in itertools.product(*[vals for _, vals in grid]):
            point = dict(zip([name for name, _ in grid], combo))
            cfg = resolve(args.preset, None, args.set + [f"{k}={v}" for k, v in point.items()])
            for seed in (int(s) for s in args.seed.split(",")):
                key = (json.dumps(point, sort_keys=True), json.dumps(args.set), seed)
                if key in done:
                    continue
                rec = one_point(cfg, args.seeds, seed, methods, args.long, temps)
                rec.update(point=point, base=args.set, seed=seed, preset=args.preset)
                with path.open("a") as f:
                    f.write(json.dumps(rec) + "\n")
                rows.append(rec)
                lg = rec["single_long"]
                print(f"{point} seed {seed}: single 1view "
                      f"{rec['methods']['single']['test_acc_single']:.3f} one "
                      f"{rec['methods']['single']['views']['one']:.2f}; long ({lg['steps']} "
                      f"steps) one {lg['views']['one']:.2f} 1view {lg['test_acc_single']:.3f}; "
                      f"{rec['seconds_with_long']:.0f} s", flush=True)
    print(format_table(rows))


if __name__ == "__main__":
    main()

"""Where the lottery survives long training, and what feeds the view a class did not win
(evidence for docs/studies/14-feeders-of-the-losing-view.md).

For every point of a one-at-a-time sweep and every base seed S it trains the L single models
of `multiview check --seed S` (their own data and initialisations) with plain GD, twice:

- stopped each at its first 100 % train accuracy (train.stop=train_acc, as `check` trains
  `single`; at most --b-max steps). B is the step at which the last of them fit. There ("at
  B"): views none / one / both, train, multi-view and single-view test accuracy, the
  ensemble's single-view accuracy, and T1 (train ≥ 0.99, multi-view ≥ 0.97, single-view in
  [0.35, 0.70], views one ≥ 0.7);
- with no stop for 5B steps: the library's `single_long`, the same numbers at 5B and
  T1.stable (theory's T1.stable and T1.stable_single).

Both are one `recipe.train_methods` run (single, ensemble, single_long, the last with its
snapshots after every chunk) and every number at B and at 5B is check.report's record; T1 and
T1.stable are theory's predictions on it.

On the no-stop run, at --snaps snapshots between B and 5B, the push per step (lr x -gradient)
on the losing view's alignment <w_{i,r*}, v_{i,loser}>, r* the class's neuron most aligned
with it (the one Λ reads), for every (member, class) whose lottery was decided at B (exactly
one view learned when the member fit; the loser is the other). It is split
(multiview.dynamics.push_parts) into
  (a) noise: the patch noise's component along the loser, Σ g_p <ξ_p, v_loser>, all points;
  (b) single: the feature part from the class's single-view points whose strong view is the
      loser;
  (c) tail: the feature part from the class's multi-view points (the 1/t tail of their loss);
  rest: the feature part from the other points (other classes, where the loser is an
      off-class view, and the class's single-view points whose strong view is the winner).
Pushes are in ϱ per 1,000 steps (mean over the decided pairs, time-averaged over [B, 5B]).
The same split is also kept before the fit, over [0, B], for those pairs and for the pairs
whose loser (the view with the smaller Λ at B) had already escaped by B.

One point file per (point, seed) in OUT (the sweep's store: results.point_key, write_point,
and the sweep's resume, sweep.cached_point): check.report's record with the feeders beside it;
a rerun reuses what is there.
--table prints the tables (mean [min, max] over the seeds in OUT of each point). --seed is one
base seed (and --seeds L), as `multiview check` parses them.

    python experiments/feeders.py --seed 0 --seeds 5 --out out/feeders
    python experiments/feeders.py --seed 1 --seeds 5 --out out/feeders
    python experiments/feeders.py --table --out out/feeders
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from multiview.results import lookup

# the base: `small` at ϱ = 1 with small's ϱ/σ0 = 50 and lr/ϱ, no stop, orthogonal noise at
# ‖ξ‖ = σ_p·√d ≈ 3.16, single-view training points kept (μ_train = 0.1); a test set with
# μ = 0.5 (500 single-view points of 1,000)
TEST = ["data.mu=0.5", "data.N_test=1000"]
BASE = ["model.varrho=1", "model.sigma0=0.02", "train.lr=1.67", "train.stop=none",
        "data.mu_train=0.1", "data.noise=orthogonal"] + TEST
# (name, preset, settings on top of the preset): one axis changed at a time from the base
POINTS = [
    ("base", "small", BASE),
    ("ϱ/σ0 = 25", "small", BASE + ["model.sigma0=0.04"]),
    ("ϱ/σ0 = 100", "small", BASE + ["model.sigma0=0.01"]),
    ("q = 5 (σ0 0.06)", "small", BASE + ["model.q=5", "model.sigma0=0.06"]),
    ("‖ξ‖ 1.58 (σ_p 0.05)", "small", BASE + ["data.sigma_p=0.05"]),
    ("‖ξ‖ 4.74 (σ_p 0.15)", "small", BASE + ["data.sigma_p=0.15"]),
    ("isotropic d 1,000", "small", BASE + ["data.noise=isotropic"]),
    ("isotropic d 10,000", "small", BASE + ["data.noise=isotropic", "data.d=10000",
                                            "data.sigma_p=0.0316"]),
    ("orthogonal d 10,000", "small", BASE + ["data.d=10000", "data.sigma_p=0.0316"]),
    ("μ_train = 0", "small", BASE + ["data.mu_train=0"]),
    ("asymptotic", "asymptotic", TEST),
]
METHODS = ("single", "ensemble", "single_long")
T1_IDS = ("T1.train", "T1.multi", "T1.single", "T1.lottery")      # theory's, on the single models
STABLE_IDS = ("T1.stable", "T1.stable_single")                     # theory's, on single_long
FEEDERS = ("noise", "single", "tail", "rest")


def trajectory(cfg, L: int, seed: int):
    """The single models of `check --seed seed` stopped each at its first 100 % train accuracy
    (at most train.steps), their ensemble, and single_long (their initialisations with no stop
    for 5 B steps, snapshots after every chunk): one run of the library's recipe, and
    check.report's record of it."""
    from multiview.check import report
    from multiview.recipe import train_methods

    run = train_methods(cfg, L, seed, METHODS, progress=False, snapshots=("single_long",))
    return run, report(run, METHODS)


def state(record: dict, method: str) -> dict:
    """Views and accuracies of a method of check.report's record (at B, the single models',
    with their ensemble's)."""
    m = record["methods"][method]
    out = {"views": m["views"], "train_acc": m["train_acc"],
           "test_acc_multi": m["test_acc_multi"], "test_acc_single": m["test_acc_single"]}
    if method == "single":
        ens = record["methods"]["ensemble"]
        out |= {"ensemble_single": ens["test_acc_single"], "ensemble_multi": ens["test_acc_multi"]}
    return out


def feeders(cfg, problem, features, snaps: dict, steps: list[int], loser, pairs) -> list[dict]:
    """At each step of `steps`: the four feeders' push per step on the loser's alignment, in ϱ
    per 1,000 steps, mean over the (member, class) pairs where `pairs` [L, k] is true; and the
    loser's Λ/ϱ there."""
    from multiview.dynamics import push_parts

    q, varrho, lr = cfg.model.q, cfg.model.varrho, cfg.train.lr
    L, k = loser.shape
    li, ci = np.nonzero(pairs)
    lo = loser[li, ci]
    unit = lr * 1000 / varrho
    rows = []
    for s in steps:
        W = np.asarray(snaps[s])
        parts = push_parts(W, problem.train, problem.views, q, varrho, features)
        align = np.einsum("Limd,ild->Liml", W, np.asarray(problem.views))   # [L, k, m, 2]
        r = align[li, ci, :, lo].argmax(-1)                                  # r* per pair

        def at(grp, part):
            return parts[grp][part][li, ci, r, lo]
        single_loser = np.where(lo == 0, at("own_single_v1", "feature"),
                                at("own_single_v2", "feature"))
        single_winner = np.where(lo == 0, at("own_single_v2", "feature"),
                                 at("own_single_v1", "feature"))
        noise = sum(at(g, "noise") for g in parts)
        row = {"noise": noise, "single": single_loser, "tail": at("own_multi", "feature"),
               "rest": at("other_classes", "feature") + single_winner}
        out = {f: float(np.mean(v) * unit) for f, v in row.items()}
        out["noise_own_multi"] = float(np.mean(at("own_multi", "noise")) * unit)
        out["total"] = sum(out[f] for f in FEEDERS)
        out["lam_loser"] = float(np.mean(np.maximum(align[li, ci, :, lo].max(-1), 0)) / varrho)
        rows.append({"step": int(s), **out})
    return rows


def _time_mean(rows: list[dict], key: str) -> float:
    """Trapezoid time average of rows[*][key] over their steps."""
    t = np.array([r["step"] for r in rows], float)
    v = np.array([r[key] for r in rows], float)
    if len(t) < 2 or t[-1] == t[0]:
        return float(v.mean())
    return float(np.sum((v[1:] + v[:-1]) / 2 * np.diff(t)) / (t[-1] - t[0]))


def config(preset: str, sets: list[str], b_max: int):
    """A point's config: the preset with its settings, the single models stopped each at its
    first 100 % train accuracy, at most b_max steps."""
    from multiview.config import override, resolve

    return override(resolve(preset, None, sets), {"train.steps": b_max, "train.stop": "train_acc"})


def probe(cfg, L: int, seed: int, n_snaps: int) -> dict:
    """check.report's record of one (point, seed) with `feeders` beside it: B, the views and
    accuracies at B and at 5 B, T1 and T1.stable, the both-views share after every chunk, and
    the feeders in the windows [B, 5 B] and [0, B]."""
    from multiview.data import train_features
    from multiview.keys import data_key
    from multiview.metrics import learned_threshold, views_learned
    from multiview.recipe import fit_step
    from multiview.theory import held

    t0 = time.perf_counter()
    run, record = trajectory(cfg, L, seed)
    problem, lam_fit = run.problem, run.stages["single"].lam
    B = fit_step(run.stages["single"].trained.fit)
    at_fit = state(record, "single") | {"T1": held(record, T1_IDS)}
    rec = {"B": B, "fit_steps": run.stages["single"].trained.fit.stopped_at.tolist(),
           "at_B": at_fit, "engine": run.stages["single"].trained.fit.engine}
    if B is None:                      # a member never fit: B and T1.stable undefined
        rec["seconds"] = time.perf_counter() - t0
        return record | {"feeders": rec}
    long = run.stages["single_long"].trained.fit
    T, snaps = long.steps_run, dict(long.snapshots)
    chunk = cfg.train.chunk
    thr = learned_threshold(cfg.model)
    at_T = state(record, "single_long") | {"T1.stable": held(record, STABLE_IDS)}
    both_curve = [(t, float((views_learned(long.history["lam"][t - 1], thr) == 2).mean()))
                  for t in range(chunk, T + 1, chunk)]
    B_snap = int(math.ceil(B / chunk)) * chunk
    count = views_learned(lam_fit, thr)                                      # [L, k]
    loser, decided = lam_fit.argmin(-1), count == 1
    features = train_features(data_key(seed), cfg.data)

    def window(lo, hi, pairs):
        """The feeders at up to n_snaps snapshots in [lo, hi] on `pairs`, their time means,
        and the loser's Λ/ϱ gain over the window: measured, and the pushes' integral."""
        avail = [s for s in sorted(snaps) if lo <= s <= hi]
        pick = sorted({avail[int(round(j))] for j in np.linspace(0, len(avail) - 1, n_snaps)})
        if not pairs.any():
            return {"pairs": 0}
        rows = feeders(cfg, problem, features, snaps, pick, loser, pairs)
        mean = {key: _time_mean(rows, key) for key in (*FEEDERS, "noise_own_multi", "total")}
        return {"pairs": int(pairs.sum()), "rows": rows, "mean": mean,
                "loser_gain": rows[-1]["lam_loser"] - rows[0]["lam_loser"],
                "pushed_gain": mean["total"] * (rows[-1]["step"] - rows[0]["step"]) / 1000}

    # after the fit, on the pairs the lottery had decided at B; before it, on those and on the
    # pairs whose loser (the view with the smaller Λ at B) had escaped by B
    rec.update(steps=T, at_T=at_T, both_curve=both_curve, B_snap=B_snap,
               pairs=int(decided.size),
               post=window(B_snap, T, decided), pre_decided=window(0, B_snap, decided),
               pre_both=window(0, B_snap, count == 2), seconds=time.perf_counter() - t0)
    return record | {"feeders": rec}


# --- the tables ----------------------------------------------------------------------------

def _stat(vals, fmt=".2f") -> str:
    v = [float(x) for x in vals if x is not None]
    if not v:
        return "n/a"
    if len(v) == 1:
        return format(v[0], fmt)
    return f"{np.mean(v):{fmt}} [{min(v):{fmt}}, {max(v):{fmt}}]"


def _holds(recs, path) -> str:
    vals = [lookup(r, path) for r in recs]
    known = [v for v in vals if v is not None]
    return f"{sum(map(bool, known))} of {len(vals)}" + (
        f" ({len(vals) - len(known)} n/a)" if len(known) < len(vals) else "")


def _share(recs, f, win="post") -> str:
    """f's share of the positive feed: f / (sum of the feeders that push up), per seed."""
    out = []
    for r in recs:
        w = lookup(r, f"{win}/mean")
        if w:
            pos = sum(max(w[g], 0.0) for g in FEEDERS)
            out.append(max(w[f], 0.0) / pos if pos > 0 else None)
    return _stat(out)


def _names(rows: list[dict]) -> dict[str, list]:
    points: dict[str, list] = {}
    for r in rows:
        points.setdefault(r["name"], []).append(r)
    return points


def _label(name: str, recs: list[dict]) -> str:
    s = sorted(r["seed"] for r in recs)
    if len(s) == 1:
        return f"{name} (seed {s[0]} only)"
    return f"{name} (seeds {', '.join(map(str, s))})"


def lottery_table(rows: list[dict]) -> str:
    """Views and accuracies at B and at 5B, T1 at B and T1.stable at 5B, per point."""
    head = ("| point | B | 5B (steps) | train at B / 5B | views none / one / both at B | "
            "single-view at B | ensemble single-view at B | views one / both at 5B | "
            "single-view at 5B | T1 at B | T1.stable at 5B |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for n, recs in _names(rows).items():
        ok = [r for r in recs if r.get("B") is not None]
        miss = sorted(r["seed"] for r in recs if r.get("B") is None)
        never = (f" (seed {', '.join(map(str, miss))}: a member never fit in "
                 f"{recs[0].get('b_max', 'b_max')} steps)") if miss else ""
        if not ok:
            lines.append(f"| {_label(n, recs)} | n/a{never} |" + " |" * 9)
            continue
        steps = _stat([r["steps"] for r in ok], ".0f")
        v = lambda path, fmt=".2f": _stat([lookup(r, path) for r in ok], fmt)  # noqa: E731
        lines.append(
            f"| {_label(n, ok)} | {_stat([r['B'] for r in ok], '.0f')}{never} | {steps} "
            f"| {v('at_B/train_acc', '.3f')} / {v('at_T/train_acc', '.3f')} "
            f"| {v('at_B/views/none')} / {v('at_B/views/one')} / {v('at_B/views/both')} "
            f"| {v('at_B/test_acc_single', '.3f')} | {v('at_B/ensemble_single', '.3f')} "
            f"| {v('at_T/views/one')} / {v('at_T/views/both')} "
            f"| {v('at_T/test_acc_single', '.3f')} "
            f"| {_holds(recs, 'at_B/T1')} | {_holds(recs, 'at_T/T1.stable')} |")
    return "\n".join(lines)


def feeder_table(rows: list[dict], win: str = "post") -> str:
    """The feeders' mean push per step on the loser (ϱ per 1,000 steps) in one window."""
    head = ("| point | pairs | (a) noise | (b) single-view points | (c) multi-view points "
            "| rest | total | shares a / b / c of the positive feed | loser's Λ/ϱ gain, "
            "measured / pushed |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for n, recs in _names(rows).items():
        ok = [r for r in recs if lookup(r, f"{win}/mean")]
        if not ok:
            lines.append(f"| {_label(n, recs)} | n/a |" + " |" * 7)
            continue
        none = sorted(r["seed"] for r in recs if r not in ok)
        note = f"; seed {', '.join(map(str, none))}: none" if none else ""
        w = lambda f: _stat([r[win]["mean"][f] for r in ok], ".3f")  # noqa: E731
        lines.append(
            f"| {_label(n, ok)} | {_stat([r[win]['pairs'] / r['pairs'] for r in ok])}{note} "
            f"| {w('noise')} | {w('single')} | {w('tail')} | {w('rest')} | {w('total')} "
            f"| {_share(ok, 'noise', win)} / {_share(ok, 'single', win)} / "
            f"{_share(ok, 'tail', win)} "
            f"| {_stat([r[win]['loser_gain'] for r in ok])} / "
            f"{_stat([r[win]['pushed_gain'] for r in ok])} |")
    return "\n".join(lines)


def format_table(rows: list[dict]) -> str:
    secs = ", ".join(f"{n}: {_stat([r['seconds'] for r in recs], '.0f')}"
                     for n, recs in _names(rows).items())
    return "\n\n".join([
        "Lottery at B and at 5B:", lottery_table(rows),
        "Feeders after the fit, [B, 5B], on the pairs decided at B:", feeder_table(rows, "post"),
        "Feeders before the fit, [0, B], on the same pairs:", feeder_table(rows, "pre_decided"),
        "Feeders before the fit, [0, B], on the pairs with both views at B:",
        feeder_table(rows, "pre_both"), f"wall seconds per (point, seed): {secs}"])


def _seeds(out: Path) -> list[int]:
    """The base seeds of the point files in OUT (what --table reads)."""
    from multiview.results import load

    return sorted({load(f, "point").content["seed"] for f in out.glob("*.json")
                   if f.name != "sweep.json"})


def main() -> None:
    from multiview.cli import study_args
    from multiview.results import point_key, write_point
    from multiview.sweep import cached_point

    def options(ap):
        ap.add_argument("--only", default="", help="point names separated by ; (default: all)")
        ap.add_argument("--b-max", type=int, default=4000, help="most steps to look for B")
        ap.add_argument("--snaps", type=int, default=12,
                        help="snapshots in [B, 5B] for the feeders")
        ap.add_argument("--out", default="out/feeders")
        ap.add_argument("--table", action="store_true",
                        help="print the tables of every seed in OUT and exit")

    # the points' configs are POINTS' (each its preset and settings); --seed is one base seed
    args, _ = study_args(__doc__, seeds=5, config=False, options=options)
    out = Path(args.out)
    only = {s.strip() for s in args.only.split(";") if s.strip()}
    rows = []
    for seed in _seeds(out) if args.table else (args.seed,):
        for name, preset, sets in POINTS:
            if only and name not in only:
                continue
            cfg = config(preset, sets, args.b_max)
            key = point_key(cfg, METHODS, args.seeds, seed)
            point = cached_point(out, key, cfg, METHODS, log=print)
            if point is None or point["grid"].get("snaps") != args.snaps:
                if args.table:
                    continue
                write_point(out, key, {"name": name, "snaps": args.snaps}, METHODS, args.seeds,
                            seed, probe(cfg, args.seeds, seed, args.snaps))
                point = cached_point(out, key, cfg, METHODS, log=print)
                rec = point["result"]["feeders"]
                w = rec.get("post", {}).get("mean") or {}
                print(f"{name} seed {seed}: B {rec['B']}, {rec.get('steps')} steps, "
                      + " ".join(f"{f} {w.get(f, float('nan')):+.3f}" for f in FEEDERS)
                      + f"; {rec['seconds']:.0f} s", flush=True)
            rows.append(point["result"]["feeders"] | {"name": name, "seed": seed,
                                                      "b_max": args.b_max})
    print(format_table(rows))


if __name__ == "__main__":
    main()

"""Where the lottery survives long training, and what feeds the view a class did not win
(evidence for docs/studies/14-feeders-of-the-losing-view.md).

For every point of a one-at-a-time sweep and every base seed S it trains the L single models
of `multiview check --seed S` (their own data and initialisations) with plain GD, twice:

- stopped each at its first 100 % train accuracy (train.stop=train_acc, as `check` trains
  `single`; at most --b-max steps). B is the step at which the last of them fit. There ("at
  B"): views none / one / both, train, multi-view and single-view test accuracy, the
  ensemble's single-view accuracy, and T1 (train ≥ 0.99, multi-view ≥ 0.97, single-view in
  [0.35, 0.70], views one ≥ 0.7);
- with no stop for 5B steps (capped at --cap; a capped row says so), what `single_long` trains:
  the same numbers at 5B and T1.stable (views one ≥ 0.7, single-view in [0.35, 0.70]).

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

One JSON line per (point, seed) in OUT/points.jsonl; a rerun skips what is there. --table
prints the tables (mean [min, max] over the seeds of each point).

    python experiments/feeders.py --seed 0,1 --seeds 5 --out out/feeders
    python experiments/feeders.py --table --out out/feeders
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import time
from pathlib import Path

import numpy as np

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
LOTTERY_BAND = (0.7, 1.0)        # T1.lottery / T1.stable on views.one (multiview/theory.py)
SINGLE_BAND = (0.35, 0.70)       # T1.single on single-view test accuracy
TRAIN_MIN, MULTI_MIN = 0.99, 0.97
FEEDERS = ("noise", "single", "tail", "rest")


def _train(cfg, W, shared, steps: int, stop: str):
    """`steps` steps of GD on labels from W [L, k, m, d] with stopping rule `stop`."""
    from multiview.learners import fit_network

    tc = dataclasses.replace(cfg.train, steps=steps, stop=stop)
    return fit_network("labels", W, shared, None, tc, cfg, progress=False,
                       snapshots=stop == "none")


def trajectory(cfg, L: int, seed: int, cap: int, b_max: int):
    """The single models of `check --seed seed`, twice from their initialisations: stopped each
    at its first 100 % train accuracy (train.stop=train_acc, at most b_max steps: what `check`
    trains as `single`), and, when all fit (B = the last one's step), with no stop for 5B
    steps (at most cap) with snapshots after every chunk. GD has no state, so a member's
    stopped weights are the no-stop trajectory at its own fit step."""
    from multiview.data import make_problem
    from multiview.keys import data_key, stream_keys
    from multiview.learners import init_members, shared_inputs
    from multiview.recipe import fit_step

    problem = make_problem(data_key(seed), cfg.data)
    shared = shared_inputs(cfg, problem)
    W0 = init_members(stream_keys(seed, "single", L), cfg)
    stopped = _train(cfg, W0, shared, b_max, "train_acc")
    B = fit_step(stopped)
    if B is None:
        return problem, None, stopped, None
    return problem, B, stopped, _train(cfg, W0, shared, min(cap, 5 * B), "none")


def state(cfg, problem, W) -> tuple[dict, np.ndarray]:
    """Views and accuracies of the L members W at one time, and their Λ [L, k, 2]."""
    import jax

    from multiview.learners import logits_of
    from multiview.metrics import (learned_threshold, slice_accuracies, views_fractions,
                                   views_learned)
    from multiview.model import phi_lam

    lam = np.asarray(jax.vmap(lambda w: phi_lam(w, problem.views)[1])(W))
    te = logits_of(W, problem.test.x, cfg)
    tr = slice_accuracies(logits_of(W, problem.train.x, cfg), problem.train)
    t = slice_accuracies(te, problem.test)
    ens = slice_accuracies(te.mean(0), problem.test)
    out = {"views": views_fractions(views_learned(lam, learned_threshold(cfg.model))),
           "train_acc": float(np.mean(tr["acc"])), "test_acc_multi": float(np.mean(t["multi"])),
           "test_acc_single": float(np.mean(t["single"])),
           "ensemble_single": float(ens["single"]), "ensemble_multi": float(ens["multi"])}
    return out, lam


def t1_holds(s: dict) -> bool:
    return bool(s["train_acc"] >= TRAIN_MIN and s["test_acc_multi"] >= MULTI_MIN
                and SINGLE_BAND[0] <= s["test_acc_single"] <= SINGLE_BAND[1]
                and LOTTERY_BAND[0] <= s["views"]["one"] <= LOTTERY_BAND[1])


def stable_holds(s: dict) -> bool:
    return bool(LOTTERY_BAND[0] <= s["views"]["one"] <= LOTTERY_BAND[1]
                and SINGLE_BAND[0] <= s["test_acc_single"] <= SINGLE_BAND[1])


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


def one_point(preset: str, sets: list[str], L: int, seed: int, cap: int, b_max: int,
              n_snaps: int) -> dict:
    from multiview.config import resolve
    from multiview.data import train_features
    from multiview.keys import data_key
    from multiview.metrics import learned_threshold, views_learned

    t0 = time.perf_counter()
    cfg = resolve(preset, None, sets)
    problem, B, stopped, long = trajectory(cfg, L, seed, cap, b_max)
    at_fit, lam_fit = state(cfg, problem, stopped.params)
    at_fit["T1"] = t1_holds(at_fit)
    rec = {"B": B, "fit_steps": np.asarray(stopped.stopped_at).tolist(), "at_B": at_fit,
           "engine": stopped.engine}
    if B is None:                      # a member never fit: B and T1.stable undefined
        rec["seconds"] = time.perf_counter() - t0
        return rec
    T, snaps = long.steps_run, dict(long.snapshots)
    chunk = cfg.train.chunk
    thr = learned_threshold(cfg.model)
    at_T, _ = state(cfg, problem, snaps[T])
    at_T["T1.stable"] = stable_holds(at_T)
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
    rec.update(steps=T, capped=T < 5 * B, at_T=at_T, both_curve=both_curve, B_snap=B_snap,
               pairs=int(decided.size),
               post=window(B_snap, T, decided), pre_decided=window(0, B_snap, decided),
               pre_both=window(0, B_snap, count == 2), seconds=time.perf_counter() - t0)
    return rec


# --- the tables ----------------------------------------------------------------------------

def _stat(vals, fmt=".2f") -> str:
    v = [float(x) for x in vals if x is not None]
    if not v:
        return "n/a"
    if len(v) == 1:
        return format(v[0], fmt)
    return f"{np.mean(v):{fmt}} [{min(v):{fmt}}, {max(v):{fmt}}]"


def _get(rec, path):
    for key in path.split("/"):
        if rec is None:
            return None
        rec = rec.get(key) if isinstance(rec, dict) else None
    return rec


def _holds(recs, path) -> str:
    vals = [_get(r, path) for r in recs]
    known = [v for v in vals if v is not None]
    return f"{sum(map(bool, known))} of {len(vals)}" + (
        f" ({len(vals) - len(known)} n/a)" if len(known) < len(vals) else "")


def _share(recs, f, win="post") -> str:
    """f's share of the positive feed: f / (sum of the feeders that push up), per seed."""
    out = []
    for r in recs:
        w = _get(r, f"{win}/mean")
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
        steps = _stat([r["steps"] for r in ok], ".0f") + (
            " (capped)" if any(r["capped"] for r in ok) else "")
        v = lambda path, fmt=".2f": _stat([_get(r, path) for r in ok], fmt)  # noqa: E731
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
        ok = [r for r in recs if _get(r, f"{win}/mean")]
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default="", help="point names separated by ; (default: all)")
    ap.add_argument("--seed", default="0,1", help="base seeds, comma-separated")
    ap.add_argument("--seeds", type=int, default=5, help="members per run (L)")
    ap.add_argument("--cap", type=int, default=12000, help="most steps of the long run")
    ap.add_argument("--b-max", type=int, default=4000, help="most steps to look for B")
    ap.add_argument("--snaps", type=int, default=12, help="snapshots in [B, 5B] for the feeders")
    ap.add_argument("--out", default="out/feeders")
    ap.add_argument("--table", action="store_true", help="print the tables of OUT and exit")
    args = ap.parse_args()
    path = Path(args.out) / "points.jsonl"
    rows = [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []
    if not args.table:
        path.parent.mkdir(parents=True, exist_ok=True)
        only = {s.strip() for s in args.only.split(";") if s.strip()}
        done = {(r["name"], json.dumps(r["sets"]), r["seed"], r["L"], r["cap"]) for r in rows}
        for seed in (int(s) for s in args.seed.split(",")):
            for name, preset, sets in POINTS:
                if only and name not in only:
                    continue
                if (name, json.dumps(sets), seed, args.seeds, args.cap) in done:
                    continue
                rec = one_point(preset, sets, args.seeds, seed, args.cap, args.b_max,
                                args.snaps)
                rec.update(name=name, preset=preset, sets=sets, seed=seed, L=args.seeds,
                           cap=args.cap, b_max=args.b_max)
                with path.open("a") as f:
                    f.write(json.dumps(rec) + "\n")
                rows.append(rec)
                w = _get(rec, "post/mean") or {}
                print(f"{name} seed {seed}: B {rec['B']}, {rec.get('steps')} steps, "
                      + " ".join(f"{f} {w.get(f, float('nan')):+.3f}" for f in FEEDERS)
                      + f"; {rec['seconds']:.0f} s", flush=True)
    print(format_table(rows))


if __name__ == "__main__":
    main()

"""The theorems across k: the numbers of figures/theorems_vs_k and of docs/studies/20 from a
k-sweep folder (experiments/theorems_vs_k.sh: OBJECTIVE/seedS/ sweeps over data.k, read by
results.load(path, "ksweep")). Never trains.

Per objective and k, over the base seeds that finished that k:
- each method's single-view test accuracy (a base seed's value is its members' mean), with a
  paired percentile-bootstrap interval over the base seeds: one resample of the seeds serves
  every method and derived quantity alike (analysis.joint_resamples);
- kd's teacher share (kd - kd_twin) / (kd - labels_alone) of the seed means, resampled the same
  way, and the students' Λ/ϱ (the larger of kd's and self_distill's median, as
  students.bounded reads it);
- each theorem's pass rate: the share of base seeds on which every one of its predictions and
  controls that was run holds by its interval verdict (theory.VERDICTS groups "Theorems 3-4"
  with Theorems 3 and 4), and the predictions pooled over the base seeds (verdict.pool);
- the smallest k at which a theorem holds with all its controls on every base seed, among the
  k's with at least MIN_SEEDS base seeds (on one or two seeds "every seed" says little).
"""

from __future__ import annotations

import math

import numpy as np

from .analysis import (SHARE_FORMS, extrapolations, joint_resamples, k_at, percentile_ci,
                       share_fits, teacher_samples, teacher_share)

# theory and verdict (which import jax) are imported where they are used: the command line's
# help builds the figures' table, which imports this module

# the methods whose single-view accuracy the figure draws, in its legend's order
SHOWN = ("single", "ensemble", "kd", "kd_twin", "kd_smooth", "kd_shuffled", "self_distill")
# and the study's tables also give the label channel's controls beside kd_smooth, and kd_random
TABLED = SHOWN + ("kd_smooth_twin", "kd_smooth_fixed", "kd_random")
THEOREMS = ("Theorem 1", "Theorem 2", "Theorem 3", "Theorem 4")
MIN_SEEDS = 3      # base seeds a k needs before "holds on every base seed" counts there


def theorem_reads() -> dict[str, tuple[str, ...]]:
    """{theorem: the `theorem` values of the predictions its pass reads}: theory.VERDICTS's
    grouping ("Theorems 3-4", students.bounded, counts for Theorems 3 and 4)."""
    from .theory import VERDICTS

    return {name: VERDICTS.get(name, (name,)) for name in THEOREMS}


def by_k(runs: list[dict]) -> dict[int, list[tuple[int, dict]]]:
    """{k: [(base seed, check result)]} of one objective's runs (ksweep content's runs[obj])."""
    out: dict[int, list] = {}
    for run in runs:
        for point in run["points"]:
            k = int(point["result"]["config"]["data"]["k"])
            out.setdefault(k, []).append((run["seed"], point["result"]))
    return {k: sorted(v, key=lambda sv: sv[0]) for k, v in sorted(out.items())}


def _acc(result: dict, method: str) -> float:
    m = result["methods"].get(method)
    return float("nan") if m is None else float(m["test_acc_single"])


def _alone(result: dict) -> float:
    la = result.get("diagnostics", {}).get("labels_alone")
    return float("nan") if not la else float(la["test_acc_single"])


def _students_lam(result: dict) -> float:
    vals = [result["methods"][m].get("lam_over_varrho") for m in ("kd", "self_distill")
            if m in result["methods"]]
    vals = [v for v in vals if v is not None]
    return max(vals) if vals else float("nan")


def ratchet(res: list[dict]) -> dict | None:
    """kd's ratchet diagnostic (check's diagnostics.ratchet, the theorem update only) over the
    base seeds: the mean saturated share (pairs with τ²F ≥ 1), and the mean measured and
    predicted growth of Λ per step (in ϱ); None where no seed has it."""
    found = [r.get("diagnostics", {}).get("ratchet", {}).get("students", {}).get("kd")
             for r in res]
    found = [f for f in found if f]
    if not found:
        return None
    mean = lambda key: float(np.mean([f[key] for f in found]))  # noqa: E731
    return {"saturated_share": mean("saturated_share"), "growth": mean("lam_growth"),
            "predicted": mean("lam_growth_predicted"), "n": len(found)}


def passes(result: dict, reads: tuple[str, ...]) -> bool | None:
    """Whether every prediction of the theorem (those whose `theorem` is in `reads`, claims and
    controls) holds by its verdict on this run; None when the run has none of them."""
    preds = [p for p in result["predictions"] if p.get("theorem") in reads]
    if not preds:
        return None
    return all(p.get("verdict") == "holds" for p in preds)


def _interval(values: np.ndarray, idx: np.ndarray) -> list[float] | None:
    """The percentile interval of the mean over the resampled base seeds (idx); None with
    fewer than two seeds or an undefined value."""
    if len(values) < 2 or not np.all(np.isfinite(values)):
        return None
    return percentile_ci(values[idx].mean(1))


def at_k(results: list[tuple[int, dict]], resamples: int = 10_000, seed: int = 0) -> dict:
    """The numbers of one objective at one k from its base seeds' results."""
    seeds = [s for s, _ in results]
    res = [r for _, r in results]
    n = len(res)
    idx = joint_resamples(n, resamples, seed)
    acc = {}
    for m in TABLED:
        v = np.array([_acc(r, m) for r in res])
        acc[m] = {"mean": float(np.mean(v)), "per_seed": v.tolist(), "ci": _interval(v, idx)}
    kd, twin = (np.array([_acc(r, m) for r in res]) for m in ("kd", "kd_twin"))
    alone = np.array([_alone(r) for r in res])
    share = teacher_share(float(kd.mean()), float(twin.mean()), float(alone.mean()))
    share_ci, samples = None, np.full(resamples, np.nan)
    if n >= 2 and np.all(np.isfinite(kd + twin + alone)):
        # the same draws of base seeds as every column (joint_resamples at this seed)
        samples = teacher_samples({"kd": kd, "kd_twin": twin, "labels_alone": alone},
                                  resamples, seed)[0]
        share_ci = percentile_ci(samples)
    lam = np.array([_students_lam(r) for r in res])
    lam_single = np.array([r["methods"]["single"].get("lam_over_varrho") or float("nan")
                           for r in res])
    from .verdict import pool

    out_pass = {}
    for name, reads in theorem_reads().items():
        got = [passes(r, reads) for r in res]
        known = [g for g in got if g is not None]
        out_pass[name] = {"rate": (sum(known) / len(known)) if known else None,
                          "held": sum(known), "n": len(known)}
    return {"seeds": seeds, "n": n,
            "acc": acc, "ratchet": ratchet(res),
            "labels_alone": {"mean": float(alone.mean()), "per_seed": alone.tolist()},
            "teacher": {"mean": share, "ci": share_ci, "samples": samples},
            "students_lam": {"mean": float(np.mean(lam)), "per_seed": lam.tolist(),
                             "ci": _interval(lam, idx)},
            "single_lam": {"mean": float(np.mean(lam_single))},
            "passes": out_pass,
            "pooled": pool(res) if n >= 2 else []}


def theorems_vs_k(content: dict, resamples: int = 10_000, seed: int = 0,
                  min_seeds: int = MIN_SEEDS) -> dict:
    """{"objectives": {objective: {"k": [...], "at": {k: at_k(...)}, "smallest_k": {theorem:
    k or None}, "min_seeds": min_seeds}}} of a loaded k-sweep folder (results.load(path,
    "ksweep").content); smallest_k counts only the k's with at least min_seeds base seeds."""
    out = {}
    for objective, runs in content["runs"].items():
        per_k = by_k(runs)
        at = {k: at_k(rs, resamples, seed) for k, rs in per_k.items()}
        smallest = {}
        for name in THEOREMS:
            ks = [k for k, a in at.items() if a["passes"][name]["n"] == a["n"] >= min_seeds
                  and a["passes"][name]["rate"] == 1.0]
            smallest[name] = min(ks) if ks else None
        first = next(iter(per_k.values()))[0][1]["config"].get("distill", {})
        out[objective] = {"k": list(at), "at": at, "smallest_k": smallest,
                          "min_seeds": min_seeds,
                          "teacher_trend": teacher_trend(at),
                          "distill": {f: first.get(f) for f in ("objective", "alpha", "lr")}}
    return {"objectives": out}


def teacher_trend(at: dict, target: float = 0.5) -> dict:
    """Where T3.teacher (kd's teacher share) would reach its band's edge `target`: the share's
    fits against log k and 1/k over the k's with a share (analysis.share_fits; at least two),
    the better form's k at the target and that k's percentile interval over the resamples of
    each k's base seeds (an unreachable fit counts as +inf), and the share of resamples whose
    fit never reaches it; {} with fewer than two k's with a share."""
    ks = list(at)
    fits = share_fits(ks, [at[k]["teacher"]["mean"] for k in ks])
    if not fits:
        return {}
    form = fits["best"]
    samples = np.array([at[k]["teacher"]["samples"] for k in ks]).T
    ext = extrapolations(ks, samples, form, target)
    return {"form": form, "fits": {f: fits[f] for f in SHARE_FORMS}, "target": target,
            "k_at_target": k_at(fits[form], form, target), "k_ci": percentile_ci(ext),
            "never": float(np.mean(np.isinf(ext)))}


def _ci_text(ci) -> str:
    if not ci:
        return ""
    lo, hi = ("–" if v is None or not math.isfinite(v) else f"{v:.2f}" for v in ci)
    return f" [{lo}, {hi}]"


def table(prepared: dict) -> str:
    """The study's tables as Markdown: per objective, a row per k."""
    lines = []
    for objective, o in prepared["objectives"].items():
        lines += [f"**{objective}**", "",
                  "| k | seeds | " + " | ".join(TABLED) + " | labels_alone | T3.teacher | "
                  "students' Λ/ϱ | " + " | ".join(f"T{i} pass" for i in range(1, 5)) + " |",
                  "|" + "---|" * (len(TABLED) + 8)]
        for k in o["k"]:
            a = o["at"][k]
            cells = [f"{a['acc'][m]['mean']:.3f}{_ci_text(a['acc'][m]['ci'])}" for m in TABLED]
            t = a["teacher"]
            teacher = "n/a" if t["mean"] is None or not math.isfinite(t["mean"]) else \
                f"{t['mean']:.2f}{_ci_text(t['ci'])}"
            lam = a["students_lam"]["mean"]
            passes_ = [f"{p['held']}/{p['n']}" for p in a["passes"].values()]
            lines.append(f"| {k} | {a['n']} | " + " | ".join(cells)
                         + f" | {a['labels_alone']['mean']:.3f} | {teacher} | {lam:,.1f} | "
                         + " | ".join(passes_) + " |")
        rows = [(k, o["at"][k]["ratchet"]) for k in o["k"] if o["at"][k]["ratchet"]]
        if rows:
            lines += ["", "kd's ratchet (the theorem update), means over the base seeds:", "",
                      "| k | saturated share | Λ growth per step, measured | predicted "
                      "η′·\\|gap\\|·E[z]/k |", "|---|---|---|---|"]
            lines += [f"| {k} | {r['saturated_share']:.3f} | {r['growth']:.2f}ϱ | "
                      f"{r['predicted']:.2f}ϱ |" for k, r in rows]
        first = ", ".join(f"{t}: {'k = ' + str(k) if k else 'none measured'}"
                          for t, k in o["smallest_k"].items())
        few = [k for k in o["k"] if o["at"][k]["n"] < o["min_seeds"]]
        lines += ["", f"Smallest k at which each theorem holds with all its controls on every "
                      f"base seed: {first}" + (f" (k = {', '.join(map(str, few))}: fewer than "
                                               f"{o['min_seeds']} base seeds, not counted)"
                                               if few else "") + ".", ""]
        tr = o.get("teacher_trend")
        if tr:
            from .analysis import k_bound, k_text
            ci, target = tr["k_ci"], tr["target"]
            fit = f"the {tr['form']} fit (R² {tr['fits'][tr['form']]['r2']:.2f})"
            if tr["never"] == 1.0:
                said = f"{fit} never reaches {target}, nor does any resample's"
            else:
                said = (f"{fit} reaches {target} at " + (k_text(tr["k_at_target"]) if
                        tr["k_at_target"] is not None else "no k") + f" (95 % interval "
                        f"{k_bound(ci[0])} to {k_bound(ci[1])}; {100 * tr['never']:.0f} % of "
                        "resamples never)")
            lines += [f"T3.teacher's trend over k: {said}.", ""]
    return "\n".join(lines)


def pooled_table(prepared: dict, objective: str) -> str:
    """Every prediction's verdict pooled over the base seeds, a column per k (Markdown)."""
    o = prepared["objectives"][objective]
    ids = []
    for k in o["k"]:
        for p in o["at"][k]["pooled"]:
            if p["id"] not in ids:
                ids.append(p["id"])
    lines = ["| prediction | " + " | ".join(f"k = {k}" for k in o["k"]) + " |",
             "|---|" + "---|" * len(o["k"])]
    for pid in ids:
        cells = []
        for k in o["k"]:
            p = next((q for q in o["at"][k]["pooled"] if q["id"] == pid), None)
            if p is None or p["measured"] is None:
                cells.append("n/a")
            else:
                cells.append(f"{p['measured']:.3f}{_ci_text(p['ci'])} {p['verdict']}")
        lines.append(f"| {pid} | " + " | ".join(cells) + " |")
    return "\n".join(lines)

"""Run the learners on one configuration, compare with the theorems, report (check.json: README)."""

from __future__ import annotations

import math
import textwrap
import time

import jax
import numpy as np

from . import theory
from .config import Config
from .data import Dataset
from .losses import truncated_softmax
from .metrics import (ci_kind, confidence_interval, learned_threshold, slice_accuracies,
                      std_over_models, views_fractions, views_learned)
from .methods import METHOD_NAMES, METHODS, STAGES, stages_for
from .recipe import Run, train_methods
from .ratchet import diagnose as diagnose_ratchet
from .runtime import in_precision
from .verdict import limits as _limits

RUN_NAMES = {"sum": "sum_trained", "twin": "self_distill_twin", "alone": "labels_alone"}


def _defined(v) -> float | None:
    """float(v), or None where it is nan (undefined)."""
    v = float(v)
    return None if np.isnan(v) else v


def _record(train_logits, test_logits, train: Dataset, test: Dataset, view_counts,
            lam_ratio=None) -> dict:
    """Accuracies (mean, sample std `std_over_models` and 95 % confidence interval over the
    leading model axis), views learned and, for trained members, the median of Λ/ϱ over
    (model, class, view) at the end."""
    tr = slice_accuracies(train_logits, train)
    te = slice_accuracies(test_logits, test)
    values = {"train_acc": tr["acc"], "test_acc": te["acc"], "test_acc_multi": te["multi"],
              "test_acc_single": te["single"]}
    # an accuracy over an empty slice (mu = 0: no single-view test point) is undefined: None
    out = {name: _defined(np.mean(v)) for name, v in values.items()}
    out["std"] = {name: _defined(std_over_models(v)) for name, v in values.items()}
    out["per_model"] = {name: [_defined(x) for x in np.atleast_1d(v)] for name, v in values.items()}
    # 95 % intervals of the mean over the models (None for one model: an ensemble)
    out["ci"] = {name: confidence_interval(v) for name, v in out["per_model"].items()}
    out["ci_kind"] = ci_kind(len(out["per_model"]["train_acc"]))
    out["views"] = (views_fractions(view_counts) if view_counts is not None
                    else {"none": None, "one": None, "both": None})
    if view_counts is not None:    # per model too: the verdicts' intervals of view shares
        per = [views_fractions(c) for c in np.asarray(view_counts)]
        out["per_model"].update({f"views.{v}": [f[v] for f in per] for v in ("none", "one", "both")})
    out["lam_over_varrho"] = None if lam_ratio is None else float(np.median(lam_ratio))
    return out


def record_method(run: Run, method: str) -> dict:
    """The check.json record of one method of a trained run."""
    cfg, problem = run.cfg, run.problem
    stage, how = METHODS[method]
    lt, le = run.logits[method]
    lam = run.stages[stage].lam
    threshold = learned_threshold(cfg.model)
    if lam is None:
        counts, ratio = None, None
    elif how == "mean":   # a view counts as learned by an ensemble when any member learned it
        counts, ratio = views_learned(lam.max(0), threshold)[None], None
    else:
        counts, ratio = views_learned(lam, threshold), lam / cfg.model.varrho
    return _record(lt, le, problem.train, problem.test, counts, ratio)


def _diagnostics(run: Run) -> dict:
    """labels_alone (the students' paired baseline), the teacher's dark knowledge and the views
    each student kind gained over its label-only twin."""
    cfg, problem, st = run.cfg, run.problem, run.stages
    if "alone" not in st:
        return {}
    threshold = learned_threshold(cfg.model)
    alone = st["alone"]
    alone_learned = alone.lam >= threshold
    out = {"labels_alone": _record(alone.train_logits, alone.test_logits, problem.train,
                                   problem.test, views_learned(alone.lam, threshold),
                                   alone.lam / cfg.model.varrho),
           "dark_knowledge": {"ensemble_teacher": dark_knowledge(
               st["single"].train_logits.mean(0), problem.train, cfg)},
           "views_gained": {}}
    for name in ("kd", "self_distill", "kd_hard", "twin"):
        if name not in st:
            continue
        learned = st[name].lam >= threshold
        out["views_gained"]["self_distill_twin" if name == "twin" else name] = {
            "gained": float((learned & ~alone_learned).mean()),
            "lost": float((~learned & alone_learned).mean()),
            "labels_alone_both": float((alone_learned.sum(-1) == 2).mean())}
    if "self_distill" in st and "single" in st:
        out["self_distill_union"] = union_of_views(
            st["self_distill"].lam >= threshold, alone_learned, st["single"].lam >= threshold)
    return out


def union_of_views(student, own, teacher) -> dict:
    """Theorem 4's mechanism, per (student, class): does a self-distilled student end with the
    union of the views its own initialisation learns on labels (`own`, its label-only twin) and
    its teacher's? Boolean arrays [L, k, 2] of learned views, student l taught by member l.
    Shares of (student, class) pairs: `union_both` the union holds both views (the ceiling),
    `student_both` the student does; of (student, class, view) triples the student learned,
    `own` its twin learned too and `teacher_only` only its teacher did (copied, not united)."""
    union = own | teacher
    learned = student.sum()
    return {"union_both": float((union.sum(-1) == 2).mean()),
            "student_both": float((student.sum(-1) == 2).mean()),
            "covers_union": float((student | ~union).all(-1).mean()),
            "own": float((student & own).sum() / learned) if learned else None,
            "teacher_only": float((student & teacher & ~own).sum() / learned) if learned else None,
            "lost_own": float((own & ~student).sum() / max(own.sum(), 1))}


def report(run: Run, methods) -> dict:
    """The check.json record of a trained run (README): each method's record, the diagnostics,
    the predictions and the `run` block. `run_check` and the batched sweep both build it here."""
    results = {name: record_method(run, name) for name in METHOD_NAMES if name in methods}
    extra = _diagnostics(run)
    ratchet = diagnose_ratchet(run, RUN_NAMES)     # the theorem update's students only
    if ratchet is not None and ratchet["students"]:
        extra["ratchet"] = ratchet
    preds = theory.check(results, run.L, baselines=extra)
    # stages under the method names check.json has always used for them
    fits = {RUN_NAMES.get(name, name): r.trained.fit for name, r in run.stages.items()}
    run_info = {"steps_run": {n: f.steps_run for n, f in fits.items()},
                "stopped_at": {n: f.stopped_at.tolist() for n, f in fits.items()},
                "stage_seconds": {RUN_NAMES.get(n, n): r.seconds for n, r in run.stages.items()},
                "seconds": run.seconds, "backend": jax.default_backend(),
                "devices": run.cfg.train.devices,
                "engine": {RUN_NAMES.get(n, n): r.trained.fit.engine for n, r in run.stages.items()
                           if STAGES[n].learner in ("net", "net_long", "student")}}
    if run.student_steps is not None:
        run_info["student_steps"] = run.student_steps
    if run.read_back:
        # stages read back from a stages folder: their stage_seconds are those of the run
        # that trained them
        run_info["stages_read_back"] = [RUN_NAMES.get(n, n) for n in run.read_back]
    # the step of the teacher stage a student stage read (kd_random: 0; kd_early: the largest
    # off-class spread), where its teacher rule picked one
    picked = {n: r.target.step for n, r in run.stages.items()
              if r.target is not None and r.target.step is not None}
    if picked:
        run_info["teacher_steps"] = picked
    return {
        "config": run.cfg.to_dict(),
        "seed": run.seed,
        "seeds": list(range(run.L)),
        "methods": results,
        "predictions": preds,
        "diagnostics": extra,
        "run": run_info,
    }


@in_precision   # float64 configs compute in float64 (multiview/runtime.py)
def run_check(cfg: Config, L: int, seed: int = 0, methods=("single", "ensemble"),
              progress: bool = True, log=None, stages=None) -> dict:
    """Train what `methods` need (recipe.train_methods), then `report` the run. `stages`: a
    folder of finished stages to read back from and write to (multiview/results/stages.py)."""
    t0 = time.perf_counter()
    # stages_for refuses unknown methods (one message for every command)
    students = any(STAGES[s].learner == "student" for s in stages_for(methods))
    run = train_methods(cfg, L, seed, methods, extra_stages=("alone",) if students else (),
                        progress=progress, log=log, stages=stages)
    out = report(run, methods)
    out["run"]["seconds"] = time.perf_counter() - t0      # with the records and predictions
    return out


def dark_knowledge(teacher_logits, train: Dataset, cfg: Config) -> dict:
    """Teacher's soft output for off-class j on multi-view training points, with vs without a
    view of j among the point's off-class features: the softmax at T = 1, the theorem's
    logit^tau, the softmax at the temperature the students' objective reads (`softmax_T`,
    `distill_temperature`), and the mean off-class logit itself (`logit`: with, without, gap)."""
    off = np.asarray(train.off).any(-1)                                   # [n, k]
    y = np.asarray(train.y)
    multi = ~np.asarray(train.single)
    notown = np.ones_like(off)
    notown[np.arange(len(y)), y] = False
    with_v = off & notown & multi[:, None]
    without_v = ~off & notown & multi[:, None]

    def means(p):
        p = np.asarray(p)
        return (float(p[with_v].mean()) if with_v.any() else float("nan"),
                float(p[without_v].mean()) if without_v.any() else float("nan"))

    out = {}
    T = distill_temperature(cfg)
    for name, p in (("softmax", jax.nn.softmax(teacher_logits, -1)),
                    ("logit_tau", truncated_softmax(teacher_logits, cfg.distill.tau)),
                    ("softmax_T", jax.nn.softmax(np.asarray(teacher_logits) / T, -1))):
        a, b = means(p)
        out[name] = {"with_view": a, "without_view": b, "ratio": a / b if b > 0 else None}
    out["softmax_T"]["T"] = T
    a, b = means(teacher_logits)
    out["logit"] = {"with_view": a, "without_view": b, "gap": a - b}
    return out


def distill_temperature(cfg: Config) -> float:
    """The temperature at which distill.objective reads the teacher's softmax: distill.T for
    Hinton's KD; 1/tau for the theorem's logit^tau = softmax(min(tau^2 F, 1) / tau), which is
    softmax(tau F) below the truncation; 1 for logit matching (it matches the logits, whose
    softmax is the teacher's own distribution)."""
    objective = cfg.distill.objective
    if objective == "hinton":
        return float(cfg.distill.T)
    if objective.startswith("theorem"):
        return 1.0 / float(cfg.distill.tau)
    return 1.0


WIDTH = 100          # the printed block fits a 100-column terminal and a Jupyter cell
TWINS = ("kd_twin", "self_distill_twin")


def _num(v, width: int, fmt: str = ".3f") -> str:
    return f"{'n/a' if v is None else format(v, fmt):>{width}}"


def _interval(ci) -> str:
    """A [lo, hi] interval as text; '-' where it is undefined (fewer than 2 values)."""
    return "-" if not ci or None in ci else f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def _has_ci(methods: dict) -> bool:
    return any("ci" in m for m in methods.values())


def _row(name: str, m: dict, ci: bool = False) -> str:
    """One method's line: accuracies, std and (ci) 95 % interval of single-view accuracy,
    views none/one/both, median Λ/ϱ."""
    v = m["views"]
    views = ("".join(f"{v[k]:>6.2f}" for k in ("none", "one", "both")) if v["none"] is not None
             else f"{'-':>6}" * 3)
    interval = f"{_interval((m.get('ci') or {}).get('test_acc_single')):>16}" if ci else ""
    return (f"{name:<18}{_num(m['train_acc'], 6)}{_num(m['test_acc'], 6)}"
            f"{_num(m['test_acc_multi'], 6)}{_num(m['test_acc_single'], 7)}"
            f"{_num(m['std']['test_acc_single'], 7)}{interval}{views}"
            f"{_num(m.get('lam_over_varrho'), 10, '.3g')}")


def _bound(b: float) -> str:
    """A band's end with the digits it needs to decide (1e-9 is '0' to no number of digits)."""
    if b == int(b) and abs(b) >= 10:
        return str(int(b))
    return f"{b:.2f}" if abs(b - round(b, 2)) < 1e-12 else f"{b:.3g}"


def _expected(lo, hi, quantity: str) -> str:
    """A band as it decides: '[a, b]', '≥ a' / '≤ b' where the other end bounds nothing, and
    '> 0' / '< 0' for a strict sign (an end within 1e-6 of 0)."""
    lim_lo, lim_hi = _limits(quantity)
    open_lo = lo is None or not math.isfinite(lo) or lo <= lim_lo
    open_hi = hi is None or not math.isfinite(hi) or hi >= lim_hi
    strict_lo = not open_lo and 0 < lo < 1e-6
    strict_hi = not open_hi and -1e-6 < hi < 0
    if open_lo and open_hi:
        return "any"
    if open_hi:
        return "> 0" if strict_lo else f"≥ {_bound(lo)}"
    if open_lo:
        return "< 0" if strict_hi else f"≤ {_bound(hi)}"
    return f"[{_bound(lo)}, {_bound(hi)}]"


def _measured(v) -> str:
    if v is None:
        return "n/a"
    if 0 < abs(v) < 5e-4:         # 0.000 would hide which side of a '> 0' band it is on
        return f"{v:.1e}"
    return f"{v:.3f}" if abs(v) < 1000 else f"{v:.4g}"


# the verdict column: check.json's verdict in at most 6 characters
SHOWN = {"holds": "holds", "fails": "FAILS", "inconclusive": "unsure", None: "n/a"}


def verdict_of(p: dict) -> str | None:
    """A prediction's verdict; a file written before the field: its point estimate's."""
    if "verdict" in p:
        return p["verdict"]
    return {True: "holds", False: "fails", None: None}[p["holds"]]


def _prediction_row(p: dict) -> str:
    lo, hi = p["expected"]
    return (f"{p['id']:<17}{p['method']:<18}{p['quantity']:<36}{_measured(p['measured']):>8}"
            f" {_expected(lo, hi, p['quantity']):<12} {SHOWN[verdict_of(p)]}")


def _theorem(p: dict) -> str:
    """A prediction's theorem (files written before the field: its source without "(control)")."""
    return p.get("theorem") or p["source"].removesuffix(" (control)")


def _ids_with(group: list[dict], verdict: str | None) -> list[str]:
    """The ids of the predictions of `group` with this verdict."""
    return [p["id"] for p in group if verdict_of(p) == verdict]


def verdicts(result: dict) -> list[str]:
    """One line per theorem of theory.VERDICTS that has bands: whether the bands hold, then
    whether the controls agree, each by its verdict (holds / fails / inconclusive); a
    prediction counts for the theorems that read its `theorem`."""
    out = []
    for theorem, reads in theory.VERDICTS.items():
        preds = [p for p in result["predictions"] if _theorem(p) in reads]
        bands = [p for p in preds if not p.get("control")]
        controls = [p for p in preds if p.get("control")]
        if not bands:
            continue
        bad, unsure = _ids_with(bands, "fails"), _ids_with(bands, "inconclusive")
        failed, open_ = _ids_with(controls, "fails"), _ids_with(controls, "inconclusive")
        unknown = _ids_with(controls, None)
        if not controls:
            text = ("bands fail" if bad else
                    f"bands inconclusive ({', '.join(unsure)}) (no control run)" if unsure
                    else "bands hold (no control run)")
        else:
            text = (f"does not hold ({', '.join(bad)})" if bad else
                    f"inconclusive ({', '.join(unsure)})" if unsure else "holds")
            said = ([f"control fails ({', '.join(failed)})"] if failed else []) + (
                [f"control inconclusive ({', '.join(open_)})"] if open_ else [])
            if said:
                text += ("; " if bad or unsure else ", ") + "; ".join(said)
            elif not (bad or unsure):
                text += ", controls agree" + (f" ({', '.join(unknown)} n/a)" if unknown else "")
        out.append(f"{theorem}: {text}")
    return out


def _notes(result: dict) -> list[str]:
    """The footnotes of the methods block that apply to what was run, wrapped to WIDTH."""
    methods = result["methods"]
    notes = []
    if any(n in methods for n in TWINS):
        notes.append("kd_twin / self_distill_twin: each student distilled from its twin, its "
                     "own initialisation trained on labels alone: the control of kd / "
                     "self_distill.")
    if result.get("diagnostics", {}).get("labels_alone") is not None:
        notes.append("labels_alone: the students' initialisations trained like single.")
    if _has_ci(methods):
        kinds = sorted({m["ci_kind"] for m in methods.values() if m.get("ci_kind")})
        how = {"t": "t-interval", "bootstrap": "bootstrap"}
        notes.append("95% CI single: confidence interval of the mean single-view test "
                     f"accuracy over the {len(result.get('seeds', [])) or 'L'} models"
                     + (f" ({', '.join(how.get(k, k) for k in kinds)})" if kinds else "")
                     + "; '-' where it is undefined (an ensemble is one model).")
    return [line for n in notes for line in textwrap.wrap(n, WIDTH, subsequent_indent="  ")]


def format_table(result: dict) -> str:
    """Readable terminal table (at most WIDTH columns): each method with its control beside
    it, the students' paired baseline, then the predictions and one verdict line per theorem
    with a control."""
    ci = _has_ci(result["methods"])
    head = (f"{'method':<18}{'train':>6}{'test':>6}{'multi':>6}{'single':>7}{'± std':>7}"
            + (f"{'95% CI single':>16}" if ci else "")
            + f"{'none':>6}{'one':>6}{'both':>6}{'Λ/ϱ':>10}")
    views_at = 50 + (16 if ci else 0)        # where the none/one/both columns start
    lines = [f"{'':<{views_at}}{'views learned':^18}".rstrip(), head, "-" * len(head)]
    alone = result.get("diagnostics", {}).get("labels_alone")
    for name, m in result["methods"].items():
        lines.append(_row(name, m, ci))
        if name == "single" and alone is not None:
            lines.append(_row("  labels_alone", alone, ci))
    lines += _notes(result)
    lines.append("")
    head = (f"{'prediction':<17}{'method':<18}{'quantity':<36}{'measured':>8} "
            f"{'expected':<12} verdict")
    lines += [head, "-" * len(head)]
    lines += [_prediction_row(p) for p in result["predictions"]]
    if any(p.get("ci") is not None or p.get("verdict") == "inconclusive"
           for p in result["predictions"]):
        lines += textwrap.wrap("verdict: holds / FAILS where the 95% interval of the measured "
                               "value (over the members; multiview/verdict.py) lies inside / "
                               "outside the band, unsure where it crosses an edge; one model "
                               "(an ensemble) is judged by its value.", WIDTH,
                               subsequent_indent="  ")
    controls = [p["id"] for p in result["predictions"] if p.get("control")]
    if controls:
        lines += textwrap.wrap("controls (a claim holds for the right reason only where its "
                               f"control holds too): {', '.join(controls)}", WIDTH,
                               subsequent_indent="  ")
    v = verdicts(result)
    if v:
        lines += [""] + [w for line in v
                         for w in textwrap.wrap(line, WIDTH, subsequent_indent="  ")]
    lines += _ratchet_lines(result)
    return "\n".join(lines)


def _ratchet_lines(result: dict) -> list[str]:
    """Under the theorem update: which students saturate (τ²F >= 1 on at least
    ratchet.SATURATED of their (point, class) pairs) and, for the first of them, Λ's measured
    growth per step beside the predicted η′·|gap|·E[z]/k (multiview/ratchet.py)."""
    r = result.get("diagnostics", {}).get("ratchet")
    if not r:
        return []
    st = r["students"]
    sat = [n for n, d in st.items() if d["saturated"]]
    text = (f"Ratchet (theorem update): students saturate (τ²F ≥ 1 on ≥ {r['saturated_at']:.0%} "
            f"of (point, class) pairs): {', '.join(sat) if sat else 'none'}.")
    first = next((n for n in sat if st[n]["lam_growth_predicted"] is not None), None)
    if first:
        d = st[first]
        text += (f" {first}: {d['saturated_share']:.1%} saturated (teacher "
                 f"{d['teacher_saturated_share']:.1%}); Λ grows {_num(d['lam_growth'], 0, '.3g')}ϱ"
                 f" per step, predicted η′·|gap|·E[z]/k = {d['lam_growth_predicted']:.3g}ϱ "
                 f"(gap {d['gap']:.3f}, E[z] {d['Ez']:.3f}); largest per-step |ΔF| "
                 f"{_num(d['max_step_dF'], 0, '.3g')}.")
    return [""] + textwrap.wrap(text, WIDTH, subsequent_indent="  ")

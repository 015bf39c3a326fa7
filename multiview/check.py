"""Run the learners on one configuration, compare with the theorems, report (check.json: README)."""

from __future__ import annotations

import time

import jax
import numpy as np

from . import theory
from .config import Config
from .data import Dataset
from .losses import truncated_softmax
from .metrics import learned_threshold, slice_accuracies, views_fractions, views_learned
from .methods import METHOD_NAMES as METHODS
from .methods import METHODS as TABLE
from .methods import STAGES, stages_for
from .recipe import Run, method_logits, students_steps, train_methods

RUN_NAMES = {"sum": "sum_trained", "twin": "self_distill_twin", "alone": "labels_alone"}


def _defined(v) -> float | None:
    """float(v), or None where it is nan (undefined)."""
    v = float(v)
    return None if np.isnan(v) else v


def _record(train_logits, test_logits, train: Dataset, test: Dataset, view_counts,
            lam_ratio=None) -> dict:
    """Accuracies (mean and std over the leading model axis), views learned and, for trained
    members, the median of Λ/ϱ over (model, class, view) at the end."""
    tr = slice_accuracies(train_logits, train)
    te = slice_accuracies(test_logits, test)
    values = {"train_acc": tr["acc"], "test_acc": te["acc"], "test_acc_multi": te["multi"],
              "test_acc_single": te["single"]}
    # an accuracy over an empty slice (mu = 0: no single-view test point) is undefined: None
    out = {name: _defined(np.mean(v)) for name, v in values.items()}
    out["std"] = {name: _defined(np.std(v)) for name, v in values.items()}
    out["per_model"] = {name: [_defined(x) for x in np.atleast_1d(v)] for name, v in values.items()}
    out["views"] = (views_fractions(view_counts) if view_counts is not None
                    else {"none": None, "one": None, "both": None})
    out["lam_over_varrho"] = None if lam_ratio is None else float(np.median(lam_ratio))
    return out


def record_method(run: Run, method: str) -> dict:
    """The check.json record of one method of a trained run."""
    cfg, problem = run.cfg, run.problem
    stage, how = TABLE[method]
    lt, le = method_logits(run, method)
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
    return out


def run_check(cfg: Config, L: int, seed: int = 0, methods=("single", "ensemble"),
              progress: bool = True, log=None) -> dict:
    """Train what `methods` need (recipe.train_methods), record each method, check the theory."""
    t0 = time.perf_counter()
    # stages_for refuses unknown methods (one message for every command)
    students = any(STAGES[s].learner == "student" for s in stages_for(methods))
    run = train_methods(cfg, L, seed, methods, extra_stages=("alone",) if students else (),
                        progress=progress, log=log)
    results = {name: record_method(run, name) for name in METHODS if name in methods}
    extra = _diagnostics(run)
    preds = theory.check(results, L, baselines=extra)
    # stages under the method names check.json has always used for them
    fits = {RUN_NAMES.get(name, name): r.trained.fit for name, r in run.stages.items()}
    run_info = {"steps_run": {n: f.steps_run for n, f in fits.items()},
                "stopped_at": {n: f.stopped_at.tolist() for n, f in fits.items()},
                "stage_seconds": {RUN_NAMES.get(n, n): r.seconds for n, r in run.stages.items()},
                "seconds": time.perf_counter() - t0, "backend": jax.default_backend(),
                "devices": cfg.train.devices,
                "engine": {RUN_NAMES.get(n, n): r.trained.fit.engine for n, r in run.stages.items()
                           if STAGES[n].learner in ("net", "student")}}
    if run.budget is not None:
        run_info["student_steps"] = students_steps(run)
    return {
        "config": cfg.to_dict(),
        "seed": seed,
        "seeds": list(range(L)),
        "methods": results,
        "predictions": preds,
        "diagnostics": extra,
        "run": run_info,
    }


def dark_knowledge(teacher_logits, train: Dataset, cfg: Config) -> dict:
    """Teacher's soft output for off-class j on multi-view training points, with vs without a
    view of j among the point's off-class features (softmax, and the theorem's logit^tau)."""
    off = np.asarray(train.off).any(-1)                                   # [n, k]
    y = np.asarray(train.y)
    multi = ~np.asarray(train.single)
    notown = np.ones_like(off)
    notown[np.arange(len(y)), y] = False
    with_v = off & notown & multi[:, None]
    without_v = ~off & notown & multi[:, None]
    out = {}
    for name, p in (("softmax", jax.nn.softmax(teacher_logits, -1)),
                    ("logit_tau", truncated_softmax(teacher_logits, cfg.distill.tau))):
        p = np.asarray(p)
        a = float(p[with_v].mean()) if with_v.any() else float("nan")
        b = float(p[without_v].mean()) if without_v.any() else float("nan")
        out[name] = {"with_view": a, "without_view": b, "ratio": a / b if b > 0 else None}
    return out


def _row(name: str, m: dict) -> str:
    def num(v, width, fmt=".3f"):
        return f"{'n/a' if v is None else format(v, fmt):>{width}}"
    v = m["views"]
    views = (f"{v['none']:>8.2f}{v['one']:>7.2f}{v['both']:>7.2f}" if v["none"] is not None
             else f"{'-':>8}{'-':>7}{'-':>7}")
    return (f"{name:<20}{num(m['train_acc'], 7)}{num(m['test_acc'], 7)}"
            f"{num(m['test_acc_multi'], 7)}{num(m['test_acc_single'], 8)}"
            f"{num(m['std']['test_acc_single'], 9)}{views}"
            f"{num(m.get('lam_over_varrho'), 8, '.3g')}")


def verdicts(result: dict) -> list[str]:
    """One line per theorem with a control: the bands, then whether the control agrees."""
    out = []
    for theorem in ("Theorem 3", "Theorem 4"):
        preds = [p for p in result["predictions"] if p["source"].startswith(theorem)
                 or (p["source"].startswith("Theorems 3-4") and theorem != "")]
        bands = [p for p in preds if not p.get("control")]
        controls = [p for p in preds if p.get("control")]
        if not bands:
            continue
        bands_hold = not any(p["holds"] is False for p in bands)
        failed = [p["id"] for p in controls if p["holds"] is False]
        unknown = [p["id"] for p in controls if p["holds"] is None]
        if not controls:
            text = "bands hold (no control run)" if bands_hold else "bands fail"
        elif bands_hold and failed:
            text = f"holds, control fails ({', '.join(failed)})"
        elif bands_hold:
            text = "holds, controls agree" + (f" ({', '.join(unknown)} n/a)" if unknown else "")
        else:
            bad = [p["id"] for p in bands if p["holds"] is False]
            text = f"does not hold ({', '.join(bad)})" + (
                f"; control fails ({', '.join(failed)})" if failed else "")
        out.append(f"{theorem}: {text}")
    return out


def format_table(result: dict) -> str:
    """Readable terminal table: each method with its control beside it, the students' paired
    baseline, then the predictions and one verdict line per theorem with a control."""
    lines = []
    head = (f"{'method':<20}{'train':>7}{'test':>7}{'multi':>7}{'single':>8}{'± single':>9}"
            f"{'views none/one/both':>22}{'Λ/ϱ':>8}")
    lines += [head, "-" * len(head)]
    alone = result.get("diagnostics", {}).get("labels_alone")
    for name, m in result["methods"].items():
        lines.append(_row(name, m))
        if name == "single" and alone is not None:
            lines.append(_row("  labels_alone", alone))
    lines.append("(kd_twin / self_distill_twin: each student distilled from its twin, its own "
                 "initialisation trained on labels alone: the control of kd / self_distill; "
                 "labels_alone: the students' initialisations trained like single)")
    lines.append("")
    head = f"{'prediction':<18}{'source':<24}{'method':<18}{'quantity':<32}{'measured':>9}" \
           f"{'expected':>15}  holds"
    lines += [head, "-" * len(head)]
    for p in result["predictions"]:
        lo, hi = p["expected"]
        measured = "n/a" if p["measured"] is None else f"{p['measured']:.3f}"
        holds = {True: "yes", False: "NO", None: "n/a"}[p["holds"]]
        lines.append(f"{p['id']:<18}{p['source']:<24}{p['method']:<18}{p['quantity']:<32}"
                     f"{measured:>9}{f'[{lo:.2f}, {hi:.2f}]':>15}  {holds}")
    v = verdicts(result)
    if v:
        lines += [""] + v
    return "\n".join(lines)

"""Run the learners on one configuration, compare with the theorems, report (check.json: README)."""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

from . import theory
from .config import Config
from .data import Dataset, make_problem
from .keys import member_keys, stream_keys
from .learners import (logits_of, ntk_eval_logits, rf_eval_logits, train_ntk, train_rf,
                       step_budget, student_steps, train_single, train_students,
                       truncated_softmax)
from .model import phi_lam
from .metrics import slice_accuracies, views_fractions, views_learned

METHODS = ("single", "ensemble", "kd", "self_distill", "ensemble_kd", "sum_trained", "kd_hard",
           "self_distill_twin",
           "rf_single", "rf_ensemble", "rf_sum", "rf_kd",
           "ntk_single", "ntk_ensemble", "ntk_sum", "ntk_kd")


def _defined(v) -> float | None:
    """float(v), or None where it is nan (undefined)."""
    v = float(v)
    return None if np.isnan(v) else v


def _record(train_logits, test_logits, train: Dataset, test: Dataset, view_counts) -> dict:
    """Accuracies (mean and std over the leading model axis) and views learned."""
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
    return out


def _needed(methods) -> set[str]:
    """Methods plus what they are built from."""
    need = set(methods)
    if need & {"ensemble", "kd", "self_distill", "ensemble_kd", "kd_hard", "self_distill_twin"}:
        need.add("single")
    if "ensemble_kd" in need:
        need.add("kd")
    for fam in ("rf", "ntk"):
        if need & {f"{fam}_ensemble", f"{fam}_kd"}:
            need.add(f"{fam}_single")
    return need


def run_check(cfg: Config, L: int, seed: int = 0, methods=("single", "ensemble"),
              progress: bool = True) -> dict:
    """Train what `methods` need and return the SPEC section 6 result dict."""
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"--methods: unknown {', '.join(unknown)}; allowed: {', '.join(METHODS)}")
    t0 = time.perf_counter()
    need = _needed(methods)
    data_key, keys = member_keys(seed, L)
    problem = make_problem(data_key, cfg.data)
    train, test = problem.train, problem.test
    threshold = cfg.model.learned_factor * cfg.model.varrho
    res: dict[str, dict] = {}
    extra: dict = {}
    run_info = {"steps_run": {}, "stopped_at": {}}

    def lam_counts(lam):
        return views_learned(lam, threshold)

    def net_eval(W):
        return logits_of(W, train.x, cfg), logits_of(W, test.x, cfg)

    def note(name, tr):
        run_info["steps_run"][name] = tr.fit.steps_run
        run_info["stopped_at"][name] = tr.fit.stopped_at.tolist()

    if "single" in need:
        single = train_single(keys, cfg, problem, progress=progress, desc=f"single ×{L}")
        note("single", single)
        s_tr, s_te = net_eval(single.params)
        lam = single.fit.history["lam"][-1]
        res["single"] = _record(s_tr, s_te, train, test, lam_counts(lam))
        # a view counts as learned by the ensemble when any member learned it
        res["ensemble"] = _record(s_tr.mean(0), s_te.mean(0), train, test,
                                  lam_counts(lam.max(0))[None])
        ens_teacher = s_tr.mean(0)
        budget = step_budget(single.fit, cfg)
        run_info["student_steps"] = student_steps(cfg, budget)
    student_keys = stream_keys(seed, "student", L)
    if need & {"kd", "self_distill", "kd_hard", "self_distill_twin"}:
        # the counterfactual: the students' own initialisations trained on labels alone
        alone = train_single(student_keys, cfg, problem, progress=progress, desc=f"labels-only ×{L}")
        alone_learned = alone.fit.history["lam"][-1] >= threshold
        alone_train_logits = logits_of(alone.params, train.x, cfg)
        # the students' paired baseline: same initialisations, labels, single's stopping rule
        extra["labels_alone"] = _record(alone_train_logits, logits_of(alone.params, test.x, cfg),
                                        train, test, lam_counts(alone.fit.history["lam"][-1]))
        extra["dark_knowledge"] = {"ensemble_teacher": dark_knowledge(ens_teacher, train, cfg)}
        extra["views_gained"] = {}
    for name, teacher, per_member, objective in (
            ("kd", "ensemble", False, None), ("self_distill", "single", True, None),
            ("kd_hard", "ensemble", False, "hard"), ("self_distill_twin", "twin", True, None)):
        if name not in need:
            continue
        G = {"ensemble": ens_teacher, "single": s_tr, "twin": alone_train_logits}[teacher]
        st = train_students(student_keys, cfg, problem, G, per_member=per_member,
                            objective=objective, steps=budget, progress=progress,
                            desc=f"{name} ×{L}")
        note(name, st)
        st_tr, st_te = net_eval(st.params)
        lam = st.fit.history["lam"][-1]
        res[name] = _record(st_tr, st_te, train, test, lam_counts(lam))
        learned = lam >= threshold
        extra["views_gained"][name] = {
            "gained": float((learned & ~alone_learned).mean()),
            "lost": float((~learned & alone_learned).mean()),
            "labels_alone_both": float((alone_learned.sum(-1) == 2).mean())}
        if name == "kd":
            kd_logits, kd_lam = (st_tr, st_te), lam
    if "ensemble_kd" in need:
        res["ensemble_kd"] = _record(kd_logits[0].mean(0), kd_logits[1].mean(0), train, test,
                                     lam_counts(kd_lam.max(0))[None])
    if "sum_trained" in need:
        S = cfg.train.sum_models
        sm = train_single(stream_keys(seed, "sum", S), cfg, problem, m=L * cfg.model.m,
                          progress=progress, desc=f"sum of {L} ×{S}")
        note("sum_trained", sm)
        res["sum_trained"] = _record(*net_eval(sm.params), train, test,
                                     lam_counts(sm.fit.history["lam"][-1]))
    for fam, trainer, evaluator in (("rf", train_rf, rf_eval_logits),
                                    ("ntk", train_ntk, ntk_eval_logits)):
        if not any(n.startswith(fam + "_") for n in need):
            continue
        kw_sum = {"width": L * cfg.fixed.rf_width} if fam == "rf" else {"m": L * cfg.model.m}

        def record(tr, mean=False):
            lt, le = evaluator(tr, train.x, cfg), evaluator(tr, test.x, cfg)
            counts = None
            if fam == "ntk":
                lam = jax.vmap(lambda D, W0: phi_lam(D + W0, problem.views)[1])(
                    tr.params, tr.extra["W0"])
                counts = lam_counts(lam.max(0))[None] if mean else lam_counts(lam)
            if mean:
                lt, le = lt.mean(0), le.mean(0)
            return _record(lt, le, train, test, counts), lt

        if f"{fam}_single" in need:
            one = trainer(stream_keys(seed, fam, L), cfg, problem, progress=progress,
                          desc=f"{fam}_single ×{L}")
            note(f"{fam}_single", one)
            res[f"{fam}_single"], _ = record(one)
            res[f"{fam}_ensemble"], fam_teacher = record(one, mean=True)
        if f"{fam}_sum" in need:
            S = cfg.train.sum_models
            sm = trainer(stream_keys(seed, f"{fam}_sum", S), cfg, problem, progress=progress,
                         desc=f"{fam}_sum ×{S}", **kw_sum)
            note(f"{fam}_sum", sm)
            res[f"{fam}_sum"], _ = record(sm)
        if f"{fam}_kd" in need:
            st = trainer(stream_keys(seed, f"{fam}_kd", L), cfg, problem, teacher=fam_teacher,
                         objective=cfg.fixed.kd_objective, progress=progress,
                         desc=f"{fam}_kd ×{L}")
            note(f"{fam}_kd", st)
            res[f"{fam}_kd"], _ = record(st)
    results = {name: res[name] for name in METHODS if name in methods}
    preds = theory.check(results, L)
    run_info.update({"seconds": time.perf_counter() - t0, "backend": jax.default_backend(),
                     "devices": cfg.train.devices})
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


def _num(v, width: int) -> str:
    """A number right-aligned in `width` characters, 'n/a' for None (undefined)."""
    return f"{'n/a':>{width}}" if v is None else f"{v:>{width}.3f}"


def format_table(result: dict) -> str:
    """Readable terminal table: per method accuracies and views; then predictions."""
    lines = []
    head = f"{'method':<18}{'train':>8}{'test':>8}{'multi':>8}{'single':>8}{'± single':>10}" \
           f"{'views none/one/both':>22}"
    lines += [head, "-" * len(head)]
    for name, m in result["methods"].items():
        v = m["views"]
        views = (f"{v['none']:>8.2f}{v['one']:>7.2f}{v['both']:>7.2f}" if v["none"] is not None
                 else f"{'-':>8}{'-':>7}{'-':>7}")
        lines.append(f"{name:<18}{_num(m['train_acc'], 8)}{_num(m['test_acc'], 8)}"
                     f"{_num(m['test_acc_multi'], 8)}{_num(m['test_acc_single'], 8)}"
                     f"{_num(m['std']['test_acc_single'], 10)}{views}")
    lines.append("")
    head = f"{'prediction':<16}{'source':<23}{'method':<18}{'quantity':<28}{'measured':>9}" \
           f"{'expected':>15}  holds"
    lines += [head, "-" * len(head)]
    for p in result["predictions"]:
        lo, hi = p["expected"]
        measured = "n/a" if p["measured"] is None else f"{p['measured']:.3f}"
        lines.append(f"{p['id']:<16}{p['source']:<23}{p['method']:<18}{p['quantity']:<28}"
                     f"{measured:>9}{f'[{lo:.2f}, {hi:.2f}]':>15}  "
                     f"{ {True: 'yes', False: 'NO', None: 'n/a'}[p['holds']]}")
    return "\n".join(lines)

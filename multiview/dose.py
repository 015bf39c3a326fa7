"""Teacher dose-response: does a student gain the views its teacher knows and it lacks?

Student l (the `student` stream's initialisation l) is distilled from teachers that know a
growing share of the (class, view) pairs its label-only twin did not learn:
- `twin`:     its twin itself (share 0 by construction: the control of kd and self_distill);
- `single`:   one independent single model (member l of `single`: self-distillation);
- `ens-j`:    the ensemble of single members l, l+1, ..., l+j-1 (cyclically), j = 2, 4, ..., L
              (j = L is the ensemble of `kd`).
For each teacher: the share of the student's missing pairs the teacher knows (a pair is known
when some member of the teacher learned it: Λ ≥ learned_factor·ϱ), the share the student gained,
its single-view test accuracy and the median Λ/ϱ of its views. The paper's mechanism predicts
that the gained share rises with the known share; a flat line means the objective, not the
teacher, produces the gain. All students of all teachers train in one vmapped `fit` call with the
students' budget (recipe.train_methods trains the single models and twins first).
"""

from __future__ import annotations

import time

import jax.numpy as jnp
import numpy as np

from .config import Config
from .keys import stream_keys
from .learners import logits_of, train_students
from .metrics import learned_threshold, slice_accuracies, std_over_models
from .recipe import student_steps, train_methods
from .runtime import in_precision


def teacher_sizes(L: int) -> list[int]:
    """Ensemble sizes 2, 4, 8, ... below L, and L."""
    sizes, j = [], 2
    while j < L:
        sizes.append(j)
        j *= 2
    return sizes + [L] if L >= 2 else []


def cyclic_members(L: int, size: int) -> np.ndarray:
    """[L, size] member indices: student l's teacher ensemble is l, l+1, ..., l+size-1 mod L."""
    return (np.arange(L)[:, None] + np.arange(size)[None, :]) % L


def _share(mask: np.ndarray, of: np.ndarray) -> float:
    """Pooled fraction: |mask & of| / |of| over (student, class, view); nan when `of` is empty."""
    n = of.sum()
    return float((mask & of).sum() / n) if n else float("nan")


@in_precision   # float64 configs compute in float64 (multiview/runtime.py)
def run_dose(cfg: Config, L: int, seed: int = 0, sizes=None, progress: bool = True,
             log=None) -> dict:
    """Train the single models and twins, then students from every teacher; return the record."""
    t0 = time.perf_counter()
    sizes = teacher_sizes(L) if sizes is None else list(sizes)
    run = train_methods(cfg, L, seed, ("single",), extra_stages=("alone",), progress=progress,
                        log=log)
    problem, single, alone = run.problem, run.stages["single"], run.stages["alone"]
    thr = learned_threshold(cfg.model)
    single_known = single.lam >= thr                              # [L, k, 2]
    lacking = ~(alone.lam >= thr)                                 # the students' missing pairs

    teachers = [("twin", 0, alone.train_logits, alone.lam >= thr),
                ("single", 1, single.train_logits, single_known)]
    for j in sizes:
        idx = cyclic_members(L, j)
        teachers.append((f"ens-{j}", j, single.train_logits[idx].mean(1),
                         single_known[idx].any(1)))
    T = len(teachers)
    G = jnp.asarray(np.concatenate([t[2] for t in teachers]))    # [T*L, n, k]
    keys = jnp.tile(stream_keys(seed, "student", L), (T, 1))
    st = train_students(keys, cfg, problem, G, per_member=True,
                        steps=student_steps(cfg, run.budget),
                        progress=progress, desc=f"dose: {T} teachers × {L} students")
    lam = np.asarray(st.fit.history["lam"][-1]).reshape(T, L, cfg.data.k, 2)
    test = np.asarray(logits_of(st.params, problem.test.x, cfg)).reshape(T, L, -1, cfg.data.k)
    rows = []
    for t, (name, size, _, known) in enumerate(teachers):
        acc = slice_accuracies(test[t], problem.test)["single"]
        rows.append({"teacher": name, "size": size,
                     "share_known": _share(known, lacking),
                     "share_gained": _share(lam[t] >= thr, lacking),
                     "test_acc_single": float(np.mean(acc)), "std": std_over_models(acc),
                     "lam_over_varrho": float(np.median(lam[t] / cfg.model.varrho))})
    x = np.array([r["share_known"] for r in rows])
    y = np.array([r["share_gained"] for r in rows])
    ok = np.isfinite(x) & np.isfinite(y)
    slope = float(np.polyfit(x[ok], y[ok], 1)[0]) if ok.sum() >= 2 and np.ptp(x[ok]) > 0 else None
    base = slice_accuracies(alone.test_logits, problem.test)["single"]
    return {"format": "multiview.dose/1", "config": cfg.to_dict(), "seed": seed, "L": L,
            "student_steps": int(st.fit.steps_run), "teachers": rows,
            "labels_alone": {"test_acc_single": float(np.mean(base)),
                             "missing_pairs": float(lacking.mean())},
            "slope": slope,
            "run": {"seconds": time.perf_counter() - t0}}


def format_dose(rec: dict) -> str:
    lines = [f"{'teacher':<10}{'knows':>8}{'gained':>8}{'single-view':>13}{'Λ/ϱ':>10}",
             "-" * 49]
    for r in rec["teachers"]:
        lines.append(f"{r['teacher']:<10}{r['share_known']:>8.2f}{r['share_gained']:>8.2f}"
                     f"{r['test_acc_single']:>13.3f}{r['lam_over_varrho']:>10.3g}")
    a = rec["labels_alone"]
    slope = "n/a" if rec["slope"] is None else f"{rec['slope']:.2f}"
    lines.append(f"(students' own initialisations on labels: {a['test_acc_single']:.3f} "
                 f"single-view, missing {a['missing_pairs']:.2f} of (class, view) pairs; "
                 f"slope of gained on known: {slope}; the mechanism predicts a rising line)")
    return "\n".join(lines)

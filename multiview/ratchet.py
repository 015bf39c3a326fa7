"""The ratchet of the theorem update as a diagnostic (docs/learners.md, "The ratchet diagnosed").

Once every class of a student has τ²F ≥ 1 on a point, the student's logit^τ there is 1/k
whatever F is. The one-sided gap on the label, gap = 1/k − logit^τ_y(G) < 0, then never
closes, and nothing in the update lowers a class: each own view of a class grows by
η′·|gap|·E[z]/k per step (η′ = η·distill.eta_ratio; a point's push on its label's views is
η′·|gap|·Z/N, and 1/k of the N points have that label). For each student stage of a run this
module measures the saturation, the per-step change of F and the growth of Λ, beside the
prediction, from what the run already holds: the final training logits, the students' Λ
history and their last two snapshots (recipe keeps them under the theorem update).
"""

from __future__ import annotations

import numpy as np

from .learners import logits_of
from .losses import truncated_softmax
from .methods import STAGES
from .recipe import Run

# a student counts as saturated when this share of its (point, class) pairs has τ²F >= 1
SATURATED = 0.9


def saturated_share(logits, tau: float) -> float:
    """Share of the (member, point, class) entries of logits [..., n, k] with τ²F >= 1."""
    return float((tau ** 2 * np.asarray(logits) >= 1.0).mean())


def gap_and_z(teacher_logits, y, Z, tau: float) -> tuple[float, float]:
    """gap = 1/k − the teacher's mean logit^τ on the label (over points, and members when
    teacher_logits is [L, n, k]); E[z] = the mean over training points and both own views of
    the view's total weight Z (Z [n, k, 2])."""
    G = np.asarray(teacher_logits)
    y = np.asarray(y)
    k = G.shape[-1]
    p = np.asarray(truncated_softmax(G, tau))
    on_label = p[..., np.arange(len(y)), y]
    own = np.asarray(Z)[np.arange(len(y)), y]            # [n, 2]
    return float(1.0 / k - on_label.mean()), float(own.mean())


def predicted_growth(gap: float, ez: float, k: int, eta_prime: float, varrho: float) -> float:
    """Λ's growth per step in units of ϱ once the student is saturated: η′·|gap|·E[z]/(k ϱ)
    where the gap is negative (0 where the student can reach its teacher: no ratchet)."""
    return eta_prime * max(-gap, 0.0) * ez / (k * varrho)


def measured_growth(lam_history, varrho: float) -> float | None:
    """Λ's mean growth per step over the second half of training, in units of ϱ: the mean
    over (member, class, view) of (Λ_end − Λ_half) / (steps between) / ϱ; lam_history
    [steps, L, k, 2]. None with fewer than 2 steps."""
    lam = np.asarray(lam_history)
    end, half = len(lam) - 1, (len(lam) - 1) // 2
    if end - half < 1:
        return None
    return float((lam[end] - lam[half]).mean() / (end - half) / varrho)


def max_step_change(snapshots, x, cfg) -> float | None:
    """The largest per-step |ΔF| over the last chunk: max over (member, point, class) of
    |F_end − F_before| / (steps between) from the last two snapshots [(step, W)]."""
    if len(snapshots) < 2:
        return None
    (s0, W0), (s1, W1) = snapshots[-2], snapshots[-1]
    if s1 <= s0:
        return None
    F0, F1 = (np.asarray(logits_of(W, x, cfg)) for W in (W0, W1))
    return float(np.abs(F1 - F0).max() / (s1 - s0))


def diagnose(run: Run, names: dict | None = None) -> dict | None:
    """The ratchet block of check.json for the theorem update (None for other objectives):
    per student stage (named by `names`, else its stage name) the saturated shares of the
    students and of their teacher, the largest per-step |ΔF|, and Λ's measured growth per step
    beside the predicted one with the gap and E[z] it is computed from."""
    cfg, problem = run.cfg, run.problem
    if cfg.distill.objective != "theorem":
        return None
    tau, k, varrho = cfg.distill.tau, cfg.data.k, cfg.model.varrho
    eta_prime = (cfg.distill.lr or cfg.train.lr) * cfg.distill.eta_ratio
    names = names or {}
    students = {}
    for name, r in run.stages.items():
        if STAGES[name].learner != "student":
            continue
        share = saturated_share(r.train_logits, tau)
        out = {"saturated_share": share, "saturated": share >= SATURATED,
               "teacher_saturated_share": None, "gap": None, "Ez": None,
               "lam_growth": measured_growth(r.trained.fit.history["lam"], varrho),
               "lam_growth_predicted": None,
               "max_step_dF": max_step_change(r.trained.fit.snapshots, problem.train.x, cfg)}
        out["max_step_dF_tau2"] = (None if out["max_step_dF"] is None
                                   else tau ** 2 * out["max_step_dF"])
        G = None if r.target is None else r.target.logits
        if G is not None:            # a soft teacher (not kd_hard's labels)
            gap, ez = gap_and_z(G, problem.train.y, problem.train.Z, tau)
            out.update(teacher_saturated_share=saturated_share(G, tau), gap=gap, Ez=ez,
                       lam_growth_predicted=predicted_growth(gap, ez, k, eta_prime, varrho))
        students[names.get(name, name)] = out
    return {"saturated_at": SATURATED, "eta_prime": eta_prime, "students": students}

"""Training objectives shared by the synthetic and the CIFAR arm (docs/model.md).

Every function takes the student's logits F [n, k], the labels y [n] and, for distillation, the
frozen teacher logits G [n, k], and returns a scalar whose gradient is the update of the learner.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax


def cross_entropy(F, y):
    """Softmax cross-entropy on integer labels, mean over samples."""
    return optax.softmax_cross_entropy_with_integer_labels(F, y).mean()


def truncated_softmax(F, tau):
    """logit^tau_i(F) = exp(min(tau^2 F_i, 1) / tau) / sum_j exp(min(tau^2 F_j, 1) / tau)."""
    return jax.nn.softmax(jnp.minimum(tau**2 * F, 1.0) / tau, axis=-1)


def hinton_kd(F, G, y, T, alpha):
    """(1 - alpha) CE(labels) + alpha T^2 KL(softmax(G/T) || softmax(F/T)); KL summed over
    classes, mean over samples (the 'batchmean' reduction)."""
    log_p_t = jax.nn.log_softmax(G / T, axis=-1)
    log_p_s = jax.nn.log_softmax(F / T, axis=-1)
    kl = (jnp.exp(log_p_t) * (log_p_t - log_p_s)).sum(-1).mean()
    return (1.0 - alpha) * cross_entropy(F, y) + alpha * T**2 * kl


def logit_matching(F, G, y, alpha):
    """(1 - alpha) CE(labels) + alpha (1/2) mean_i (F_i - G_i)^2, mean over samples.

    The T -> infinity limit of Hinton's KD matches centred logits (softmax ignores a shift):
    T^2 KL -> (1/2k) sum_i ((F_i - mean F) - (G_i - mean G))^2. Matching the raw logits also
    pins their level, so the student's outputs cannot outgrow the teacher's.
    """
    mse = 0.5 * jnp.mean((F - G) ** 2, axis=-1).mean()
    return (1.0 - alpha) * cross_entropy(F, y) + alpha * mse


def theorem_kd_surrogate(F, G, y, tau, eta_ratio, eps=0.0, label_weight=1.0):
    """A loss whose gradient step is the theorems' distillation update:
    label_weight grad CE(labels) + (eta'/eta) E[ gap_i grad F_i ],
    gap_i = min(logit^tau_i(F) - logit^tau_i(G) + eps, 0), held constant (stop_gradient).

    Only classes where the student is below the teacher are pushed up. eps >= 0 is a tolerance:
    with eps > 0 a class is pushed only where the student is more than eps below, and by the
    excess. eps = 0 and label_weight = 1 is the theorems' update; the two knobs are ablations.
    """
    gap = jnp.minimum(truncated_softmax(F, tau) - truncated_softmax(G, tau) + eps, 0.0)
    return (label_weight * cross_entropy(F, y)
            + eta_ratio * (jax.lax.stop_gradient(gap) * F).sum(-1).mean())


def theorem_projected_surrogate(F, G, y, tau, eta_ratio, eps=0.0, label_weight=1.0):
    """Ablation of the theorem update without its ratchet: the one-sided gap pushed back through
    the Jacobian d logit^tau / dF instead of applied to each F_i directly,

    label_weight grad CE(labels) + (eta'/eta) E[ sum_i gap_i grad logit^tau_i(F) ],
    gap_i = min(logit^tau_i(F) - logit^tau_i(G) + eps, 0), held constant (stop_gradient).

    d logit^tau_i / dF_j = tau 1[tau^2 F_j < 1] p_i (delta_ij - p_j), p = logit^tau(F), so class j
    moves by tau 1[tau^2 F_j < 1] p_j (gap_j - sum_i p_i gap_i): the push on a class stops where
    its truncated output is capped (tau^2 F_j >= 1), and raising the classes below the teacher
    lowers the others (the truncated outputs sum to one), so the update vanishes once the
    student's truncated outputs reach the teacher's.
    """
    p = truncated_softmax(F, tau)
    gap = jnp.minimum(p - truncated_softmax(G, tau) + eps, 0.0)
    return (label_weight * cross_entropy(F, y)
            + eta_ratio * (jax.lax.stop_gradient(gap) * p).sum(-1).mean())


def one_sided_logit_matching(F, G, y, alpha):
    """Ablation of the theorem update without its ratchet: one-sided matching of raw logits,
    (1 - alpha) CE(labels) + alpha (1/2) mean_i min(F_i - G_i, 0)^2, mean over samples.

    Its gradient on class i is alpha min(F_i - G_i, 0) / k (per sample): F_i is pushed up only
    where it is below the teacher's G_i, by the gap, and no class is ever lowered by the teacher
    term (the label term alone lowers the off-class logits).
    """
    below = jnp.minimum(F - G, 0.0)
    return (1.0 - alpha) * cross_entropy(F, y) + alpha * 0.5 * jnp.mean(below**2, axis=-1).mean()


# --- how an objective reads its teacher -----------------------------------------------------
# The distribution an objective matches its teacher's logits G through, and its inverse: teacher
# logits that the objective reads as a given distribution p *exactly* (methods.TEACHERS builds
# label-smoothing targets with them). Hinton: softmax(G/T), so G = T log p; the theorem updates:
# logit^tau(G), and G = log p / tau gives tau^2 G = tau log p <= 0 < 1 (never truncated), so
# logit^tau(G) = softmax(log p) = p; logit matching (both sides): softmax(G), and G = log p plus a
# constant (softmax ignores it; the raw logits the student matches keep `level` as their mean).

def teacher_probs(G, objective: str, T: float, tau: float):
    """The distribution [.., k] a distillation objective reads off teacher logits G [.., k]."""
    if objective == "hinton":
        return jax.nn.softmax(G / T, axis=-1)
    if objective in ("theorem", "theorem_projected"):
        return truncated_softmax(G, tau)
    if objective in ("logits", "logits_onesided"):
        return jax.nn.softmax(G, axis=-1)
    raise ValueError(objective)


def teacher_logits(p, objective: str, T: float, tau: float, level: float = 0.0):
    """Teacher logits G [.., k] with teacher_probs(G, objective, T, tau) = p exactly (p > 0);
    for logit matching their mean over classes is `level`."""
    log_p = jnp.log(p)
    if objective == "hinton":
        return T * log_p
    if objective in ("theorem", "theorem_projected"):
        return log_p / tau
    if objective in ("logits", "logits_onesided"):
        return log_p - log_p.mean(-1, keepdims=True) + level
    raise ValueError(objective)

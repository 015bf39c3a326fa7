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

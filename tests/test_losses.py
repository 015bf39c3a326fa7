"""The objectives of multiview/losses.py (both arms) against hand-computed values and gradients."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from multiview.cifar.losses import HintonKD
from multiview.config import OBJECTIVES
from multiview.losses import (cross_entropy, hinton_kd, logit_matching, one_sided_logit_matching,
                              teacher_logits, teacher_probs, theorem_kd_surrogate,
                              theorem_projected_surrogate, truncated_softmax)


def softmax(v):
    e = [math.exp(a) for a in v]
    return [a / sum(e) for a in e]


def test_cross_entropy_matches_hand_value():
    logits = jnp.array([[1.0, 2.0, 0.5], [0.0, 0.0, 0.0]])
    expected = (-math.log(softmax([1.0, 2.0, 0.5])[0]) + math.log(3.0)) / 2
    assert float(cross_entropy(logits, jnp.array([0, 2]))) == pytest.approx(expected, rel=1e-6)


def test_hinton_kd_matches_hand_computed_value():
    s, t, y, T, alpha = [1.0, 2.0, 0.5], [2.0, 0.0, 1.0], 1, 2.0, 0.7
    p, q = softmax([a / T for a in t]), softmax([a / T for a in s])
    kl = sum(pi * math.log(pi / qi) for pi, qi in zip(p, q))
    expected = alpha * T * T * kl + (1 - alpha) * -math.log(softmax(s)[y])
    got = hinton_kd(jnp.array([s]), jnp.array([t]), jnp.array([y]), T, alpha)
    assert float(got) == pytest.approx(expected, rel=1e-5)
    # Worked by hand: p = (.5065, .1863, .3072), q = (.2918, .4810, .2272), KL = .19528,
    # CE = -ln(.62853) = .46437; 0.7 * 4 * .19528 + 0.3 * .46437 = .6861
    assert float(got) == pytest.approx(0.6861, abs=1e-4)
    # the CIFAR arm's HintonKD is the same function
    assert float(HintonKD(T, alpha)(jnp.array([s]), jnp.array([y]), jnp.array([t]))) == \
        pytest.approx(float(got), rel=1e-7)


def test_kl_is_summed_over_classes_and_averaged_over_the_batch():
    s = jnp.array([[1.0, 2.0, 0.5], [0.3, -1.0, 2.0]])
    t = jnp.array([[2.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    y = jnp.array([0, 0])
    rows = [float(hinton_kd(s[i:i + 1], t[i:i + 1], y[:1], 3.0, 1.0)) for i in range(2)]
    assert float(hinton_kd(s, t, y, 3.0, 1.0)) == pytest.approx(sum(rows) / 2, rel=1e-6)
    assert float(hinton_kd(s, s, y, 3.0, 1.0)) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("T", [1.0, 4.0])
def test_soft_term_gradient_is_T_times_probability_gap(T):
    # d/ds [T^2 KL(softmax(t/T) || softmax(s/T))] = T (softmax(s/T) - softmax(t/T)) / batch
    s, t = jnp.array([[1.0, 2.0, 0.5]]), jnp.array([[2.0, 0.0, 1.0]])
    grad = jax.grad(lambda s: hinton_kd(s, t, jnp.array([0]), T, 1.0))(s)
    expected = T * (jax.nn.softmax(s / T) - jax.nn.softmax(t / T))
    np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-7)


def test_alpha_zero_is_plain_cross_entropy():
    s, t, y = jnp.array([[1.0, 2.0, 0.5]]), jnp.array([[9.0, 0.0, 1.0]]), jnp.array([2])
    assert float(hinton_kd(s, t, y, 4.0, 0.0)) == pytest.approx(float(cross_entropy(s, y)))
    assert float(logit_matching(s, t, y, 0.0)) == pytest.approx(float(cross_entropy(s, y)))


def test_truncated_softmax_caps_logits_at_one_over_tau_squared():
    tau = 0.5
    F = jnp.array([[0.0, 2.0, 100.0]])
    # min(tau^2 F, 1)/tau = [0, 0.5, 1] / 0.5 = [0, 1, 2] -> softmax
    e = np.exp([0.0, 1.0, 2.0])
    np.testing.assert_allclose(truncated_softmax(F, tau)[0], e / e.sum(), rtol=1e-6)


def test_theorem_kd_gradient_is_ce_plus_one_sided_push():
    F = jnp.array([[0.5, 1.0, 0.0]])
    G = jnp.array([[0.5, 3.0, -1.0]])
    y = jnp.array([0])
    tau, ratio = 0.5, 7.0
    g = jax.grad(lambda f: theorem_kd_surrogate(f, G, y, tau, ratio))(F)
    p = jax.nn.softmax(F)
    ce_grad = p - jax.nn.one_hot(y, 3)
    gap = np.minimum(truncated_softmax(F, tau) - truncated_softmax(G, tau), 0.0)
    np.testing.assert_allclose(g, ce_grad + ratio * gap, rtol=1e-5, atol=1e-7)
    # only the class where the student is below the teacher (class 1) gets the extra push
    assert gap[0, 1] < 0 and gap[0, 0] == 0 and gap[0, 2] == 0


def test_theorem_tolerance_pushes_only_beyond_eps_and_by_the_excess():
    # by hand: tau = 0.5, F = (0, 2, 0) -> scaled (0, 1, 0), G = (0, 4, 0) -> scaled (0, 2, 0)
    F = jnp.array([[0.0, 2.0, 0.0]])
    G = jnp.array([[0.0, 4.0, 0.0]])
    y = jnp.array([0])
    pF = np.exp([0, 1, 0]) / np.exp([0, 1, 0]).sum()        # (.2119, .5761, .2119)
    pG = np.exp([0, 2, 0]) / np.exp([0, 2, 0]).sum()        # (.1065, .7870, .1065)
    ce_grad = np.asarray(jax.nn.softmax(F) - jax.nn.one_hot(y, 3))
    for eps in (0.0, 0.1, 0.3):
        g = jax.grad(lambda f: theorem_kd_surrogate(f, G, y, 0.5, 2.0, eps))(F)
        gap = np.minimum(pF - pG + eps, 0.0)                 # class 1: -.2109 + eps
        np.testing.assert_allclose(g, ce_grad + 2.0 * gap, rtol=1e-5, atol=1e-7)
    # eps larger than the gap: no push at all, the gradient is the label term's
    g = jax.grad(lambda f: theorem_kd_surrogate(f, G, y, 0.5, 2.0, 0.3))(F)
    np.testing.assert_allclose(g, ce_grad, rtol=1e-5, atol=1e-7)


def test_logit_matching_gradient_is_the_scaled_logit_difference():
    # d/dF [alpha/2 mean_i (F_i - G_i)^2, mean over n] = alpha (F - G) / (k n), plus (1-alpha) CE'
    F = jnp.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    G = jnp.array([[2.0, 0.0, 1.0], [0.5, 0.5, 0.5]])
    y = jnp.array([1, 2])
    alpha = 0.75
    g = jax.grad(lambda f: logit_matching(f, G, y, alpha))(F)
    ce_grad = (jax.nn.softmax(F) - jax.nn.one_hot(y, 3)) / 2
    np.testing.assert_allclose(g, alpha * (F - G) / 6 + (1 - alpha) * ce_grad, rtol=1e-5,
                               atol=1e-7)
    # value by hand: row 1 squares 1, 4, .25 -> mean 1.75; row 2 .25, 2.25, 6.25 -> 2.9167
    assert float(logit_matching(F, G, y, 1.0)) == pytest.approx(0.5 * (1.75 + 2.916667) / 2,
                                                                 rel=1e-5)


def test_theorem_label_weight_scales_only_the_label_term():
    F = jnp.array([[0.5, 1.0, 0.0]])
    G = jnp.array([[0.5, 3.0, -1.0]])
    y = jnp.array([0])
    ce_grad = np.asarray(jax.nn.softmax(F) - jax.nn.one_hot(y, 3))
    gap = np.minimum(truncated_softmax(F, 0.5) - truncated_softmax(G, 0.5), 0.0)
    for w in (0.0, 0.3, 1.0):
        g = jax.grad(lambda f: theorem_kd_surrogate(f, G, y, 0.5, 7.0, 0.0, w))(F)
        np.testing.assert_allclose(g, w * ce_grad + 7.0 * gap, rtol=1e-5, atol=1e-7)


def _np_softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_theorem_projected_gradient_is_the_gap_through_the_truncated_softmax_jacobian():
    # tau = 0.5: the cap is F = 1/tau^2 = 4; class 2 of the student (F = 5) is capped
    F = np.array([[0.5, 1.0, 5.0]])
    G = np.array([[-2.0, 3.0, -1.0]])
    y = np.array([0])
    tau, ratio = 0.5, 7.0
    z = np.minimum(tau**2 * F, 1.0) / tau                   # (0.25, 0.5, 2)
    p = _np_softmax(z)
    gap = np.minimum(p - _np_softmax(np.minimum(tau**2 * G, 1.0) / tau), 0.0)
    # the Jacobian by hand: J[i, j] = d p_i / d F_j = p_i (delta_ij - p_j) * tau 1[tau^2 F_j < 1]
    live = (tau**2 * F[0] < 1.0).astype(float)
    J = np.array([[p[0, i] * ((i == j) - p[0, j]) * tau * live[j] for j in range(3)]
                  for i in range(3)])
    expected = _np_softmax(F) - np.eye(3)[y] + ratio * (gap[0] @ J)
    g = jax.grad(lambda f: theorem_projected_surrogate(f, jnp.asarray(G), jnp.asarray(y), tau,
                                                       ratio))(jnp.asarray(F))
    np.testing.assert_allclose(g, expected, rtol=1e-5, atol=1e-7)
    # the student is below the teacher on class 1 only; the capped class 2 gets no push at all,
    # class 0 (not below) is lowered: the push raises class 1 and takes the mass from class 0
    assert gap[0, 1] < 0 and gap[0, 0] == 0 and gap[0, 2] == 0
    push = np.asarray(g - (_np_softmax(F) - np.eye(3)[y]))[0]
    assert push[1] < 0 and push[2] == 0 and push[0] > 0       # (descent moves F by -push)
    # at the teacher's truncated outputs there is no push (label_weight 0: nothing at all)
    g = jax.grad(lambda f: theorem_projected_surrogate(f, f, jnp.asarray(y), tau, ratio, 0.0,
                                                       0.0))(jnp.asarray(F))
    np.testing.assert_allclose(g, 0.0, atol=1e-7)


def test_one_sided_logit_matching_pushes_up_only_below_the_teacher_and_never_lowers():
    F = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    G = np.array([[2.0, 0.0, 1.0], [0.5, 0.5, 0.5]])
    y = np.array([1, 2])
    alpha = 0.75
    below = np.minimum(F - G, 0.0)        # (-1, 0, -0.5), (-0.5, -1.5, 0)
    ce_grad = (_np_softmax(F) - np.eye(3)[y]) / 2
    g = jax.grad(lambda f: one_sided_logit_matching(f, jnp.asarray(G), jnp.asarray(y), alpha))(
        jnp.asarray(F))
    np.testing.assert_allclose(g, alpha * below / 6 + (1 - alpha) * ce_grad, rtol=1e-5, atol=1e-7)
    g1 = np.asarray(jax.grad(lambda f: one_sided_logit_matching(
        f, jnp.asarray(G), jnp.asarray(y), 1.0))(jnp.asarray(F)))
    assert (g1 <= 0).all() and (g1[F >= G] == 0).all()      # descent only ever raises a logit
    # value by hand: squares 1, 0, .25 -> mean .41667; .25, 2.25, 0 -> .83333
    assert float(one_sided_logit_matching(jnp.asarray(F), jnp.asarray(G), jnp.asarray(y), 1.0)) \
        == pytest.approx(0.5 * (0.416667 + 0.833333) / 2, rel=1e-5)


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_teacher_logits_are_read_back_exactly_as_the_distribution(objective):
    """A target distribution p written as teacher logits is what each objective reads: Hinton's
    softmax(G/T), the theorem's logit^tau(G) (untruncated), logit matching's softmax(G), whose
    level is the given one."""
    p = np.array([[0.7, 0.1, 0.1, 0.1], [0.25, 0.25, 0.4, 0.1]])
    T, tau = 2.0, 0.25
    G = np.asarray(teacher_logits(jnp.asarray(p), objective, T, tau, level=3.0))
    np.testing.assert_allclose(teacher_probs(jnp.asarray(G), objective, T, tau), p, rtol=1e-5)
    if objective == "hinton":
        np.testing.assert_allclose(_np_softmax(G / T), p, rtol=1e-5)
    elif objective.startswith("theorem"):
        assert (tau**2 * G < 1).all()
        np.testing.assert_allclose(_np_softmax(np.minimum(tau**2 * G, 1) / tau), p, rtol=1e-5)
    else:
        np.testing.assert_allclose(_np_softmax(G), p, rtol=1e-5)
        np.testing.assert_allclose(G.mean(-1), 3.0, rtol=1e-6)

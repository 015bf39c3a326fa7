"""Hinton KD loss against hand-computed values, its T^2 gradient scaling, and augmentation."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from multiview.cifar import augment
from multiview.cifar.losses import HintonKD, cross_entropy, kl_divergence


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
    got = HintonKD(T, alpha)(jnp.array([s]), jnp.array([y]), jnp.array([t]))
    assert float(got) == pytest.approx(expected, rel=1e-5)
    # Worked by hand: p = (.5065, .1863, .3072), q = (.2918, .4810, .2272), KL = .19528,
    # CE = -ln(.62853) = .46437; 0.7 * 4 * .19528 + 0.3 * .46437 = .6861
    assert float(got) == pytest.approx(0.6861, abs=1e-4)


def test_kl_is_summed_over_classes_and_averaged_over_the_batch():
    s = jnp.array([[1.0, 2.0, 0.5], [0.3, -1.0, 2.0]])
    t = jnp.array([[2.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    rows = [float(kl_divergence(t[i:i + 1], s[i:i + 1], 3.0)) for i in range(2)]
    assert float(kl_divergence(t, s, 3.0)) == pytest.approx(sum(rows) / 2, rel=1e-6)
    assert float(kl_divergence(s, s, 3.0)) == pytest.approx(0.0, abs=1e-7)


@pytest.mark.parametrize("T", [1.0, 4.0])
def test_soft_term_gradient_is_T_times_probability_gap(T):
    # d/ds [T^2 KL(softmax(t/T) || softmax(s/T))] = T (softmax(s/T) - softmax(t/T)) / batch
    s, t = jnp.array([[1.0, 2.0, 0.5]]), jnp.array([[2.0, 0.0, 1.0]])
    grad = jax.grad(lambda s: HintonKD(T, 1.0)(s, jnp.array([0]), t))(s)
    expected = T * (jax.nn.softmax(s / T) - jax.nn.softmax(t / T))
    np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-7)


def test_alpha_zero_is_plain_cross_entropy():
    s, t, y = jnp.array([[1.0, 2.0, 0.5]]), jnp.array([[9.0, 0.0, 1.0]]), jnp.array([2])
    assert float(HintonKD(4.0, 0.0)(s, y, t)) == pytest.approx(float(cross_entropy(s, y)))


@pytest.mark.parametrize("pad_mode", ["reflect", "zero"])
def test_crop_flip_returns_shifted_or_mirrored_windows_of_the_padded_image(pad_mode):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (16, 8, 8, 3)).astype(np.uint8)
    out = np.asarray(augment.crop_flip(jax.random.PRNGKey(0), jnp.asarray(x), 2, pad_mode))
    mode = "reflect" if pad_mode == "reflect" else "constant"
    padded = np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)), mode=mode)
    flips = 0
    for img, src in zip(out, padded):
        windows = [src[i:i + 8, j:j + 8] for i in range(5) for j in range(5)]
        plain = any((img == w).all() for w in windows)
        mirrored = any((img[:, ::-1] == w).all() for w in windows)
        assert plain or mirrored
        flips += mirrored and not plain
    assert 0 < flips < 16  # some images flipped, not all

"""The smoothed ReLU and the network of docs/model.md section 2."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from multiview.model import forward, phi_lam, smoothed_relu

jax.config.update("jax_enable_x64", False)


@pytest.mark.parametrize("q,varrho", [(3, 0.5), (4, 1.0), (5, 0.3)])
def test_smoothed_relu_matches_the_three_piece_formula(q, varrho):
    z = np.array([-1.0, -1e-3, 0.0, 0.25 * varrho, 0.5 * varrho, varrho, 1.5 * varrho, 4.0])
    expect = np.where(z <= 0, 0.0, np.where(z <= varrho, z**q / (q * varrho ** (q - 1)),
                                            z - (1 - 1 / q) * varrho))
    np.testing.assert_allclose(smoothed_relu(jnp.asarray(z), q, varrho), expect, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("q,varrho", [(3, 0.5), (4, 1.0)])
def test_smoothed_relu_is_c1_at_zero_and_at_varrho(q, varrho):
    f = lambda z: smoothed_relu(z, q, varrho)  # noqa: E731
    g = jax.grad(f)
    eps = 1e-4
    for z0 in (0.0, varrho):
        # value continuity and derivative continuity from both sides
        assert abs(float(f(z0 + eps)) - float(f(z0 - eps))) < 2 * eps
        assert abs(float(g(z0 + eps)) - float(g(z0 - eps))) < 10 * eps * (q - 1) / varrho
    # the derivative is (z/varrho)^(q-1) below varrho and 1 above
    assert float(g(0.5 * varrho)) == pytest.approx(0.5 ** (q - 1), rel=1e-5)
    assert float(g(2.0 * varrho)) == pytest.approx(1.0)
    assert float(g(-1.0)) == 0.0


def test_forward_sums_over_neurons_and_patches():
    key = jax.random.PRNGKey(0)
    W = jax.random.normal(key, (3, 2, 5))
    x = jax.random.normal(jax.random.PRNGKey(1), (4, 6, 5))
    out = forward(W, x, 3, 0.7)
    slow = np.zeros((4, 3))
    for n in range(4):
        for i in range(3):
            for r in range(2):
                for p in range(6):
                    slow[n, i] += float(smoothed_relu(jnp.dot(W[i, r], x[n, p]), 3, 0.7))
    np.testing.assert_allclose(out, slow, rtol=1e-5, atol=1e-6)


def test_phi_and_lam_are_sum_and_max_of_positive_alignments():
    views = jnp.eye(4).reshape(2, 2, 4)
    W = jnp.array([[[1.0, -2.0, 0, 0], [0.5, 3.0, 0, 0]], [[0, 0, -1.0, 0.2], [0, 0, -0.5, 0.1]]])
    phi, lam = phi_lam(W, views)
    np.testing.assert_allclose(phi, [[1.5, 3.0], [0.0, 0.3]], rtol=1e-6)
    np.testing.assert_allclose(lam, [[1.0, 3.0], [0.0, 0.2]], rtol=1e-6)

"""The learner of docs/model.md section 2: smoothed ReLU and the two-layer network F_i(X)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .config import DataConfig, ModelConfig


def smoothed_relu(z: jax.Array, q: int, varrho) -> jax.Array:
    """ReLU~(z) = 0 (z <= 0); z^q / (q varrho^(q-1)) (0 <= z <= varrho); z - (1 - 1/q) varrho (z >= varrho)."""
    zc = jnp.clip(z, 0.0, varrho)
    low = zc**q / (q * varrho ** (q - 1))
    return jnp.where(z >= varrho, z - (1.0 - 1.0 / q) * varrho, low)


def init_params(key: jax.Array, data: DataConfig, model: ModelConfig, dtype=jnp.float32) -> jax.Array:
    """W[k, m, d] with entries N(0, sigma0^2)."""
    return model.sigma0 * jax.random.normal(key, (data.k, model.m, data.d), dtype=dtype)


def forward(W: jax.Array, x: jax.Array, q: int, varrho) -> jax.Array:
    """F[n, k] = sum_r sum_p ReLU~(<w_{i,r}, x_p>) for x[n, P, d], W[k, m, d]."""
    n, P, d = x.shape
    k, m, _ = W.shape
    # Patches as columns, xT[d, n*P], materialised (the barrier stops XLA from folding the
    # transpose into the dots): inside a training loop it is loop-invariant and hoisted, and
    # both the forward W @ xT and the weight gradient dh @ xT.T then run in the layouts the
    # CPU matmul kernels are fastest in (docs/performance.md: ~1.4x per step at L = 10).
    xT = jax.lax.optimization_barrier(x.reshape(n * P, d).T)
    h = W.reshape(k * m, d) @ xT                                           # [k*m, n*P]
    return smoothed_relu(h, q, varrho).reshape(k, m, n, P).sum((1, 3)).T


def phi_lam(W: jax.Array, views: jax.Array):
    """Φ[k, 2] = sum_r max(<w_{i,r}, v_{i,l}>, 0) and Λ[k, 2] = max_r max(<w_{i,r}, v_{i,l}>, 0)."""
    a = jnp.maximum(jnp.einsum("imd,ild->iml", W, views), 0.0)               # [k, m, 2]
    return a.sum(1), a.max(1)

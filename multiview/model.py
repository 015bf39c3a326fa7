"""The learner of docs/model.md section 2: smoothed ReLU and the two-layer network F_i(X).

At d = ∞ (docs/model.md section 2, "The limit d = ∞") a neuron w is held by its coordinates in
the orthonormal basis of the problem (data.py): the 2k views, then the unit noise directions of
the training patches, then the test patches': W [k, m, `coordinates(data)`]. A patch is stored
as (c, s, j) (data.limit_patch), and ⟨w, x⟩ = ⟨a, c⟩ + s·W[2k + j], with a = W[..., :2k].
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax.custom_derivatives import SymbolicZero

from .config import DataConfig, ModelConfig
from .data import limit_patch
from .keys import STREAMS


def smoothed_relu(z: jax.Array, q: int, varrho) -> jax.Array:
    """ReLU~(z) = 0 (z <= 0); z^q / (q varrho^(q-1)) (0 <= z <= varrho); z - (1 - 1/q) varrho (z >= varrho)."""
    zc = jnp.clip(z, 0.0, varrho)
    low = zc**q / (q * varrho ** (q - 1))
    return jnp.where(z >= varrho, z - (1.0 - 1.0 / q) * varrho, low)


@functools.partial(jax.custom_jvp, nondiff_argnums=(1,))
def smoothed_relu_fused(z: jax.Array, q: int, varrho) -> jax.Array:
    """`smoothed_relu`, the same values, with its derivative written in closed form:
    ∂/∂z = r^(q−1) and ∂/∂ϱ = −(q−1)/q · r^q with r = clip(z, 0, ϱ)/ϱ (both branches and the
    ReLU's zero in one expression). Autodiff of the piecewise form spends more elementwise
    passes over the [k·m, N·P] pre-activations in the backward; the d = ∞ engine, whose step
    is those passes (docs/performance.md), uses this one. The direct and patch engines keep
    autodiff of `smoothed_relu`, so their numbers stay bit for bit what they were; the two
    gradients agree to float rounding (tests/test_limit.py)."""
    return smoothed_relu(z, q, varrho)


def _smoothed_relu_fused_jvp(q, primals, tangents):
    z, varrho = primals
    dz, dvarrho = tangents
    r = jnp.clip(z, 0.0, varrho) / varrho
    slope = r ** (q - 1)
    out = smoothed_relu(z, q, varrho)
    tangent = jnp.zeros_like(out) if type(dz) is SymbolicZero else slope * dz
    if type(dvarrho) is not SymbolicZero:
        tangent = tangent - (q - 1) / q * slope * r * dvarrho
    return out, tangent


smoothed_relu_fused.defjvp(_smoothed_relu_fused_jvp, symbolic_zeros=True)


def coordinates(data: DataConfig) -> int:
    """The length of a neuron's parameter vector: d, or at d = ∞ its coordinates along the 2k
    views and the noise directions of the N_train·P training and N_test·P test patches."""
    if not data.limit:
        return data.d
    return 2 * data.k + (data.n_train + data.N_test) * data.n_patches


def init_params(key: jax.Array, data: DataConfig, model: ModelConfig, dtype=jnp.float32) -> jax.Array:
    """W[k, m, d] with entries N(0, sigma0^2). At d = ∞ the same in orthonormal coordinates,
    [k, m, coordinates(data)]: the views' and the training noise's from `key`, the test
    noise's (frozen: training never moves them) from fold_in(key, STREAMS["limit_test"])."""
    if not data.limit:
        return model.sigma0 * jax.random.normal(key, (data.k, model.m, data.d), dtype=dtype)
    train = 2 * data.k + data.n_train * data.n_patches
    test = data.N_test * data.n_patches
    return model.sigma0 * jnp.concatenate(
        [jax.random.normal(key, (data.k, model.m, train), dtype=dtype),
         jax.random.normal(jax.random.fold_in(key, STREAMS["limit_test"]),
                           (data.k, model.m, test), dtype=dtype)], -1)


def limit_preactivations(W: jax.Array, x: jax.Array) -> jax.Array:
    """h [k·m, n·P] = ⟨w_{i,r}, x_{n,p}⟩ = a·c + s·W[2k + j] for W [k, m, D] in orthonormal
    coordinates and patches x [n, P, 2k + 2] stored as (c, s, j) (d = ∞)."""
    c, s, j = limit_patch(x)
    V = c.shape[-1]
    Wf = W.reshape(-1, W.shape[-1])
    return Wf[:, :V] @ c.reshape(-1, V).T + s.reshape(-1) * jnp.take(Wf[:, V:], j.reshape(-1),
                                                                        axis=1)


def is_limit(W: jax.Array, x: jax.Array) -> bool:
    """Whether x holds d = ∞ patches (c, s, j) for W in coordinates (static: from the shapes;
    at finite d the two lengths are d)."""
    return x.shape[-1] != W.shape[-1]


def forward(W: jax.Array, x: jax.Array, q: int, varrho) -> jax.Array:
    """F[n, k] = sum_r sum_p ReLU~(<w_{i,r}, x_p>) for x[n, P, d], W[k, m, d] (at d = ∞ the
    coordinates and patches of `limit_preactivations`)."""
    n, P, d = x.shape
    k, m, _ = W.shape
    if is_limit(W, x):
        h = limit_preactivations(W, x)
        return smoothed_relu(h, q, varrho).reshape(k, m, n, P).sum((1, 3)).T
    # Patches as columns, xT[d, n*P], materialised (the barrier stops XLA from folding the
    # transpose into the dots): inside a training loop it is loop-invariant and hoisted, and
    # both the forward W @ xT and the weight gradient dh @ xT.T then run in the layouts the
    # CPU matmul kernels are fastest in (docs/performance.md: ~1.4x per step at L = 10).
    xT = jax.lax.optimization_barrier(x.reshape(n * P, d).T)
    h = W.reshape(k * m, d) @ xT                                           # [k*m, n*P]
    return smoothed_relu(h, q, varrho).reshape(k, m, n, P).sum((1, 3)).T


def phi_lam(W: jax.Array, views: jax.Array):
    """Φ[k, 2] = sum_r max(<w_{i,r}, v_{i,l}>, 0) and Λ[k, 2] = max_r max(<w_{i,r}, v_{i,l}>, 0).
    At d = ∞ the views [k, 2, 2k] are the first 2k coordinates, so Φ and Λ read a directly."""
    W = W[..., :views.shape[-1]]
    a = jnp.maximum(jnp.einsum("imd,ild->iml", W, views), 0.0)               # [k, m, 2]
    return a.sum(1), a.max(1)

"""The NTK learner (docs/model.md section 3): the network linearised at its initialisation,
F(W0) + <W - W0, grad F(W0)>, trained by the one engine in train.py in parameter space or,
when the optimizer is linear in the gradients, in function space (the dual coefficients).
"""

from __future__ import annotations

import functools
from typing import Callable

import jax
import jax.numpy as jnp

from .config import Config
from .data import Problem
from .limit import dense_patches
from .learners import Trained, _student_train_cfg, init_members, make_loss, shared_inputs
from .model import forward, phi_lam, smoothed_relu
from .train import fit

@functools.lru_cache(maxsize=None)
def ntk_logits(q: int, center: bool) -> Callable:
    """NTK linearisation F(W0) + <W - W0, grad F(W0)>, parameterised by D = W - W0;
    centred (the constant F(W0) dropped) when `center`.

    The pre-activations at the linearisation point, H0 = W0 x^T, are the member input "H0"
    (`ntk_preactivations`, computed once): each step then costs the one matmul D x^T and its
    transpose, as a network step does, and the numbers are those of jvp(forward, W0, D).
    """
    def logits(D, shared, member):
        x = shared["x"]
        n, P, d = x.shape
        k, m, _ = D.shape
        xT = jax.lax.optimization_barrier(x.reshape(n * P, d).T)
        relu = lambda h: smoothed_relu(h, q, shared["varrho"]).reshape(k, m, n, P).sum((1, 3)).T  # noqa: E731
        f0, df = jax.jvp(relu, (member["H0"],), (D.reshape(k * m, d) @ xT,))
        return df if center else f0 + df
    return logits


@jax.jit
def ntk_preactivations(W0, x):
    """H0[L, k*m, n*P] = W0 x^T per member: the pre-activations of the linearisation point."""
    n, P, d = x.shape
    xT = jax.lax.optimization_barrier(x.reshape(n * P, d).T)
    return jax.vmap(lambda w: w.reshape(-1, d) @ xT)(W0)


# --- NTK linearisation ----------------------------------------------------------------------
#
# Gradient descent on the linearised network from D = 0 never leaves the span of the training
# logits' gradients: D_t = J^T A_t, where J is the Jacobian of the training logits at W0 and
# A_t[n, k] holds one coefficient per training point and class, updated by the logits'
# gradient, A <- A - lr dLoss/dF. The logits are then F_t = F(W0) + K A_t with the Gram matrix
# K_i = J_i J_i^T of each class (logit i depends only on the neurons of class i). A step costs
# k n^2 multiply-adds instead of the parameter step's 2 k m d n P (about 200x fewer at `small`).
# This "function space" form trains when the optimizer is linear in the gradients (gd,
# momentum: the same trajectory, up to float rounding; tests/test_learners.py) and the Gram
# matrices of all members fit in NTK_GRAM_BYTES; otherwise D trains directly.

NTK_GRAM_BYTES = 1 << 30


def ntk_space(cfg: Config, L: int) -> str:
    """"function" or "parameter": where train_ntk runs gradient descent for L members."""
    gram = L * cfg.data.k * cfg.data.n_train ** 2 * (8 if cfg.train.dtype == "float64" else 4)
    linear = cfg.train.optimizer in ("gd", "momentum")
    return "function" if linear and gram <= NTK_GRAM_BYTES else "parameter"


def _class_jacobian(w, x, q: int, varrho):
    """J[m, n, d] = d F_i(X_n) / d w_{i,r} at w (the m neurons of one class) and F_i[n] there."""
    n, P, d = x.shape
    h = w @ x.reshape(n * P, d).T                                             # [m, n*P]
    f, s = jax.jvp(lambda h: smoothed_relu(h, q, varrho), (h,), (jnp.ones_like(h),))
    J = jnp.einsum("rnp,npd->rnd", s.reshape(-1, n, P), x)
    return J, f.reshape(-1, n, P).sum((0, 2))


@functools.partial(jax.jit, static_argnames=("q",))
def ntk_gram(W0, x, q: int, varrho):
    """K[L, k, n, n] (per class, J_i J_i^T) and F(W0)[L, n, k] on the training inputs; one
    member and one class at a time (their Jacobian is never held whole)."""
    def member(w0):
        def cls(w):
            J, f = _class_jacobian(w, x, q, varrho)
            return jnp.einsum("rnd,rNd->nN", J, J), f
        K, f = jax.lax.map(cls, w0)
        return K, f.T
    return jax.lax.map(member, W0)


@functools.partial(jax.jit, static_argnames=("q",))
def ntk_weights(W0, A, x, q: int, varrho):
    """D[L, k, m, d] = J^T A: the parameter offset of the dual coefficients A[L, n, k]."""
    def cls(w, a):                  # one class: its neurons w [m, d], coefficients a [n]
        return jnp.einsum("rnd,n->rd", _class_jacobian(w, x, q, varrho)[0], a)

    def member(w0, a):
        return jax.lax.map(lambda wa: cls(*wa), (w0, a.T))
    return jax.lax.map(lambda wa: member(*wa), (W0, A))


@functools.lru_cache(maxsize=None)
def ntk_dual_logits(center: bool) -> Callable:
    """Logits K A (+ F(W0) unless `center`) of the dual coefficients A[n, k], whose gradient is
    the logits' gradient itself (the value of A - stop_gradient(A) is 0, its derivative 1), so
    that a gradient step on A is the parameter step D <- D - lr J^T dLoss/dF."""
    def logits(A, shared, member):
        frozen = jax.lax.stop_gradient(A)
        F = jnp.einsum("inN,Ni->ni", member["K"], frozen) + (A - frozen)
        return F if center else member["F0"] + F
    return logits


def train_ntk(keys: jax.Array, cfg: Config, problem: Problem, *, m: int | None = None,
              teacher=None, objective: str = "labels", progress=True, desc="ntk") -> Trained:
    """The network linearised at W0 ~ N(0, ntk_sigma^2): F(W0) + <D, grad F(W0)>, D from zero,
    trained in function space or parameter space (`ntk_space`); params are D either way."""
    W0 = init_members(keys, cfg, m=m, sigma=cfg.fixed.ntk_sigma)
    tc = _student_train_cfg(cfg, cfg.fixed)
    shared = shared_inputs(cfg, problem, teacher=teacher)
    q, center, x = cfg.model.q, cfg.fixed.ntk_center, shared["x"]
    W0_all = W0
    if cfg.data.limit:
        # d = ∞: the training patches as dense vectors of their 2k + N·P coordinates (their Gram
        # is c·cᵀ + s²·I); D has no component along the test noise, which stays at W0's
        train = 2 * cfg.data.k + x.shape[0] * x.shape[1]
        x, W0 = dense_patches(x, train), W0[..., :train]
        shared = {**shared, "x": x}
    space = ntk_space(cfg, W0.shape[0])
    if space == "function":
        K, F0 = ntk_gram(W0, x, q, shared["varrho"])
        A0 = jnp.zeros((W0.shape[0], x.shape[0], cfg.data.k), x.dtype)
        res = fit(make_loss(ntk_dual_logits(center), objective), A0, shared,
                  {"K": K} if center else {"K": K, "F0": F0}, tc, progress=progress, desc=desc)
        D = ntk_weights(W0, res.params, x, q, shared["varrho"])
    else:
        res = fit(make_loss(ntk_logits(q, center), objective), jnp.zeros_like(W0), shared,
                  {"H0": ntk_preactivations(W0, x)}, tc, progress=progress, desc=desc)
        D = res.params
    if W0_all.shape != W0.shape:
        D = jnp.concatenate([D, jnp.zeros_like(W0_all[..., W0.shape[-1]:])], -1)
    return Trained(D, res, {"W0": W0_all, "space": space})


@functools.partial(jax.jit, static_argnames=("q", "center"))
def _ntk_eval(D, W0, x, q, varrho, center):
    def one(d, w0):
        f0, df = jax.jvp(lambda W: forward(W, x, q, varrho), (w0,), (d,))
        return df if center else f0 + df
    return jax.vmap(one)(D, W0)


def ntk_eval_logits(tr: Trained, x, cfg: Config, batch: int = 1000):
    return jnp.concatenate([_ntk_eval(tr.params, tr.extra["W0"], x[i:i + batch], cfg.model.q,
                                      cfg.model.varrho, cfg.fixed.ntk_center)
                            for i in range(0, x.shape[0], batch)], axis=1)


def ntk_lam(tr: Trained, problem: Problem):
    """Λ[L, k, 2] of the linearised network's weights W0 + D at the end."""
    return jax.vmap(lambda D, W0: phi_lam(D + W0, problem.views)[1])(tr.params, tr.extra["W0"])

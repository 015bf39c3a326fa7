"""The d = ∞ engine: the network trained by its coordinates along the views and the noise.

At d = ∞ (docs/model.md section 2) every training patch x_np = Σ_v c_np,v v + ξ_np has noise of
norm s orthogonal to the views and to every other patch's. Gradient descent moves w only within
the span of the training patches, so all it ever reads are the coordinates of w in the
orthonormal basis (views v, unit noise directions ξ_np / s): a = ⟨w, v⟩ [k, m, 2k] and
u = ⟨w, ξ_np⟩ / s [k, m, N·P]. The pre-activations are H = a·cᵀ + s·u, and the gradient of a
loss with respect to (a, u) is that with respect to w in these coordinates, so a step of `fit`
on them (gd; momentum, a trace of gradients) is the w-step itself: a ← a − η g c and
⟨w, ξ_np⟩ ← ⟨w, ξ_np⟩ − η s² g with g = ∂L/∂H. Adam is not (it is not rotation invariant).

A test patch's noise is orthogonal to every training patch, so its coordinate stays at its
initial N(0, σ0²) draw (model.init_params): training reads the first 2k + N·P coordinates only,
the others are carried through. The training patches' noise directions are their own indices
in order (data.py), so the noise term is a slice of W rather than a gather (whose gradient is a
scatter-add). A step costs k·m·N·P·(2k + 1) multiply-adds, whatever d stood for; the patch
engine fed the Gram c·cᵀ + s²·I and H0 = W0·Xᵀ gives the same numbers (tests/test_limit.py).
"""

from __future__ import annotations

import functools
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from .data import limit_patch
from .model import phi_lam, smoothed_relu_fused
from .train import FitResult, fit


def limit_inputs(x) -> dict:
    """The training patches x [n, P, 2k + 2] as the engine reads them: c [N·P, 2k] and s [N·P];
    their noise directions must be 0 .. N·P − 1 in order (the training set of data.py)."""
    c, s, j = limit_patch(x)
    n, P, V = c.shape
    if not np.array_equal(np.asarray(j).reshape(-1), np.arange(n * P)):
        raise ValueError("limit engine: the training patches' noise directions must be "
                         "0 .. N·P-1 in order (a training set of data.make_problem)")
    return {"c": c.reshape(n * P, V), "s": s.reshape(n * P)}


@functools.lru_cache(maxsize=None)
def limit_logits(q: int) -> Callable:
    """F on the training inputs from the coordinates U = {"a": [k, m, 2k], "u": [k, m, N·P]}:
    H = a·cᵀ + s·u. (Two arrays rather than one [k, m, 2k + N·P]: no slice of the state is
    copied in a step, nor its gradient assembled.)"""
    def logits(U, shared, member):
        c, s = shared["c"], shared["s"]
        NP, V = c.shape
        k, m, _ = U["a"].shape
        n = shared["y"].shape[0]
        H = U["a"].reshape(k * m, V) @ c.T + s * U["u"].reshape(k * m, NP)
        return smoothed_relu_fused(H, q, shared["varrho"]).reshape(k, m, n, NP // n).sum((1, 3)).T
    return logits


def limit_monitor(U, shared, member):
    """Φ and Λ per class and view from a (the views are the first coordinates)."""
    phi, lam = phi_lam(U["a"], shared["views"])
    return {"phi": phi, "lam": lam}


def fit_limit(loss_fn: Callable, W0, shared: dict, member: dict | None, tc, **kw) -> FitResult:
    """`fit` of a loss of `limit_logits` from W0 [L, k, m, D] (model.init_params at d = ∞):
    the first 2k + N·P coordinates train (as a and u), the test noise's stay; the result's
    params (and snapshots) are all D coordinates, its engine "limit"."""
    space = {key: v for key, v in shared.items() if key != "x"} | limit_inputs(shared["x"])
    NP, V = space["c"].shape
    frozen = W0[..., V + NP:]
    U0 = {"a": W0[..., :V], "u": W0[..., V:V + NP]}
    res = fit(loss_fn, U0, space, member, tc, monitor=limit_monitor, **kw)
    whole = lambda U: jnp.concatenate([jnp.asarray(U["a"]), jnp.asarray(U["u"]), frozen],  # noqa: E731
                                      -1)
    snaps = [(step, np.asarray(whole(U))) for step, U in res.snapshots]
    return res._replace(params=whole(res.params), snapshots=snaps, engine="limit")


def dense_patches(x, D: int):
    """Patches (c, s, j) [n, P, 2k + 2] as dense vectors of the first D orthonormal
    coordinates [n, P, D]: c, then s at 2k + j (for closed forms that need X itself, e.g. the
    NTK's Gram c·cᵀ + s²·I of the training patches; D = 2k + N·P)."""
    c, s, j = limit_patch(x)
    V = c.shape[-1]
    return jnp.concatenate([c, s[..., None] * jax.nn.one_hot(j, D - V, dtype=c.dtype)], -1)

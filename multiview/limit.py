"""The d = ∞ engine: the network trained by its coordinates along the views and the noise.

At d = ∞ (docs/model.md section 2) every training patch x_np = Σ_v c_np,v v + ξ_np has noise of
norm s orthogonal to the views and to every other patch's. Gradient descent moves w only within
the span of the training patches, so all it ever reads are the coordinates of w in the
orthonormal basis (views v, unit noise directions ξ_np / s): a = ⟨w, v⟩ [k, m, 2k] and
u = ⟨w, ξ_np⟩ / s [k, m, N·P] (in the state, each point's view-carrying patches first:
limit_inputs). The pre-activations are H = a·cᵀ + s·u, and the gradient of a
loss with respect to (a, u) is that with respect to w in these coordinates, so a step of `fit`
on them (gd; momentum, a trace of gradients) is the w-step itself: a ← a − η g c and
⟨w, ξ_np⟩ ← ⟨w, ξ_np⟩ − η s² g with g = ∂L/∂H. Adam is not (it is not rotation invariant).

A test patch's noise is orthogonal to every training patch, so its coordinate stays at its
initial N(0, σ0²) draw (model.init_params): training reads the first 2k + N·P coordinates only,
the others are carried through. The training patches' noise directions are their own indices
in order (data.py), so the noise term is a slice of W rather than a gather (whose gradient is a
scatter-add). A step costs k·m·(N·V·2k + N·P) multiply-adds (V ≤ P: the most view-carrying
patches of a point), whatever d stood for; the patch
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


def limit_inputs(x) -> tuple[dict, np.ndarray]:
    """The training patches x [n, P, 2k + 2] as the engine reads them, and the order of the
    noise coordinates in its state.

    Most patches carry no view (at k = 20 about 85 %): their pre-activation is s·u alone. Within
    each training point the engine orders the patches that carry a view first (a stable sort,
    so the order is otherwise the data's), and V = the largest number of such patches in any
    point: the first V slots of every point hold all of the view-carrying patches (and, in
    points with fewer, some noise-only ones), the other P − V slots only noise. The product
    with c then runs over n·V patches instead of n·P, and both blocks keep the [n, slots]
    shape that the sum over a point's patches reshapes. Returns ({"cv": c of the first slots
    [n·V, 2k], "sv": their norms [n·V], "sn": the other slots' norms [n·(P − V)]}, order
    [n·P]: the patch index of each state slot). The training patches' noise directions must be
    0 .. N·P − 1 in order (the training set of data.py)."""
    c, s, j = limit_patch(x)
    n, P, V2 = c.shape
    if not np.array_equal(np.asarray(j).reshape(-1), np.arange(n * P)):
        raise ValueError("limit engine: the training patches' noise directions must be "
                         "0 .. N·P-1 in order (a training set of data.make_problem)")
    c, s = np.asarray(c), np.asarray(s)
    has = np.any(c != 0, -1)                                              # [n, P]
    first = np.argsort(~has, axis=1, kind="stable")
    V = int(has.sum(1).max())
    order = (np.arange(n)[:, None] * P + first).reshape(-1)
    c, s = c.reshape(n * P, V2)[order].reshape(n, P, V2), s.reshape(n * P)[order].reshape(n, P)
    return ({"cv": jnp.asarray(c[:, :V].reshape(n * V, V2)),
             "sv": jnp.asarray(s[:, :V].reshape(n * V)),
             "sn": jnp.asarray(s[:, V:].reshape(n * (P - V)))}, order)


@functools.lru_cache(maxsize=None)
def limit_logits(q: int) -> Callable:
    """F on the training inputs from the coordinates U = {"a": [k, m, 2k], "uv": [k, m, n, V],
    "un": [k, m, n, P − V]} (limit_inputs' order): H = a·cᵀ + s·u on the view-carrying slots,
    s·u on the others. (Separate arrays rather than one: no slice of the state is copied in a
    step, nor its gradient assembled.)"""
    def logits(U, shared, member):
        k, m, V2 = U["a"].shape
        n, V, rest = U["uv"].shape[2], U["uv"].shape[3], U["un"].shape[3]
        rho = shared["varrho"]
        Hv = U["a"].reshape(k * m, V2) @ shared["cv"].T + shared["sv"] * U["uv"].reshape(
            k * m, n * V)
        Hn = shared["sn"] * U["un"].reshape(k * m, n * rest)
        return (smoothed_relu_fused(Hv, q, rho).reshape(k, m, n, V).sum((1, 3))
                + smoothed_relu_fused(Hn, q, rho).reshape(k, m, n, rest).sum((1, 3))).T
    return logits


def limit_monitor(U, shared, member):
    """Φ and Λ per class and view from a (the views are the first coordinates)."""
    phi, lam = phi_lam(U["a"], shared["views"])
    return {"phi": phi, "lam": lam}


def fit_limit(loss_fn: Callable, W0, shared: dict, member: dict | None, tc, **kw) -> FitResult:
    """`fit` of a loss of `limit_logits` from W0 [L, k, m, D] (model.init_params at d = ∞):
    the first 2k + N·P coordinates train (as a, and the noise coordinates in limit_inputs'
    order as uv and un), the test noise's stay; the result's params (and snapshots) are all D
    coordinates in their own order, its engine "limit"."""
    inputs, order = limit_inputs(shared["x"])
    space = {key: v for key, v in shared.items() if key != "x"} | inputs
    n, P = shared["x"].shape[:2]
    NP, V2 = n * P, inputs["cv"].shape[1]
    V = inputs["cv"].shape[0] // n
    frozen = W0[..., V2 + NP:]
    u = W0[..., V2:V2 + NP][..., order].reshape(W0.shape[:3] + (n, P))
    U0 = {"a": W0[..., :V2], "uv": u[..., :V], "un": u[..., V:]}
    back = np.argsort(order)

    def whole(U):
        u = jnp.concatenate([jnp.asarray(U["uv"]), jnp.asarray(U["un"])], -1)
        u = u.reshape(u.shape[:-2] + (NP,))[..., back]
        return jnp.concatenate([jnp.asarray(U["a"]), u, frozen], -1)

    res = fit(loss_fn, U0, space, member, tc, monitor=limit_monitor, **kw)
    snaps = [(step, np.asarray(whole(U))) for step, U in res.snapshots]
    return res._replace(params=whole(res.params), snapshots=snaps, engine="limit")


def dense_patches(x, D: int):
    """Patches (c, s, j) [n, P, 2k + 2] as dense vectors of the first D orthonormal
    coordinates [n, P, D]: c, then s at 2k + j (for closed forms that need X itself, e.g. the
    NTK's Gram c·cᵀ + s²·I of the training patches; D = 2k + N·P)."""
    c, s, j = limit_patch(x)
    V = c.shape[-1]
    return jnp.concatenate([c, s[..., None] * jax.nn.one_hot(j, D - V, dtype=c.dtype)], -1)

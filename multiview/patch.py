"""The patch-space engine: the network trained by coefficients on the training patches.

Gradient descent (and momentum) on W from W0 only ever adds combinations of the training
patches: the gradient of any loss of the pre-activations H = W Xᵀ is ∂L/∂W = (∂L/∂H) X, with
X[N·P, d] the training patches as rows. So every w_{i,r} − w0_{i,r} stays in their span,
W = W0 + C X, and training the coefficients C[k, m, N·P] by C ← C − lr ∂L/∂H (momentum: the
same trace of these gradients) is the parameter step itself. The pre-activations are
H = H0 + C G with H0 = W0 Xᵀ (computed once) and the Gram matrix G = X Xᵀ, shared by all
members: a step costs k·m·(N·P)² multiply-adds whatever d is, against the direct engine's
2·k·m·N·P·d. Λ and Φ need ⟨w, v⟩ = ⟨w0, v⟩ + C (X v); W itself is formed at the end.

`fit` trains C with the loss of `patch_logits` (the logits' value is that of H0 + C G, its
gradient with respect to C is ∂L/∂H: the stop_gradient trick of the NTK's function space).
The numbers are those of the direct engine up to float rounding (tests/test_patch.py). Used
when the optimizer is linear in the gradients; `size.engine_for` chooses (docs/performance.md).
"""

from __future__ import annotations

import functools
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from .model import smoothed_relu
from .train import FitResult, fit


@jax.jit
def patch_inputs(W0, x, views):
    """G [N·P, N·P] = X Xᵀ, Xv [N·P, k, 2] = X·v (the class's own views), and per member
    H0 [L, k·m, N·P] = W0 Xᵀ and A0 [L, k, m, 2] = ⟨w0_{i,r}, v_{i,l}⟩."""
    n, P, d = x.shape
    X = x.reshape(n * P, d)
    G = X @ X.T
    Xv = jnp.einsum("nd,ild->nil", X, views)
    H0 = jax.vmap(lambda w: w.reshape(-1, d) @ X.T)(W0)
    A0 = jnp.einsum("Limd,ild->Liml", W0, views)
    return G, Xv, H0, A0


@jax.jit
def weights(W0, C, x):
    """W [L, k, m, d] = W0 + C X."""
    n, P, d = x.shape
    return W0 + jnp.einsum("Likn,nd->Likd", C, x.reshape(n * P, d))


@functools.lru_cache(maxsize=None)
def patch_logits(q: int) -> Callable:
    """F(W0 + C X) on the training inputs from H = H0 + C G; its gradient with respect to C is
    ∂L/∂H (the value of C − stop_gradient(C) is 0, its derivative 1), so a gradient step on C is
    the step W ← W − lr ∂L/∂W of the direct engine."""
    def logits(C, shared, member):
        k, m, NP = C.shape
        n = shared["y"].shape[0]
        frozen = jax.lax.stop_gradient(C)
        H = member["H0"] + (frozen.reshape(k * m, NP) @ shared["G"]
                            + (C - frozen).reshape(k * m, NP))
        return smoothed_relu(H, q, shared["varrho"]).reshape(k, m, n, NP // n).sum((1, 3)).T
    return logits


def patch_monitor(C, shared, member):
    """Φ and Λ per class and view from ⟨w_{i,r}, v_{i,l}⟩ = ⟨w0_{i,r}, v_{i,l}⟩ + C_{i,r}·(X v_{i,l})."""
    a = jnp.maximum(member["A0"] + jnp.einsum("irn,nil->irl", C, shared["Xv"]), 0.0)
    return {"phi": a.sum(1), "lam": a.max(1)}


def fit_patch(loss_fn: Callable, W0, shared: dict, member: dict | None, tc, **kw) -> FitResult:
    """`fit` of a loss of `patch_logits` from W0 [L, k, m, d] in patch space; the result's params
    (and snapshots) are the weights W = W0 + C X, its engine "patch"."""
    x = shared["x"]
    G, Xv, H0, A0 = patch_inputs(W0, x, shared["views"])
    space = {key: v for key, v in shared.items() if key != "x"} | {"G": G, "Xv": Xv}
    L, k, m, _ = W0.shape
    C0 = jnp.zeros((L, k, m, G.shape[0]), W0.dtype)
    res = fit(loss_fn, C0, space, {**(member or {}), "H0": H0, "A0": A0}, tc,
              monitor=patch_monitor, **kw)
    snaps = [(step, np.asarray(weights(W0, jnp.asarray(C), x))) for step, C in res.snapshots]
    return res._replace(params=weights(W0, res.params, x), snapshots=snaps, engine="patch")

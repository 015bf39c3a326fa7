"""Instruments for the lottery dynamics: which sample groups push which view (docs/regime.md).

For class i and its view l, the gradient-descent push on the alignment <w_{i,r}, v_{i,l}> is
split by the groups of training points that produce it: class-i multi-view points, class-i
single-view points whose strong view is view 1 / view 2, and the other classes' points.

The push of one step (at lr 1) is -∂L/∂w_{i,r} projected on v_{i,l}, and ∂L/∂w_{i,r} =
Σ_{n,p} g_{n,p} x_{n,p} with g = ∂L/∂h_{i,r,n,p} (the pre-activations h = <w_{i,r}, x_{n,p}>).
Each patch is x_p = Σ_v z_{p,v} v + ξ_p, so the push splits exactly into a *feature* part
-Σ g_{n,p} z_{n,p,(i,l)} (the view itself, where it sits in a patch) and a *noise* part
-Σ g_{n,p} <ξ_{n,p}, v_{i,l}> (the patch noise's component along the view; zero with
data.noise = orthogonal). `push_parts` gives both per group, `push_by_group` their sum.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .data import Dataset
from .model import is_limit, limit_preactivations, smoothed_relu

GROUPS = ("own_multi", "own_single_v1", "own_single_v2", "other_classes")
PARTS = ("feature", "noise")


@functools.partial(jax.jit, static_argnames=("q",))
def _patch_grads(W, x, y, q, varrho):
    """-∂L/∂h [n, k, m, P] of the mean cross-entropy L over the n points: per patch, the
    weight of x_{n,p} in the step -∂L/∂w_{i,r} (row n is point n's own contribution)."""
    def loss(h):                                                            # h [k, m, n, P]
        logits = smoothed_relu(h, q, varrho).sum((1, 3)).T
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    if is_limit(W, x):          # d = ∞: x holds (c, s, j), W its coordinates
        k, m, _ = W.shape
        h = limit_preactivations(W, x).reshape(k, m, *x.shape[:2])
    else:
        h = jnp.einsum("imd,npd->imnp", W, x)
    return -jnp.moveaxis(jax.grad(loss)(h), 2, 0)


@jax.jit
def _own_view_coords(x, views):
    """<x_{n,p}, v_{i,l}> [n, P, k, 2] (at d = ∞ the views are the first 2k coordinates of the
    patches' (c, s, j), and the noise has no component along them)."""
    return jnp.einsum("npd,ild->npil", x[..., :views.shape[-1]], views)


def _by_group(push: np.ndarray, train: Dataset) -> dict[str, np.ndarray]:
    """Per-point pushes [..., n, k, m, 2] summed over each group of each class:
    group -> [..., k, m, 2]."""
    y, single, strong = map(np.asarray, (train.y, train.single, train.strong))
    out = {g: np.zeros(push.shape[:-4] + push.shape[-3:]) for g in GROUPS}
    for i in range(push.shape[-3]):
        own = y == i
        masks = {"own_multi": own & ~single, "own_single_v1": own & single & (strong == 0),
                 "own_single_v2": own & single & (strong == 1), "other_classes": ~own}
        for g, mask in masks.items():
            out[g][..., i, :, :] = push[..., mask, i, :, :].sum(-3)
    return out


def _grads(W, train: Dataset, q: int, varrho: float) -> np.ndarray:
    """-∂L/∂h per patch [n, k, m, P] for W [k, m, d], or [L, n, k, m, P] for W [L, k, m, d]."""
    grads = jax.vmap(_patch_grads, in_axes=(0, None, None, None, None)) if W.ndim == 4 \
        else _patch_grads
    return np.asarray(grads(W, train.x, train.y, q, varrho), np.float64)


def _project(g: np.ndarray, coords, train: Dataset) -> dict[str, np.ndarray]:
    """The per-group pushes of patch weights g with patch coordinates coords [n, P, k, 2]."""
    c = np.asarray(coords, np.float64)
    return _by_group(np.einsum("...nimp,npil->...niml", g, c), train)


def push_parts(W, train: Dataset, views, q: int, varrho: float,
               features) -> dict[str, dict[str, np.ndarray]]:
    """Per group and part, the push per step (at lr 1) on <w_{i,r}, v_{i,l}>:
    group -> {"feature": [k, m, 2], "noise": [k, m, 2]} (W [k, m, d]; with W [L, k, m, d],
    [L, k, m, 2] each). `features` [n, P, d] are the training patches without their noise
    (data.train_features); the noise is train.x - features. The two parts add up to
    `push_by_group`'s total (up to float rounding)."""
    g = _grads(W, train, q, varrho)
    per = {"feature": _project(g, _own_view_coords(features, views), train),
           "noise": _project(g, _own_view_coords(train.x - features, views), train)}
    return {grp: {part: per[part][grp] for part in PARTS} for grp in GROUPS}


def push_by_group(W, train: Dataset, views, q: int, varrho: float) -> dict[str, np.ndarray]:
    """Per group, the push per step (at lr 1) on <w_{i,r}, v_{i,l}>: group -> [k, m, 2]
    (W [k, m, d]; with W [L, k, m, d], [L, k, m, 2])."""
    return _project(_grads(W, train, q, varrho), _own_view_coords(train.x, views), train)

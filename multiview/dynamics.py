"""Instruments for the lottery dynamics: which sample groups push which view (docs/regime.md).

For class i and its view l, the gradient-descent push on the alignment <w_{i,r}, v_{i,l}> is
split by the groups of training points that produce it: class-i multi-view points, class-i
single-view points whose strong view is view 1 / view 2, and the other classes' points.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .data import Dataset
from .model import forward

GROUPS = ("own_multi", "own_single_v1", "own_single_v2", "other_classes")


@functools.partial(jax.jit, static_argnames=("q",))
def _per_sample_push(W, x, y, views, q, varrho, n_total):
    """-(1/N) d loss_n / d W projected on each class's own views: [n, k, m, 2]."""
    def loss_one(W, xn, yn):
        logits = forward(W, xn[None], q, varrho)
        return optax.softmax_cross_entropy_with_integer_labels(logits, yn[None])[0] / n_total

    g = jax.vmap(jax.grad(loss_one), in_axes=(None, 0, 0))(W, x, y)          # [n, k, m, d]
    return -jnp.einsum("nimd,ild->niml", g, views)


def push_by_group(W, train: Dataset, views, q: int, varrho: float) -> dict[str, np.ndarray]:
    """Per group, the push per step (at lr 1) on <w_{i,r}, v_{i,l}>: group -> [k, m, 2]."""
    n = train.x.shape[0]
    push = np.asarray(_per_sample_push(W, train.x, train.y, views, q, varrho, n))
    y, single, strong = map(np.asarray, (train.y, train.single, train.strong))
    k = W.shape[0]
    out = {g: np.zeros(W.shape[:2] + (2,)) for g in GROUPS}
    for i in range(k):
        own = y == i
        masks = {"own_multi": own & ~single, "own_single_v1": own & single & (strong == 0),
                 "own_single_v2": own & single & (strong == 1), "other_classes": ~own}
        for g, mask in masks.items():
            out[g][i] = push[mask, i].sum(0)
    return out


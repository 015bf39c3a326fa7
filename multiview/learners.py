"""Learners (SPEC section 3) as thin uses of the one training engine in train.py."""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .config import Config
from .data import Problem
from .model import forward, init_params, phi_lam
from .train import FitResult, fit


@functools.lru_cache(maxsize=None)
def label_loss(q: int):
    """Softmax cross-entropy of the network on labels, mean over the training set."""
    def loss(W, shared, member):
        logits = forward(W, shared["x"], q, shared["varrho"])
        ce = optax.softmax_cross_entropy_with_integer_labels(logits, shared["y"]).mean()
        return ce, (jnp.argmax(logits, -1) == shared["y"]).mean()
    return loss


def view_monitor(W, shared):
    """Φ and Λ per class and view, logged every step."""
    phi, lam = phi_lam(W, shared["views"])
    return {"phi": phi, "lam": lam}


class Trained(NamedTuple):
    params: jax.Array           # [L, k, m, d]
    fit: FitResult


def shared_inputs(cfg: Config, problem: Problem) -> dict:
    dtype = jnp.float64 if cfg.train.dtype == "float64" else jnp.float32
    return {"x": problem.train.x.astype(dtype), "y": problem.train.y,
            "views": problem.views.astype(dtype), "varrho": jnp.asarray(cfg.model.varrho, dtype)}


def init_members(keys: jax.Array, cfg: Config) -> jax.Array:
    dtype = jnp.float64 if cfg.train.dtype == "float64" else jnp.float32
    return jax.vmap(lambda k: init_params(k, cfg.data, cfg.model, dtype))(keys)


def train_single(keys: jax.Array, cfg: Config, problem: Problem, *, progress=True,
                 desc="single", snapshots=False) -> Trained:
    """L independently initialised networks on the same labels, trained under vmap."""
    W0 = init_members(keys, cfg)
    res = fit(label_loss(cfg.model.q), W0, shared_inputs(cfg, problem), None, cfg.train,
              monitor=view_monitor, progress=progress, desc=desc, snapshots=snapshots)
    return Trained(res.params, res)


@functools.partial(jax.jit, static_argnames=("q",))
def _member_logits(W, x, q, varrho):
    return jax.vmap(forward, in_axes=(0, None, None, None))(W, x, q, varrho)


def logits_of(W: jax.Array, x: jax.Array, cfg: Config, batch: int = 1000) -> jax.Array:
    """Logits [L, n, k] of L members on inputs x [n, P, d] (in batches to bound memory)."""
    out = [_member_logits(W, x[i:i + batch], cfg.model.q, cfg.model.varrho)
           for i in range(0, x.shape[0], batch)]
    return jnp.concatenate(out, axis=1)

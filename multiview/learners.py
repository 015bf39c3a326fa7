"""Learners (docs/model.md section 3) as thin uses of the one training engine in train.py.

A learner is a logits function (network, random features; the NTK linearisation is in ntk.py)
combined with an objective (labels, the theorem's distillation update, Hinton's KD); `fit`
trains it. Each learner's train / logits / Λ functions make one entry of recipe.LEARNERS.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .config import Config
from .data import Problem, limit_patch
from .keys import STREAMS
from .losses import (cross_entropy, hinton_kd, logit_matching, one_sided_logit_matching,
                     theorem_kd_surrogate, theorem_projected_surrogate)
from .model import forward, init_params, phi_lam, smoothed_relu
from .limit import fit_limit, limit_logits
from .patch import fit_patch, patch_logits
from .size import engine_for
from .train import FitResult, fit

# --- logits functions: (params, shared, member) -> logits [n, k] on the training inputs -------


@functools.lru_cache(maxsize=None)
def net_logits(q: int) -> Callable:
    """The two-layer network F(W, X) (docs/model.md section 2)."""
    def logits(W, shared, member):
        return forward(W, shared["x"], q, shared["varrho"])
    return logits


def rf_logits(A, shared, member):
    """Random features: frozen features phi[n, width] of this member, trainable head A[k, width]."""
    return member["phi"] @ A.T


# --- objectives -----------------------------------------------------------------------------

def _teacher(shared, member):
    return member["teacher"] if "teacher" in member else shared["teacher"]


@functools.lru_cache(maxsize=None)
def make_loss(logits_fn: Callable, objective: str) -> Callable:
    """loss(params, shared, member) -> (objective value, train accuracy)."""
    def loss(p, shared, member):
        F = logits_fn(p, shared, member)
        y = shared["y"]
        if objective == "labels":
            value = cross_entropy(F, y)
        elif objective == "theorem":
            value = theorem_kd_surrogate(F, _teacher(shared, member), y, shared["tau"],
                                         shared["eta_ratio"], shared["eps"], shared["label_weight"])
        elif objective == "theorem_projected":
            value = theorem_projected_surrogate(F, _teacher(shared, member), y, shared["tau"],
                                                shared["eta_ratio"], shared["eps"],
                                                shared["label_weight"])
        elif objective == "logits_onesided":
            value = one_sided_logit_matching(F, _teacher(shared, member), y, shared["alpha"])
        elif objective == "hinton":
            value = hinton_kd(F, _teacher(shared, member), y, shared["T"], shared["alpha"])
        elif objective == "logits":
            value = logit_matching(F, _teacher(shared, member), y, shared["alpha"])
        else:
            raise ValueError(objective)
        return value, (jnp.argmax(F, -1) == y).mean()
    return loss


def label_loss(q: int) -> Callable:
    """Softmax cross-entropy of the network on labels, mean over the training set."""
    return make_loss(net_logits(q), "labels")


# --- monitors -------------------------------------------------------------------------------

def view_monitor(W, shared, member=None):
    """Φ and Λ per class and view, logged every step."""
    phi, lam = phi_lam(W, shared["views"])
    return {"phi": phi, "lam": lam}


# --- shared inputs and initialisation -------------------------------------------------------

def float_dtype(cfg: Config):
    """The arrays' float type: train.dtype."""
    return jnp.float64 if cfg.train.dtype == "float64" else jnp.float32


_dtype = float_dtype          # the old private name (sweep.py, other lanes)


def shared_inputs(cfg: Config, problem: Problem, teacher=None, y=None) -> dict:
    """Arrays every member sees: training inputs, labels, views and traced hyperparameters."""
    dt = float_dtype(cfg)
    out = {"x": problem.train.x.astype(dt), "y": problem.train.y if y is None else y,
           "views": problem.views.astype(dt), "varrho": jnp.asarray(cfg.model.varrho, dt),
           "tau": jnp.asarray(cfg.distill.tau, dt), "eta_ratio": jnp.asarray(cfg.distill.eta_ratio, dt),
           "T": jnp.asarray(cfg.distill.T, dt), "alpha": jnp.asarray(cfg.distill.alpha, dt),
           "eps": jnp.asarray(cfg.distill.eps, dt),
           "label_weight": jnp.asarray(cfg.distill.label_weight, dt)}
    if teacher is not None:
        out["teacher"] = teacher.astype(dt)
    return out


def init_members(keys: jax.Array, cfg: Config, m: int | None = None, sigma: float | None = None):
    """W[L, k, m, d] with N(0, sigma^2) entries (defaults: model.m, model.sigma0)."""
    model = dataclasses.replace(cfg.model, m=m or cfg.model.m,
                                sigma0=sigma if sigma is not None else cfg.model.sigma0)
    return jax.vmap(lambda k: init_params(k, cfg.data, model, float_dtype(cfg)))(keys)


def _student_train_cfg(cfg: Config, section, steps: int | None = None):
    return dataclasses.replace(cfg.train, steps=steps or section.steps, stop="none",
                               lr=section.lr or cfg.train.lr)


class Trained(NamedTuple):
    params: jax.Array           # [L, ...]
    fit: FitResult
    extra: dict = {}            # what evaluation needs besides params (frozen layers)


# --- the two-layer network: single, sum, students ----------------------------------------

def train_single(keys: jax.Array, cfg: Config, problem: Problem, *, progress=True,
                 desc="single", snapshots=False, m: int | None = None) -> Trained:
    """L independently initialised networks on the same labels, trained under vmap.

    With m = L'·model.m this is also `sum_trained`: a network with L'·m neurons per class is
    exactly the sum of L' networks trained jointly.
    """
    W0 = init_members(keys, cfg, m=m)
    res = fit_network("labels", W0, shared_inputs(cfg, problem), None, cfg.train, cfg,
                      progress=progress, desc=desc, snapshots=snapshots)
    return Trained(res.params, res)


def train_students(keys: jax.Array, cfg: Config, problem: Problem, teacher_train_logits, *,
                   per_member: bool, objective: str | None = None, steps: int | None = None,
                   labels=None, progress=True, desc="student", snapshots=False) -> Trained:
    """Fresh networks distilled from frozen teacher logits on the training set.

    teacher_train_logits: [n, k] (one teacher for all students, e.g. the ensemble) or
    [L, n, k] with per_member=True (self-distillation: student l learns from teacher l);
    None with `labels` [n]: the students train on these targets in place of the labels
    (objective "labels", same recipe otherwise; methods.TEACHERS["argmax"]).
    objective: "theorem" or "hinton" (default: distill.objective).
    steps: how many steps every student runs, with no early stop (default distill.steps;
    recipe.student_steps is the budget rule).
    snapshots: keep the parameters after every chunk (the ratchet diagnostic's ΔF).
    """
    W0 = init_members(keys, cfg)
    steps = steps or cfg.distill.steps
    if not steps:
        raise ValueError("distill.steps = 0 means 'the single models' step budget': pass "
                         "steps=recipe.student_steps(cfg, budget) or set distill.steps >= 1")
    tc = _student_train_cfg(cfg, cfg.distill, steps)
    if labels is not None:
        assert teacher_train_logits is None and not per_member
        shared, member, objective = shared_inputs(cfg, problem, y=labels), None, "labels"
    elif per_member:
        shared, member = shared_inputs(cfg, problem), {"teacher": teacher_train_logits}
    else:
        shared, member = shared_inputs(cfg, problem, teacher=teacher_train_logits), None
    res = fit_network(objective or cfg.distill.objective, W0, shared, member, tc, cfg,
                      progress=progress, desc=desc, snapshots=snapshots)
    return Trained(res.params, res)


def fit_network(objective: str, W0, shared: dict, member, tc, cfg: Config, *, progress=True,
                desc="", snapshots=False) -> FitResult:
    """Train the two-layer network from W0 [L, k, m, d] on an objective of losses.py
    (make_loss), logging Φ / Λ every step, with the engine size.engine_for chooses: W itself
    ("direct", `fit`) or its coefficients on the training patches ("patch",
    multiview/patch.py) or, at d = ∞, its coordinates along the views and the noise ("limit",
    multiview/limit.py). The one place single models, sums and students meet an engine;
    params are the weights W (at d = ∞ in those coordinates) whichever it is."""
    kw = dict(progress=progress, desc=desc, snapshots=snapshots)
    engine = engine_for(cfg, W0.shape[0], W0.shape[2])
    if engine == "limit":
        return fit_limit(make_loss(limit_logits(cfg.model.q), objective), W0, shared, member,
                         tc, **kw)
    if engine == "patch":
        return fit_patch(make_loss(patch_logits(cfg.model.q), objective), W0, shared, member,
                         tc, **kw)
    return fit(make_loss(net_logits(cfg.model.q), objective), W0, shared, member, tc,
               monitor=view_monitor, **kw)


@functools.partial(jax.jit, static_argnames=("q",))
def _member_logits(W, x, q, varrho):
    return jax.vmap(forward, in_axes=(0, None, None, None))(W, x, q, varrho)


def logits_of(W: jax.Array, x: jax.Array, cfg: Config, batch: int = 1000) -> jax.Array:
    """Logits [L, n, k] of L members on inputs x [n, P, d] (in batches to bound memory)."""
    out = [_member_logits(W, x[i:i + batch], cfg.model.q, cfg.model.varrho)
           for i in range(0, x.shape[0], batch)]
    return jnp.concatenate(out, axis=1)


def net_eval_logits(tr: Trained, x, cfg: Config):
    """Logits [L, n, k] of trained networks (single models, sums, students) on inputs x."""
    return logits_of(tr.params, x, cfg)


def net_lam(tr: Trained, problem: Problem):
    """Λ[L, k, 2] at the end of training (the monitor's last row)."""
    return tr.fit.history["lam"][-1]


# --- random features ----------------------------------------------------------------------

@functools.partial(jax.jit, static_argnames=("q",))
def _rf_features(W1, x, q, varrho, scale):
    """phi[L, n, width] = sum_p ReLU~(<w_r, x_p>) / scale for frozen W1[L, width, d]."""
    def one(w):
        n, P, d = x.shape
        h = x.reshape(n * P, d) @ w.T
        return smoothed_relu(h, q, varrho).reshape(n, P, -1).sum(1)
    return jax.vmap(one)(W1) / scale


@functools.partial(jax.jit, static_argnames=("q",))
def _rf_limit_features(W1, x, q, varrho, sigma):
    """`_rf_features` at d = ∞: W1 = {"a": [L, width, 2k] the views' coordinates, "key": [L]};
    a neuron's coordinate along patch j's noise direction is sigma·N(0, 1) from
    fold_in(fold_in(key, STREAMS["limit_test"]), j), drawn when read (never held whole)."""
    c, s, j = limit_patch(x)
    n, P, V = c.shape

    def one(a, key):
        base = jax.random.fold_in(key, STREAMS["limit_test"])
        noise = jax.vmap(lambda jj: jax.random.normal(jax.random.fold_in(base, jj),
                                                      (a.shape[0],), a.dtype))(j.reshape(-1))
        h = c.reshape(n * P, V) @ a.T + sigma * s.reshape(-1, 1) * noise
        return smoothed_relu(h, q, varrho).reshape(n, P, -1).sum(1)
    return jax.vmap(one)(W1["a"], W1["key"])


def rf_layers(keys: jax.Array, cfg: Config, width: int):
    """Frozen first layers W1[L, width, d] ~ N(0, rf_sigma^2) (not tied to classes); at d = ∞
    their views' coordinates and the keys of their noise coordinates (`_rf_limit_features`)."""
    d = 2 * cfg.data.k if cfg.data.limit else cfg.data.d
    W1 = cfg.fixed.rf_sigma * jax.vmap(
        lambda k: jax.random.normal(k, (width, d), float_dtype(cfg)))(keys)
    return {"a": W1, "key": keys} if cfg.data.limit else W1


def rf_features(W1, x, cfg: Config, batch: int = 1000):
    """Raw random features phi[L, n, width] of inputs x (in batches to bound memory)."""
    q, varrho = cfg.model.q, cfg.model.varrho
    if cfg.data.limit:
        return jnp.concatenate([_rf_limit_features(W1, x[i:i + batch], q, varrho,
                                                   cfg.fixed.rf_sigma)
                                for i in range(0, x.shape[0], batch)], axis=1)
    raw = jnp.concatenate([_rf_features(W1, x[i:i + batch], q, varrho, 1.0)
                           for i in range(0, x.shape[0], batch)], axis=1)
    return raw


def train_rf(keys: jax.Array, cfg: Config, problem: Problem, *, width: int | None = None,
             teacher=None, objective: str = "labels", progress=True, desc="rf") -> Trained:
    """Random-feature models: frozen random first layer (width neurons, shared by all classes),
    trainable linear head A[k, width] from zero. Feature scale: divided by sqrt(width) times the
    features' RMS on the training set, so the head's step size does not depend on width."""
    width = width or cfg.fixed.rf_width
    W1 = rf_layers(keys, cfg, width)
    phi_train = rf_features(W1, problem.train.x, cfg)
    scale = jnp.sqrt(jnp.mean(phi_train**2, axis=(1, 2), keepdims=True)) * np.sqrt(width) + 1e-12
    L = keys.shape[0]
    A0 = jnp.zeros((L, cfg.data.k, width), float_dtype(cfg))
    tc = _student_train_cfg(cfg, cfg.fixed)
    shared = shared_inputs(cfg, problem, teacher=teacher)
    res = fit(make_loss(rf_logits, objective), A0, shared, {"phi": phi_train / scale}, tc,
              progress=progress, desc=desc)
    return Trained(res.params, res, {"W1": W1, "scale": scale})


def rf_eval_logits(tr: Trained, x, cfg: Config):
    """Logits [L, n, k] of trained random-feature models on inputs x."""
    phi = rf_features(tr.extra["W1"], x, cfg) / tr.extra["scale"]
    return jnp.einsum("lnw,lkw->lnk", phi, tr.params)

"""Learners (docs/model.md section 3) as thin uses of the one training engine in train.py.

A learner is a logits function (network, random features, NTK linearisation) combined with an
objective (labels, the theorem's distillation update, Hinton's KD); `fit` trains it.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .config import Config
from .data import Problem
from .losses import cross_entropy, hinton_kd, logit_matching, theorem_kd_surrogate
from .model import forward, init_params, phi_lam, smoothed_relu
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

def _dtype(cfg: Config):
    return jnp.float64 if cfg.train.dtype == "float64" else jnp.float32


def shared_inputs(cfg: Config, problem: Problem, teacher=None, y=None) -> dict:
    """Arrays every member sees: training inputs, labels, views and traced hyperparameters."""
    dt = _dtype(cfg)
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
    return jax.vmap(lambda k: init_params(k, cfg.data, model, _dtype(cfg)))(keys)


def _student_train_cfg(cfg: Config, section, steps: int | None = None):
    return dataclasses.replace(cfg.train, steps=steps or section.steps, stop="none",
                               lr=section.lr or cfg.train.lr)


def step_budget(fit_result: FitResult, cfg: Config) -> int:
    """Steps the L label-trained members used: the step at which the last of them met the
    stopping rule (train.steps when one never did). Students get this many steps when
    distill.steps = 0, so they train as long as the models they are compared with."""
    stopped = np.asarray(fit_result.stopped_at)
    if cfg.train.stop == "none" or (stopped < 0).any():
        return int(cfg.train.steps)
    return max(1, int(stopped.max()))


def student_steps(cfg: Config, budget: int | None) -> int:
    """distill.steps, or the given budget when distill.steps = 0."""
    if cfg.distill.steps:
        return cfg.distill.steps
    if budget is None:
        raise ValueError("distill.steps = 0 means 'the single models' step budget': pass "
                         "steps=step_budget(single.fit, cfg) or set distill.steps >= 1")
    return int(budget)


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
                   progress=True, desc="student") -> Trained:
    """Fresh networks distilled from frozen teacher logits on the training set.

    teacher_train_logits: [n, k] (one teacher for all students, e.g. the ensemble) or
    [L, n, k] with per_member=True (self-distillation: student l learns from teacher l).
    objective: "theorem", "hinton" (default: distill.objective) or "hard" (teacher's argmax
    as labels, same recipe otherwise).
    steps: the budget used when distill.steps = 0 (see `step_budget`). Every student runs
    exactly that many steps, with no early stop.
    """
    objective = objective or cfg.distill.objective
    W0 = init_members(keys, cfg)
    tc = _student_train_cfg(cfg, cfg.distill, student_steps(cfg, steps))
    if objective == "hard":
        assert not per_member
        shared = shared_inputs(cfg, problem, y=jnp.argmax(teacher_train_logits, -1))
        res = fit_network("labels", W0, shared, None, tc, cfg, progress=progress, desc=desc)
        return Trained(res.params, res)
    if per_member:
        shared, member = shared_inputs(cfg, problem), {"teacher": teacher_train_logits}
    else:
        shared, member = shared_inputs(cfg, problem, teacher=teacher_train_logits), None
    res = fit_network(objective, W0, shared, member, tc, cfg, progress=progress, desc=desc)
    return Trained(res.params, res)


def fit_network(objective: str, W0, shared: dict, member, tc, cfg: Config, *, progress=True,
                desc="", snapshots=False) -> FitResult:
    """Train the two-layer network from W0 [L, k, m, d] on an objective of losses.py
    (make_loss), logging Φ / Λ every step, with the engine size.engine_for chooses: W itself
    ("direct", `fit`) or its coefficients on the training patches ("patch",
    multiview/patch.py). The one place single models, sums and students meet an engine;
    params are the weights W either way."""
    kw = dict(progress=progress, desc=desc, snapshots=snapshots)
    if engine_for(cfg, W0.shape[0], W0.shape[2]) == "patch":
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


# --- random features ----------------------------------------------------------------------

@functools.partial(jax.jit, static_argnames=("q",))
def _rf_features(W1, x, q, varrho, scale):
    """phi[L, n, width] = sum_p ReLU~(<w_r, x_p>) / scale for frozen W1[L, width, d]."""
    def one(w):
        n, P, d = x.shape
        h = x.reshape(n * P, d) @ w.T
        return smoothed_relu(h, q, varrho).reshape(n, P, -1).sum(1)
    return jax.vmap(one)(W1) / scale


def rf_layers(keys: jax.Array, cfg: Config, width: int):
    """Frozen first layers W1[L, width, d] ~ N(0, rf_sigma^2) (not tied to classes)."""
    return cfg.fixed.rf_sigma * jax.vmap(
        lambda k: jax.random.normal(k, (width, cfg.data.d), _dtype(cfg)))(keys)


def rf_features(W1, x, cfg: Config, batch: int = 1000):
    """Raw random features phi[L, n, width] of inputs x (in batches to bound memory)."""
    q, varrho = cfg.model.q, cfg.model.varrho
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
    A0 = jnp.zeros((L, cfg.data.k, width), _dtype(cfg))
    tc = _student_train_cfg(cfg, cfg.fixed)
    shared = shared_inputs(cfg, problem, teacher=teacher)
    res = fit(make_loss(rf_logits, objective), A0, shared, {"phi": phi_train / scale}, tc,
              progress=progress, desc=desc)
    return Trained(res.params, res, {"W1": W1, "scale": scale})


def rf_eval_logits(tr: Trained, x, cfg: Config):
    phi = rf_features(tr.extra["W1"], x, cfg) / tr.extra["scale"]
    return jnp.einsum("lnw,lkw->lnk", phi, tr.params)


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
    return Trained(D, res, {"W0": W0, "space": space})


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

"""The multi-view data of docs/model.md section 1: views, multi-view and single-view samples.

A sample X has P patches in R^d. Class y owns views v_{y,1}, v_{y,2}. Each view present in X
occupies C_p patches of its own (disjoint); the per-view total Z = sum of its patch weights.

At d = ∞ (DataConfig.limit) no d-dimensional vector is formed. The views are the first 2k
vectors of an orthonormal basis (so `incoherent` views are orthonormal there: independent random
unit vectors in infinitely many dimensions are), and every patch's noise is its own further unit
direction times the noise norm s = data.noise_norm. A patch x = Σ_v c_v v + s·e_j is stored as
the 2k + 2 numbers (c, s, j) (`limit_patch` reads them): the training patches (n, p) take the
directions j = n·P + p, the test patches the ones after the training set's.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .config import DataConfig
from .size import CHUNK_BYTES, CHUNKED_ABOVE

# XLA:CPU spends most of the generator's compile time in LLVM's top optimisation level on the
# threefry hashes (~4 s of a ~5 s compile on a 2-core CPU); at level 1 it compiles in ~1.7 s,
# runs as fast and draws the same bits (tests/test_data.py compares the two compilations).
# Other backends keep their defaults.
CPU_COMPILER_OPTIONS = {"xla_backend_optimization_level": 1}


def _jit_fast_compile(*static: str):
    """jax.jit with CPU_COMPILER_OPTIONS when the default backend is the CPU. The two compiled
    forms are the attributes `.cpu` and `.default` (the latter: XLA's defaults)."""
    def wrap(fn):
        cpu = jax.jit(fn, static_argnames=static, compiler_options=CPU_COMPILER_OPTIONS)
        default = jax.jit(fn, static_argnames=static)

        @functools.wraps(fn)
        def call(*args, **kw):
            return (cpu if jax.default_backend() == "cpu" else default)(*args, **kw)
        call.cpu, call.default = cpu, default
        return call
    return wrap


class Dataset(NamedTuple):
    """Inputs, labels and the ground truth used by the diagnostics."""

    x: jax.Array            # [n, P, d] patches
    y: jax.Array            # [n] labels in [0, k)
    single: jax.Array       # [n] bool: single-view sample
    strong: jax.Array       # [n] surviving (strong) own view of a single-view sample, -1 for multi-view
    off: jax.Array          # [n, k, 2] bool: off-class views present (V')
    Z: jax.Array            # [n, k, 2] per-view totals (0 where absent)


class Shape(NamedTuple):
    """The fields of DataConfig that fix array shapes or program structure: the only static
    arguments of the compiled generator. Every other field (mu, s, rho, Gamma, gamma, sigma_p,
    the view-weight ranges) is passed as a traced value, so a sweep over them never recompiles."""

    k: int
    d: int
    C_p: int
    P: int
    views: str
    off_mode: str
    feature_noise: bool          # gamma > 0
    noise: str = "isotropic"     # or "orthogonal": the patch noise with its part along the views removed


# at d = ∞ a patch is its view coefficients c [2k], its noise norm s and its noise index j
LIMIT_EXTRA = 2


def limit_patch(x: jax.Array):
    """(c [..., 2k], s [...], j [...] int32) of patches x [..., 2k + 2] of a d = ∞ problem."""
    V = x.shape[-1] - LIMIT_EXTRA
    return x[..., :V], x[..., V], x[..., V + 1].astype(jnp.int32)


def _shape(cfg: DataConfig) -> Shape:
    return Shape(cfg.k, cfg.d, cfg.C_p, cfg.n_patches, cfg.views, cfg.off_mode, cfg.gamma > 0,
                 cfg.noise)


def _values(cfg: DataConfig, mu) -> dict:
    """The traced numbers of one draw; products are formed here in Python (float64) exactly as
    the constants of a config-specialised program would be."""
    f32 = lambda v: jnp.asarray(v, jnp.float32)  # noqa: E731
    limit = {"noise_norm": f32(cfg.noise_norm)} if cfg.limit else {}
    return limit | {"mu": f32(mu), "p_off": f32(cfg.s / cfg.k),
            "own": (f32(cfg.z_own[0]), f32(cfg.z_own[1])),
            "faint": (f32(cfg.rho), f32(cfg.rho * cfg.rho_spread)),
            "off_multi": (f32(cfg.z_off_multi[0]), f32(cfg.z_off_multi[1])),
            "off_single": (f32(cfg.Gamma * cfg.Gamma_lo), f32(cfg.Gamma)),
            "gamma": f32(cfg.gamma), "sigma_p": f32(cfg.sigma_p)}


@_jit_fast_compile("shape")
def _make_views(key: jax.Array, shape: Shape) -> jax.Array:
    if math.isinf(shape.d):               # the first 2k basis vectors
        return jnp.eye(2 * shape.k).reshape(shape.k, 2, 2 * shape.k)
    g = jax.random.normal(key, (shape.d, 2 * shape.k))
    if shape.views == "orthonormal":
        q, r = jnp.linalg.qr(g)
        q = q * jnp.sign(jnp.diagonal(r))[None, :]
    else:
        q = g / jnp.linalg.norm(g, axis=0, keepdims=True)
    return q.T.reshape(shape.k, 2, shape.d)


def make_views(key: jax.Array, cfg: DataConfig) -> jax.Array:
    """V[k, 2, d]: orthonormal views (QR of a Gaussian), or incoherent random unit vectors; at
    d = ∞ the first 2k basis vectors [k, 2, 2k] (either mode)."""
    return _make_views(key, _shape(cfg))


def _uniform(key, shape, lo_hi):
    lo, hi = lo_hi
    return jax.random.uniform(key, shape, minval=lo, maxval=hi)


def _sample_totals(key: jax.Array, shape: Shape, n: int, v: dict):
    k = shape.k
    ky, ks, kl, koff, kone, k1, k2, k3, k4 = jax.random.split(key, 9)
    y = jax.random.randint(ky, (n,), 0, k)
    single = jax.random.bernoulli(ks, v["mu"], (n,))
    lhat = jax.random.randint(kl, (n,), 0, 2)
    own = jax.nn.one_hot(y, k, dtype=bool)[:, :, None] & jnp.ones((1, 1, 2), bool)
    if shape.off_mode == "bernoulli":
        off = jax.random.bernoulli(koff, v["p_off"], (n, k, 2)) & ~own
    else:  # exactly one off-class view, uniformly among the 2(k-1)
        logits = jnp.where(own.reshape(n, 2 * k), -jnp.inf, 0.0)
        pick = jax.random.categorical(kone, logits, axis=-1)
        off = jax.nn.one_hot(pick, 2 * k, dtype=bool).reshape(n, k, 2)
    strong_own = _uniform(k1, (n, k, 2), v["own"])
    faint = _uniform(k2, (n, k, 2), v["faint"])
    off_multi = _uniform(k3, (n, k, 2), v["off_multi"])
    off_single = _uniform(k4, (n, k, 2), v["off_single"])
    is_strong = jax.nn.one_hot(lhat, 2, dtype=bool)[:, None, :]          # [n,1,2]
    own_z = jnp.where(single[:, None, None] & ~is_strong, faint, strong_own)
    off_z = jnp.where(single[:, None, None], off_single, off_multi)
    Z = jnp.where(own, own_z, jnp.where(off, off_z, 0.0))
    strong = jnp.where(single, lhat, -1)
    return y, single, strong, off, Z


def _orthogonal_to(xi: jax.Array, V: jax.Array) -> jax.Array:
    """xi with its projection on the span of the rows of V removed (an orthonormal basis of
    that span from a QR, so that incoherent views are handled too)."""
    Q, _ = jnp.linalg.qr(V.T)                                               # [d, 2k]
    return xi - (xi @ Q) @ Q.T


@_jit_fast_compile("shape", "n")
def _generate(key: jax.Array, shape: Shape, views: jax.Array, n: int, v: dict) -> Dataset:
    k, C, P, d = shape.k, shape.C_p, shape.P, shape.d
    kt, ksplit, kperm, kfn, kxi = jax.random.split(key, 5)
    y, single, strong, off, Z = _sample_totals(kt, shape, n, v)
    # split each view's total over its C_p patches
    u = jax.random.uniform(ksplit, (n, 2 * k, C), minval=0.5, maxval=1.5)
    z = Z.reshape(n, 2 * k, 1) * u / u.sum(-1, keepdims=True)              # [n, 2k, C]
    # coefficient of view j in slot (j*C + c) is z[:, j, c]; extra slots are empty
    coef = jnp.einsum("njc,jl->njcl", z, jnp.eye(2 * k)).reshape(n, 2 * k * C, 2 * k)
    coef = jnp.pad(coef, ((0, 0), (0, P - 2 * k * C), (0, 0)))
    perm = jax.vmap(lambda kk: jax.random.permutation(kk, P))(jax.random.split(kperm, n))
    coef = jnp.take_along_axis(coef, perm[:, :, None], axis=1)             # [n, P, 2k]
    if shape.feature_noise:
        coef = coef + jax.random.uniform(kfn, (n, P, 2 * k), maxval=v["gamma"])
    if math.isinf(d):           # (c, s, j): the noise is orthogonal to everything else
        j = jnp.arange(n * P, dtype=coef.dtype).reshape(n, P, 1)
        s = jnp.full((n, P, 1), v["noise_norm"], coef.dtype)
        return Dataset(x=jnp.concatenate([coef, s, j], -1), y=y, single=single, strong=strong,
                       off=off, Z=Z)
    x = coef @ views.reshape(2 * k, d)
    xi = jax.random.normal(kxi, (n, P, d))
    if shape.noise == "orthogonal":
        xi = _orthogonal_to(xi, views.reshape(2 * k, d))
    x = x + v["sigma_p"] * xi
    return Dataset(x=x, y=y, single=single, strong=strong, off=off, Z=Z)


def generate(key: jax.Array, cfg: DataConfig, views: jax.Array, n: int, mu) -> Dataset:
    """Draw n samples; each single-view with probability mu (docs/model.md section 1).

    Patch layout: each of the 2k views owns C_p patch slots (used only when the view is present),
    remaining slots hold noise only; slots are shuffled per sample. Within a view, Z is split
    over its C_p patches by random proportions. Every patch also gets feature noise
    sum_v alpha_v v with alpha_v ~ U[0, gamma] and Gaussian noise N(0, sigma_p^2 I); with
    noise = "orthogonal", the Gaussian noise has its projection on the 2k views removed (the
    same draws otherwise).
    Compiled once per (Shape, n): configs that differ only in values share the program.
    """
    return _generate(key, _shape(cfg), views, n, _values(cfg, mu))


class Problem(NamedTuple):
    """Views plus one training and one test set, all from one key."""

    views: jax.Array
    train: Dataset
    test: Dataset


def generate_chunked(key: jax.Array, cfg: DataConfig, views: jax.Array, n: int, mu) -> Dataset:
    """`generate`, or for more than CHUNKED_ABOVE bytes of patches the concatenation of pieces
    drawn with keys fold_in(key, i), the patches x in one numpy array."""
    P, d = cfg.n_patches, cfg.d
    if cfg.limit or n * P * d * 4 <= CHUNKED_ABOVE:
        return generate(key, cfg, views, n, mu)
    per = max(1, CHUNK_BYTES // (P * d * 4))
    x = np.empty((n, P, d), np.float32)
    rest = []
    for i, start in enumerate(range(0, n, per)):
        part = generate(jax.random.fold_in(key, i), cfg, views, min(per, n - start), mu)
        x[start:start + len(part.y)] = np.asarray(part.x)
        rest.append(part._replace(x=None))
    return Dataset(x, *(jnp.concatenate([getattr(p, f) for p in rest])
                        for f in Dataset._fields[1:]))


def make_problem(key: jax.Array, cfg: DataConfig) -> Problem:
    """Views, a training set (single-view fraction mu_train) and a test set (fraction mu; a
    large one drawn in pieces, `generate_chunked`)."""
    kv, ktr, kte = jax.random.split(key, 3)
    views = make_views(kv, cfg)
    train = generate(ktr, cfg, views, cfg.n_train, cfg.mu_train_resolved)
    test = generate_chunked(kte, cfg, views, cfg.N_test, cfg.mu)
    if cfg.limit:               # the test patches' noise directions follow the training set's
        test = test._replace(x=test.x.at[..., -1].add(cfg.n_train * cfg.n_patches))
    return Problem(views, train, test)


def train_features(key: jax.Array, cfg: DataConfig) -> jax.Array:
    """The training patches of make_problem(key, cfg) without their Gaussian noise: the same
    draws with sigma_p = 0 (a traced value, so the same program), i.e. sum_v z_v v per patch
    (feature noise, gamma, included). x - train_features is each patch's noise sigma_p·xi."""
    kv, ktr, _ = jax.random.split(key, 3)
    clean = dataclasses.replace(cfg, sigma_p=0.0, noise_norm=0.0)
    return generate(ktr, clean, make_views(kv, cfg), cfg.n_train, cfg.mu_train_resolved).x


def summary(ds: Dataset, cfg: DataConfig) -> dict:
    """Summary statistics of a data set (for `multiview data`)."""
    single = np.asarray(ds.single)
    Z = np.asarray(ds.Z)
    y = np.asarray(ds.y)
    n = len(y)
    own = Z[np.arange(n), y]                                              # [n, 2]
    off = np.asarray(ds.off)
    out = {
        "n": int(n),
        "single_view_fraction": float(single.mean()) if n else 0.0,
        "class_counts": np.bincount(y, minlength=cfg.k).tolist(),
        "own_Z_multi_mean": float(own[~single].mean()) if (~single).any() else None,
        "strong_Z_single_mean": float(own[single].max(1).mean()) if single.any() else None,
        "faint_Z_single_mean": float(own[single].min(1).mean()) if single.any() else None,
        "off_views_per_sample": float(off.sum((1, 2)).mean()) if n else 0.0,
    }
    if cfg.limit:   # the patches are (c, s, j): ‖x‖² = ‖c‖² + s²
        c, s, _ = (np.asarray(a) for a in limit_patch(ds.x))
        out["x_norm_per_patch_mean"] = float(np.sqrt((c ** 2).sum(-1) + s ** 2).mean())
        out["view_norm_per_patch_mean"] = float(np.linalg.norm(c, axis=-1).mean())
        out["noise_norm"] = float(cfg.noise_norm)
        out["d"] = "inf"
        return out
    out["x_norm_per_patch_mean"] = float(np.linalg.norm(np.asarray(ds.x), axis=-1).mean())
    out["noise_norm_expected"] = float(cfg.sigma_p * np.sqrt(cfg.d))
    return out

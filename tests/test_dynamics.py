"""The push decomposition of multiview/dynamics.py: by group of training points, and into the
views' own part (feature) and the patch noise's component along them (noise)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax

from multiview.config import override, preset
from multiview.data import Dataset, make_problem, train_features
from multiview.dynamics import GROUPS, PARTS, push_by_group, push_parts
from multiview.keys import member_keys
from multiview.learners import train_single
from multiview.model import forward


def _hand_case():
    """d = 5: class 0 owns e0, e1, class 1 owns e2, e3, e4 is a noise-only direction.
    Point 0 (class 0, multi-view): one patch 2·e0 + ξ with ξ = 0.3·e1 + 0.5·e4.
    Point 1 (class 1, single-view, strong view 2): one patch 1.5·e3 + 0.4·e4.
    Neurons (m = 1): w_0 = e0, w_1 = e3; q = 4, ϱ = 1."""
    e = np.eye(5, dtype=np.float32)
    views = jnp.asarray(e[:4].reshape(2, 2, 5))
    features = np.stack([[2.0 * e[0]], [1.5 * e[3]]])                     # [n=2, P=1, d]
    x = features + np.stack([[0.3 * e[1] + 0.5 * e[4]], [0.4 * e[4]]])
    train = Dataset(x=jnp.asarray(x), y=jnp.asarray([0, 1]), single=jnp.asarray([False, True]),
                    strong=jnp.asarray([-1, 1]), off=jnp.zeros((2, 2, 2), bool),
                    Z=jnp.zeros((2, 2, 2)))
    W = jnp.asarray(np.stack([[e[0]], [e[3]]]))                              # [k=2, m=1, d]
    return W, train, views, jnp.asarray(features)


def test_hand_case_feature_and_noise_parts():
    """Point 0: h_0 = 2 ≥ ϱ (slope 1), h_1 = 0 (slope 0), so F = (2 - 3/4, 0) and the step on
    w_0 is (1/n)(1 - p_0)·x_0: feature part (1 - p_0)·2/2 on v_{0,1}, noise part (1 - p_0)·0.3/2
    on v_{0,2}, nothing else. Point 1: h_1 = 1.5 ≥ ϱ, h_0 = 0: its feature part on v_{1,2} is
    (1 - p_1)·1.5/2 (own_single_v2), noise part 0 (e4 ⟂ the views)."""
    W, train, views, features = _hand_case()
    parts = push_parts(W, train, views, 4, 1.0, features)
    p0 = 1 / (1 + np.exp(-1.25))                        # softmax of (1.25, 0)
    p1 = 1 / (1 + np.exp(-0.75))                        # softmax of (0, 0.75), class 1
    want = {grp: {part: np.zeros((2, 1, 2)) for part in PARTS} for grp in GROUPS}
    want["own_multi"]["feature"][0, 0] = [(1 - p0) * 2 / 2, 0.0]
    want["own_multi"]["noise"][0, 0] = [0.0, (1 - p0) * 0.3 / 2]
    want["own_single_v2"]["feature"][1, 0] = [0.0, (1 - p1) * 1.5 / 2]
    for grp in GROUPS:
        for part in PARTS:
            np.testing.assert_allclose(parts[grp][part], want[grp][part], atol=1e-6,
                                       err_msg=f"{grp} {part}")
    total = push_by_group(W, train, views, 4, 1.0)
    for grp in GROUPS:
        np.testing.assert_allclose(parts[grp]["feature"] + parts[grp]["noise"], total[grp],
                                   atol=1e-6)


def _reference_push(W, train, views, q, varrho):
    """The push per point by autodiff of each point's loss with respect to W itself:
    -(1/n) ∂loss_n/∂W projected on the class's own views, [n, k, m, 2]."""
    n = train.x.shape[0]

    def loss_one(W, xn, yn):
        F = forward(W, xn[None], q, varrho)
        return optax.softmax_cross_entropy_with_integer_labels(F, yn[None])[0] / n

    g = jax.vmap(jax.grad(loss_one), in_axes=(None, 0, 0))(W, train.x, train.y)
    return -np.asarray(jnp.einsum("nimd,ild->niml", g, views))


def _trained(noise: str):
    """tiny with data.noise = noise: a member trained 60 steps (neurons off the flat start), its
    training set, views and noise-free training patches."""
    cfg = override(preset("tiny"), {"data.noise": noise})
    dkey, keys = member_keys(0, 1)
    problem = make_problem(dkey, cfg.data)
    W = train_single(keys, cfg, problem, progress=False).params[0]
    return cfg, W, problem, train_features(dkey, cfg.data)


def test_parts_sum_to_the_push_and_orthogonal_noise_has_no_part():
    """On tiny: per group, feature + noise and push_by_group's total = the push computed by
    autodiff with respect to W;
    with orthogonal noise the noise part is zero (float rounding), with isotropic noise not."""
    for noise in ("orthogonal", "isotropic"):
        cfg, W, problem, features = _trained(noise)
        q, varrho = cfg.model.q, cfg.model.varrho
        parts = push_parts(W, problem.train, problem.views, q, varrho, features)
        total = push_by_group(W, problem.train, problem.views, q, varrho)
        ref = _reference_push(W, problem.train, problem.views, q, varrho)
        y, single, strong = map(np.asarray, (problem.train.y, problem.train.single,
                                             problem.train.strong))
        scale = np.abs(ref).sum(0).max()
        assert scale > 1e-4                      # the member's neurons do move
        for i in range(cfg.data.k):
            masks = {"own_multi": (y == i) & ~single,
                     "own_single_v1": (y == i) & single & (strong == 0),
                     "own_single_v2": (y == i) & single & (strong == 1), "other_classes": y != i}
            for grp, mask in masks.items():
                for got in (parts[grp]["feature"][i] + parts[grp]["noise"][i], total[grp][i]):
                    np.testing.assert_allclose(got, ref[mask, i].sum(0), atol=1e-5 * scale,
                                               err_msg=f"{noise} {grp} class {i}")
        noise_part = max(np.abs(parts[grp]["noise"]).max() for grp in GROUPS)
        if noise == "orthogonal":
            assert noise_part < 1e-5 * scale, noise_part
        else:
            assert noise_part > 1e-3 * scale, noise_part


def test_train_features_are_the_noise_free_draws():
    """train_features is the training set drawn with σ_p = 0 from the same key: x minus it is
    σ_p·ξ, so with σ_p = 0 itself the two are equal and the labels are the same draws."""
    cfg = preset("tiny")
    dkey, _ = member_keys(3, 1)
    quiet = override(cfg, {"data.sigma_p": 0.0})
    np.testing.assert_array_equal(train_features(dkey, cfg.data),
                                  make_problem(dkey, quiet.data).train.x)
    x = make_problem(dkey, cfg.data).train.x
    noise = np.asarray(x - train_features(dkey, cfg.data))
    # per coordinate σ_p = 0.02: the residual has that scale, not the features' (≈ 1)
    assert 0.015 < noise.std() < 0.025


def test_members_at_once_equal_one_at_a_time():
    """push_parts on W [L, k, m, d] gives, member by member, what it gives on each W [k, m, d]."""
    cfg, W, problem, features = _trained("isotropic")
    q, varrho = cfg.model.q, cfg.model.varrho
    Ws = jnp.stack([W, 0.8 * W])
    both = push_parts(Ws, problem.train, problem.views, q, varrho, features)
    for l in range(2):
        one = push_parts(Ws[l], problem.train, problem.views, q, varrho, features)
        for grp in GROUPS:
            for part in PARTS:
                np.testing.assert_allclose(both[grp][part][l], one[grp][part], rtol=1e-6,
                                           atol=1e-12)

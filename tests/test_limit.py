"""The d = ∞ engine (multiview/limit.py): exact, and the inputs that reach it.

The limit engine trains the coordinates of w along the views and the training patches' noise
directions. Those coordinates are an orthonormal embedding of the limit's patches: x_np =
(c_np, s·e_np) in R^(2k + N·P), whose Gram is c·cᵀ + s²·I. The patch engine fed these dense
patches (it forms G = X Xᵀ and H0 = W0·Xᵀ itself) is gradient descent on the same w, so the two
follow one trajectory. In float64 they differ only by the order of the sums (a·cᵀ + s·u against
H0 + C·G), ~1e-15 relative per step grown by the steps: RTOL = 1e-9, as in tests/test_patch.py,
is far below any real difference (a missing s² shows at 1e-1). Stopping steps and accuracies
must be equal.
"""

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from multiview.config import ConfigError, load_file, override, preset, resolve
from multiview.data import limit_patch, make_problem
from multiview.keys import member_keys, stream_keys
from multiview.learners import (fit_network, init_members, logits_of, make_loss, shared_inputs)
from multiview.limit import dense_patches
from multiview.model import coordinates, forward
from multiview.patch import fit_patch, patch_logits
from tests.test_patch import x64  # noqa: F401  (the float64 fixture)

RTOL = 1e-9


def _cfg(**sets):
    base = {"data.d": "inf", "train.dtype": "float64", "train.steps": 40, "train.chunk": 20}
    return override(preset("tiny"), {**base, **sets})


def _dense(shared, D):
    """The shared inputs with the patches as dense vectors of the first D coordinates."""
    V = shared["views"].shape[-1]
    return {**shared, "x": dense_patches(shared["x"], D),
            "views": jnp.pad(shared["views"], ((0, 0), (0, 0), (0, D - V)))}


def _same_as_patch(cfg, objective, W0, shared, member, problem):
    """fit_network at d = ∞ against the patch engine on the dense embedding."""
    tc = cfg.train if objective == "labels" else \
        override(cfg, {"train.stop": "none"}).train
    lim = fit_network(objective, W0, shared, member, tc, cfg, progress=False)
    D = 2 * cfg.data.k + cfg.data.n_train * cfg.data.n_patches
    pat = fit_patch(make_loss(patch_logits(cfg.model.q), objective), W0[..., :D],
                    _dense(shared, D), member, tc, progress=False)
    assert lim.engine == "limit" and pat.engine == "patch"
    assert lim.steps_run == pat.steps_run
    np.testing.assert_array_equal(lim.stopped_at, pat.stopped_at)
    a, b = np.asarray(lim.params), np.asarray(pat.params)
    np.testing.assert_allclose(a[..., :D], b, rtol=RTOL, atol=RTOL * np.abs(b).max())
    # the test noise's coordinates never move
    np.testing.assert_array_equal(a[..., D:], np.asarray(W0)[..., D:])
    for key in ("loss", "phi", "lam"):
        np.testing.assert_allclose(lim.history[key], pat.history[key], rtol=RTOL, atol=1e-12,
                                   err_msg=key)
    np.testing.assert_array_equal(lim.history["train_acc"], pat.history["train_acc"])
    whole = jnp.concatenate([pat.params, W0[..., D:]], -1)
    for x in (problem.train.x, problem.test.x):
        la, lb = logits_of(lim.params, x, cfg), logits_of(whole, x, cfg)
        np.testing.assert_allclose(la, lb, rtol=RTOL, atol=1e-12)
        np.testing.assert_array_equal(la.argmax(-1), lb.argmax(-1))
    return lim


def test_limit_engine_follows_the_patch_engine_on_the_dense_embedding(x64):
    cfg = _cfg()
    dk, keys = member_keys(0, 2)
    problem = make_problem(dk, cfg.data)
    shared = shared_inputs(cfg, problem)
    # labels, with the stopping rule
    single = _same_as_patch(cfg, "labels", init_members(keys, cfg), shared, None, problem)
    # the sum: one network of 2m neurons per class, with momentum
    mom = override(cfg, {"train.optimizer": "momentum"})
    _same_as_patch(mom, "labels", init_members(keys, mom, m=2 * cfg.model.m), shared, None,
                   problem)
    # students of the ensemble's logits: theorem, Hinton, logit matching
    G = logits_of(single.params, problem.train.x, cfg)
    students = init_members(stream_keys(0, "student", 2), cfg)
    for objective in ("theorem", "hinton", "logits"):
        _same_as_patch(cfg, objective, students, shared_inputs(cfg, problem, teacher=G.mean(0)),
                       None, problem)


def test_sparse_patches_give_the_dense_forward(x64):
    cfg = _cfg()
    problem = make_problem(member_keys(1, 1)[0], cfg.data)
    W = init_members(stream_keys(1, "single", 1), cfg)[0]
    D = coordinates(cfg.data)
    assert W.shape == (cfg.data.k, cfg.model.m, D)
    for x in (problem.train.x, problem.test.x):
        np.testing.assert_allclose(forward(W, x, 4, 1.0), forward(W, dense_patches(x, D), 4, 1.0),
                                   rtol=1e-12)


def test_limit_data_keep_the_finite_problems_coefficients():
    # the same seed's view coefficients as at finite d (the generator's other draws), the noise
    # norm in every patch, the test set's noise directions after the training set's
    cfg = _cfg()
    finite = override(cfg, {"data.d": 40, "data.sigma_p": 0.0})
    a, b = (make_problem(member_keys(2, 1)[0], c.data) for c in (cfg, finite))
    c, s, j = limit_patch(a.train.x)
    np.testing.assert_allclose(c, np.einsum("npd,ild->npil", b.train.x, b.views)
                               .reshape(c.shape), atol=1e-5)
    np.testing.assert_allclose(s, cfg.data.noise_norm)
    NP = cfg.data.n_train * cfg.data.n_patches
    np.testing.assert_array_equal(j.reshape(-1), np.arange(NP))
    np.testing.assert_array_equal(limit_patch(a.test.x)[2].reshape(-1),
                                  NP + np.arange(cfg.data.N_test * cfg.data.n_patches))
    np.testing.assert_array_equal(a.train.y, b.train.y)
    assert a.views.shape == (cfg.data.k, 2, 2 * cfg.data.k)


# --- the inputs ------------------------------------------------------------------------------

def test_inf_is_read_from_set_toml_json_and_written_as_a_string(tmp_path):
    tiny = preset("tiny")
    via_set = resolve("tiny", sets=["data.d=inf"])
    assert via_set.data.d == math.inf and via_set.data.limit
    # the d = ∞ twin keeps the finite config's noise norm sigma_p·sqrt(d)
    assert via_set.data.noise_norm == pytest.approx(tiny.data.sigma_p * math.sqrt(tiny.data.d))
    assert resolve(sets=["data.d=inf"]).data.noise_norm == pytest.approx(math.sqrt(10))
    assert resolve("tiny", sets=["data.d=inf", "data.noise_norm=2"]).data.noise_norm == 2.0
    (tmp_path / "a.toml").write_text('[data]\nd = "inf"\n')
    (tmp_path / "b.json").write_text('{"data": {"d": "inf"}}')
    for name in ("a.toml", "b.json"):
        assert override(tiny, load_file(tmp_path / name)).data.d == math.inf
    tree = via_set.to_dict()
    assert tree["data"]["d"] == "inf"
    json.dumps(tree, allow_nan=False)
    assert preset("tiny").to_dict()["data"]["d"] == 40
    from multiview.config import from_dict
    assert from_dict(tree) == via_set
    assert preset("limit").train.engine == "auto"


@pytest.mark.parametrize("sets, names", [
    ({"train.engine": "direct"}, "data.d, train.engine"),
    ({"train.engine": "patch"}, "data.d, train.engine"),
    ({"train.optimizer": "adam"}, "data.d, train.optimizer"),
    ({"data.noise_norm": 0}, "data.noise_norm"),
    ({"data.noise_norm": -1}, "data.noise_norm"),
    ({"data.noise_norm": "nan"}, "data.noise_norm"),
    ({"data.noise_norm": "inf"}, "data.noise_norm"),
])
def test_bad_limit_inputs_are_one_line_naming_the_fields(sets, names):
    with pytest.raises(ConfigError) as e:
        override(preset("tiny"), {"data.d": "inf", **sets})
    assert str(e.value).startswith(names) and "\n" not in str(e.value)


def test_limit_engine_needs_an_infinite_d():
    with pytest.raises(ConfigError, match=r"^train\.engine, data\.d"):
        override(preset("tiny"), {"train.engine": "limit"})


# one method of each learner kind (`check --methods all` at d = ∞ runs in docs/regime.md;
# here: the single models, the ensemble, a student of a teacher's snapshot, the sum, random
# features and the NTK with their distillation)
KINDS = ["kd_early", "sum_trained", "rf_kd", "ntk_kd"]


def test_check_runs_each_kind_of_method_at_d_inf():
    from multiview.check import run_check

    cfg = override(preset("tiny"), {"data.d": "inf", "train.steps": 20, "fixed.steps": 20,
                                    "data.N_test": 60})
    rec = run_check(cfg, 2, 0, KINDS, progress=False)
    json.dumps(rec, allow_nan=True)
    assert set(KINDS) <= set(rec["methods"])
    assert rec["config"]["data"]["d"] == "inf"
    for m, r in rec["methods"].items():
        assert 0.0 <= r["test_acc"] <= 1.0, m


def test_size_guard_counts_the_limit_state_and_the_test_noise():
    from multiview.size import estimate, guard

    cfg = override(preset("tiny"), {"data.d": "inf"})
    terms = estimate(cfg, 10)
    assert all(math.isfinite(b) and b > 0 for b, _ in terms.values())
    more = estimate(override(cfg, {"data.N_test": 2000}), 10)
    # every member holds its coordinates along each test patch's noise
    km, P = cfg.data.k * cfg.model.m, cfg.data.n_patches
    widest = cfg.train.sum_models * 10
    assert more["test evaluation"][0] - terms["test evaluation"][0] >= widest * km * 1800 * P * 4
    assert guard(cfg, 10) > 0


def test_no_noise_push_along_the_views_at_d_inf(x64):
    from multiview.data import train_features
    from multiview.dynamics import push_by_group, push_parts

    cfg = _cfg()
    dk, keys = member_keys(0, 2)
    problem = make_problem(dk, cfg.data)
    W = init_members(keys, cfg)
    parts = push_parts(W, problem.train, problem.views, cfg.model.q, cfg.model.varrho,
                       train_features(dk, cfg.data))
    total = push_by_group(W, problem.train, problem.views, cfg.model.q, cfg.model.varrho)
    for grp, p in parts.items():
        assert np.all(p["noise"] == 0), grp
        np.testing.assert_allclose(p["feature"], total[grp], rtol=1e-6, atol=1e-12)
        assert np.abs(total[grp]).max() > 0 or grp != "own_multi"


@pytest.mark.parametrize("q", [3, 4, 5])
def test_fused_smoothed_relu_has_autodiffs_values_and_gradients(q, x64):
    """The d = ∞ engine's smoothed ReLU (closed-form derivative) is the same function as the
    piecewise one, and its gradients in z and ϱ are autodiff's to float64 rounding, on a grid
    crossing both kinks (z = 0 and z = ϱ, where the one-sided derivatives agree)."""
    from multiview.model import smoothed_relu, smoothed_relu_fused
    z = jnp.linspace(-2.0, 5.0, 1401, dtype=jnp.float64)
    for varrho in (0.5, 3.0):
        plain = lambda z, v: smoothed_relu(z, q, v).sum()          # noqa: E731
        fused = lambda z, v: smoothed_relu_fused(z, q, v).sum()    # noqa: E731
        assert float(plain(z, varrho)) == float(fused(z, varrho))
        (gz0, gv0), (gz1, gv1) = (jax.grad(f, (0, 1))(z, jnp.float64(varrho))
                                  for f in (plain, fused))
        np.testing.assert_allclose(np.asarray(gz1), np.asarray(gz0), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(float(gv1), float(gv0), rtol=1e-12)

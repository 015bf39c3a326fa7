"""The patch-space engine (multiview/patch.py) against the direct engine, learner by learner.

At d = 400 > N·P = 360 (tiny's N and P) both engines run. In float64 they follow the same
trajectory: they compute the same pre-activations in two orders (H0 + C G against
(W0 + C X) Xᵀ), so they differ by rounding, ~1e-15 relative per step, grown by the steps.
RTOL = 1e-9 leaves room for that growth over 60-150 steps and is far below any real
difference (a wrong factor or a missing term shows at 1e-2). Stopping steps and accuracies
must be equal.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from multiview.config import ConfigError, override, preset
from multiview.data import make_problem
from multiview.keys import member_keys, stream_keys
from multiview.learners import (label_loss, logits_of, make_loss, shared_inputs, train_single,
                                train_students)
from multiview.patch import patch_inputs, patch_logits, weights
from multiview.size import engine_for

RTOL = 1e-9


@pytest.fixture
def x64():
    before = jax.config.read("jax_enable_x64")
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", before)


def _cfg(**sets):
    base = {"data.d": 400, "train.dtype": "float64", "train.steps": 60}
    return override(preset("tiny"), {**base, **sets})


def _both(cfg, train):
    """train(cfg) under train.engine = direct and = patch."""
    return [train(override(cfg, {"train.engine": e})) for e in ("direct", "patch")]


def _same(a, b, problem, cfg):
    """Same weights, history (loss, accuracy, Φ, Λ), stopping steps and logits."""
    assert a.fit.engine == "direct" and b.fit.engine == "patch"
    assert a.fit.steps_run == b.fit.steps_run
    np.testing.assert_array_equal(a.fit.stopped_at, b.fit.stopped_at)
    np.testing.assert_allclose(b.params, a.params, rtol=RTOL, atol=RTOL * np.abs(a.params).max())
    for key in ("loss", "train_acc", "phi", "lam"):
        np.testing.assert_allclose(b.fit.history[key], a.fit.history[key], rtol=RTOL, atol=1e-12,
                                   err_msg=key)
    np.testing.assert_array_equal(b.fit.history["train_acc"], a.fit.history["train_acc"])
    for x in (problem.train.x, problem.test.x):
        la, lb = logits_of(a.params, x, cfg), logits_of(b.params, x, cfg)
        np.testing.assert_allclose(lb, la, rtol=RTOL, atol=1e-12)
        np.testing.assert_array_equal(lb.argmax(-1), la.argmax(-1))


def _problem(cfg, L=2):
    data_key, keys = member_keys(0, L)
    return keys, make_problem(data_key, cfg.data)


def test_patch_step_is_the_parameter_step(x64):
    """The gradient of the patch loss with respect to C, times X, is the gradient of the
    direct loss with respect to W at W = W0 + C X; and the patch logits are the network's."""
    cfg = _cfg()
    keys, problem = _problem(cfg)
    shared = shared_inputs(cfg, problem)
    W0 = jax.vmap(lambda k: 0.05 * jax.random.normal(k, (3, 2, 400)))(keys)
    G, Xv, H0, A0 = patch_inputs(W0, shared["x"], shared["views"])
    C = 1e-3 * jax.random.normal(jax.random.PRNGKey(3), (2, 3, 2, G.shape[0]))
    W = weights(W0, C, shared["x"])
    space = {**shared, "G": G, "Xv": Xv}
    (lp, ap), gC = jax.value_and_grad(make_loss(patch_logits(4), "labels"), has_aux=True)(
        C[0], space, {"H0": H0[0]})
    (ld, ad), gW = jax.value_and_grad(label_loss(4), has_aux=True)(W[0], shared, {})
    np.testing.assert_allclose(lp, ld, rtol=1e-12)
    assert ap == ad
    n, P, d = shared["x"].shape
    np.testing.assert_allclose(gC @ shared["x"].reshape(n * P, d), gW, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("sets", [{}, {"train.optimizer": "momentum", "train.lr": 0.5},
                                  {"train.stop_value": 0.9, "train.steps": 200}])
def test_label_training_follows_the_direct_trajectory(x64, sets):
    """Plain GD, momentum, and a run where a member meets the stopping rule (and is frozen
    and leaves the batch) on the same step under both engines."""
    cfg = _cfg(**sets)
    keys, problem = _problem(cfg)
    a, b = _both(cfg, lambda c: train_single(keys, c, problem, progress=False))
    _same(a, b, problem, cfg)
    if "train.stop_value" in sets:
        assert (a.fit.stopped_at >= 0).any()


def test_sum_of_models_follows_the_direct_trajectory(x64):
    cfg = _cfg()
    keys, problem = _problem(cfg)
    a, b = _both(cfg, lambda c: train_single(keys, c, problem, progress=False, m=3 * 2))
    _same(a, b, problem, cfg)


def test_snapshots_are_the_direct_engines(x64):
    cfg = _cfg()
    keys, problem = _problem(cfg)
    a, b = _both(cfg, lambda c: train_single(keys, c, problem, progress=False, snapshots=True))
    assert [s for s, _ in a.fit.snapshots] == [s for s, _ in b.fit.snapshots]
    for (_, wa), (_, wb) in zip(a.fit.snapshots, b.fit.snapshots):
        np.testing.assert_allclose(wb, wa, rtol=RTOL, atol=RTOL * np.abs(wa).max())


@pytest.mark.parametrize("objective,per_member", [("theorem", True), ("hinton", True),
                                                  ("logits", True), ("theorem", False),
                                                  ("hard", False)])
def test_students_follow_the_direct_trajectory(x64, objective, per_member):
    cfg = _cfg(**{"distill.steps": 60, "distill.eta_ratio": 5.0})
    keys, problem = _problem(cfg)
    teacher = train_single(keys, cfg, problem, progress=False)
    G = logits_of(teacher.params, problem.train.x, cfg)
    G = G if per_member else G.mean(0)
    skeys = stream_keys(0, "student", 2)
    if objective == "hard":             # the ensemble's argmax as labels (TEACHERS["argmax"])
        train = lambda c: train_students(skeys, c, problem, None, per_member=False,  # noqa: E731
                                         labels=G.argmax(-1), progress=False)
    else:
        train = lambda c: train_students(skeys, c, problem, G, per_member=per_member,  # noqa: E731
                                         objective=objective, progress=False)
    a, b = _both(cfg, train)
    _same(a, b, problem, cfg)


def test_float32_engines_agree_to_float32_rounding():
    """In float32 the two orders of summation differ by ~1e-6 relative per step; over 60 steps
    the weights agree to 1e-4 and the predictions are the same."""
    cfg = _cfg(**{"train.dtype": "float32"})
    keys, problem = _problem(cfg)
    a, b = _both(cfg, lambda c: train_single(keys, c, problem, progress=False))
    np.testing.assert_allclose(b.params, a.params, rtol=1e-4, atol=1e-4 * np.abs(a.params).max())
    np.testing.assert_allclose(b.fit.history["lam"], a.fit.history["lam"], rtol=1e-4, atol=1e-6)
    x = problem.test.x
    np.testing.assert_array_equal(logits_of(b.params, x, cfg).argmax(-1),
                                  logits_of(a.params, x, cfg).argmax(-1))


def test_auto_engine_is_direct_for_todays_presets_and_patch_when_d_exceeds_NP():
    for name in ("tiny", "small", "paper", "deck"):
        assert engine_for(preset(name), 10) == "direct"
    big = override(preset("small"), {"data.d": 100_000})
    assert engine_for(big, 10) == "patch"
    assert engine_for(override(big, {"train.optimizer": "momentum"}), 10) == "patch"
    assert engine_for(override(big, {"train.optimizer": "adam"}), 10) == "direct"
    assert engine_for(override(big, {"data.N_train": 20_000}), 10) == "direct"   # G too large
    assert engine_for(override(big, {"train.engine": "direct"}), 10) == "direct"
    assert engine_for(override(preset("tiny"), {"train.engine": "patch"}), 10) == "patch"


def test_patch_engine_refuses_adam():
    with pytest.raises(ConfigError, match="train.engine, train.optimizer"):
        override(preset("tiny"), {"train.engine": "patch", "train.optimizer": "adam"})
    with pytest.raises(ConfigError, match="train.engine"):
        override(preset("tiny"), {"train.engine": "fast"})


def test_patch_engine_trains_where_d_is_far_above_NP():
    """d = 20,000 with tiny's N·P = 360: the auto choice is the patch engine and it learns."""
    cfg = override(preset("tiny"), {"data.d": 20_000, "data.sigma_p": 0.02 * (40 / 20_000) ** 0.5,
                                    "train.steps": 100})
    keys, problem = _problem(cfg)
    tr = train_single(keys, cfg, problem, progress=False)
    assert tr.fit.engine == "patch" and tr.params.shape == (2, 3, 2, 20_000)
    assert tr.fit.history["loss"][-1].max() < tr.fit.history["loss"][0].min()
    assert dataclasses.asdict(cfg.train)["engine"] == "auto"


def test_check_records_the_engine_of_each_network_stage():
    from multiview.check import run_check

    r = run_check(override(preset("tiny"), {"data.d": 400}), 2, methods=("single",),
                  progress=False)
    assert r["run"]["engine"] == {"single": "patch"}
    r = run_check(preset("tiny"), 2, methods=("single",), progress=False)
    assert r["run"]["engine"] == {"single": "direct"}


def test_size_guard_admits_d_1e5_on_a_24_GB_machine(monkeypatch):
    """At d = 10^5 (k = 5, small's N, P and N_test) the training patches take 0.8 GB and the
    test set 8 GB, drawn in 1 GB pieces and evaluated in batches of 1000 samples (a copy on the
    device, the matmul's operand and the next batch's copy: 12 GB more, as measured at
    d = 6·10^4, docs/performance.md); with the patch engine's G the estimate (21.4 GB) stays
    below 24 GB."""
    from multiview import size

    cfg = override(preset("small"), {"data.d": 100_000})
    monkeypatch.setattr(size, "available", lambda: (24 * 10**9, "a 24 GB machine"))
    assert size.guard(cfg, 10) < 24 * 10**9
    with pytest.raises(ConfigError, match="data.N_test"):
        size.guard(override(cfg, {"data.N_test": 6000}), 10)

"""Learners of docs/model.md section 3 on tiny configs: losses, distillation, sum, RF, NTK."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from multiview.keys import member_keys, stream_keys
from multiview.config import override
from multiview.data import make_problem
from multiview.learners import (logits_of, rf_eval_logits, shared_inputs, train_rf, train_single,
                                train_students)
from multiview.methods import TEACHERS, TeacherInputs
from multiview.model import forward
from multiview.ntk import ntk_eval_logits, ntk_logits, ntk_preactivations, train_ntk
from multiview.recipe import step_budget, student_steps
from multiview.train import FitResult


def _problem(cfg, L=2):
    data_key, keys = member_keys(0, L)
    return keys, make_problem(data_key, cfg.data)


@pytest.mark.parametrize("objective", ["theorem", "hinton", "logits"])
def test_students_match_their_teacher_better_than_fresh_models(tiny, objective):
    """On test points the distilled student agrees with its teacher's predictions (and, for
    Hinton's KD, its soft outputs) more than a fresh model trained on labels does."""
    cfg = override(tiny, {"distill.steps": 150, "distill.eta_ratio": 5.0, "train.steps": 200})
    keys, problem = _problem(cfg)
    teacher = train_single(keys, cfg, problem, progress=False)
    G = logits_of(teacher.params, problem.train.x, cfg)
    skeys = stream_keys(0, "student", 2)
    fresh = train_single(skeys, cfg, problem, progress=False)
    st = train_students(skeys, cfg, problem, G, per_member=True, objective=objective,
                        progress=False)
    assert st.params.shape == teacher.params.shape
    x = problem.test.x
    Gt, Ft, Ff = (logits_of(p, x, cfg) for p in (teacher.params, st.params, fresh.params))
    agree = lambda a: float((jnp.argmax(a, -1) == jnp.argmax(Gt, -1)).mean())  # noqa: E731
    assert agree(Ft) > agree(Ff)
    if objective == "hinton":
        T = cfg.distill.T
        kl = lambda F: float((jax.nn.softmax(Gt / T, -1) * (jax.nn.log_softmax(Gt / T, -1)  # noqa: E731
                                                             - jax.nn.log_softmax(F / T, -1))).sum(-1).mean())
        assert kl(Ft) < kl(Ff)


def test_hard_label_students_learn_the_teachers_argmax(tiny):
    keys, problem = _problem(tiny)
    teacher = train_single(keys, tiny, problem, progress=False)
    G = np.asarray(logits_of(teacher.params, problem.train.x, tiny))
    target = TEACHERS["argmax"].rule(TeacherInputs(G, problem.train.y))
    np.testing.assert_array_equal(target.labels, G.mean(0).argmax(-1))
    cfg = override(tiny, {"distill.steps": 100})
    st = train_students(stream_keys(0, "student", 2), cfg, problem, None, per_member=False,
                        labels=target.labels, progress=False)
    loss = st.fit.history["loss"]
    assert np.all(loss[-1] < loss[0])


def test_student_budget_is_the_single_models_last_stopping_step(tiny):
    """distill.steps = 0: students get the step at which the last label-trained member met the
    stopping rule; train.steps when one never met it or there is no rule; a positive
    distill.steps wins; with neither, a ValueError names the field."""
    def fr(stopped):
        return FitResult(None, {}, np.asarray(stopped), 0, [])
    assert step_budget(fr([3, 7, 5]), tiny) == 7
    assert step_budget(fr([3, -1, 5]), tiny) == tiny.train.steps
    assert step_budget(fr([3, 7, 5]), override(tiny, {"train.stop": "none"})) == tiny.train.steps
    assert student_steps(tiny, 7) == 7
    assert student_steps(override(tiny, {"distill.steps": 12}), 7) == 12
    with pytest.raises(ValueError, match="distill.steps"):
        student_steps(tiny, None)


def test_sum_of_models_is_one_wider_network(tiny):
    keys, problem = _problem(tiny, L=1)
    wide = train_single(keys, tiny, problem, m=3 * tiny.model.m, progress=False)
    assert wide.params.shape == (1, 3, 3 * tiny.model.m, tiny.data.d)
    # the wide network's logits are the sum of its three m-neuron blocks
    W = wide.params[0].reshape(3, 3, tiny.model.m, -1).transpose(1, 0, 2, 3)
    parts = sum(forward(W[j], problem.train.x, tiny.model.q, tiny.model.varrho) for j in range(3))
    np.testing.assert_allclose(parts, forward(wide.params[0], problem.train.x, tiny.model.q,
                                              tiny.model.varrho), rtol=1e-5, atol=1e-5)


def test_random_feature_training_leaves_the_first_layer_untouched(tiny):
    cfg = override(tiny, {"fixed.steps": 100, "fixed.rf_width": 30})
    keys, problem = _problem(cfg)
    tr = train_rf(keys, cfg, problem, progress=False)
    from multiview.learners import rf_layers
    np.testing.assert_array_equal(tr.extra["W1"], rf_layers(keys, cfg, 30))
    assert tr.params.shape == (2, cfg.data.k, 30)
    loss = tr.fit.history["loss"]
    assert np.all(loss[-1] < loss[0])
    assert rf_eval_logits(tr, problem.test.x, cfg).shape == (2, cfg.data.N_test, cfg.data.k)


@pytest.mark.parametrize("center", [False, True])
def test_ntk_model_is_linear_and_equals_the_network_to_first_order(tiny, center):
    cfg = override(tiny, {"fixed.ntk_center": center, "fixed.ntk_sigma": 0.5})
    keys, problem = _problem(cfg, L=1)
    shared = shared_inputs(cfg, problem)
    W0 = cfg.fixed.ntk_sigma * jax.random.normal(keys[0], (cfg.data.k, cfg.model.m, cfg.data.d))
    H0 = ntk_preactivations(W0[None], shared["x"])[0]
    f_lin = lambda D: ntk_logits(cfg.model.q, center)(D, shared, {"H0": H0})  # noqa: E731
    f_net = lambda W: forward(W, shared["x"], cfg.model.q, cfg.model.varrho)  # noqa: E731
    D1 = jax.random.normal(jax.random.PRNGKey(1), W0.shape)
    D2 = jax.random.normal(jax.random.PRNGKey(2), W0.shape)
    base = 0.0 if center else f_net(W0)
    # linear in its parameters
    np.testing.assert_allclose(f_lin(2.0 * D1 - 3.0 * D2) - base,
                               2.0 * (f_lin(D1) - base) - 3.0 * (f_lin(D2) - base),
                               rtol=1e-4, atol=1e-3)
    # first-order agreement: |net(W0 + eps D) - net(W0) - (lin(eps D) - base)| = O(eps^2)
    errs = []
    for eps in (1e-2, 5e-3):
        lin = f_lin(eps * D1) - base
        errs.append(float(jnp.abs(f_net(W0 + eps * D1) - f_net(W0) - lin).max()))
    assert errs[1] < 0.35 * errs[0]          # halving eps quarters the error (0.25 + slack)


@pytest.mark.parametrize("center", [False, True])
def test_ntk_logits_from_stored_preactivations_are_the_jvp_of_the_network(tiny, center):
    # the linearisation keeps H0 = W0 x^T from before training instead of recomputing it every
    # step; its logits and their gradient must be those of jax.jvp of the network at W0, bit
    # for bit (the same operations in the same order, only hoisted)
    cfg = override(tiny, {"fixed.ntk_center": center})
    keys, problem = _problem(cfg, L=1)
    shared = shared_inputs(cfg, problem)
    W0 = jax.random.normal(keys[0], (cfg.data.k, cfg.model.m, cfg.data.d))
    D = 0.1 * jax.random.normal(jax.random.PRNGKey(1), W0.shape)
    # everything as arguments (closed-over constants could be folded by the compiler)
    hoisted = jax.jit(lambda D, W0, sh: ntk_logits(cfg.model.q, center)(
        D, sh, {"H0": ntk_preactivations(W0[None], sh["x"])[0]}))

    @jax.jit
    def jvp_net(D, W0, sh):
        f0, df = jax.jvp(lambda W: forward(W, sh["x"], cfg.model.q, sh["varrho"]), (W0,), (D,))
        return df if center else f0 + df
    np.testing.assert_array_equal(hoisted(D, W0, shared), jvp_net(D, W0, shared))
    grads = [jax.grad(lambda D: jnp.sum(jnp.sin(f(D, W0, shared))))(D) for f in (hoisted, jvp_net)]
    np.testing.assert_array_equal(*grads)


@pytest.mark.parametrize("center,objective", [(True, "labels"), (False, "labels"),
                                              (True, "hinton")])
def test_ntk_in_function_space_follows_the_parameter_space_trajectory(tiny, center, objective,
                                                                      monkeypatch):
    # gradient descent on the dual coefficients A (logits K A) is gradient descent on D = J^T A:
    # the same loss curve and the same trained D, up to float32 rounding accumulated over the
    # steps in a different order (measured at `small`: 2e-6 of max|D| after 2,000 steps;
    # 1e-4 leaves room), and the same predictions
    from multiview import ntk

    cfg = override(tiny, {"fixed.ntk_center": center, "fixed.ntk_sigma": 0.5, "fixed.steps": 60,
                          "fixed.lr": 0.5})
    keys, problem = _problem(cfg, L=3)
    teacher = None if objective == "labels" else 3.0 * jax.nn.one_hot(problem.train.y, cfg.data.k)
    trained = {}
    for space in ("function", "parameter"):
        monkeypatch.setattr(ntk, "ntk_space", lambda cfg, L, s=space: s)
        trained[space] = train_ntk(keys, cfg, problem, teacher=teacher, objective=objective,
                                   progress=False)
        assert trained[space].extra["space"] == space
    f, p = trained["function"], trained["parameter"]
    assert f.params.shape == p.params.shape
    np.testing.assert_allclose(f.params, p.params, rtol=0, atol=1e-4 * float(jnp.abs(p.params).max()))
    np.testing.assert_allclose(f.fit.history["loss"], p.fit.history["loss"], rtol=1e-4)
    for x in (problem.train.x, problem.test.x):
        np.testing.assert_array_equal(ntk_eval_logits(f, x, cfg).argmax(-1),
                                      ntk_eval_logits(p, x, cfg).argmax(-1))


def test_ntk_trains_in_parameter_space_when_function_space_does_not_apply(tiny):
    from multiview.ntk import NTK_GRAM_BYTES, ntk_space

    assert ntk_space(tiny, 10) == "function"
    # adam is not linear in the gradients: a step on A is not a step on D
    assert ntk_space(override(tiny, {"train.optimizer": "adam"}), 10) == "parameter"
    n, k = tiny.data.n_train, tiny.data.k
    too_many = NTK_GRAM_BYTES // (k * n * n * 4) + 1          # the members' Grams exceed the budget
    assert ntk_space(tiny, too_many) == "parameter" and ntk_space(tiny, too_many - 1) == "function"


def test_ntk_training_reduces_the_loss(tiny):
    cfg = override(tiny, {"fixed.steps": 80, "fixed.ntk_sigma": 0.5, "fixed.lr": 0.5})
    keys, problem = _problem(cfg)
    tr = train_ntk(keys, cfg, problem, progress=False)
    loss = tr.fit.history["loss"]
    assert np.all(loss[-1] < loss[0])
    assert ntk_eval_logits(tr, problem.test.x, cfg).shape == (2, cfg.data.N_test, cfg.data.k)

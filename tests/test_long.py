"""single_long and T1.stable (the lottery under long training), and the dark-knowledge
diagnostic's logit gap and its softmax at the temperature the objective reads."""

import dataclasses

import jax
import numpy as np
import pytest

from multiview import theory
from multiview.check import dark_knowledge, distill_temperature, run_check
from multiview.config import ConfigError, override
from multiview.data import make_problem
from multiview.keys import data_key
from multiview.recipe import LONG_FACTOR, fit_step, long_steps, train_methods
from multiview.train import FitResult


def _fit(acc_rows) -> FitResult:
    acc = np.asarray(acc_rows, float)
    return FitResult(None, {"train_acc": acc}, np.full(acc.shape[1], -1), len(acc), [])


def test_fit_step_is_when_the_last_member_first_fit():
    # row t: accuracy after t steps; member 0 fits after 1 step, member 1 after 3
    fit = _fit([[0.5, 0.2], [1.0, 0.5], [1.0, 0.9], [0.9, 1.0], [1.0, 1.0]])
    assert fit_step(fit) == 3
    assert fit_step(_fit([[0.5, 1.0], [0.9, 1.0]])) is None            # member 0 never fit


def test_long_steps_are_long_factor_times_the_fit_or_the_budget(tiny):
    assert long_steps(7, tiny) == LONG_FACTOR * 7
    assert long_steps(None, tiny) == LONG_FACTOR * tiny.train.steps


def test_single_long_continues_the_single_models_own_trajectory(tiny):
    """Same initialisations (the single stream), same data, plain GD: until a single model met
    its stopping rule the long run's history is that model's; then it trains on, with no stop,
    for LONG_FACTOR x the step at which the last single model fit."""
    cfg = override(tiny, {"train.steps": 300, "train.chunk": 20, "train.lr": 5.0,
                          "data.sigma_p": 0.05})           # every member fits (at 0, 54, 152)
    run = train_methods(cfg, 3, seed=1, methods=("single", "single_long"), progress=False)
    single, long = run.stages["single"].trained.fit, run.stages["single_long"].trained.fit
    fitted = fit_step(single)
    assert fitted is not None
    assert long.steps_run == LONG_FACTOR * fitted and (long.stopped_at == -1).all()
    for member, stop in enumerate(single.stopped_at):
        assert stop >= 0
        np.testing.assert_array_equal(long.history["loss"][:stop + 1, member],
                                      single.history["loss"][:stop + 1, member])
    rec = run_check(cfg, 3, seed=1, methods=("single", "single_long"), progress=False)
    assert {"T1.stable", "T1.stable_single"} <= {p["id"] for p in rec["predictions"]}
    assert rec["run"]["steps_run"]["single_long"] == LONG_FACTOR * fitted


def _rec(one, single_view):
    return {"train_acc": 1.0, "test_acc": 0.9, "test_acc_multi": 1.0,
            "test_acc_single": single_view, "views": {"none": 0.0, "one": one, "both": 1 - one},
            "lam_over_varrho": 2.0}


@pytest.mark.parametrize("one,single_view,holds", [(0.8, 0.6, (True, True)),
                                                  (0.5, 0.6, (False, True)),
                                                  (0.8, 0.9, (True, False))])
def test_t1_stable_reads_the_long_models_views_and_single_view_accuracy(one, single_view, holds):
    preds = {p["id"]: p for p in theory.check({"single_long": _rec(one, single_view)}, 10)}
    assert preds["T1.stable"]["measured"] == one
    assert preds["T1.stable_single"]["measured"] == single_view
    assert (preds["T1.stable"]["holds"], preds["T1.stable_single"]["holds"]) == holds
    assert preds["T1.stable"]["theorem"] == "Theorem 1"


def test_distill_temperature_is_the_one_each_objective_reads(tiny):
    def cfg(**kw):
        return dataclasses.replace(tiny, distill=dataclasses.replace(tiny.distill, **kw))
    assert distill_temperature(cfg(objective="hinton", T=4.0)) == 4.0
    assert distill_temperature(cfg(objective="theorem", tau=0.25)) == 4.0
    assert distill_temperature(cfg(objective="theorem_projected", tau=0.5)) == 2.0
    assert distill_temperature(cfg(objective="logits")) == 1.0


def test_dark_knowledge_reports_the_logit_gap_and_the_softmax_at_that_temperature(tiny):
    cfg = dataclasses.replace(tiny, distill=dataclasses.replace(tiny.distill, objective="hinton",
                                                                T=3.0))
    train = make_problem(data_key(0), cfg.data).train
    G = np.asarray(jax.random.normal(jax.random.PRNGKey(3), (len(train.y), cfg.data.k))) * 2
    dk = dark_knowledge(G, train, cfg)
    # by hand: the off-class entries of multi-view points with / without a view of that class
    off, y, multi = np.asarray(train.off).any(-1), np.asarray(train.y), ~np.asarray(train.single)
    own = np.zeros_like(off)
    own[np.arange(len(y)), y] = True
    with_v, without_v = off & ~own & multi[:, None], ~off & ~own & multi[:, None]
    assert dk["logit"]["with_view"] == pytest.approx(G[with_v].mean(), rel=1e-6)
    assert dk["logit"]["gap"] == pytest.approx(G[with_v].mean() - G[without_v].mean(), rel=1e-5)
    p = np.exp(G / 3.0) / np.exp(G / 3.0).sum(-1, keepdims=True)
    assert dk["softmax_T"]["T"] == 3.0
    assert dk["softmax_T"]["ratio"] == pytest.approx(p[with_v].mean() / p[without_v].mean(),
                                                     rel=1e-5)


def test_any_stage_of_a_snapshot_learner_keeps_its_snapshots_when_asked(tiny):
    """train_methods(snapshots=STAGES): those stages keep their parameters after every chunk
    (single_long and a student stage as the single stage always could), the others none; a
    stage the run does not train, or of a learner without snapshots, is refused."""
    cfg = override(tiny, {"train.steps": 40, "train.chunk": 20, "distill.steps": 40})
    run = train_methods(cfg, 2, 0, ("single", "single_long", "kd"), progress=False,
                        snapshots=("single_long", "kd"))
    for name in ("single_long", "kd"):
        fit = run.stages[name].trained.fit
        steps = [s for s, _ in fit.snapshots]
        assert steps[0] == 0 and steps[-1] == fit.steps_run and len(steps) > 2
        np.testing.assert_array_equal(fit.snapshots[-1][1], run.stages[name].trained.params)
    assert run.stages["single"].trained.fit.snapshots == []
    with pytest.raises(ConfigError, match="snapshots"):
        train_methods(cfg, 2, 0, ("single",), progress=False, snapshots=("kd",))
    with pytest.raises(ConfigError, match="snapshots"):
        train_methods(cfg, 2, 0, ("single", "rf_single"), progress=False,
                      snapshots=("rf_single",))


def test_a_stage_keeps_only_the_snapshots_its_readers_need(tiny):
    """kd_random reads its teacher stage at step 0 only: single then keeps one snapshot, not one
    per chunk (at k = 20 in the limit one per chunk held about 13 GB). With kd_early, which
    reads every chunk, it keeps them all, and the step-0 snapshot is the same. Students of the
    theorem update keep the last two (the ratchet), the same two as when every chunk is kept;
    the trained numbers do not depend on what is kept."""
    cfg = override(tiny, {"distill.objective": "theorem"})
    few = train_methods(cfg, 2, 0, ("single", "kd_random", "kd"), progress=False)
    every = train_methods(cfg, 2, 0, ("single", "kd_random", "kd_early", "kd"), progress=False,
                          snapshots=("single", "kd"))
    one = few.stages["single"].trained.fit.snapshots
    full = every.stages["single"].trained.fit.snapshots
    assert [s for s, _ in one] == [0] and len(full) > 2
    np.testing.assert_array_equal(one[0][1], full[0][1])
    two, all_kd = few.stages["kd"].trained.fit.snapshots, every.stages["kd"].trained.fit.snapshots
    assert [s for s, _ in two] == [s for s, _ in all_kd[-2:]] and len(all_kd) > 2
    for (_, a), (_, b) in zip(two, all_kd[-2:]):
        np.testing.assert_array_equal(a, b)
    for name in ("single", "kd_random", "kd"):
        np.testing.assert_array_equal(few.stages[name].test_logits, every.stages[name].test_logits)

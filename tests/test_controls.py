"""The random controls of kd (methods.TEACHERS): each control's teacher is what it claims."""

import numpy as np
import pytest

from multiview.cli import parse_methods
from multiview.config import OBJECTIVES, override
from multiview.keys import stream_keys, stream_rng
from multiview.learners import init_members, logits_of
from multiview.losses import teacher_logits, teacher_probs
from multiview.methods import (METHOD_NAMES, STAGES, TEACHERS, TeacherInputs,
                               off_class_spread, stages_for, teacher_target)
from multiview.recipe import train_methods

CONTROLS = ["kd_random", "kd_smooth", "kd_shuffled", "kd_early"]


@pytest.fixture(scope="module")
def run():
    """One tiny run with kd and its four controls (students: 10 steps, 2 members)."""
    from multiview.config import preset
    cfg = override(preset("tiny"), {"distill.steps": 10})
    return train_methods(cfg, 2, 0, ["kd"] + CONTROLS, progress=False)


def _ensemble(run):
    return run.stages["single"].train_logits.mean(0)


def test_the_controls_are_methods_of_their_own_stage_and_in_all():
    assert set(CONTROLS) <= set(parse_methods("all", METHOD_NAMES))
    names = list(METHOD_NAMES)
    assert names[names.index("kd") + 1: names.index("kd") + 5] == CONTROLS   # beside kd
    for m in CONTROLS:
        assert stages_for([m]) == ["single", m]


def test_shuffled_targets_are_a_within_label_permutation_of_the_ensembles(run):
    G, y = _ensemble(run), np.asarray(run.problem.train.y)
    target = run.stages["kd_shuffled"].target
    S = np.asarray(target.logits)
    assert S.shape == G.shape and not target.per_member
    for label in np.unique(y):
        idx = np.flatnonzero(y == label)
        # the same rows, each of the label's points with another point's row
        np.testing.assert_array_equal(np.sort(S[idx], 0), np.sort(G[idx], 0))
        rows = {tuple(r) for r in G[idx]}
        assert all(tuple(r) in rows for r in S[idx])
        if len(idx) > 1:
            assert (S[idx] != G[idx]).any(-1).all()
    # the permutation comes from the run's "shuffle" stream: the same on a second call
    again = TEACHERS["shuffled"].rule(TeacherInputs(run.stages["single"].train_logits, y,
                                                    rng=stream_rng(0, "shuffle")))
    np.testing.assert_array_equal(again.logits, S)


def test_smooth_targets_have_the_ensembles_confidence_and_uniform_off_class_mass(run):
    cfg, y = run.cfg, np.asarray(run.problem.train.y)
    K, n, k = cfg.distill, len(y), cfg.data.k
    read = lambda G: np.asarray(teacher_probs(G, K.objective, K.T, K.tau))   # noqa: E731
    c = read(_ensemble(run))[np.arange(n), y].mean()
    p = read(np.asarray(run.stages["kd_smooth"].target.logits))
    on = np.zeros((n, k), bool)
    on[np.arange(n), y] = True
    np.testing.assert_allclose(p[on], c, rtol=1e-5)
    np.testing.assert_allclose(p[~on], (1 - c) / (k - 1), rtol=1e-5)


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_smooth_is_exact_under_every_objectives_reading(objective):
    rng = np.random.default_rng(0)
    G = rng.normal(0, 3, (2, 12, 4))
    y = rng.integers(0, 4, 12)
    T, tau = 2.0, 0.25
    read = lambda G: np.asarray(teacher_probs(G, objective, T, tau))   # noqa: E731
    target = TEACHERS["smooth"].rule(TeacherInputs(
        G, y, read=read, write=lambda p, level: teacher_logits(p, objective, T, tau, level)))
    p = read(np.asarray(target.logits))
    c = read(G.mean(0))[np.arange(12), y].mean()
    np.testing.assert_allclose(p[np.arange(12), y], c, rtol=1e-5)
    off = np.ones((12, 4), bool)
    off[np.arange(12), y] = False
    np.testing.assert_allclose(p[off], (1 - c) / 3, rtol=1e-5)
    if objective.startswith("logits"):     # the raw level the student matches: the ensemble's
        assert np.asarray(target.logits).mean() == pytest.approx(G.mean(), abs=1e-5)


def test_random_teacher_is_the_untrained_networks(run):
    cfg = run.cfg
    W0 = init_members(stream_keys(0, "single", run.L), cfg)
    untrained = np.asarray(logits_of(W0, run.problem.train.x, cfg)).mean(0)
    target = run.stages["kd_random"].target
    assert target.step == 0
    np.testing.assert_allclose(target.logits, untrained, rtol=1e-6, atol=1e-12)


def test_early_teacher_is_the_ensemble_at_the_snapshot_of_largest_off_class_spread(run):
    cfg, y = run.cfg, np.asarray(run.problem.train.y)
    K = cfg.distill
    snaps = run.stages["single"].trained.fit.snapshots
    assert [s for s, _ in snaps][0] == 0 and len(snaps) >= 3
    ens = {s: np.asarray(logits_of(W, run.problem.train.x, cfg)).mean(0) for s, W in snaps}

    def spread(G):          # the documented definition, written out
        p = np.asarray(teacher_probs(G, K.objective, K.T, K.tau))
        return np.mean([np.std([p[i, j] for j in range(p.shape[1]) if j != y[i]])
                        for i in range(len(y))])
    target = run.stages["kd_early"].target
    assert target.step in ens
    np.testing.assert_allclose(target.logits, ens[target.step], rtol=1e-5, atol=1e-7)
    assert spread(ens[target.step]) == pytest.approx(max(spread(G) for G in ens.values()))
    assert off_class_spread(np.asarray(teacher_probs(ens[target.step], K.objective, K.T, K.tau)),
                            y) == pytest.approx(spread(ens[target.step]), rel=1e-6)


def test_off_class_spread_by_hand():
    p = np.array([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])
    # point 0: std(0.3, 0.2) = 0.05; point 1 (label 2): std(0.1, 0.1) = 0
    assert off_class_spread(p, np.array([0, 2])) == pytest.approx(0.025)
    assert off_class_spread(np.full((3, 4), 0.25), np.array([0, 1, 2])) == 0.0


def test_early_picks_the_earliest_of_equal_spreads():
    y = np.array([0, 1])
    flat = np.zeros((1, 2, 3))
    peak = np.array([[[3.0, 1.0, 0.0], [0.0, 3.0, 1.0]]])
    history = [(0, flat), (20, peak), (40, peak.copy()), (60, 10 * peak)]
    read = lambda G: np.exp(G) / np.exp(G).sum(-1, keepdims=True)   # noqa: E731
    spreads = [off_class_spread(read(G.mean(0)), y) for _, G in history]
    target = TEACHERS["early"].rule(TeacherInputs(10 * peak, y, history, read=read))
    assert target.step == 20 and spreads[1] == max(spreads) > spreads[3]
    np.testing.assert_array_equal(target.logits, peak[0])


def test_students_of_the_controls_train_kds_budget_and_objective(run):
    steps = {name: run.stages[name].trained.fit.steps_run for name in ["kd"] + CONTROLS}
    assert set(steps.values()) == {10}
    for name in CONTROLS:
        assert run.stages[name].trained.params.shape == run.stages["kd"].trained.params.shape


def test_teacher_target_takes_inputs_or_logits_and_labels():
    G, y = np.arange(24.0).reshape(2, 3, 4), np.array([0, 1, 3])
    for args in ((G, y), (TeacherInputs(G, y),)):
        np.testing.assert_array_equal(teacher_target(STAGES["kd"], *args).logits, G.mean(0))
        np.testing.assert_array_equal(teacher_target(STAGES["kd_hard"], *args).labels, [3, 3, 3])


def test_the_report_records_the_step_each_teacher_rule_read(run):
    from multiview.check import report

    steps = report(run, ["kd"] + CONTROLS)["run"]["teacher_steps"]
    assert steps == {"kd_random": 0, "kd_early": run.stages["kd_early"].target.step}

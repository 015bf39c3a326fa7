"""The label channel's controls (kd_smooth_twin, kd_smooth_fixed): label smoothing at each
student's twin's confidence and at a fixed confidence, their targets, stages and predictions."""

import numpy as np
import pytest

from multiview import theory
from multiview.cli import parse_methods
from multiview.config import OBJECTIVES, override, preset
from multiview.errors import ConfigError
from multiview.losses import teacher_logits, teacher_probs
from multiview.methods import METHOD_NAMES, TEACHERS, TeacherInputs, stages_for
from multiview.recipe import train_methods

NEW = ["kd_smooth_twin", "kd_smooth_fixed"]


def _inputs(G, y, objective, level=None):
    T, tau = 2.0, 0.25
    return TeacherInputs(G, y, read=lambda g: np.asarray(teacher_probs(g, objective, T, tau)),
                         write=lambda p, lv: teacher_logits(p, objective, T, tau, lv),
                         smooth_level=level)


def _on(y, k):
    on = np.zeros((len(y), k), bool)
    on[np.arange(len(y)), y] = True
    return on


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_twin_smoothing_gives_each_student_its_own_teachers_confidence(objective):
    rng = np.random.default_rng(1)
    G, y = rng.normal(0, 3, (3, 10, 4)), rng.integers(0, 4, 10)
    t = _inputs(G, y, objective)
    target = TEACHERS["smooth_members"].rule(t)
    assert target.per_member and np.asarray(target.logits).shape == G.shape
    on = _on(y, 4)
    for g, out in zip(G, np.asarray(target.logits)):
        c = t.read(g)[on].mean()                 # member l's mean confidence on the label
        p = t.read(out)
        np.testing.assert_allclose(p[on], c, rtol=1e-5)
        np.testing.assert_allclose(p[~on], (1 - c) / 3, rtol=1e-5)


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_fixed_smoothing_puts_smooth_level_on_the_label_whatever_the_teacher(objective):
    rng = np.random.default_rng(2)
    y = rng.integers(0, 5, 8)
    targets = [np.asarray(TEACHERS["smooth_fixed"].rule(
        _inputs(rng.normal(0, s, (2, 8, 5)), y, objective, 0.8)).logits) for s in (1.0, 5.0)]
    read = _inputs(None, y, objective).read
    on = _on(y, 5)
    for out in targets:
        np.testing.assert_allclose(read(out)[on], 0.8, rtol=1e-5)
        np.testing.assert_allclose(read(out)[~on], 0.05, rtol=1e-5)


def test_the_new_controls_are_in_all_and_read_their_teacher_stages():
    assert set(NEW) <= set(parse_methods("all", METHOD_NAMES))
    assert stages_for(["kd_smooth_twin"]) == ["single", "alone", "kd_smooth_twin"]
    assert stages_for(["kd_smooth_fixed"]) == ["single", "kd_smooth_fixed"]


def test_smooth_level_is_validated():
    with pytest.raises(ConfigError, match="distill.smooth_level"):
        override(preset("tiny"), {"distill.smooth_level": 1.0})


def test_a_tiny_run_smooths_at_the_twins_confidence_with_the_students_and_budget_of_kd():
    cfg = override(preset("tiny"), {"distill.steps": 10, "distill.smooth_level": 0.7})
    run = train_methods(cfg, 2, 0, NEW, progress=False)
    K, y = cfg.distill, np.asarray(run.problem.train.y)
    read = lambda g: np.asarray(teacher_probs(g, K.objective, K.T, K.tau))   # noqa: E731
    on = _on(y, cfg.data.k)
    twins = run.stages["alone"].train_logits
    target = np.asarray(run.stages["kd_smooth_twin"].target.logits)
    for g, out in zip(twins, target):
        np.testing.assert_allclose(read(out)[on], read(g)[on].mean(), rtol=1e-4)
    np.testing.assert_allclose(read(np.asarray(run.stages["kd_smooth_fixed"].target.logits))[on],
                               0.7, rtol=1e-4)
    for name in NEW:
        assert run.stages[name].trained.fit.steps_run == 10
        assert run.stages[name].trained.params.shape == run.stages["alone"].trained.params.shape


def rec(single_view):
    return {"train_acc": 1.0, "test_acc": 0.9, "test_acc_multi": 1.0,
            "test_acc_single": single_view, "views": {"none": 0.0, "one": 1.0, "both": 0.0},
            "lam_over_varrho": None}


@pytest.mark.parametrize("name,short", [("smooth_twin", "sm_twin"), ("smooth_fixed", "sm_fixed")])
def test_kd_must_beat_the_label_controls_and_they_must_gain_nothing(name, short):
    method, alone = f"kd_{name}", {"labels_alone": rec(0.60)}
    preds = {p["id"]: p for p in theory.check({"kd": rec(0.80), method: rec(0.63)}, 10,
                                              baselines=alone)}
    assert preds[f"T3.{name}"]["measured"] == pytest.approx(0.03)
    assert preds[f"T3.{name}"]["holds"] is True
    assert preds[f"T3.over_{short}"]["measured"] == pytest.approx(0.17)
    assert preds[f"T3.over_{short}"]["holds"] is True and preds[f"T3.over_{short}"]["control"]
    preds = {p["id"]: p for p in theory.check({"kd": rec(0.80), method: rec(0.79)}, 10,
                                              baselines=alone)}
    # a constant target gains as much as kd: the teacher contributes nothing beyond it
    assert preds[f"T3.{name}"]["holds"] is False and preds[f"T3.over_{short}"]["holds"] is False
    assert len(f"T3.over_{short}") <= 17      # the printed table's id column

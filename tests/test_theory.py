"""theory.py: each prediction measures what it claims, on hand-made method records."""

import math

import pytest

from multiview import theory


def rec(single_view, lam=None, **kw):
    out = {"train_acc": 1.0, "test_acc": 0.9, "test_acc_multi": 1.0,
           "test_acc_single": single_view, "views": {"none": 0.0, "one": 1.0, "both": 0.0},
           "lam_over_varrho": lam}
    out.update(kw)
    return out


def by_id(preds):
    return {p["id"]: p for p in preds}


def test_teacher_share_is_the_part_of_the_gain_the_twin_does_not_get():
    methods = {"kd": rec(0.90, 2.0), "kd_twin": rec(0.70, 2.0), "single": rec(0.6, 1.0)}
    alone = {"labels_alone": rec(0.60, 1.0)}
    p = by_id(theory.check(methods, 10, baselines=alone))["T3.teacher"]
    # kd gains 0.30 over labels_alone, the twin 0.10: the teacher accounts for 0.20 / 0.30
    assert p["measured"] == pytest.approx(2 / 3)
    assert p["holds"] is True and p["control"] is True
    methods["kd_twin"] = rec(0.88, 2.0)                   # the twin gains nearly as much
    p = by_id(theory.check(methods, 10, baselines=alone))["T3.teacher"]
    assert p["measured"] == pytest.approx(0.02 / 0.30) and p["holds"] is False


def test_teacher_share_is_undefined_without_a_gain():
    methods = {"kd": rec(0.55), "kd_twin": rec(0.50)}
    p = by_id(theory.check(methods, 10, baselines={"labels_alone": rec(0.60)}))["T3.teacher"]
    assert p["measured"] is None and p["holds"] is None


def test_self_distillation_half_is_its_gain_over_kds():
    methods = {"kd": rec(0.95), "self_distill": rec(0.75), "self_distill_twin": rec(0.62),
               "single": rec(0.6)}
    preds = by_id(theory.check(methods, 10, baselines={"labels_alone": rec(0.55)}))
    assert preds["T4.half"]["measured"] == pytest.approx(0.20 / 0.40)
    assert preds["T4.half"]["holds"] is True
    assert preds["T4.teacher"]["measured"] == pytest.approx((0.75 - 0.62) / 0.20)


def test_students_bounded_compares_the_larger_student_median_with_single():
    methods = {"single": rec(0.6, 1.5), "kd": rec(0.9, 12.0), "self_distill": rec(0.8, 30.0)}
    p = by_id(theory.check(methods, 10))["students.bounded"]
    assert p["measured"] == pytest.approx(20.0) and p["holds"] is False
    methods["self_distill"] = rec(0.8, 3.0)
    p = by_id(theory.check(methods, 10))["students.bounded"]
    assert p["measured"] == pytest.approx(8.0) and p["holds"] is True


def test_predictions_need_their_methods_and_baseline():
    ids = {p["id"] for p in theory.check({"kd": rec(0.9), "kd_twin": rec(0.7)}, 10)}
    assert "T3.teacher" not in ids            # no labels_alone baseline: not evaluated
    ids = {p["id"] for p in theory.check({"single": rec(0.6, 1.0)}, 10)}
    assert "students.bounded" not in ids      # no students
    assert {"T1.single", "T1.train"} <= ids


def test_a_prediction_with_needs_any_runs_when_one_of_them_was_run():
    for students in ({"kd": rec(0.9, 2.0)}, {"self_distill": rec(0.8, 2.0)}):
        ids = {p["id"] for p in theory.check({"single": rec(0.6, 1.0), **students}, 10)}
        assert "students.bounded" in ids
    assert all(p.needs_any == () for p in theory.predictions(10) if p.id != "students.bounded")


def test_every_prediction_names_its_theorem_and_a_verdict_reads_it():
    preds = theory.predictions(10)
    assert {p.theorem for p in preds} == {"Theorem 1", "Theorem 2", "Theorem 3", "Theorem 4",
                                          "Theorems 3-4", "Training the sum", "Fixed features"}
    read = {t for reads in theory.VERDICTS.values() for t in reads}
    assert all(p.theorem in read for p in preds if p.control)   # every control gets a verdict
    out = theory.check({"single": rec(0.6, 1.0), "kd": rec(0.9, 2.0)}, 10)
    assert {p["id"]: p["theorem"] for p in out}["T3.single"] == "Theorem 3"


def test_bands_are_the_documented_ones():
    preds = {p.id: p for p in theory.predictions(10)}
    assert preds["T3.teacher"].expected[0] == 0.5
    assert preds["T4.teacher"].expected[0] == 0.5
    assert preds["T4.half"].expected == (0.25, 0.85)
    assert preds["students.bounded"].expected == (0.0, 10.0)
    assert preds["T2.single"].expected[0] == pytest.approx(min(0.90, 1 - 2.0 ** -10))
    assert all(math.isfinite(v) for p in preds.values() for v in p.expected)


@pytest.mark.parametrize("control", ["random", "smooth", "shuffled"])
def test_random_controls_gain_nothing_and_kd_beats_them(control):
    method = f"kd_{control}"
    alone = {"labels_alone": rec(0.60, 1.0)}
    methods = {"kd": rec(0.80, 1.2), method: rec(0.63, 1.1)}
    preds = by_id(theory.check(methods, 10, baselines=alone))
    gain, over = preds[f"T3.{control}"], preds[f"T3.over_{control}"]
    # the control gains 0.03 over labels_alone (within the no-gain margin), kd is 0.17 above it
    assert gain["measured"] == pytest.approx(0.03) and gain["holds"] is True
    assert over["measured"] == pytest.approx(0.17) and over["holds"] is True
    assert gain["control"] and over["control"] and gain["theorem"] == over["theorem"] == "Theorem 3"
    methods[method] = rec(0.78, 1.1)            # the control gains nearly what kd does
    preds = by_id(theory.check(methods, 10, baselines=alone))
    assert preds[f"T3.{control}"]["measured"] == pytest.approx(0.18)
    assert preds[f"T3.{control}"]["holds"] is False
    assert preds[f"T3.over_{control}"]["measured"] == pytest.approx(0.02)
    assert preds[f"T3.over_{control}"]["holds"] is False
    methods[method] = rec(0.40, 1.1)            # a control that hurts still gains nothing
    assert by_id(theory.check(methods, 10, baselines=alone))[f"T3.{control}"]["holds"] is True
    # without labels_alone the gain is not evaluated; kd minus the control still is
    ids = {p["id"] for p in theory.check(methods, 10)}
    assert f"T3.{control}" not in ids and f"T3.over_{control}" in ids


def test_random_control_bands_are_the_documented_ones():
    preds = {p.id: p for p in theory.predictions(10)}
    for control in ("random", "smooth", "shuffled"):
        assert preds[f"T3.{control}"].expected == (-1.0, 0.05)
        assert preds[f"T3.over_{control}"].expected == (0.05, 1.0)


def test_band_looks_up_a_prediction_by_id():
    # studies and figures read a band here instead of keeping a copy of it
    assert theory.band("T1.stable") == (0.7, 1.0)
    assert theory.band("T1.single") == (0.35, 0.70)
    assert theory.band("T2.single", L=3) == (1 - 2.0 ** -3, 1.0)      # the band depends on L
    with pytest.raises(KeyError, match="T9"):
        theory.band("T9.nothing")

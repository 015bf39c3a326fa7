"""check.py and the recipe: the method table's stages, kd_twin's teacher, records and the table."""

import numpy as np
import pytest

from multiview.check import format_table, run_check, verdicts
from multiview.errors import ConfigError
from multiview.keys import stream_keys
from multiview.learners import logits_of, train_single, train_students
from multiview.methods import METHODS, STAGES, stages_for
from multiview.recipe import student_steps, train_methods


def test_every_method_reads_a_stage_whose_needs_come_first():
    order = list(STAGES)
    for name, (stage, how) in METHODS.items():
        assert stage in STAGES and how in ("members", "mean")
        for dep in STAGES[stage].needs:
            assert order.index(dep) < order.index(stage)
    assert stages_for(["kd_twin"]) == ["single", "alone", "twin"]
    assert stages_for(["ensemble_kd"]) == ["single", "kd"]
    with pytest.raises(ConfigError, match="--methods"):      # the house's user error
        stages_for(["nope"])


def test_kd_twin_students_learn_from_their_own_label_trained_twins(tiny):
    """The twin stage equals distilling student l from the model with student l's own
    initialisation trained on labels (independent slow path through the learners)."""
    L = 2
    run = train_methods(tiny, L, 0, ["kd_twin"], progress=False)
    keys = stream_keys(0, "student", L)
    twin = train_single(keys, tiny, run.problem, progress=False)
    G = logits_of(twin.params, run.problem.train.x, tiny)
    np.testing.assert_allclose(run.stages["alone"].train_logits, G, rtol=1e-5, atol=1e-6)
    st = train_students(keys, tiny, run.problem, G, per_member=True,
                        steps=student_steps(tiny, run.budget),
                        progress=False)
    np.testing.assert_allclose(run.stages["twin"].trained.params, st.params, rtol=1e-5,
                               atol=1e-6)


def test_check_records_controls_beside_their_claims(tiny):
    r = run_check(tiny, 2, 0, ["single", "ensemble", "kd", "kd_twin", "self_distill",
                               "self_distill_twin"], progress=False)
    assert list(r["methods"]) == ["single", "ensemble", "kd", "kd_twin", "self_distill",
                                  "self_distill_twin"]
    # kd_twin and self_distill_twin are one training: the same students, the same teachers
    assert r["methods"]["kd_twin"]["per_model"] == r["methods"]["self_distill_twin"]["per_model"]
    assert r["methods"]["kd"]["lam_over_varrho"] > 0
    assert r["methods"]["ensemble"]["lam_over_varrho"] is None
    ids = {p["id"] for p in r["predictions"]}
    assert {"T3.teacher", "T4.teacher", "T4.half", "students.bounded"} <= ids
    assert set(r["run"]["stage_seconds"]) == {"single", "labels_alone", "kd", "self_distill",
                                              "self_distill_twin"}
    table = format_table(r)
    lines = table.splitlines()
    names = [ln.split()[0] for ln in lines[3:10]]
    assert names == ["single", "labels_alone", "ensemble", "kd", "kd_twin", "self_distill",
                     "self_distill_twin"]


def _result(theorem=True, **holds):
    preds = [{"id": i, "source": s, "theorem": t, "holds": h, "control": c}
             for i, s, t, c, h in (
        ("T3.single", "Theorem 3", "Theorem 3", False, holds.get("band", True)),
        ("T3.teacher", "Theorem 3 (control)", "Theorem 3", True, holds.get("control", True)),
        ("students.bounded", "Theorems 3-4 (control)", "Theorems 3-4", True,
         holds.get("bounded", True)))]
    if not theorem:       # a check.json written before predictions had the field
        for p in preds:
            del p["theorem"]
    return {"predictions": preds}


def test_verdict_says_holds_control_fails_when_only_the_control_fails():
    assert verdicts(_result()) == ["Theorem 3: holds, controls agree"]
    assert verdicts(_result(control=False)) == \
        ["Theorem 3: holds, control fails (T3.teacher)"]
    assert verdicts(_result(band=False, bounded=False)) == \
        ["Theorem 3: does not hold (T3.single); control fails (students.bounded)"]
    assert verdicts(_result(theorem=False, control=False)) == \
        ["Theorem 3: holds, control fails (T3.teacher)"]


def test_std_is_the_sample_std_over_models_in_both_arms():
    from multiview.cifar.pipeline import summarize
    from multiview.metrics import std_over_models

    assert std_over_models([0.5, 0.7, 0.9]) == pytest.approx(0.2)          # ddof = 1
    assert std_over_models(0.8) == 0.0 and std_over_models([0.8]) == 0.0   # one model
    assert np.isnan(std_over_models([float("nan")]))                       # undefined stays so

    class Data:
        train_labels = test_labels = np.array([0, 1])
    logits = np.array([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [1.0, 0.0]]])  # acc 1.0 and 0.5
    assert summarize(logits, logits, Data())["std"]["test_acc"] == pytest.approx(
        std_over_models([1.0, 0.5]))


# --- the printed table, on hand-made results (no training) -----------------------------------

def _method(acc: float, ci: bool, ensemble: bool = False) -> dict:
    vals = {"train_acc": 1.0, "test_acc": 0.95, "test_acc_multi": 0.99, "test_acc_single": acc}
    m = vals | {"std": {q: 0.02 for q in vals}, "per_model": {},
                "views": ({"none": None, "one": None, "both": None} if ensemble
                          else {"none": 0.0, "one": 0.9, "both": 0.1}),
                "lam_over_varrho": None if ensemble else 2660.0}
    if ci:
        m["ci"] = {q: None if ensemble else [v - 0.031, v + 0.031] for q, v in vals.items()}
        m["ci_kind"] = "t"
    return m


def _check(names=("single", "ensemble"), ci=False, L=5) -> dict:
    from multiview import theory
    accs = {"single": 0.66, "ensemble": 1.0, "kd": 0.93, "kd_twin": 0.92, "self_distill": 0.94,
            "self_distill_twin": 0.93, "rf_single": 0.58, "rf_ensemble": 0.58}
    methods = {n: _method(accs[n], ci, ensemble=n.endswith("ensemble")) for n in names}
    diagnostics = {}
    if any(n in METHODS and METHODS[n][0] in ("kd", "self_distill", "twin") for n in names):
        diagnostics["labels_alone"] = _method(0.64, ci)
    return {"seeds": list(range(L)), "methods": methods, "diagnostics": diagnostics,
            "predictions": theory.check(methods, L, baselines=diagnostics)}


def test_table_fits_100_columns_with_every_method_and_the_intervals():
    names = ("single", "ensemble", "kd", "kd_twin", "self_distill", "self_distill_twin")
    for ci in (False, True):
        table = format_table(_check(names, ci))
        assert max(len(line) for line in table.splitlines()) <= 100
        # the Λ/ϱ column is apart from the views columns
        row = next(line for line in table.splitlines() if line.startswith("kd "))
        assert row.split()[-4:] == ["0.00", "0.90", "0.10", "2.66e+03"]
        # T4.teacher's quantity ends before its measured value
        t4 = next(line for line in table.splitlines() if line.startswith("T4.teacher"))
        assert "teacher share of self-distill's gain " in t4


def test_bands_print_as_they_decide():
    table = format_table(_check(("rf_single", "rf_ensemble", "single", "ensemble")))
    rows = {line.split()[0]: line for line in table.splitlines()
            if line[:2] in ("T1", "T2", "F.")}
    # F.rf.ensemble: gain 0.000, band (1e-9, 1): '> 0', not '[0.00, 1.00]', and it fails
    assert rows["F.rf.ensemble"].split()[-4:] == ["0.000", ">", "0", "FAILS"]
    assert rows["T1.train"].split()[-3:] == ["≥", "0.99", "holds"]        # (0.99, 1.0)
    assert "[0.35, 0.70]" in rows["T1.single"]
    assert "≥ 0.15" in rows["T2.gain"]                                 # (0.15, 1.0)
    full = format_table(_check(("single", "ensemble", "kd", "kd_twin")))
    teacher = next(line for line in full.splitlines() if line.startswith("T3.teacher"))
    assert "≥ 0.50" in teacher and "10" not in teacher                  # (0.5, 10.0): open
    bounded = next(line for line in full.splitlines() if line.startswith("students.bounded"))
    assert "≤ 10 " in bounded                                           # (0, 10): a real bound


def test_twin_footnote_only_when_twins_ran():
    assert "kd_twin / self_distill_twin" not in format_table(_check(("single", "ensemble", "kd")))
    assert "kd_twin / self_distill_twin" in format_table(_check(("single", "kd", "kd_twin")))


def test_interval_column_only_when_the_result_has_intervals():
    assert "95% CI" not in format_table(_check())                        # an older check.json
    table = format_table(_check(ci=True))
    head = next(line for line in table.splitlines() if line.startswith("method"))
    assert "95% CI single" in head and "t-interval" in table
    single = next(line for line in table.splitlines() if line.startswith("single"))
    assert "[0.629, 0.691]" in single
    ensemble = next(line for line in table.splitlines() if line.startswith("ensemble"))
    assert ensemble.split()[6] == "-"                                    # one model: none


def test_self_distill_union_counts_kept_copied_and_lost_views_by_hand():
    """Two students, one class each: student 0 keeps its own view 0 and adds its teacher's
    view 1 (the union); student 1 drops its own view 0 and copies its teacher's view 1."""
    from multiview.check import union_of_views
    own = np.array([[[True, False]], [[True, False]]])
    teacher = np.array([[[False, True]], [[False, True]]])
    student = np.array([[[True, True]], [[False, True]]])
    u = union_of_views(student, own, teacher)
    assert u["union_both"] == 1.0 and u["student_both"] == 0.5 and u["covers_union"] == 0.5
    assert u["own"] == pytest.approx(1 / 3) and u["teacher_only"] == pytest.approx(2 / 3)
    assert u["lost_own"] == 0.5


def test_check_records_the_self_distill_union_of_the_trained_stages(tiny):
    r = run_check(tiny, 2, 0, ["single", "self_distill"], progress=False)
    u = r["diagnostics"]["self_distill_union"]
    assert 0.0 <= u["student_both"] <= 1.0 and 0.0 <= u["union_both"] <= 1.0
    assert u["student_both"] == pytest.approx(r["methods"]["self_distill"]["views"]["both"])

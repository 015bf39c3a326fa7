"""dose.py: the teacher set, the shares, and share 0 = the twin control."""

import numpy as np
import pytest

from multiview.check import run_check
from multiview.dose import _share, cyclic_members, run_dose, teacher_sizes


def test_teacher_sizes_double_up_to_L():
    assert teacher_sizes(10) == [2, 4, 8, 10]
    assert teacher_sizes(2) == [2]
    assert teacher_sizes(1) == []


def test_each_student_gets_its_own_cyclic_ensemble():
    idx = cyclic_members(4, 3)
    np.testing.assert_array_equal(idx, [[0, 1, 2], [1, 2, 3], [2, 3, 0], [3, 0, 1]])


def test_share_is_pooled_over_students():
    of = np.array([[True, True], [True, False]])
    mask = np.array([[True, False], [False, True]])
    assert _share(mask, of) == pytest.approx(1 / 3)
    assert np.isnan(_share(mask, np.zeros_like(of)))


def test_share_zero_teacher_is_the_twin(tiny):
    """The dose teacher that knows none of the student's missing views is its twin: its
    students equal check's kd_twin students (same keys, teachers and steps)."""
    L = 2
    rec = run_dose(tiny, L, 0, sizes=[2], progress=False)
    rows = {r["teacher"]: r for r in rec["teachers"]}
    assert list(rows) == ["twin", "single", "ens-2"]
    assert rows["twin"]["share_known"] == 0.0
    chk = run_check(tiny, L, 0, ["kd_twin", "kd"], progress=False)
    assert rows["twin"]["test_acc_single"] == pytest.approx(
        chk["methods"]["kd_twin"]["test_acc_single"], abs=1e-9)
    # ens-L is the ensemble teacher of kd
    assert rows["ens-2"]["test_acc_single"] == pytest.approx(
        chk["methods"]["kd"]["test_acc_single"], abs=1e-9)
    assert rec["student_steps"] == chk["run"]["student_steps"]

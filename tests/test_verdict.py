"""verdict.py and theory.check's verdicts: 95 % intervals over the members (paired across
methods), over base seeds, and where they lie against the bands, on hand-made records."""

import numpy as np
import pytest
from scipy import stats

from multiview import theory
from multiview.check import format_table, verdicts
from multiview.verdict import decide, pool


def members(single_view, lam=None, one=None):
    """A method record of len(single_view) members with these single-view accuracies (the
    other accuracies 1.0, every class one view unless `one` gives the per-member share)."""
    n = len(single_view)
    one = [1.0] * n if one is None else one
    per = {"train_acc": [1.0] * n, "test_acc": [0.95] * n, "test_acc_multi": [1.0] * n,
           "test_acc_single": list(single_view), "views.none": [0.0] * n,
           "views.one": list(one), "views.both": [1.0 - o for o in one]}
    return {"train_acc": 1.0, "test_acc": 0.95, "test_acc_multi": 1.0,
            "test_acc_single": float(np.mean(single_view)),
            "views": {"none": 0.0, "one": float(np.mean(one)), "both": 1 - float(np.mean(one))},
            "per_model": per, "lam_over_varrho": lam}


def one_model(single_view):
    """An ensemble's record: one model."""
    r = members([single_view])
    r["views"] = {"none": None, "one": None, "both": None}
    return r


def t_interval(x):
    x = np.asarray(x, float)
    half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    return [x.mean() - half, x.mean() + half]


def by_id(preds):
    return {p["id"]: p for p in preds}


def test_the_issue_example_is_inconclusive_not_a_failure():
    """T1.single 0.703 against [0.35, 0.70] with a 95 % t-interval [0.473, 0.932] over 3
    members: the point is outside the band, the interval crosses its edge."""
    s = 0.0924                                   # 0.703 ± t(0.975, 2)·s/√3 = 0.703 ± 0.2295
    p = by_id(theory.check({"single": members([0.703 - s, 0.703, 0.703 + s])}, 3))["T1.single"]
    assert p["measured"] == pytest.approx(0.703)
    assert p["ci"] == pytest.approx([0.473, 0.932], abs=1e-3)
    assert p["holds"] is False                   # the field kept as it was: the point estimate
    assert p["verdict"] == "inconclusive" and p["ci_over"] == "members" and p["n"] == 3
    assert p["ci_kind"] == "t"


def test_decide_by_where_the_interval_lies():
    band, q = (0.35, 0.70), "test_acc_single"
    assert decide(0.5, [0.40, 0.60], band, q) == "holds"
    assert decide(0.8, [0.75, 0.90], band, q) == "fails"
    assert decide(0.2, [0.10, 0.30], band, q) == "fails"
    assert decide(0.65, [0.60, 0.75], band, q) == "inconclusive"
    assert decide(0.5, [0.30, 0.80], band, q) == "inconclusive"     # crosses both edges
    assert decide(None, None, band, q) is None                        # not evaluable
    # no interval: the point decides
    assert decide(0.5, None, band, q) == "holds" and decide(0.8, None, band, q) == "fails"
    # a band's end at the quantity's limit bounds nothing: a t-interval may pass 1.0 (or -1)
    assert decide(0.995, [0.985, 1.004], (0.98, 1.0), "train_acc") == "holds"
    assert decide(0.0, [-1.2, 0.01], (-1.0, 0.05), "test_acc_single - single") == "holds"
    # an interval that exists for the run but not for this value
    assert decide(0.5, None, band, q, undefined=True) == "inconclusive"


def test_a_difference_gets_the_paired_t_interval_of_the_per_member_differences():
    kd, alone = [0.80, 0.90, 0.85, 0.70], [0.60, 0.62, 0.58, 0.61]
    preds = by_id(theory.check({"kd": members([0.9] * 4), "kd_smooth": members(kd)}, 4,
                               baselines={"labels_alone": members(alone)}))
    gain = preds["T3.smooth"]                    # kd_smooth - labels_alone, paired by member
    assert gain["ci"] == pytest.approx(t_interval(np.subtract(kd, alone)))
    assert gain["verdict"] == "fails"            # every member gains far more than 0.05


def test_a_share_gets_the_jackknife_interval_and_a_vanishing_gain_is_inconclusive():
    kd, twin, alone = [0.90, 0.85, 0.95], [0.70, 0.72, 0.66], [0.60, 0.61, 0.59]
    methods = {"kd": members(kd), "kd_twin": members(twin)}
    base = {"labels_alone": members(alone)}
    p = by_id(theory.check(methods, 3, baselines=base))["T3.teacher"]
    # the hand-computed jackknife: pseudo-values n·θ − (n−1)·θ_(i), then their t-interval
    def share(i=None):
        keep = [j for j in range(3) if j != i]
        g = np.mean([kd[j] for j in keep]) - np.mean([alone[j] for j in keep])
        return (g - (np.mean([twin[j] for j in keep]) - np.mean([alone[j] for j in keep]))) / g
    pseudo = [3 * share() - 2 * share(i) for i in range(3)]
    assert p["measured"] == pytest.approx(share())
    assert p["ci"] == pytest.approx(t_interval(pseudo))
    assert p["ci"][0] < p["measured"] < p["ci"][1]
    # kd gains only through member 0: without it the gain is gone and the share undefined
    methods["kd"] = members([0.95, 0.60, 0.59])
    p = by_id(theory.check(methods, 3, baselines=base))["T3.teacher"]
    assert p["measured"] is not None and p["ci"] is None and p["verdict"] == "inconclusive"


def test_one_model_and_a_median_have_no_member_interval_and_are_judged_by_their_value():
    methods = {"single": members([0.60, 0.62, 0.58], lam=1.2), "ensemble": one_model(0.95),
               "kd": members([0.9, 0.9, 0.9], lam=30.0)}
    preds = by_id(theory.check(methods, 3))
    for pid in ("T2.single", "T2.gain", "students.bounded"):
        assert preds[pid]["ci"] is None and preds[pid]["ci_over"] is None
    assert preds["T2.single"]["verdict"] == "holds"       # 0.95 in [0.875, 1]
    assert preds["students.bounded"]["verdict"] == "fails"   # 25 > 10
    assert preds["T1.single"]["ci"] is not None           # single's members still have one


def test_view_shares_get_their_interval_from_the_per_member_shares():
    one = [0.8, 0.6, 1.0, 0.8]
    p = by_id(theory.check({"single": members([0.6] * 4, one=one)}, 4))["T1.lottery"]
    assert p["measured"] == pytest.approx(0.8)
    assert p["ci"] == pytest.approx(t_interval(one))
    assert p["verdict"] == "inconclusive"                 # [0.54, 1.06] crosses 0.7


def test_pool_gives_the_interval_over_base_seeds_of_one_model_quantities():
    runs = [{"predictions": theory.check({"single": members([0.6, 0.62]),
                                          "ensemble": one_model(e)}, 2)}
            for e in (0.97, 0.95, 0.99)]
    p = by_id(pool(runs))["T2.single"]
    assert p["per_seed"] == pytest.approx([0.97, 0.95, 0.99])
    assert p["measured"] == pytest.approx(0.97) and p["ci_over"] == "base seeds"
    assert p["ci"] == pytest.approx(t_interval([0.97, 0.95, 0.99]))
    assert p["verdict"] == "holds" and p["n"] == 3


def _preds(**verdict):
    return {"predictions": [
        {"id": i, "source": i, "theorem": "Theorem 3", "control": c, "holds": None,
         "verdict": verdict.get(i, "holds")}
        for i, c in (("T3.single", False), ("T3.teacher", True))]}


def test_theorem_lines_and_the_table_read_the_verdicts():
    assert verdicts(_preds()) == ["Theorem 3: holds, controls agree"]
    assert verdicts(_preds(**{"T3.single": "inconclusive"})) == \
        ["Theorem 3: inconclusive (T3.single)"]
    assert verdicts(_preds(**{"T3.teacher": "inconclusive"})) == \
        ["Theorem 3: holds, control inconclusive (T3.teacher)"]
    assert verdicts(_preds(**{"T3.single": "fails", "T3.teacher": "fails"})) == \
        ["Theorem 3: does not hold (T3.single); control fails (T3.teacher)"]
    s = 0.0924
    result = {"seeds": [0, 1, 2], "methods": {}, "diagnostics": {},
              "predictions": theory.check({"single": members([0.703 - s, 0.703, 0.703 + s])}, 3)}
    row = next(ln for ln in format_table(result).splitlines() if ln.startswith("T1.single"))
    assert row.split()[-1] == "unsure"
    assert max(len(ln) for ln in format_table(result).splitlines()) <= 100

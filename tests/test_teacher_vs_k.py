"""figures/teacher_vs_k: the teacher's share of kd's gain across k. Its pure helpers on known
inputs (the share's definition, the joint bootstrap over paired members, the fits and the
extrapolated k), the table of a sweep and `multiview plot teacher-vs-k`."""

import json
import math

import numpy as np
import pytest

from multiview import analysis, plots, theory
from multiview.cli import main
from multiview.config import ConfigError

from .test_plots import _texts, _written


def test_teacher_share_is_theorys_definition_and_undefined_near_a_zero_gain():
    kd, twin, alone = 0.9, 0.7, 0.6
    ref = theory._teacher_share("kd", "kd_twin")(
        {"kd": {"test_acc_single": kd}, "kd_twin": {"test_acc_single": twin},
         "labels_alone": {"test_acc_single": alone}})
    assert analysis.teacher_share(kd, twin, alone) == pytest.approx(ref) == pytest.approx(2 / 3)
    assert math.isnan(analysis.teacher_share(0.605, 0.6, 0.6))        # gain 0.005 < 1 point
    assert math.isnan(analysis.teacher_share(0.5, 0.55, 0.6))         # a loss


def test_joint_bootstrap_resamples_the_same_members_for_every_method():
    """kd and kd_twin differ from labels_alone by the same amount in every member, while the
    members differ a lot: a joint resampling gives a zero-width interval for the gain and the
    share; resampling each method on its own would not."""
    alone = np.array([0.3, 0.5, 0.7, 0.4, 0.6])
    vals = {"kd": alone + 0.2, "kd_twin": alone + 0.05, "labels_alone": alone}
    r = analysis.teacher_bootstrap(vals, resamples=2000, seed=3)
    assert r["gain"] == pytest.approx(0.2) and r["share"] == pytest.approx(0.75)
    assert r["gain_ci"] == pytest.approx([0.2, 0.2]) and r["share_ci"] == pytest.approx([0.75, 0.75])
    assert r["undefined"] == 0
    idx = analysis.joint_resamples(5, 2000, seed=3)
    lone = alone[analysis.joint_resamples(5, 2000, seed=4)].mean(1)   # another draw for alone
    assert np.ptp((vals["kd"][idx].mean(1) - lone)) > 0.1
    # identical members: zero-width intervals whatever the draw
    flat = {"kd": np.full(5, 0.9), "kd_twin": np.full(5, 0.7), "labels_alone": np.full(5, 0.6)}
    r = analysis.teacher_bootstrap(flat, resamples=500)
    assert r["share_ci"] == pytest.approx([2 / 3, 2 / 3]) and r["gain_ci"] == pytest.approx([0.3, 0.3])


def test_bootstrap_is_reproducible_from_its_seed():
    rng = np.random.default_rng(0)
    vals = {n: rng.uniform(0.4, 0.9, 5) for n in ("kd", "kd_twin", "labels_alone")}
    vals["kd"] += 0.3
    assert analysis.teacher_bootstrap(vals, 1000, seed=7) == analysis.teacher_bootstrap(vals, 1000, seed=7)


def test_resamples_without_a_share_count_at_both_ends_of_the_interval():
    s = np.r_[np.arange(1.0, 101.0), np.nan]                      # 1 % without a value
    lo, hi = analysis.percentile_ci(s)
    assert math.isfinite(lo) and math.isfinite(hi) and lo < 4 and hi > 97
    s = np.r_[np.arange(1.0, 96.0), [np.nan] * 5]                 # 5 % > 2.5 %: unbounded
    assert analysis.percentile_ci(s) == [-math.inf, math.inf]
    # a gain of about zero: many resamples have no share, the interval is unbounded
    alone = np.full(5, 0.6)
    vals = {"kd": alone + [0.1, -0.1, 0.0, 0.02, -0.02], "kd_twin": alone, "labels_alone": alone}
    r = analysis.teacher_bootstrap(vals, resamples=2000)
    assert math.isnan(r["share"]) and r["undefined"] > 0.3
    assert r["share_ci"] == [-math.inf, math.inf] and all(map(math.isfinite, r["gain_ci"]))


def test_fits_recover_known_lines_and_extrapolate():
    line = analysis.fit_line([1, 2, 3, 4], [0.5, 0.8, 1.1, 1.4])
    assert line["a"] == pytest.approx(0.2) and line["b"] == pytest.approx(0.3)
    assert line["r2"] == pytest.approx(1) and line["rmse"] == pytest.approx(0, abs=1e-12)
    ks = np.array([5, 8, 12, 16, 20])
    logk = analysis.share_fits(ks, 0.1 + 0.25 * np.log(ks))
    assert logk["best"] == "log k" and logk["log k"]["r2"] == pytest.approx(1)
    assert logk["1/k"]["r2"] < 1
    assert analysis.k_at(logk["log k"], "log k") == pytest.approx(math.exp(0.8 / 0.25))
    inv = analysis.share_fits(ks, 1.2 - 3.0 / ks)
    assert inv["best"] == "1/k" and inv["1/k"]["b"] == pytest.approx(-3.0)
    assert analysis.k_at(inv["1/k"], "1/k") == pytest.approx(10.0)    # 1.2 - 3/10 = 0.9
    assert analysis.fitted_share(inv["1/k"], "1/k", 10.0) == pytest.approx(0.9)
    # never: a falling share, and a rising 1/k fit whose limit (a) stays under 0.9
    assert analysis.k_at({"a": 0.8, "b": -0.1}, "log k") is None
    assert analysis.k_at({"a": 0.8, "b": -2.0}, "1/k") is None
    assert analysis.share_fits([5], [0.3]) == {}


def _member_rec(vals):
    v = [float(x) for x in vals]
    mean = float(np.mean(v))
    acc = {"train_acc": 1.0, "test_acc": 0.9, "test_acc_multi": 1.0, "test_acc_single": mean}
    return acc | {"std": {q: 0.0 for q in acc}, "views": {"none": 0, "one": 1, "both": 0},
                  "per_model": {"test_acc_single": v}}


def teacher_sweep(ks=(5, 8, 12), L=5, seed=0, fields=None) -> dict:
    """A sweep over data.k that ran single, ensemble, kd and kd_twin, with labels_alone, the
    per-model values and the predictions theory.check computes from them."""
    rng = np.random.default_rng(seed)
    points = []
    for i, k in enumerate(ks):
        alone = rng.uniform(0.55, 0.7, L)
        recs = {"single": _member_rec(rng.uniform(0.5, 0.7, L)),
                "ensemble": _member_rec([0.95]),
                "kd": _member_rec(alone + 0.3 + rng.normal(0, 0.02, L)),
                "kd_twin": _member_rec(alone + 0.3 * (1 - 0.2 * (i + 1)) + rng.normal(0, 0.02, L))}
        la = _member_rec(alone)
        preds = [{"id": p["id"], "measured": p["measured"], "expected": p["expected"],
                  "holds": p["holds"]} for p in theory.check(recs, L, {"labels_alone": la})]
        points.append({"grid": {"data.k": k, **(fields or {})}, "key": str(k), "file": "x.json",
                       "methods": recs, "labels_alone": la, "predictions": preds})
    grid = {"data.k": list(ks), **{f: [v] for f, v in (fields or {}).items()}}
    return {"format": "multiview.sweep/1", "grid": grid,
            "methods": ["single", "ensemble", "kd", "kd_twin"], "seeds": L, "seed": 0,
            "points": points}


def test_teacher_vs_k_share_is_the_sweeps_own_prediction():
    sweep = teacher_sweep()
    t = analysis.teacher_vs_k(sweep, resamples=1000)
    assert [r["k"] for r in t["rows"]] == [5, 8, 12]
    for r, p in zip(t["rows"], sweep["points"]):
        measured = {q["id"]: q["measured"] for q in p["predictions"]}["T3.teacher"]
        assert r["share"] == pytest.approx(measured)
        lo, hi = r["share_ci"]
        assert lo <= r["share"] <= hi and r["gain_ci"][0] <= r["gain"] <= r["gain_ci"][1]
    assert set(t["fits"]) == {"log k", "1/k", "best"} and set(t["k_at_target"]) == {"log k", "1/k"}
    assert "share =" in analysis.teacher_table(t)


def test_teacher_vs_k_figure_and_cli(tmp_path, capsys):
    sweep = teacher_sweep()
    fig = plots.figure("teacher-vs-k", sweep)
    assert min(t.get_fontsize() for t in _texts(fig)) >= 7
    assert "by the fit in" in fig.texts[-1].get_text()
    _written(plots.save(fig, tmp_path, "teacher_vs_k"))
    d = tmp_path / "sweep"
    d.mkdir()
    (d / "sweep.json").write_text(json.dumps(sweep))
    assert main(["plot", "teacher-vs-k", "--in", str(d)]) == 0
    assert (d / "teacher_vs_k.png").exists()
    # refused before a file is written: no kd_twin, and no data.k in the grid
    no_twin = json.loads(json.dumps(sweep))
    for p in no_twin["points"]:
        del p["methods"]["kd_twin"]
    (d / "sweep.json").write_text(json.dumps(no_twin))
    assert main(["plot", "teacher-vs-k", "--in", str(d), "--name", "x"]) == 2
    assert "kd_twin" in capsys.readouterr().err and not (d / "x.png").exists()
    with pytest.raises(ConfigError, match="data.k"):
        analysis.teacher_vs_k(json.loads(json.dumps(sweep).replace('"data.k"', '"data.d"')))


def test_teacher_vs_k_takes_a_slice_of_a_wider_grid():
    a = teacher_sweep(fields={"distill.objective": "theorem"})
    b = teacher_sweep(seed=1, fields={"distill.objective": "logits"})
    both = a | {"grid": a["grid"] | {"distill.objective": ["theorem", "logits"]},
                "points": a["points"] + b["points"]}
    t = analysis.teacher_vs_k(both, {"distill.objective": "logits"}, resamples=500)
    assert t["fixed"] == {"distill.objective": "logits"}
    assert [r["kd"] for r in t["rows"]] == pytest.approx(
        [p["methods"]["kd"]["test_acc_single"] for p in b["points"]])


def test_extrapolation_interval_is_the_fits_k_over_the_resamples():
    ks = np.array([5.0, 8.0, 12.0])
    exact = np.tile(0.1 + 0.25 * np.log(ks), (50, 1))          # every resample on one line
    ext = analysis.extrapolations(ks, exact, "log k")
    assert np.allclose(ext, math.exp(0.8 / 0.25))
    flat = np.tile([0.3, 0.3, 0.3], (50, 1))                      # never reaches 0.9
    assert np.isinf(analysis.extrapolations(ks, flat, "log k")).all()
    one = np.tile([0.3, np.nan, np.nan], (50, 1))                 # one share: no fit
    assert np.isnan(analysis.extrapolations(ks, one, "1/k")).all()


def test_each_k_is_resampled_from_its_own_seed():
    """A k's row does not depend on which other k the sweep holds; the table's extrapolation
    interval holds the point fit's k."""
    full = analysis.teacher_vs_k(teacher_sweep((5, 8, 12)), resamples=500)
    part = analysis.teacher_vs_k(teacher_sweep((5, 8, 12)) | {"points": teacher_sweep(
        (5, 8, 12))["points"][:2]}, resamples=500)
    assert full["rows"][0] == part["rows"][0] and full["rows"][1] == part["rows"][1]
    for form, k in full["k_at_target"].items():
        lo, hi = full["k_at_target_ci"][form]
        assert k is None or lo <= k <= hi
        assert 0 <= full["never"][form] <= 1


def test_a_k_without_a_share_is_named_on_the_figure():
    sweep = teacher_sweep((5, 8, 12))
    p = sweep["points"][2]                                        # k = 12: KD loses
    p["methods"]["kd"]["per_model"]["test_acc_single"] = [
        v - 0.5 for v in p["methods"]["kd"]["per_model"]["test_acc_single"]]
    t = analysis.teacher_vs_k(sweep, resamples=500)
    assert math.isnan(t["rows"][2]["share"]) and t["rows"][2]["gain"] < 0
    fig = plots.FIGURES["teacher-vs-k"].draw(t)
    assert "no share (gain < 1 point)" in fig.axes[0].get_legend_handles_labels()[1]
    assert "k = 12: -" in fig.texts[-1].get_text()

"""Figures: every plot writes a non-empty PDF and PNG from small synthetic results."""

import json

import numpy as np
import pytest

from multiview import analysis, plots, theory
from multiview.check import METHODS
from multiview.cli import main
from multiview.config import ConfigError
from multiview.results import load_arrays, save_arrays


def synthetic_arrays(cfg, L=5, T=30, n=400, seed=0) -> dict:
    """What runs.view_arrays returns, with a lottery: each single model learns one random view
    per class, the students both."""
    rng = np.random.default_rng(seed)
    k, varrho = cfg.data.k, cfg.model.varrho
    out = {"config": np.array(json.dumps(cfg.to_dict())), "seed": np.array(0)}
    steps = np.arange(1, T + 1)
    for name in ("single", "kd", "self_distill"):
        lam0 = rng.uniform(0.01, 0.05, (L, k, 2))
        win = rng.integers(0, 2, (L, k)) if name == "single" else None
        end = np.full((L, k, 2), 2.0 * varrho)
        if win is not None:
            end[np.arange(L)[:, None], np.arange(k)[None], 1 - win] = 0.05
        frac = (steps / T)[:, None, None, None] ** 3
        lam = lam0 + frac * (end - lam0)
        out |= {f"{name}_lam": lam, f"{name}_phi": 1.5 * lam, f"{name}_step": steps,
                f"{name}_lam0": lam0, f"{name}_phi0": 1.5 * lam0}
    y = rng.integers(0, k, n)
    single = rng.random(n) < 0.3
    logits = rng.normal(0, 1, (L, n, k))
    logits[:, np.arange(n), y] += np.where(single, rng.choice([0.0, 5.0], (L, n)), 5.0)
    out |= {"single_test_logits": logits, "test_y": y, "test_single": single,
            "test_strong": np.where(single, 0, -1), "single_stopped_at": np.full(L, T - 5)}
    for name in ("kd", "self_distill"):
        lg = rng.normal(0, 1, (L, n, k))
        lg[:, np.arange(n), y] += 4.0
        out[f"{name}_test_logits"] = lg
    return out


def synthetic_check(L=5) -> dict:
    rng = np.random.default_rng(1)
    methods = {}
    for i, name in enumerate(METHODS):
        single = 0.5 + 0.45 * rng.random()
        vals = {"train_acc": 1.0, "test_acc": 0.9 + 0.1 * single - 0.05,
                "test_acc_multi": 0.99, "test_acc_single": single}
        methods[name] = vals | {"std": {q: 0.02 for q in vals},
                                "views": {"none": 0.0, "one": 0.6, "both": 0.4}}
    return {"config": {}, "seed": 0, "seeds": list(range(L)), "methods": methods,
            "predictions": theory.check(methods, L)}


def synthetic_sweep(L=3) -> dict:
    mus, sigmas = [0.05, 0.1, 0.2], [0.03, 0.06]
    rng = np.random.default_rng(2)
    points = []
    for mu in mus:
        for s in sigmas:
            single = 0.4 + 0.3 * rng.random()
            methods = {}
            for name, acc in (("single", single), ("ensemble", min(1.0, single + 0.3))):
                vals = {"train_acc": 1.0, "test_acc": 1 - mu * (1 - acc),
                        "test_acc_multi": 1.0, "test_acc_single": acc}
                methods[name] = vals | {"std": {q: 0.01 for q in vals},
                                        "views": {"none": 0, "one": 1, "both": 0}}
            preds = [{"id": p["id"], "measured": p["measured"], "expected": p["expected"],
                      "holds": p["holds"]} for p in theory.check(methods, L)]
            points.append({"grid": {"data.mu": mu, "model.sigma0": s}, "key": f"{mu}-{s}",
                           "file": "x.json", "methods": methods, "predictions": preds})
    return {"grid": {"data.mu": mus, "model.sigma0": sigmas}, "methods": ["single", "ensemble"],
            "seeds": L, "seed": 0, "points": points}


@pytest.fixture
def arrays(tiny, tmp_path):
    path = save_arrays(synthetic_arrays(tiny), tmp_path / "arrays.npz")
    return load_arrays(path)


def _written(paths):
    assert [p.suffix for p in paths] == [".pdf", ".png"]
    for p in paths:
        assert p.stat().st_size > 1000
    assert paths[0].read_bytes()[:4] == b"%PDF" and paths[1].read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("kind", ["views", "lottery", "ensemble-size"])
def test_array_figures_write_pdf_and_png(arrays, tmp_path, kind):
    _written(plots.save(plots.figure(kind, arrays), tmp_path, kind))


@pytest.mark.parametrize("kind", ["views", "lottery"])
def test_array_figures_take_view_arrays_output_before_saving(tiny, tmp_path, kind):
    # view_arrays returns the config as a JSON string; load_arrays turns it into a Config
    _written(plots.save(plots.figure(kind, synthetic_arrays(tiny)), tmp_path, kind))


def test_method_comparison_and_fixed_feature_figures(tmp_path):
    check = synthetic_check()
    _written(plots.save(plots.figure("methods", check), tmp_path, "methods"))
    _written(plots.save(plots.figure("fixed", check), tmp_path, "fixed"))


def test_phase_diagram_figure(tmp_path):
    _written(plots.save(plots.figure("phase", synthetic_sweep(), x="data.mu", y="model.sigma0"),
                        tmp_path, "phase"))


def test_phase_grid_places_points_and_marks_the_regime():
    sweep = synthetic_sweep()
    xs, ys, g, fixed = analysis.phase_grid(sweep, "data.mu", "model.sigma0")
    assert xs == [0.05, 0.1, 0.2] and ys == [0.03, 0.06] and fixed == {}
    assert g["single"].shape == (2, 3) and g["found"].all()
    p = sweep["points"][3]                                    # mu = 0.1, sigma0 = 0.06
    assert g["single"][1, 1] == p["methods"]["single"]["test_acc_single"]
    assert g["regime"][1, 1] == all(q["holds"] for q in p["predictions"])


def test_prediction_bands_are_in_the_units_of_the_bar():
    check = synthetic_check()
    bands = analysis.prediction_bands(check)
    single = check["methods"]["single"]["test_acc_single"]
    assert bands[("single", "test_acc_single")][:2] == (0.35, 0.70)
    lo, hi, _ = bands[("self_distill", "test_acc_single")]     # T4.gain ∩ T4.below
    ens = check["methods"]["ensemble"]["test_acc_single"]
    assert lo == pytest.approx(max(single + 0.10, ens - 1.0, 0)) and hi == pytest.approx(min(ens, 1))


def test_ensemble_curve_uses_all_subsets_when_few():
    y = np.array([0, 1, 0, 1])
    single = np.array([True, True, False, False])
    logits = np.zeros((2, 4, 2))
    logits[0, :, 0] = 1                                       # model 0 always says 0
    logits[1, :, 1] = 1                                       # model 1 always says 1
    cur = analysis.ensemble_curve(logits, y, single)
    assert cur["single_mean"][0] == 0.5 and cur["single_std"][0] == 0.0


def test_cli_plot_draws_from_a_check_json_and_reports_a_missing_file(tmp_path, capsys):
    (tmp_path / "check.json").write_text(json.dumps(synthetic_check()))
    assert main(["plot", "methods", "--in", str(tmp_path), "--out", str(tmp_path / "f")]) == 0
    assert (tmp_path / "f" / "methods.png").exists()
    assert main(["plot", "phase", "--in", str(tmp_path / "none"), "--out", str(tmp_path)]) == 2
    assert "not found" in capsys.readouterr().err


def test_phase_rejects_a_field_not_in_the_grid():
    with pytest.raises(ConfigError, match="model.q"):
        plots.figure("phase", synthetic_sweep(), x="data.mu", y="model.q")


def test_methods_axis_shows_every_predicted_band_whole():
    check = synthetic_check()
    fig = plots.figure("methods", check)
    lo = fig.axes[0].get_ylim()[0]
    names = [m for m in plots.METHOD_LABEL if m in check["methods"]]
    bands = [b for (m, _), b in analysis.prediction_bands(check).items() if m in names]
    assert bands and all(lo <= 100 * b[0] for b in bands)


def test_phase_colour_scales_span_the_values_drawn():
    sweep = synthetic_sweep()
    rng = np.random.default_rng(0)
    for p in sweep["points"]:          # gains of 20-45 points, all positive
        m = p["methods"]
        m["ensemble"]["test_acc_single"] = min(1.0, m["single"]["test_acc_single"]
                                               + rng.uniform(0.2, 0.45))
    fig = plots.figure("phase", sweep, x="data.mu", y="model.sigma0")
    _, _, g, _ = analysis.phase_grid(sweep, "data.mu", "model.sigma0")
    for ax, key in zip(fig.axes[:2], ("single", "gain")):
        norm = ax.images[0].norm
        vals = 100 * g[key][np.isfinite(g[key])]
        # every value inside the scale, and the values use at least a third of it
        assert norm.vmin <= vals.min() and vals.max() <= norm.vmax
        assert vals.max() - vals.min() >= (norm.vmax - norm.vmin) / 3


# --- what a valid run can produce: intervals, missing methods, nulls, slices -----------------

def with_intervals(records, half=0.04, kind="t"):
    """Give method records the `ci` / `ci_kind` fields check.json carries (null for an
    ensemble: one model)."""
    for name, m in records.items():
        qs = ("train_acc", "test_acc", "test_acc_multi", "test_acc_single")
        m["ci"] = {q: None if "ensemble" in name or m[q] is None else [m[q] - half, m[q] + half]
                   for q in qs}
        m["ci_kind"] = kind
    return records


def sweep_of(grid: dict, methods=("single", "ensemble"), acc=lambda g: 0.6, L=3, ci=False):
    """A sweep summary over the product of `grid`'s values with accuracy acc(grid point)."""
    import itertools

    points = []
    for values in itertools.product(*grid.values()):
        g = dict(zip(grid, values))
        a = acc(g)
        recs = {}
        for name in methods:
            v = None if a is None else min(1.0, a + (0.3 if name == "ensemble" else 0.0))
            vals = {"train_acc": 1.0, "test_acc": 0.9, "test_acc_multi": 1.0,
                    "test_acc_single": v}
            recs[name] = vals | {"std": {q: None if vals[q] is None else 0.01 for q in vals},
                                 "views": {"none": 0, "one": 1, "both": 0}}
        if ci:
            with_intervals(recs)
        preds = [{"id": p["id"], "measured": p["measured"], "expected": p["expected"],
                  "holds": p["holds"]} for p in theory.check(recs, L)]
        points.append({"grid": g, "key": str(values), "file": "x.json", "methods": recs,
                       "predictions": preds})
    return {"format": "multiview.sweep/1", "grid": {f: list(v) for f, v in grid.items()},
            "methods": list(methods), "seeds": L, "seed": 0, "points": points}


def _texts(fig) -> list:
    return [t for ax in fig.axes for t in ax.texts] + list(fig.texts)


def test_cell_values_and_notes_are_at_least_7_pt():
    for fig in (plots.figure("phase", synthetic_sweep(), x="data.mu", y="model.sigma0"),
                plots.figure("methods", synthetic_check())):
        texts = _texts(fig) + [t for ax in fig.axes for t in ax.get_xticklabels()]
        assert texts and min(t.get_fontsize() for t in texts) >= 7
    leg = plots.figure("methods", synthetic_check()).axes[0].get_legend()
    assert min(t.get_fontsize() for t in leg.get_texts()) >= 7


def test_methods_labels_are_rotated_apart():
    fig = plots.figure("methods", synthetic_check())
    ax = fig.axes[0]
    labels = ax.get_xticklabels()
    angle = labels[0].get_rotation()
    spacing = ax.get_position().width * fig.get_figwidth() * 72 / len(labels)   # points
    # parallel labels anchored at their ticks lie spacing * sin(angle) apart
    assert spacing * np.sin(np.radians(angle)) >= 1.5 * labels[0].get_fontsize()
    assert all(t.get_rotation_mode() == "anchor" for t in labels)


def test_methods_error_bars_are_the_intervals_when_the_check_has_them():
    check = synthetic_check()
    fig = plots.figure("methods", check)
    assert "std over seeds" in fig.axes[0].get_legend().get_title().get_text()
    with_intervals(check["methods"], half=0.04)
    assert analysis.error_bars(check["methods"]["single"], "test_acc_single", True) == \
        pytest.approx((4.0, 4.0))
    assert analysis.error_bars(check["methods"]["ensemble"], "test_acc_single", True) == (0, 0)
    fig = plots.figure("methods", check)
    assert "95% CI over seeds (t-interval)" in fig.axes[0].get_legend().get_title().get_text()


def test_phase_hatches_the_cells_whose_interval_crosses_the_band(tmp_path):
    # T1.single's band is [0.35, 0.70]; a ±0.04 interval around 0.68 crosses 0.70
    sweep = sweep_of({"data.mu": [0.1, 0.2], "model.sigma0": [0.03, 0.06]}, ci=True,
                     acc=lambda g: 0.68 if g["data.mu"] == 0.2 else 0.5)
    _, _, g, _ = analysis.phase_grid(sweep, "data.mu", "model.sigma0")
    assert g["crosses"].tolist() == [[False, True], [False, True]]
    fig = plots.figure("phase", sweep, x="data.mu", y="model.sigma0")
    assert sum(p.get_hatch() == "////" for p in fig.axes[0].patches) == 2
    assert "hatched: single's 95% CI crosses its band" in fig.texts[-1].get_text()
    # without intervals: no hatch, no note
    fig = plots.figure("phase", sweep_of({"data.mu": [0.1, 0.2], "model.sigma0": [0.03]}),
                       x="data.mu", y="model.sigma0")
    assert not fig.axes[0].patches and "hatched" not in fig.texts[-1].get_text()


def test_outlined_note_only_when_a_cell_is_outlined():
    held = plots.figure("phase", synthetic_sweep(), x="data.mu", y="model.sigma0")
    assert "outlined" in held.texts[-1].get_text()
    none = sweep_of({"data.mu": [0.1, 0.2], "model.sigma0": [0.03]}, acc=lambda g: 0.9)
    _, _, g, _ = analysis.phase_grid(none, "data.mu", "model.sigma0")
    assert not g["regime"].any()                              # T1.single fails everywhere
    fig = plots.figure("phase", none, x="data.mu", y="model.sigma0")
    assert "outlined" not in fig.texts[-1].get_text()


def test_phase_without_single_draws_the_methods_it_has():
    # `sweep --methods ensemble`: no single, no gain (was KeyError 'single')
    fig = plots.figure("phase", sweep_of({"data.mu": [0.1, 0.2], "model.sigma0": [0.03, 0.06]},
                                         methods=("ensemble",)), x="data.mu", y="model.sigma0")
    assert len(fig.axes) == 2                                  # one panel and its colour bar
    fig = plots.figure("phase", sweep_of({"data.mu": [0.1, 0.2], "model.sigma0": [0.03, 0.06]},
                                         methods=("kd", "kd_twin")), x="data.mu",
                       y="model.sigma0")
    assert len(fig.axes) == 4                                  # kd and kd_twin


def test_phase_with_nulls_draws_dashes_and_refuses_when_nothing_is_left():
    sweep = sweep_of({"data.mu": [0.0, 0.1], "model.sigma0": [0.03, 0.06]},
                     acc=lambda g: None if g["data.mu"] == 0 else 0.5, ci=True)
    fig = plots.figure("phase", sweep, x="data.mu", y="model.sigma0")
    assert "–" in [t.get_text() for t in fig.axes[0].texts]
    only_zero = sweep_of({"data.mu": [0.0], "model.sigma0": [0.03, 0.06]}, acc=lambda g: None)
    with pytest.raises(ConfigError, match="single-view"):
        plots.figure("phase", only_zero, x="data.mu", y="model.sigma0")
    with pytest.raises(ConfigError, match="no finished point"):
        plots.figure("phase", sweep | {"points": []}, x="data.mu", y="model.sigma0")


def test_fix_chooses_the_slice_of_a_three_field_grid():
    sweep = sweep_of({"data.mu": [0.1, 0.2], "model.sigma0": [0.03, 0.06], "model.q": [3, 4]},
                     acc=lambda g: 0.4 + 0.1 * (g["model.q"] - 3))
    _, _, g, fixed = analysis.phase_grid(sweep, "data.mu", "model.sigma0")
    assert fixed == {"model.q": 3} and np.allclose(g["single"], 0.4)
    _, _, g, fixed = analysis.phase_grid(sweep, "data.mu", "model.sigma0", {"model.q": "4"})
    assert fixed == {"model.q": 4} and np.allclose(g["single"], 0.5)
    with pytest.raises(ConfigError, match="allowed: 3, 4"):
        analysis.phase_grid(sweep, "data.mu", "model.sigma0", {"model.q": "5"})
    with pytest.raises(ConfigError, match="allowed: model.q"):
        analysis.phase_grid(sweep, "data.mu", "model.sigma0", {"data.mu": "0.1"})


def test_one_field_sweep_is_a_line_with_intervals():
    sweep = sweep_of({"data.mu": [0.05, 0.1, 0.2]}, acc=lambda g: 0.5 + g["data.mu"], ci=True)
    line = analysis.phase_line(sweep, "data.mu")
    acc, err = line["methods"]["single"]
    assert np.allclose(acc, [55, 60, 70]) and np.allclose(err, 4.0) and line["ci"]
    assert np.allclose(line["methods"]["ensemble"][1], 0)       # an ensemble: one model
    fig = plots.figure("phase", sweep, x="data.mu", y=None)
    assert len(fig.axes[0].lines) >= 2 and "95% CI" in fig.texts[-1].get_text()


def test_cli_plot_phase_one_field_three_fields_and_bad_inputs(tmp_path, capsys):
    one = tmp_path / "one"
    one.mkdir()
    (one / "sweep.json").write_text(json.dumps(sweep_of({"data.mu": [0.05, 0.1]})))
    assert main(["plot", "phase", "--in", str(one)]) == 0
    assert (one / "phase_mu.png").exists()
    three = tmp_path / "three"
    three.mkdir()
    (three / "sweep.json").write_text(json.dumps(sweep_of(
        {"data.mu": [0.1, 0.2], "model.sigma0": [0.03, 0.06], "model.q": [3, 4]})))
    assert main(["plot", "phase", "--in", str(three), "--fix", "model.q=4"]) == 0
    capsys.readouterr()
    for argv, needle in ((["--fix", "model.q=5"], "allowed: 3, 4"), (["--fix", "q"], "FIELD=VALUE"),
                         (["--x", "data.mu", "--y", "data.mu"], "same field")):
        assert main(["plot", "phase", "--in", str(three), "--force"] + argv) == 2
        err = capsys.readouterr().err
        assert needle in err and "Traceback" not in err
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "sweep.json").write_text(json.dumps(sweep_of({"data.mu": [0.1]}) | {"points": []}))
    assert main(["plot", "phase", "--in", str(empty)]) == 2
    err = capsys.readouterr().err
    assert "--in" in err and "at least one finished point" in err and "Traceback" not in err
    assert not list(empty.glob("*.png"))


def dose_record(L=4, mu_zero=False, teachers=True) -> dict:
    rows = [{"teacher": "twin", "size": 0, "share_known": 0.0, "share_gained": 0.1},
            {"teacher": "single", "size": 1, "share_known": 0.5, "share_gained": 0.3},
            {"teacher": "ens-2", "size": 2, "share_known": 0.5, "share_gained": 0.3},
            {"teacher": f"ens-{L}", "size": L, "share_known": 0.9, "share_gained": 0.6}]
    rows = rows[:3] if L == 2 else rows
    for r in rows:
        r |= {"test_acc_single": None if mu_zero else 0.6 + 0.2 * r["share_known"],
              "std": None if mu_zero else 0.02, "lam_over_varrho": 1.0}
    return {"format": "multiview.dose/1", "config": {"distill": {"objective": "theorem"}},
            "seed": 0, "L": L,
            "teachers": rows if teachers else [], "slope": None,
            "labels_alone": {"test_acc_single": None if mu_zero else 0.6, "missing_pairs": 0.5}}


def test_dose_labels_coincident_teachers_once():
    # L = 2: the single model and the ensemble of 2 know the same share (was "singleensemble")
    labels = dict(plots.dose_labels(dose_record(L=2)["teachers"], 2))
    assert set(labels) == {"twin", "single = ensemble"}
    labels = dict(plots.dose_labels(dose_record(L=4)["teachers"], 4))
    assert set(labels) == {"twin", "single", "ensemble"}


def test_dose_with_mu_zero_draws_the_shares_and_says_why_no_accuracy(tmp_path):
    fig = plots.figure("dose", [dose_record(mu_zero=True)])          # was TypeError
    assert any("μ = 0" in t.get_text() for t in fig.axes[1].texts)
    _written(plots.save(fig, tmp_path, "dose"))
    with pytest.raises(ConfigError, match="no teachers"):
        plots.figure("dose", [dose_record(teachers=False)])


def test_cli_plot_dose_with_mu_zero_and_without_teachers(tmp_path, capsys):
    (tmp_path / "dose.json").write_text(json.dumps(dose_record(mu_zero=True)))
    assert main(["plot", "dose", "--in", str(tmp_path / "dose.json")]) == 0
    (tmp_path / "dose.json").write_text(json.dumps(dose_record(teachers=False)))
    assert main(["plot", "dose", "--in", str(tmp_path / "dose.json"), "--force"]) == 2
    err = capsys.readouterr().err
    assert "--in" in err and "at least one teacher" in err and "Traceback" not in err


def test_methods_and_fixed_draw_a_check_without_single_view_points(tmp_path):
    # data.mu = 0: every single-view accuracy, its std and its interval are null
    check = synthetic_check()
    with_intervals(check["methods"])
    for m in check["methods"].values():
        m["test_acc_single"] = m["std"]["test_acc_single"] = m["ci"]["test_acc_single"] = None
    check["predictions"] = theory.check(check["methods"], 5)
    _written(plots.save(plots.figure("methods", check), tmp_path, "methods"))
    _written(plots.save(plots.figure("fixed", check), tmp_path, "fixed"))


def test_phase_teacher_with_nulls_and_a_slice():
    sweep = sweep_of({"data.k": [5, 8], "distill.objective": ["theorem", "logits"],
                      "data.mu": [0.0, 0.1]}, methods=("single", "ensemble", "kd", "kd_twin"),
                     acc=lambda g: None if g["data.mu"] == 0 else 0.6)
    with pytest.raises(ConfigError, match="single-view"):
        plots.figure("phase-teacher", sweep, x="data.k", y="distill.objective")      # mu = 0 first
    fig = plots.figure("phase-teacher", sweep, x="data.k", y="distill.objective",
                       fixed={"data.mu": "0.1"})
    assert "mu=0.1" in fig.texts[-1].get_text() and "outlined" not in fig.texts[-1].get_text()


def test_dose_labels_do_not_overlap_when_drawn():
    # the shape a tiny dose gives: every student gained everything, teachers close together
    rec = dose_record(L=4)
    for r, known in zip(rec["teachers"], (0.0, 0.33, 0.38, 0.44)):
        r["share_known"], r["share_gained"] = known, 1.0
    fig = plots.figure("dose", [rec])
    fig.canvas.draw()
    boxes = [t.get_window_extent() for t in fig.axes[0].texts]
    assert len(boxes) == 3
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_every_figure_is_one_entry_that_plot_and_the_help_read():
    # a figure is one Figure record: the help names each kind with the result it reads, and
    # plot / figure dispatch through the same table
    text = plots.kinds_help()
    for kind, f in plots.FIGURES.items():
        assert kind in text and f.input in plots.INPUT.values()
        assert callable(f.prepare) and callable(f.draw)
    assert plots.KINDS == tuple(plots.FIGURES)
    with pytest.raises(ConfigError, match="unknown kind"):
        plots.plot("nothing", "x.json")

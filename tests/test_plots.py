"""Figures: every plot writes a non-empty PDF and PNG from small synthetic results."""

import json

import numpy as np
import pytest

from multiview import plots, theory
from multiview.check import METHODS
from multiview.cli import main
from multiview.config import ConfigError
from multiview.results import load_arrays, save_arrays
from multiview.runs import ensemble_curve


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


@pytest.mark.parametrize("fig", [plots.fig_views, plots.fig_lottery, plots.fig_ensemble_size])
def test_array_figures_write_pdf_and_png(arrays, tmp_path, fig):
    _written(plots.save(fig(arrays), tmp_path, fig.__name__))


@pytest.mark.parametrize("fig", [plots.fig_views, plots.fig_lottery])
def test_array_figures_take_view_arrays_output_before_saving(tiny, tmp_path, fig):
    # view_arrays returns the config as a JSON string; load_arrays turns it into a Config
    _written(plots.save(fig(synthetic_arrays(tiny)), tmp_path, fig.__name__))


def test_method_comparison_and_fixed_feature_figures(tmp_path):
    check = synthetic_check()
    _written(plots.save(plots.fig_methods(check), tmp_path, "methods"))
    _written(plots.save(plots.fig_fixed(check), tmp_path, "fixed"))


def test_phase_diagram_figure(tmp_path):
    _written(plots.save(plots.fig_phase(synthetic_sweep(), "data.mu", "model.sigma0"),
                        tmp_path, "phase"))


def test_phase_grid_places_points_and_marks_the_regime():
    sweep = synthetic_sweep()
    xs, ys, g, fixed = plots.phase_grid(sweep, "data.mu", "model.sigma0")
    assert xs == [0.05, 0.1, 0.2] and ys == [0.03, 0.06] and fixed == {}
    assert g["single"].shape == (2, 3) and g["found"].all()
    p = sweep["points"][3]                                    # mu = 0.1, sigma0 = 0.06
    assert g["single"][1, 1] == p["methods"]["single"]["test_acc_single"]
    assert g["regime"][1, 1] == all(q["holds"] for q in p["predictions"])


def test_prediction_bands_are_in_the_units_of_the_bar():
    check = synthetic_check()
    bands = plots.prediction_bands(check)
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
    cur = ensemble_curve(logits, y, single)
    assert cur["single_mean"][0] == 0.5 and cur["single_std"][0] == 0.0


def test_cli_plot_draws_from_a_check_json_and_reports_a_missing_file(tmp_path, capsys):
    (tmp_path / "check.json").write_text(json.dumps(synthetic_check()))
    assert main(["plot", "methods", "--in", str(tmp_path), "--out", str(tmp_path / "f")]) == 0
    assert (tmp_path / "f" / "methods.png").exists()
    assert main(["plot", "phase", "--in", str(tmp_path / "none"), "--out", str(tmp_path)]) == 2
    assert "not found" in capsys.readouterr().err


def test_phase_rejects_a_field_not_in_the_grid():
    with pytest.raises(ConfigError, match="model.q"):
        plots.fig_phase(synthetic_sweep(), "data.mu", "model.q")


def test_methods_axis_shows_every_predicted_band_whole():
    check = synthetic_check()
    fig = plots.fig_methods(check)
    lo = fig.axes[0].get_ylim()[0]
    names = [m for m in plots.METHOD_LABEL if m in check["methods"]]
    bands = [b for (m, _), b in plots.prediction_bands(check).items() if m in names]
    assert bands and all(lo <= 100 * b[0] for b in bands)


def test_phase_colour_scales_span_the_values_drawn():
    sweep = synthetic_sweep()
    rng = np.random.default_rng(0)
    for p in sweep["points"]:          # gains of 20-45 points, all positive
        m = p["methods"]
        m["ensemble"]["test_acc_single"] = min(1.0, m["single"]["test_acc_single"]
                                               + rng.uniform(0.2, 0.45))
    fig = plots.fig_phase(sweep, "data.mu", "model.sigma0")
    _, _, g, _ = plots.phase_grid(sweep, "data.mu", "model.sigma0")
    for ax, key in zip(fig.axes[:2], ("single", "gain")):
        norm = ax.images[0].norm
        vals = 100 * g[key][np.isfinite(g[key])]
        # every value inside the scale, and the values use at least a third of it
        assert norm.vmin <= vals.min() and vals.max() <= norm.vmax
        assert vals.max() - vals.min() >= (norm.vmax - norm.vmin) / 3

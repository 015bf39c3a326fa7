"""figures/stability: the lottery under long training. The data it is drawn from
(runs.stability_of on a tiny run, plots.stability_curve on known inputs), its result kind
(stability.json) and `multiview plot stability`."""

import json

import numpy as np
import pytest

from multiview import analysis, plots
from multiview.cli import main
from multiview.config import ConfigError, override
from multiview.metrics import learned_threshold, views_fractions, views_learned
from multiview.recipe import LONG_FACTOR, fit_step, train_methods
from multiview.results import load, plain, write_json
from multiview.runs import stability_of

from .test_plots import _written


@pytest.fixture(scope="module")
def long_run():
    """A tiny run where every single model fits (at steps 0, 54 and 152, as in test_long.py),
    with its single_long continuation to LONG_FACTOR x 152 steps."""
    from multiview.config import preset

    cfg = override(preset("tiny"), {"train.steps": 300, "train.chunk": 20, "train.lr": 5.0,
                                    "data.sigma_p": 0.05})
    run = train_methods(cfg, 3, seed=1, methods=("single_long",), progress=False)
    return run, stability_of(run, name="tiny")


def test_stability_runs_from_the_init_to_five_times_the_fit_in_chunks(long_run):
    run, rec = long_run
    B = fit_step(run.stages["single"].trained.fit)
    assert rec["B"] == B and max(rec["member_fit_steps"]) == B
    assert rec["long_steps"] == LONG_FACTOR * B == run.stages["single_long"].trained.fit.steps_run
    steps = np.asarray(rec["steps"])
    chunk = run.cfg.train.chunk
    assert steps[0] == 0 and steps[-1] == LONG_FACTOR * B
    assert (steps[1:-1] % chunk == 0).all() and (np.diff(steps) > 0).all()
    for q in ("both", "one", "train_acc"):
        assert np.shape(rec[q]) == (len(steps), 3)
    both, one = np.asarray(rec["both"]), np.asarray(rec["one"])
    assert ((0 <= both) & (both + one <= 1 + 1e-12)).all()
    assert (both[0] == 0).all()                    # at initialisation Λ is far below ϱ


def test_stability_ends_where_check_records_single_long(long_run):
    """The curve's last point is what check counts for single_long (metrics.views_fractions of
    its final Λ), and that is in the record too."""
    run, rec = long_run
    counts = views_learned(run.stages["single_long"].lam, learned_threshold(run.cfg.model))
    views = views_fractions(counts)
    assert np.mean(rec["both"][-1]) == pytest.approx(views["both"])
    assert np.mean(rec["one"][-1]) == pytest.approx(views["one"])
    assert rec["methods"]["single_long"]["views"] == pytest.approx(views)
    assert np.mean(rec["train_acc"][-1]) == pytest.approx(
        rec["methods"]["single_long"]["train_acc"], abs=1e-6)


def test_stability_json_round_trips_is_validated_and_draws(long_run, tmp_path):
    _, rec = long_run
    path = write_json(rec, tmp_path, "stability.json")
    back = load(path, "stability")
    assert back.kind == "stability" and back.content["format"] == "multiview.stability/1"
    assert back.content["both"] == plain(rec["both"]) and back.content["name"] == "tiny"
    _written(plots.save(plots.figure("stability", [back.content]), tmp_path, "stability"))
    assert main(["plot", "stability", "--in", str(path), "--out", str(tmp_path / "f")]) == 0
    bad = json.loads(path.read_text())
    bad["one"][2] = bad["one"][2][:2]                            # a member missing at one step
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "stability.json").write_text(json.dumps(bad))
    with pytest.raises(ConfigError, match="one value per member"):
        load(tmp_path / "bad", "stability")


def _record(both, one, steps, B=10):
    both, one = np.asarray(both, float), np.asarray(one, float)
    return {"steps": list(steps), "B": B, "both": both.tolist(), "one": one.tolist(),
            "L": both.shape[1], "seed": 0, "factor": 5, "config": {"data": {"k": 5}}}


def test_stability_curve_is_the_mean_over_members_with_their_interval():
    steps = [0, 10, 20, 50]
    same = _record(np.full((4, 3), 0.4), np.full((4, 3), 0.6), steps)
    cur = analysis.stability_curve(same)
    assert np.allclose(cur["x"], [0, 1, 2, 5])                    # steps / B
    mean, lo, hi = cur["both"]
    assert np.allclose(mean, 0.4) and np.allclose(lo, 0.4) and np.allclose(hi, 0.4)
    spread = _record([[0.0, 0.2, 0.4]] * 4, [[1.0, 0.8, 0.6]] * 4, steps, B=None)
    cur = analysis.stability_curve(spread)
    assert np.allclose(cur["x"], steps)                           # no B: raw steps
    mean, lo, hi = cur["both"]
    assert np.allclose(mean, 0.2) and (lo < 0.2).all() and (hi > 0.2).all()
    assert np.allclose(hi - mean, mean - lo)                      # a t-interval: symmetric

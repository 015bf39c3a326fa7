"""Sweeps: the grid, result files, resume, corrupt files, batched == point by point, SIGKILL."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from multiview import check, sweep
from multiview.keys import member_keys
from multiview.config import ConfigError, override
from multiview.data import make_problem
from multiview.learners import train_single
from multiview.sweep import (grid_points, load_point, parse_grid, point_key, run_sweep,
                             train_points)

from .conftest import tiny_sets

# sigma0 and varrho do not change the data: 2 data configs to compile for 4 points
GRID = {"data.mu": ["0.1", "0.3"], "model.sigma0": ["0.03", "0.06"]}
METHODS = ["single", "ensemble"]


@pytest.fixture
def counted(monkeypatch):
    """Count the points trained by each path of run_sweep."""
    calls = {"batched": 0, "check": 0}
    real_batched, real_check = sweep.run_batched, check.run_check

    def batched(cfgs, *a, **kw):
        calls["batched"] += len(cfgs)
        return real_batched(cfgs, *a, **kw)

    def one(*a, **kw):
        calls["check"] += 1
        return real_check(*a, **kw)

    monkeypatch.setattr(sweep, "run_batched", batched)
    monkeypatch.setattr(check, "run_check", one)
    return calls


def _run(tiny, out, **kw):
    return run_sweep(tiny, GRID, METHODS, 2, 0, out, progress=False, log=lambda m: None, **kw)


def test_grid_is_the_cartesian_product_in_order(tiny):
    grid = parse_grid(["data.mu=0.1,0.2,0.3", "model.sigma0=0.03, 0.06",
                       "data.z_own=1,2;1,3"], tiny)
    assert grid["data.z_own"] == ["1,2", "1,3"]
    points = grid_points(tiny, grid)
    assert len(points) == 12
    assert [p.values["data.mu"] for p in points[:4]] == [0.1] * 4
    assert points[1].values == {"data.mu": 0.1, "model.sigma0": 0.03, "data.z_own": [1.0, 3.0]}
    assert points[-1].cfg.data.z_own == (1.0, 3.0) and points[-1].cfg.model.sigma0 == 0.06


@pytest.mark.parametrize("items,needle", [
    (["data.mu"], "expected SECTION.FIELD"),
    (["data.mu=0.1", "data.mu=0.2"], "given twice"),
    (["data.mu="], "no empty items"),
])
def test_bad_grid_items_are_reported(tiny, items, needle):
    with pytest.raises(ConfigError, match=needle):
        parse_grid(items, tiny)


def test_grid_values_are_validated_like_set(tiny):
    with pytest.raises(ConfigError, match="data.mu"):
        grid_points(tiny, {"data.mu": ["0.1", "2"]})
    with pytest.raises(ConfigError, match="unknown field"):
        grid_points(tiny, {"model.width": ["3"]})


def test_point_key_depends_on_config_methods_and_seeds_not_method_order(tiny):
    k = point_key(tiny, ["single", "ensemble"], 3, 0)
    assert k == point_key(tiny, ["ensemble", "single"], 3, 0)
    others = {point_key(override(tiny, {"data.mu": 0.2}), METHODS, 3, 0),
              point_key(tiny, ["single"], 3, 0), point_key(tiny, METHODS, 4, 0),
              point_key(tiny, METHODS, 3, 1)}
    assert k not in others and len(others) == 4


def test_sweep_methods_are_the_check_methods():
    assert sweep.canonical_methods(list(reversed(check.METHODS))) == list(check.METHODS)


def test_summary_table_keeps_every_method_name_whole():
    methods = ["single", "self_distill", "self_distill_twin"]
    point = {"grid": {"data.mu": 0.1}, "predictions": [{"holds": True}],
             "methods": {m: {"test_acc_single": 0.5} for m in methods}}
    head = sweep.format_summary({"grid": {"data.mu": [0.1]}, "methods": methods,
                                 "points": [point]}).splitlines()[0]
    assert head.split()[1:4] == methods and "95% CI" not in head
    point["methods"]["single"]["ci"] = {"test_acc_single": [0.45, 0.55]}
    table = sweep.format_summary({"grid": {"data.mu": [0.1]}, "methods": methods,
                                  "points": [point]})
    assert "95% CI" in table.splitlines()[0] and "[0.45,0.55]" in table


def test_plan_batches_only_points_that_share_the_training_program(tiny):
    grid = {"data.mu": ["0.1", "0.3"], "model.sigma0": ["0.03", "0.06"], "model.m": ["2", "3"],
            "train.optimizer": ["gd", "momentum"]}
    points = list(enumerate(grid_points(tiny, grid)))
    runs = sweep.plan(points, METHODS, batch_points=8)
    assert sorted(i for r in runs for i, _ in r) == list(range(16))
    for r in runs:
        cfgs = [p.cfg for _, p in r]
        assert len({sweep.training_group(c) for c in cfgs}) == 1
    assert sorted(len(r) for r in runs) == [4, 4, 4, 4]            # by optimizer and m
    assert [len(r) for r in sweep.plan(points, METHODS + ["kd"], 8)] == [1] * 16
    assert max(len(r) for r in sweep.plan(points, METHODS, 3)) == 3


def test_batched_training_and_results_equal_point_by_point(tiny):
    # members stop at different steps (mu_train = 0 reaches 100% train accuracy): the one
    # batched fit call (points x seeds, per-member data) must stop each member as its point's
    # own fit does
    base = override(tiny, {"train.steps": 400, "data.mu_train": 0.0})
    cfgs = [p.cfg for p in grid_points(base, {"model.sigma0": ["0.05", "0.1"],
                                               "model.varrho": ["0.5", "1.0"]})]
    L, seed = 3, 1
    runs = train_points(cfgs, L, seed, progress=False)
    data_key, keys = member_keys(seed, L)
    stopped, steps_run = [], []
    for cfg, run in zip(cfgs, runs):
        single = run.stages["single"]
        alone = train_single(keys, cfg, make_problem(data_key, cfg.data), progress=False)
        stopped += alone.fit.stopped_at.tolist()
        # float32: the batched program sums and fuses differently from the solo one; like
        # tests/test_train.py's vmap-vs-solo test, agreement to 1e-4 relative
        np.testing.assert_allclose(single.trained.params, alone.params, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(single.lam, alone.fit.history["lam"][-1], rtol=1e-4, atol=1e-6)
        assert single.trained.fit.steps_run == alone.fit.steps_run
        np.testing.assert_array_equal(single.trained.fit.stopped_at, alone.fit.stopped_at)
        steps_run.append(single.trained.fit.steps_run)
    # the test needs staggered stops, and points that leave the batch early
    assert len({s for s in stopped if s >= 0}) > 2 and min(steps_run) < max(steps_run)
    # and the records built from them are run_check's, the whole record: every key, every
    # string, count and flag equal, every number to one test point (parameters agree to ~1e-5
    # relative: a prediction can differ only for a point that close to a decision boundary),
    # Λ/ϱ to 1e-3 relative; only the wall-clock seconds and the batch size differ
    for cfg, b in zip(cfgs, sweep.run_batched(cfgs, L, seed, METHODS, progress=False)):
        a = check.run_check(cfg, L, seed, METHODS, progress=False)
        assert b["run"].pop("batched_with") == len(cfgs)
        _assert_same_record(a, b, atol=1.0 / cfg.data.N_test + 1e-12)


def _assert_same_record(a, b, atol: float, where: str = ""):
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), (where, set(a) ^ set(b))
        for k in a:
            if k not in ("seconds", "stage_seconds"):
                _assert_same_record(a[k], b[k], atol, f"{where}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same_record(x, y, atol, f"{where}[{i}]")
    elif isinstance(a, float) and not isinstance(a, bool):
        tol = 1e-3 * abs(a) if where.endswith("lam_over_varrho") else 2 * atol
        assert isinstance(b, float) and abs(a - b) <= tol, (where, a, b)
    else:
        assert a == b, (where, a, b)


def test_rerun_skips_finished_points_and_resumes_missing_ones(tiny, tmp_path, counted):
    first = _run(tiny, tmp_path)
    assert counted["batched"] + counted["check"] == 4 and first["run"]["computed"] == 4
    files = sorted(tmp_path.glob("*.json"))
    assert len(files) == 5                                  # 4 points + sweep.json
    counted.update(batched=0, check=0)
    again = _run(tiny, tmp_path)
    assert counted == {"batched": 0, "check": 0}
    assert again["run"]["cached"] == 4 and again["points"] == first["points"]
    (tmp_path / first["points"][2]["file"]).unlink()        # as if killed before point 2
    resumed = _run(tiny, tmp_path)
    assert counted["batched"] + counted["check"] == 1 and resumed["run"]["computed"] == 1
    assert [p["grid"] for p in resumed["points"]] == [p["grid"] for p in first["points"]]


def test_point_by_point_mode_never_batches(tiny, tmp_path, counted):
    _run(tiny, tmp_path, batch_points=1)
    assert counted == {"batched": 0, "check": 4}


def _corrupt_truncated(path, other):
    path.write_text(path.read_text()[: len(path.read_text()) // 2])


def _corrupt_edited(path, other):
    rec = json.loads(path.read_text())
    rec["result"]["methods"]["single"]["test_acc"] = 0.123
    path.write_text(json.dumps(rec))


def _corrupt_incomplete(path, other):
    rec = json.loads(path.read_text())
    del rec["complete"]
    path.write_text(json.dumps(rec))


def _corrupt_wrong_point(path, other):
    path.write_text(other.read_text())


def _corrupt_missing_field(path, other):
    rec = json.loads(path.read_text())
    del rec["result"]["methods"]["ensemble"]["views"]
    rec["checksum"] = sweep._checksum(rec)                  # a consistent but incomplete file
    path.write_text(json.dumps(rec))


@pytest.mark.parametrize("damage,why", [
    (_corrupt_truncated, "unreadable"), (_corrupt_edited, "checksum"),
    (_corrupt_incomplete, "complete"), (_corrupt_wrong_point, "wrong key"),
    (_corrupt_missing_field, "missing or incomplete")])
def test_a_corrupt_result_file_is_reported_and_recomputed(tiny, tmp_path, counted, damage, why):
    first = _run(tiny, tmp_path)
    path, other = (tmp_path / first["points"][i]["file"] for i in (1, 3))
    damage(path, other)
    point = grid_points(tiny, GRID)[1]
    assert load_point(path, first["points"][1]["key"], point.cfg, METHODS)[0] is None
    counted.update(batched=0, check=0)
    messages = []
    again = run_sweep(tiny, GRID, METHODS, 2, 0, tmp_path, progress=False, log=messages.append)
    assert counted["batched"] + counted["check"] == 1
    assert again["run"]["recomputed_corrupt"] == [path.name]
    assert len(messages) == 1 and path.name in messages[0] and why in messages[0]
    assert (tmp_path / (path.name + ".corrupt")).exists()
    assert load_point(path, first["points"][1]["key"], point.cfg, METHODS)[0] is not None
    assert again["points"][1]["methods"] == first["points"][1]["methods"]


def test_sweep_json_summarises_every_point(tiny, tmp_path):
    summary = _run(tiny, tmp_path)
    on_disk = json.loads((tmp_path / "sweep.json").read_text())
    assert on_disk["grid"] == {"data.mu": [0.1, 0.3], "model.sigma0": [0.03, 0.06]}
    assert on_disk["seeds"] == 2 and on_disk["methods"] == METHODS
    assert len(on_disk["points"]) == 4 and on_disk["points"] == summary["points"]
    for p in on_disk["points"]:
        rec = json.loads((tmp_path / p["file"]).read_text())
        assert rec["grid"] == p["grid"] and rec["complete"] is True
        assert rec["result"]["methods"]["single"]["test_acc"] == p["methods"]["single"]["test_acc"]
        assert {"single", "ensemble"} == set(p["methods"]) and p["predictions"]


def _cli(out, extra=()):
    return [sys.executable, "-m", "multiview", "sweep", "--no-progress", "--seeds", "2",
            "--out", str(out), "--grid", "data.mu=0.1,0.2,0.3", "--grid",
            "model.sigma0=0.03,0.06", "--batch-points", "2", *tiny_sets(), *extra]


def test_sigkill_mid_sweep_then_rerun_equals_an_uninterrupted_sweep(tiny, tmp_path):
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    proc = subprocess.Popen(_cli(killed), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not list(killed.glob("*.json")) and time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the sweep ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    done = {p.name for p in killed.glob("*.json")}
    assert 1 <= len(done) < 6 and "sweep.json" not in done
    rerun = subprocess.run(_cli(killed), env=env, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads((killed / "sweep.json").read_text())
    assert summary["run"]["cached"] == len(done) and summary["run"]["computed"] == 6 - len(done)
    reference = run_sweep(tiny, {"data.mu": ["0.1", "0.2", "0.3"],
                          "model.sigma0": ["0.03", "0.06"]}, METHODS, 2, 0, whole,
                          batch_points=2, progress=False)
    assert [p["key"] for p in summary["points"]] == [p["key"] for p in reference["points"]]
    for a, b in zip(summary["points"], reference["points"]):
        for m in METHODS:
            for q in ("train_acc", "test_acc", "test_acc_multi", "test_acc_single"):
                # resumed batches may group points differently: float32 noise (see above)
                assert a["methods"][m][q] == pytest.approx(b["methods"][m][q], abs=1 / 200 + 1e-9)


def test_cli_sweep_prints_a_table_and_rejects_a_bad_grid(tmp_path, capsys):
    from multiview.cli import main

    argv = ["sweep", "--no-progress", "--seeds", "2", "--out", str(tmp_path), "--grid",
            "data.mu=0.1,0.3", *tiny_sets()]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "single" in out and "2 points (0 cached, 2 computed)" in out
    assert main(argv) == 0 and "2 points (2 cached, 0 computed)" in capsys.readouterr().out
    assert main(["sweep", "--out", str(tmp_path), "--grid", "data.mu=0.1,5"]) == 2
    assert "data.mu" in capsys.readouterr().err
    assert main(["sweep", "--out", str(tmp_path)]) == 2
    assert "--grid" in capsys.readouterr().err

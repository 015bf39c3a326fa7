"""End-to-end CLI: check/data/train outputs, exit statuses and error messages."""

import json
import subprocess
import sys

import numpy as np
import pytest

from multiview.cli import main

from .conftest import tiny_sets


def test_check_writes_the_spec_json(tmp_path, capsys):
    rc = main(["check", "--seeds", "2", "--out", str(tmp_path), "--no-progress", *tiny_sets()])
    assert rc == 0
    res = json.loads((tmp_path / "check.json").read_text())
    assert res["config"]["data"]["k"] == 3 and res["seeds"] == [0, 1]
    for name in ("single", "ensemble"):
        m = res["methods"][name]
        for q in ("train_acc", "test_acc", "test_acc_multi", "test_acc_single"):
            assert 0.0 <= m[q] <= 1.0 and q in m["std"]
        assert set(m["views"]) == {"none", "one", "both"}
        assert sum(m["views"].values()) == pytest.approx(1.0)
    for p in res["predictions"]:
        assert set(p) >= {"id", "source", "method", "quantity", "measured", "expected", "holds"}
        if p["measured"] is None:      # undefined (e.g. a recovered fraction of a zero gain)
            assert p["holds"] is None
        else:
            assert p["holds"] == (p["expected"][0] <= p["measured"] <= p["expected"][1])
    # students train exactly as many steps as the single models used (distill.steps = 0)
    stopped = res["run"]["stopped_at"]["single"]
    budget = max(stopped) if min(stopped) >= 0 else res["config"]["train"]["steps"]
    assert res["run"]["student_steps"] == budget
    for name in ("kd", "self_distill", "kd_hard", "self_distill_twin"):
        assert res["run"]["steps_run"][name] == budget
    out = capsys.readouterr().out
    assert "single" in out and "T1.train" in out


def test_strict_exits_1_exactly_when_a_prediction_fails(tmp_path):
    # 5 steps of training cannot reach 99% train accuracy: T1.train fails
    rc = main(["check", "--seeds", "2", "--out", str(tmp_path), "--no-progress", "--strict",
               *tiny_sets(), "--set", "train.steps=5", "--set", "train.chunk=5"])
    res = json.loads((tmp_path / "check.json").read_text())
    assert not all(p["holds"] for p in res["predictions"])
    assert rc == 1


@pytest.mark.parametrize("argv,needle", [
    (["check", "--set", "data.mu=2"], "data.mu"),
    (["check", "--set", "model.q=2"], "model.q"),
    (["check", "--set", "data.d=3"], "data.d"),
    (["check", "--set", "data.k=x"], "data.k"),
    (["check", "--set", "data.P=2"], "too few patches"),
    (["check", "--set", "distill.steps=-1"], "distill.steps"),
    (["check", "--set", "model.width=3"], "unknown field"),
    (["check", "--preset", "huge"], "preset"),
    (["check", "--methods", "single,magic"], "--methods"),
    (["data", "--config", "/nonexistent/x.toml"], "not found"),
    (["check", "--set", "train.lr=1e38"], "train.lr"),
])
def test_invalid_input_exits_2_with_a_one_line_message(argv, needle, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err and err.count("\n") == 1


def test_invalid_input_from_the_console_has_no_traceback():
    p = subprocess.run([sys.executable, "-m", "multiview", "check", "--set", "data.mu=1.5"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2
    assert "data.mu" in p.stderr and "0 <= mu <= 1" in p.stderr and "Traceback" not in p.stderr


def test_divergence_exits_with_a_message_naming_the_step_and_the_cause(tmp_path, capsys):
    # patch noise of scale 1e37 overflows float32 in the first forward pass (model.sigma0 that
    # large is refused by validation): the message blames the initialisation, not the step size
    rc = main(["check", "--seeds", "1", "--methods", "single", "--out", str(tmp_path),
               "--no-progress", *tiny_sets(), "--set", "data.sigma_p=1e37"])
    assert rc == 3
    err = capsys.readouterr().err
    assert "at step 0" in err and "model.sigma0" in err and "train.lr" not in err


def test_data_summary_and_npz_export(tmp_path, capsys):
    npz = tmp_path / "d.npz"
    assert main(["data", "--n", "300", "--npz", str(npz), *tiny_sets()]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["n"] == 300 and len(info["class_counts"]) == 3
    arr = np.load(npz)
    assert arr["x"].shape == (300, 6, 40) and arr["views"].shape == (3, 2, 40)


def test_train_saves_parameters_and_history(tmp_path):
    out = tmp_path / "run"
    assert main(["train", "--seeds", "2", "--out", str(out), "--no-progress", *tiny_sets()]) == 0
    W = np.load(out / "params.npz")["W"]
    h = np.load(out / "history.npz")
    assert W.shape == (2, 3, 2, 40) and h["loss"].shape[1] == 2
    assert json.loads((out / "train.json").read_text())["seeds"] == [0, 1]
    for name in ("params.npz", "history.npz"):             # every result file says its source
        stamp = json.loads(str(np.load(out / name)["provenance"]))
        assert stamp["command"].startswith("multiview train")
    from multiview.api import load_params

    assert load_params(out).params["single"].shape == (2, 3, 2, 40)   # the stamp is no parameter


def _strict_json(path):
    """Parse as strict JSON: a bare NaN or Infinity is an error."""
    def refuse(name):
        raise ValueError(f"not strict JSON: {name}")
    return json.loads(path.read_text(), parse_constant=refuse)


def test_mu_zero_writes_null_accuracies_and_strict_counts_only_real_failures(tmp_path):
    # mu = 0: no single-view test point, so single-view accuracies are undefined
    rc = main(["check", "--seeds", "2", "--methods", "single,ensemble", "--out", str(tmp_path),
               "--no-progress", "--strict", *tiny_sets(), "--set", "data.mu=0",
               "--set", "data.mu_train=0.2"])
    res = _strict_json(tmp_path / "check.json")
    assert res["methods"]["single"]["test_acc_single"] is None
    assert res["methods"]["single"]["test_acc_multi"] is not None
    undefined = {p["id"] for p in res["predictions"] if p["measured"] is None}
    assert {"T1.single", "T2.single", "T2.gain"} <= undefined
    assert all(p["holds"] is None for p in res["predictions"] if p["id"] in undefined)
    assert rc == (1 if any(p["holds"] is False for p in res["predictions"]) else 0)


def test_float64_runs_in_float64_and_restores_float32(tmp_path):
    import jax

    out = tmp_path / "run"
    assert main(["train", "--seeds", "1", "--out", str(out), "--no-progress", *tiny_sets(),
                 "--set", "train.dtype=float64", "--set", "train.steps=20"]) == 0
    assert np.load(out / "params.npz")["W"].dtype == np.float64
    assert np.load(out / "history.npz")["loss"].dtype == np.float64
    assert not jax.config.read("jax_enable_x64")


def test_data_shows_the_data_check_trains_on(tmp_path, tiny):
    from multiview.data import make_problem
    from multiview.keys import data_key

    for split, n in (("train", tiny.data.n_train), ("test", tiny.data.N_test)):
        npz = tmp_path / f"{split}.npz"
        assert main(["data", "--seed", "3", "--split", split, "--npz", str(npz),
                     *tiny_sets()]) == 0
        problem = make_problem(data_key(3), tiny.data)
        ds = getattr(problem, split)
        with np.load(npz) as z:
            assert z["x"].shape[0] == n
            np.testing.assert_array_equal(z["x"], np.asarray(ds.x))
            np.testing.assert_array_equal(z["views"], np.asarray(problem.views))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["test.npz", "train.npz"]


def test_arrays_command_feeds_the_array_figures_beside_it(tmp_path, capsys):
    arrays = tmp_path / "a.npz"
    assert main(["arrays", "--seeds", "2", "--students", "none", "--out", str(arrays),
                 "--no-progress", *tiny_sets()]) == 0
    for kind in ("views", "lottery", "ensemble-size"):
        assert main(["plot", kind, "--in", str(arrays)]) == 0
    names = {p.name for p in tmp_path.iterdir()}
    assert {"views.png", "lottery.pdf", "ensemble_size.png"} <= names
    before = (tmp_path / "views.png").read_bytes()
    capsys.readouterr()
    assert main(["plot", "views", "--in", str(arrays)]) == 2      # exists: needs --force
    assert "--force" in capsys.readouterr().err
    assert (tmp_path / "views.png").read_bytes() == before
    assert main(["plot", "views", "--in", str(arrays), "--force"]) == 0


@pytest.mark.parametrize("argv", [["--help"], ["check", "--help"], ["sweep", "--help"],
                                  ["cifar", "--help"]])
def test_help_imports_no_jax(argv):
    # the command line answers --help without importing the numerics (seconds saved)
    code = ("import runpy, sys\n"
            f"sys.argv = ['multiview', *{argv!r}]\n"
            "try:\n    runpy.run_module('multiview', run_name='__main__')\n"
            "except SystemExit as e:\n    assert e.code == 0, e.code\n"
            "print('jax' in sys.modules, file=sys.stderr)\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stderr.strip().splitlines()[-1] == "False" and "usage:" in p.stdout

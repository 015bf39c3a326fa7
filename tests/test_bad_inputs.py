"""Bad inputs over every subcommand: each exits with the documented status and one line that
names the parameter, with no traceback, before any work starts, leaving existing files as
they were. The corpus runs in seconds because validation comes before data and training.

Beyond the corpus: damaged result files, existing outputs, a full disk (a 64 KiB tmpfs, when
the tests run as root), read-only outputs, and sweeps run side by side into one folder, one
of them ended by SIGTERM."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from multiview import theory
from multiview.check import METHODS
from multiview.cli import main

W = "{w}"      # the prepared folder of existing files, substituted per test


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Existing results and files of every kind the commands are given by mistake."""
    w = tmp_path_factory.mktemp("world")
    vals = {"train_acc": 1.0, "test_acc": 0.9, "test_acc_multi": 0.99, "test_acc_single": 0.6}
    methods = {m: vals | {"std": {q: 0.0 for q in vals},
                          "views": {"none": 0.0, "one": 1.0, "both": 0.0}} for m in METHODS}
    files = {
        "out/check.json": json.dumps({"config": {}, "seeds": [0, 1], "methods": methods,
                                      "predictions": theory.check(methods, 2)}),
        "train/train.json": json.dumps({"config": {}, "seed": 0, "seeds": [0], "steps_run": 5,
                                        "stopped_at": [3], "final_train_acc": [1.0]}),
        "bench/bench.json": json.dumps({"machine": {}, "train_step": {}, "quick": True}),
        "sweep/sweep.json": json.dumps({"format": "multiview.sweep/1", "grid": {}, "points": []}),
        "bad.json": "{not json",
        "list.json": "[1, 2]",
        "cfg.yaml": "data:\n  mu: 0.1\n",
        "badsection.toml": "[nope]\nk = 1\n",
        "afile": "a plain file",
        "figs/methods.pdf": "existing figure", "figs/methods.png": "existing figure",
    }
    for name, text in files.items():
        (w / name).parent.mkdir(parents=True, exist_ok=True)
        (w / name).write_text(text)
    # damaged results of the right kinds
    check = json.loads(files["out/check.json"])
    for name, damage in {
            "missing_field": lambda d: d["methods"]["single"].pop("test_acc"),
            "missing_seeds": lambda d: d.pop("seeds"),
            "string_number": lambda d: d["methods"]["single"].__setitem__("test_acc_single",
                                                                           "0.6")}.items():
        tree = json.loads(json.dumps(check))
        damage(tree)
        (w / "damaged" / name).mkdir(parents=True)
        (w / "damaged" / name / "check.json").write_text(json.dumps(tree))
    row = {"teacher": "twin", "size": 0, "share_known": "half", "share_gained": 0.1,
           "test_acc_single": 0.5, "std": 0.0, "lam_over_varrho": 1.0}
    (w / "dose").mkdir()
    (w / "dose" / "dose.json").write_text(json.dumps({
        "format": "multiview.dose/1", "config": {"distill": {"objective": "kd"}}, "seed": 0,
        "L": 2, "teachers": [row], "labels_alone": {"test_acc_single": 0.5,
                                                    "missing_pairs": 0.2}, "slope": None}))
    point = {"grid": {"data.mu": 0.7}, "methods": {}, "predictions": []}
    (w / "badsweep").mkdir()
    (w / "badsweep" / "sweep.json").write_text(json.dumps({
        "format": "multiview.sweep/1", "grid": {"data.mu": [0.1, 0.2]}, "points": [point]}))
    np.savez(w / "whole.npz", W=np.zeros((40, 40)))
    raw = (w / "whole.npz").read_bytes()
    (w / "truncated.npz").write_bytes(raw[:len(raw) // 2])
    # a sweep folder holding a point of a sweep over data.mu
    from multiview.config import override, preset
    from multiview.results import point_key, write_point
    cfg = override(preset("tiny"), {"data.mu": 0.1})
    result = {"config": cfg.to_dict(), "seed": 0, "seeds": [0, 1],
              "methods": {m: methods[m] for m in ("single", "ensemble")},
              "predictions": theory.check({m: methods[m] for m in ("single", "ensemble")}, 2)}
    write_point(w / "sweepdir", point_key(cfg, ["single", "ensemble"], 2, 0), {"data.mu": 0.1},
                ["single", "ensemble"], 2, 0, result)
    np.savez(w / "params.npz", W=np.zeros((2, 3, 2, 4)))
    np.savez(w / "history.npz", loss=np.zeros((3, 2)), lam=np.zeros((3, 2, 3, 2)))
    (w / "cfgdir").mkdir()
    (w / "dir.npz").mkdir()
    return w


def snapshot(folder):
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None
            for p in sorted(folder.rglob("*"))}


OUT = ["--out", f"{W}/out"]
CHECK = ["check", "--preset", "tiny", *OUT]
CASES = [  # (argv, exit status, what the message must name)
    # --- check: values of the configuration ---
    *[(CHECK + ["--set", f"{key}={value}"], 2, key) for key, value in [
        ("data.mu", "2"), ("data.mu", "nan"), ("data.mu", "inf"), ("data.mu", "-0.1"),
        ("data.Gamma", "inf"), ("data.Gamma", "-1"), ("data.rho", "inf"), ("data.rho", "-1"),
        ("model.sigma0", "inf"), ("model.sigma0", "0"), ("model.varrho", "inf"),
        ("model.varrho", "1e308"), ("model.varrho", "0"), ("distill.tau", "inf"),
        ("distill.tau", "0"), ("data.z_own", "1,inf"), ("data.z_own", "2,1"),
        ("data.z_own", "1"), ("data.z_off_multi", "0.2,inf"), ("train.lr", "1e30"),
        ("train.lr", "0"), ("train.lr", "-1"), ("train.lr", "nan"), ("data.k", "0"),
        ("data.k", "1"), ("data.k", "x"), ("data.k", "100000"), ("data.d", "3"),
        ("data.P", "2"), ("model.q", "2"), ("model.q", "100"), ("model.m", "0"),
        ("model.m", "2.5"), ("train.steps", "0"), ("train.chunk", "-1"),
        ("train.dtype", "bfloat16"), ("train.dtype", "float16"), ("train.optimizer", "lbfgs"),
        ("train.momentum", "1"), ("train.stop", "never"), ("train.stop_value", "2"),
        ("distill.objective", "magic"), ("distill.alpha", "2"), ("distill.T", "0"),
        ("distill.steps", "-1"), ("distill.lr", "-1"), ("distill.lr", "inf"),
        ("distill.eta_ratio", "-1"), ("fixed.kd_objective", "x"), ("fixed.rf_width", "0"),
        ("fixed.rf_sigma", "0"), ("fixed.ntk_sigma", "inf"), ("fixed.steps", "0"),
        ("data.views", "random"), ("data.off_mode", "two"), ("data.s", "9"),
        ("data.gamma", "1"), ("data.sigma_p", "-1"), ("data.sigma_p", "inf"),
        ("data.rho_spread", "0.5"), ("data.Gamma_lo", "2"), ("data.mu_train", "2"),
        ("data.N_test", "0"), ("data.N_train", "-1"), ("train.sum_models", "0"),
        ("model.learned_factor", "0"), ("model.width", "3"), ("nope.k", "1")]],
    (CHECK + ["--set", "data.mu"], 2, "--set"),
    (CHECK + ["--set", "mu=0.1"], 2, "mu"),
    (CHECK + ["--preset", "huge"], 2, "preset"),
    # --- check: options ---
    (CHECK + ["--methods", "single,magic"], 2, "--methods"),
    (CHECK + ["--methods", "single,,ensemble"], 2, "--methods"),
    (CHECK + ["--methods", ""], 2, "--methods"),
    (CHECK + ["--seeds", "0"], 2, "--seeds"),
    (CHECK + ["--seeds", "x"], 2, "--seeds"),
    (CHECK + ["--seed", "-1"], 2, "--seed"),
    (CHECK + ["--seed", "9223372036854775808"], 2, "--seed"),
    (CHECK + ["--seed", "18446744073709551616"], 2, "--seed"),
    (CHECK + ["--devices", "0"], 2, "--devices"),
    (CHECK + ["--devices", "64"], 2, "--devices"),
    (CHECK + ["--bogus"], 2, "--bogus"),
    # --- check: files ---
    (CHECK + ["--config", f"{W}/cfg.yaml"], 2, "--config"),
    (CHECK + ["--config", f"{W}/cfgdir"], 2, "--config"),
    (CHECK + ["--config", f"{W}/missing.toml"], 2, "--config"),
    (CHECK + ["--config", f"{W}/bad.json"], 2, "--config"),
    (CHECK + ["--config", f"{W}/list.json"], 2, "--config"),
    (CHECK + ["--config", f"{W}/badsection.toml"], 2, "nope"),
    (["check", "--preset", "tiny", "--out", f"{W}/afile"], 2, "--out"),
    (["check", "--preset", "tiny", "--out", f"{W}/afile/sub"], 2, "--out"),
    (["check", "--preset", "tiny", "--out", "/proc/multiview-not-here"], 2, "--out"),
    # --- check: sizes beyond the machine ---
    (CHECK + ["--set", "data.N_test=1000000000"], 2, "data.N_test"),
    (CHECK + ["--set", "data.N_train=1000000000"], 2, "data.N_train"),
    (CHECK + ["--seeds", "100000000"], 2, "--seeds"),
    # --- data ---
    (["data", "--preset", "tiny", "--npz", f"{W}/x"], 2, "--npz"),
    (["data", "--preset", "tiny", "--npz", f"{W}/dir.npz"], 2, "--npz"),
    (["data", "--preset", "tiny", "--npz", f"{W}/afile/x.npz"], 2, "--npz"),
    (["data", "--preset", "tiny", "--npz", "/proc/multiview-not-here/x.npz"], 2, "--npz"),
    (["data", "--preset", "tiny", "--n", "0"], 2, "--n"),
    (["data", "--preset", "tiny", "--n", "100000000"], 2, "--n"),
    (["data", "--preset", "tiny", "--split", "test", "--n", "100000000"], 2, "--n"),
    (["data", "--preset", "tiny", "--split", "val"], 2, "--split"),
    (["data", "--preset", "tiny", "--set", "data.N_test=1000000000"], 2, "data.N_test"),
    (["data", "--preset", "tiny", "--set", "data.mu=2"], 2, "data.mu"),
    (["data", "--preset", "tiny", "--seed", "-5"], 2, "--seed"),
    (["data", "--preset", "tiny", "--config", f"{W}/cfg.yaml"], 2, "--config"),
    (["data", "--preset", "tiny", "--frob"], 2, "--frob"),
    # --- train ---
    (["train", "--preset", "tiny"], 2, "--out"),
    (["train", "--preset", "tiny", "--out", f"{W}/afile"], 2, "--out"),
    (["train", "--preset", "tiny", "--out", f"{W}/afile/x"], 2, "--out"),
    (["train", "--preset", "tiny", *OUT, "--seeds", "0"], 2, "--seeds"),
    (["train", "--preset", "tiny", *OUT, "--set", "train.dtype=bfloat16"], 2, "train.dtype"),
    (["train", "--preset", "tiny", *OUT, "--devices", "64"], 2, "--devices"),
    (["train", "--preset", "tiny", *OUT, "--set", "model.varrho=inf"], 2, "model.varrho"),
    (["train", "--preset", "tiny", *OUT, "--set", "train.lr=1e30"], 2, "train.lr"),
    # --- arrays ---
    (["arrays", "--preset", "tiny", "--out", f"{W}/x"], 2, "--out"),
    (["arrays", "--preset", "tiny", "--out", f"{W}/params.npz"], 2, "--force"),
    (["arrays", "--preset", "tiny", "--out", f"{W}/afile/x.npz"], 2, "--out"),
    (["arrays", "--preset", "tiny", "--out", f"{W}/dir.npz"], 2, "--out"),
    (["arrays", "--preset", "tiny", "--out", f"{W}/new.npz", "--students", "magic"], 2,
     "--students"),
    (["arrays", "--preset", "tiny", "--out", f"{W}/new.npz", "--seeds", "0"], 2, "--seeds"),
    (["arrays", "--preset", "tiny", "--out", f"{W}/new.npz", "--set", "data.k=1"], 2, "data.k"),
    # --- sweep ---
    (["sweep", "--preset", "tiny", *OUT], 2, "--grid"),
    (["sweep", "--preset", "tiny", "--grid", "data.mu=0.1"], 2, "--out"),
    *[(["sweep", "--preset", "tiny", *OUT, "--grid", grid], 2, needle) for grid, needle in [
        ("data.mu=0.1,,0.2", "--grid data.mu"), ("data.mu=0.1,", "--grid data.mu"),
        ("data.mu=", "--grid data.mu"), ("data.mu", "--grid"), ("data.mu=2,0.1", "data.mu"),
        ("nope.x=1", "nope"), ("data.z_own=1,2;;1,3", "--grid data.z_own"),
        ("train.dtype=float32,float64", "train.dtype"), ("model.varrho=1,inf", "model.varrho"),
        ("data.N_test=1000000000", "data.N_test")]],
    (["sweep", "--preset", "tiny", *OUT, "--grid", "data.mu=0.1", "--grid", "data.mu=0.2"], 2,
     "data.mu"),
    (["sweep", "--preset", "tiny", *OUT, "--grid", "data.mu=0.1", "--devices", "64"], 2,
     "--devices"),
    (["sweep", "--preset", "tiny", "--out", f"{W}/afile", "--grid", "data.mu=0.1"], 2, "--out"),
    (["sweep", "--preset", "tiny", *OUT, "--grid", "data.mu=0.1", "--batch-points", "0"], 2,
     "--batch-points"),
    (["sweep", "--preset", "tiny", *OUT, "--grid", "data.mu=0.1", "--methods", "all,"], 2,
     "--methods"),
    (["sweep", "--preset", "tiny", *OUT, "--grid", "data.mu=0.1", "--seeds", "0"], 2,
     "--seeds"),
    # --- plot: inputs of the wrong kind, outputs that exist ---
    (["plot", "methods", "--in", f"{W}/train/train.json"], 2, "train.json"),
    (["plot", "methods", "--in", f"{W}/bench/bench.json"], 2, "bench.json"),
    (["plot", "methods", "--in", f"{W}/sweep/sweep.json"], 2, "sweep.json"),
    (["plot", "methods", "--in", f"{W}/bad.json"], 2, "--in"),
    (["plot", "methods", "--in", f"{W}/list.json"], 2, "--in"),
    (["plot", "methods", "--in", f"{W}/missing.json"], 2, "--in"),
    (["plot", "fixed", "--in", f"{W}/train/train.json"], 2, "train.json"),
    (["plot", "phase", "--in", f"{W}/out/check.json"], 2, "check.json"),
    (["plot", "phase", "--in", f"{W}/out"], 2, "sweep.json"),
    (["plot", "views", "--in", f"{W}/params.npz"], 2, "params.npz"),
    (["plot", "views", "--in", f"{W}/out/check.json"], 2, "JSON"),
    (["plot", "lottery", "--in", f"{W}/history.npz"], 2, "history.npz"),
    (["plot", "ensemble-size", "--in", f"{W}/missing.npz"], 2, "multiview arrays"),
    (["plot", "methods", "--in", f"{W}/out", "--out", f"{W}/figs"], 2, "--force"),
    (["plot", "methods", "--in", f"{W}/out", "--out", f"{W}/afile"], 2, "--out"),
    (["plot", "methods", "--in", f"{W}/out", "--out", f"{W}/out", "--name", "../x"], 2, "--name"),
    (["plot", "views"], 2, "--in"),
    (["plot", "bogus", "--in", f"{W}/out"], 2, "kind"),
    # --- plot: damaged results of the right kind (each names the file and the field) ---
    (["plot", "methods", "--in", f"{W}/damaged/missing_field"], 2, "methods.single.test_acc"),
    (["plot", "methods", "--in", f"{W}/damaged/missing_seeds/check.json"], 2, "'seeds'"),
    (["plot", "methods", "--in", f"{W}/damaged/string_number"], 2,
     "methods.single.test_acc_single = the string"),
    (["plot", "fixed", "--in", f"{W}/damaged/string_number"], 2, "string_number/check.json"),
    (["plot", "views", "--in", f"{W}/truncated.npz"], 2, "truncated.npz"),
    (["plot", "dose", "--in", f"{W}/dose"], 2, "teachers[0].share_known"),
    (["plot", "phase", "--in", f"{W}/badsweep"], 2, "points[0].grid.data.mu"),
    # --- existing outputs are not replaced without --force ---
    (["data", "--preset", "tiny", "--npz", f"{W}/params.npz"], 2, "--force"),
    (["train", "--preset", "tiny", "--out", f"{W}/train"], 2, "train.json"),
    (["sweep", "--preset", "tiny", "--out", f"{W}/sweepdir", "--grid", "model.sigma0=0.1",
      "--seeds", "2"], 2, "sweepdir"),
    (["sweep", "--preset", "tiny", "--out", f"{W}/sweepdir", "--grid", "data.mu=0.2",
      "--seeds", "3"], 2, "3 seeds"),
    # --- dose ---
    *[(["dose", "--preset", "tiny", "--out", f"{W}/d", "--seeds", "2", *args], 2, needle)
      for args, needle in [
          (["--sizes", "3"], "--sizes"), (["--sizes", "0"], "--sizes"),
          (["--sizes", "a"], "--sizes"), (["--sizes", "2,,2"], "--sizes"),
          (["--sizes", ""], "--sizes"), (["--seeds", "0"], "--seeds"),
          (["--set", "data.mu=2"], "data.mu"), (["--set", "distill.tau=0"], "distill.tau"),
          (["--config", f"{W}/cfg.yaml"], "--config"), (["--frob"], "--frob")]],
    (["dose", "--preset", "tiny", "--out", f"{W}/afile"], 2, "--out"),
    # --- bench ---
    (["bench", "--out", f"{W}/b", "--throughput", "2,,3"], 2, "--throughput"),
    (["bench", "--out", f"{W}/b", "--throughput", "0"], 2, "--throughput"),
    (["bench", "--out", f"{W}/b", "--throughput", "x"], 2, "--throughput"),
    (["bench", "--out", f"{W}/afile"], 2, "--out"),
    (["bench", "--out", f"{W}/b", "--slow"], 2, "--slow"),
    # --- cifar (validation before any data is looked for) ---
    *[(["cifar", "--out", f"{W}/c", flag, value], 2, flag) for flag, value in [
        ("--weight-decay", "inf"), ("--weight-decay", "-1"), ("--lr", "0"), ("--lr", "nan"),
        ("--seeds", "0"), ("--seed", "-1"), ("--seed", "18446744073709551616"),
        ("--methods", "single,,kd"), ("--methods", "magic"), ("--dataset", "cifar7"),
        ("--arch", "wrn-99"), ("--pad", "99"), ("--kd-alpha", "2"), ("--momentum", "1"),
        ("--epochs", "0"), ("--kd-temperature", "inf"), ("--batch-size", "0")]],
    (["cifar", "--out", f"{W}/afile"], 2, "--out"),
    # --- the program itself ---
    (["frobnicate"], 2, "frobnicate"),
    ([], 2, "command"),
]


@pytest.mark.parametrize("argv,status,names", CASES,
                         ids=[" ".join(a)[:80] for a, _, _ in CASES])
def test_bad_input_exits_with_one_line_naming_the_parameter(world, argv, status, names, capsys):
    argv = [a.replace(W, str(world)) for a in argv]
    before = snapshot(world)
    try:
        rc = main(argv)
    except SystemExit as e:          # argparse's own errors (one line: cli.Parser)
        rc = e.code
    err = capsys.readouterr().err
    assert rc == status, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert names in lines[0] and "error" in lines[0]
    assert snapshot(world) == before


def test_the_corpus_is_large():
    assert len(CASES) >= 100


# --- a full disk, read-only outputs --------------------------------------------------------

@contextlib.contextmanager
def mounted(folder, options):
    """A tmpfs at `folder` (root only: skipped otherwise)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    folder.mkdir(exist_ok=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)])


def run_main(argv, capsys):
    try:
        rc = main(argv)
    except SystemExit as e:
        rc = e.code
    err = capsys.readouterr().err
    assert "Traceback" not in err and "error" in err.strip().splitlines()[-1], err
    return rc, err.strip().splitlines()[-1]


def test_a_full_disk_names_the_file_and_leaves_the_old_files(world, tmp_path, capsys):
    with mounted(tmp_path / "full", "size=64k") as full:
        (full / "methods.pdf").write_text("old pdf")
        (full / "methods.png").write_text("old png")
        (full / "filler").write_bytes(b"\0" * 44 * 1024)      # about 16 KiB left
        before = snapshot(full)
        rc, err = run_main(["plot", "methods", "--in", f"{world}/out", "--out", str(full),
                            "--force"], capsys)
        assert rc == 2 and "No space left on device" in err
        named = err.split("No space left on device: ")[1]
        assert named in (repr(str(full / "methods.pdf")), repr(str(full / "methods.png")))
        assert snapshot(full) == before                        # the old pair, no temporary
        rc, err = run_main(["data", "--preset", "tiny", "--npz", str(full / "d.npz")], capsys)
        assert rc == 2 and "No space left on device" in err and str(full / "d.npz") in err
        assert snapshot(full) == before


def test_read_only_outputs_are_refused_before_any_work(world, tmp_path, capsys):
    if os.geteuid() == 0:                   # root writes through permissions: a read-only mount
        cm = mounted(tmp_path / "ro", "ro,size=64k")
    else:
        (tmp_path / "ro").mkdir()
        os.chmod(tmp_path / "ro", 0o555)
        cm = contextlib.nullcontext(tmp_path / "ro")
    with cm as ro:
        for argv, flag in [
                (["check", "--preset", "tiny", "--out", str(ro)], "--out"),
                (["sweep", "--preset", "tiny", "--out", str(ro / "s"), "--grid", "data.mu=0.1"],
                 "--out"),
                (["train", "--preset", "tiny", "--out", str(ro / "t")], "--out"),
                (["data", "--preset", "tiny", "--npz", str(ro / "d.npz")], "--npz"),
                (["dose", "--preset", "tiny", "--out", str(ro)], "--out"),
                (["plot", "methods", "--in", f"{world}/out", "--out", str(ro)], "--out")]:
            rc, err = run_main(argv, capsys)
            assert rc == 2 and flag in err and str(ro) in err, err
        assert list(ro.iterdir()) == []


# --- sweeps side by side into one folder, and one ended by SIGTERM ------------------------------

def _sweep(out, grid, *more):
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    return subprocess.Popen([sys.executable, "-m", "multiview", "sweep", "--preset", "tiny",
                             "--seeds", "2", "--no-progress", "--out", str(out), "--grid", grid,
                             *more], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_slices_of_one_grid_add_up_and_sigterm_leaves_finished_files(tmp_path):
    out = tmp_path / "sweep"
    a, b = _sweep(out, "data.mu=0.1,0.2"), _sweep(out, "data.mu=0.3")   # at the same time
    for p in (a, b):
        assert p.wait(timeout=300) == 0, p.stderr.read().decode()
    summary = json.loads((out / "sweep.json").read_text())
    assert summary["grid"] == {"data.mu": [0.1, 0.2, 0.3]}         # the union on disk
    assert [p["grid"]["data.mu"] for p in summary["points"]] == [0.1, 0.2, 0.3]
    assert all("per_model" in m for p in summary["points"] for m in p["methods"].values())
    # another slice, ended by SIGTERM once its first point is written
    c = _sweep(out, "data.mu=0.4,0.5,0.6,0.7,0.8,0.9", "--batch-points", "1")
    deadline = time.monotonic() + 180
    while len(list(out.glob("*.json"))) < 5 and c.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    # the finished files (a point being written at this moment is a temporary file); not the
    # stages of a point (OUT/stages/KEY), which the sweep removes once that point is written
    before = {k: v for k, v in snapshot(out).items()
              if ".tmp" not in k and not k.startswith("stages")}
    c.send_signal(signal.SIGTERM)
    rc = c.wait(timeout=60)
    err = c.stderr.read().decode()
    assert rc == 143, err
    assert "Traceback" not in err and "interrupted (SIGTERM)" in err
    after = snapshot(out)
    assert {k: v for k, v in after.items() if k in before} == before   # finished files intact
    assert not [name for name in after if ".tmp" in name]              # no temporary left
    # every file is a JSON result, but for the stages the interrupted point had finished
    # (OUT/stages/KEY/*.stage.pkl, kept so that a rerun resumes from them; docs/sweeps.md)
    files = [name for name in after if (out / name).is_file()]
    kept = [name for name in files if name.startswith("stages/")]
    assert all(name.endswith(".stage.pkl") and name.count("/") == 2 for name in kept), kept
    assert all(json.loads((out / name).read_text()) for name in files if name not in kept)


def test_the_divergence_message_is_formatted_from_its_fields():
    import pickle

    from multiview.errors import TrainingDiverged
    init = TrainingDiverged(0, 1, "initialisation", "single ×2", 2.0)
    later = TrainingDiverged(40, 0, "step size", "points", 2.0)
    assert "at step 0 (member 1)" in str(init) and "model.varrho" in str(init)
    assert "model.sigma0" in str(init) and "train.lr" not in str(init)
    assert "at step 40 (member 0)" in str(later) and "train.lr = 2.0" in str(later)
    back = pickle.loads(pickle.dumps(later))          # as Ray sends it between processes
    assert (back.step, back.member, back.cause, str(back)) == (40, 0, "step size", str(later))


# --- nonsense that used to be accepted (issue 20 item 4): a self-contained block ----------------
# Each case exits 2 with one line naming the field, no traceback, before any work, and leaves
# the prepared files as they were (nothing drawn, nothing written into the current directory).

AW = "{aw}"          # the prepared folder of this block, substituted per test
_ACC = {"train_acc": 1.0, "test_acc": 0.95, "test_acc_multi": 1.0, "test_acc_single": 0.5}
_SWEEP = {"format": "multiview.sweep/1", "seeds": 2,
          "grid": {"data.mu": [0.1, 0.2], "model.sigma0": [0.03]},
          "points": [{"grid": {"data.mu": mu, "model.sigma0": 0.03}, "predictions": [],
                      "methods": {"single": _ACC | {"std": {q: 0.1 for q in _ACC},
                                                    "views": {"none": 0.0, "one": 1.0,
                                                              "both": 0.0}}}}
                     for mu in (0.1, 0.2)]}
_FILES = {
    "object.json": json.dumps({"data": {"z_own": {"1": 0, "2": 0}}}),
    "bool.toml": "[data]\nz_own = [1, true]\n",
    "steps.json": json.dumps({"train": {"steps": 1e20}}),
    "grid.toml": '[grid]\n"data.mu" = [0.1, 0.2]\n',
    "dupgrid.toml": '[grid]\n"data.mu" = [0.1, 0.1]\n',
    "devgrid.toml": "[grid]\ntrain.devices = [1, 2]\n",
    "phase/sweep.json": json.dumps(_SWEEP),
    "empty/sweep.json": json.dumps(_SWEEP | {"points": []}),
    "dose/dose.json": json.dumps({"format": "multiview.dose/1",
                                  "config": {"distill": {"objective": "theorem"}}, "seed": 0,
                                  "L": 2, "teachers": [], "slope": None,
                                  "labels_alone": {"test_acc_single": 0.6,
                                                   "missing_pairs": 0.5}}),
}
_TINY_CHECK = ["check", "--preset", "tiny", "--out", f"{AW}/out"]
_TINY_SWEEP = ["sweep", "--preset", "tiny", "--out", f"{AW}/out"]
NONSENSE = [  # (argv, what the one line must name)
    (_TINY_CHECK + ["--set", "data.N_train=1"], "data.N_train"),
    (_TINY_CHECK + ["--set", "data.N_train=14"], "data.N_train"),       # k = 3: >= 15
    (_TINY_CHECK + ["--config", f"{AW}/object.json"], "data.z_own"),
    (_TINY_CHECK + ["--config", f"{AW}/bool.toml"], "data.z_own"),
    (_TINY_CHECK + ["--config", f"{AW}/steps.json"], "train.steps"),
    (_TINY_CHECK + ["--set", "train.steps=1e20"], "train.steps"),
    (_TINY_CHECK + ["--set", "train.steps=10000001"], "train.steps"),
    (_TINY_CHECK + ["--set", "distill.steps=100000000"], "distill.steps"),
    (_TINY_CHECK + ["--set", "model.sigma0=1e30"], "model.sigma0"),
    (_TINY_CHECK + ["--set", "model.sigma0=1001"], "model.sigma0"),
    (_TINY_CHECK + ["--set", "model.varrho=1e-20"], "model.varrho"),
    (_TINY_CHECK + ["--set", "model.varrho=1e-9"], "model.varrho"),     # q = 4: >= 3.2e-8
    (_TINY_CHECK + ["--set", "model.q=12", "--set", "model.varrho=1e-3"], "model.varrho"),
    (_TINY_CHECK + ["--set", "train.steps=١٠٠"], "train.steps"),     # Arabic-Indic digits
    (_TINY_CHECK + ["--set", "data.N_test=1_00"], "data.N_test"),
    (_TINY_CHECK + ["--set", "data.mu=٠.١"], "data.mu"),
    (_TINY_CHECK + ["--seeds", "١٠"], "--seeds"),
    (_TINY_CHECK + ["--seed", "1_0"], "--seed"),
    (["dose", "--preset", "tiny", "--out", f"{AW}/out", "--seeds", "4", "--sizes", "٢"],
     "--sizes"),
    (_TINY_CHECK + ["--config", f"{AW}/grid.toml"], "grid"),           # [grid]: sweep only
    (_TINY_SWEEP + ["--grid", "data.mu=0.1,0.1"], "--grid data.mu"),
    (_TINY_SWEEP + ["--grid", "data.mu=0.1,0.10"], "--grid data.mu"),
    (_TINY_SWEEP + ["--grid", "data.z_own=1,2;1.0,2.0"], "--grid data.z_own"),
    (_TINY_SWEEP + ["--grid", "train.devices=1,2"], "train.devices"),
    (_TINY_SWEEP + ["--config", f"{AW}/dupgrid.toml"], "--grid data.mu"),
    (_TINY_SWEEP + ["--config", f"{AW}/devgrid.toml"], "train.devices"),
    (_TINY_SWEEP + ["--config", f"{AW}/grid.toml", "--grid", "data.mu=0.3"], "data.mu"),
    (_TINY_SWEEP + ["--grid", "data.N_train=1,60"], "data.N_train"),
    (["check", "--preset", "tiny", "--out", ""], "--out"),
    (["train", "--preset", "tiny", "--out", ""], "--out"),
    (["dose", "--preset", "tiny", "--out", " "], "--out"),
    (["sweep", "--preset", "tiny", "--out", "", "--grid", "data.mu=0.1"], "--out"),
    (["bench", "--out", ""], "--out"),
    (["plot", "phase", "--in", f"{AW}/phase", "--out", ""], "--out"),
    (["plot", "phase", "--in", f"{AW}/phase", "--x", "model.sigma0", "--y", "model.sigma0"],
     "--y"),
    (["plot", "phase", "--in", f"{AW}/empty"], "--in"),
    (["plot", "dose", "--in", f"{AW}/dose"], "--in"),
]


@pytest.fixture(scope="module")
def nonsense_world(tmp_path_factory):
    w = tmp_path_factory.mktemp("nonsense")
    for name, text in _FILES.items():
        (w / name).parent.mkdir(parents=True, exist_ok=True)
        (w / name).write_text(text)
    return w


def _files_of(folder):
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None
            for p in sorted(folder.rglob("*"))}


@pytest.mark.parametrize("argv,names", NONSENSE, ids=[" ".join(a)[:80] for a, _ in NONSENSE])
def test_nonsense_is_refused_with_one_line_naming_the_field(nonsense_world, tmp_path,
                                                            monkeypatch, argv, names, capsys):
    monkeypatch.chdir(tmp_path)              # an empty --out must not write here
    argv = [a.replace(AW, str(nonsense_world)) for a in argv]
    before = _files_of(nonsense_world)
    try:
        rc = main(argv)
    except SystemExit as e:
        rc = e.code
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and names in lines[0] and "error" in lines[0], err
    assert _files_of(nonsense_world) == before
    assert list(tmp_path.iterdir()) == []


def test_plot_phase_with_only_x_given_takes_the_other_field_for_y(nonsense_world, tmp_path):
    from multiview.plots import plot

    # --x model.sigma0 alone: y is data.mu, not model.sigma0 again
    paths = plot("phase", nonsense_world / "phase", tmp_path, x="model.sigma0")
    assert sorted(p.name for p in paths) == ["phase_sigma0_mu.pdf", "phase_sigma0_mu.png"]

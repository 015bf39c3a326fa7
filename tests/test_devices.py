"""Sharding members across devices gives the same results as one device (issue 6)."""

import json
import os
import subprocess
import sys

from .conftest import tiny_sets


def _run(args):
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4",
               JAX_PLATFORMS="cpu")
    p = subprocess.run([sys.executable, "-m", "multiview", *args], env=env, capture_output=True,
                       text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]


def _check(tmp_path, devices):
    out = tmp_path / f"d{devices}"
    _run(["check", "--seeds", "8", "--devices", str(devices), "--methods",
          "single,ensemble,sum_trained", "--no-progress", "--out", str(out), *tiny_sets()])
    return json.loads((out / "check.json").read_text())


def _sweep(tmp_path, devices):
    out = tmp_path / f"s{devices}"
    # 3 grid points batched into one call: 3 members on the point axis, padded to 4 devices
    _run(["sweep", "--seeds", "2", "--devices", str(devices), "--grid", "data.mu=0.1,0.2,0.3",
          "--batch-points", "3", "--no-progress", "--out", str(out), *tiny_sets()])
    return json.loads((out / "sweep.json").read_text())


def test_four_devices_give_the_same_accuracies_as_one(tmp_path):
    one, four = _check(tmp_path, 1), _check(tmp_path, 4)
    assert four["run"]["devices"] == 4
    for name in ("single", "ensemble", "sum_trained"):   # sum_trained: 3 models padded to 4
        a, b = one["methods"][name], four["methods"][name]
        assert a["per_model"] == b["per_model"], name
        assert a["views"] == b["views"], name


def test_more_devices_than_available_is_a_clear_error(capsys):
    from multiview.cli import main

    assert main(["check", "--devices", "64", "--no-progress", *tiny_sets()]) == 2
    err = capsys.readouterr().err
    assert "--devices" in err and "Traceback" not in err


def test_sweep_on_four_devices_gives_the_same_points_as_on_one(tmp_path):
    one, four = _sweep(tmp_path, 1), _sweep(tmp_path, 4)
    assert [p["grid"] for p in one["points"]] == [p["grid"] for p in four["points"]]
    for a, b in zip(one["points"], four["points"]):
        assert a["methods"] == b["methods"], a["grid"]

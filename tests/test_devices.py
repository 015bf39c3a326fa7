"""Sharding members across devices gives the same results as one device (issue 6)."""

import json
import os
import subprocess
import sys

from .conftest import tiny_sets


def _check(tmp_path, devices):
    out = tmp_path / f"d{devices}"
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4",
               JAX_PLATFORMS="cpu")
    cmd = [sys.executable, "-m", "multiview", "check", "--seeds", "8", "--devices", str(devices),
           "--methods", "single,ensemble,sum_trained", "--no-progress", "--out", str(out),
           *tiny_sets()]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    return json.loads((out / "check.json").read_text())


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

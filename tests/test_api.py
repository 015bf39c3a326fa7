"""The Python face (multiview/api.py, docs/api.md): the documented example runs, float64
configs compute in float64 from the library, trained members load and evaluate, the
compilation cache can be switched on from a running kernel."""

import json
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import multiview as mv
from multiview.config import ConfigError

from .conftest import tiny_sets

DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"


def _first_python_block(text: str) -> str:
    return re.search(r"```python\n(.*?)```", text, re.S).group(1)


def test_the_example_of_docs_api_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    exec(compile(_first_python_block(DOC.read_text()), str(DOC), "exec"), {})
    assert (tmp_path / "runs/api/check.json").is_file()
    assert (tmp_path / "runs/api/methods.pdf").is_file()
    assert (tmp_path / "runs/api/sweep/sweep.json").is_file()
    assert list((tmp_path / "runs/api/sweep").glob("phase_*.png"))
    assert "2 points" in capsys.readouterr().out


def test_import_multiview_is_light_and_the_face_is_complete():
    code = ("import sys, multiview as mv\n"
            "names = ['configure', 'check', 'sweep', 'dose', 'load', 'plot', 'load_params',"
            " 'use_compile_cache']\n"
            "assert all(n in dir(mv) for n in names)\n"
            "print('jax' in sys.modules)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "False"


def test_entries_that_are_modules_too_stay_modules_and_call_the_entry(tiny):
    from multiview import sweep

    assert mv.sweep is sweep and callable(sweep) and hasattr(sweep, "run_sweep")
    with pytest.raises(ConfigError, match="^grid train.devices"):     # as the caller wrote it
        mv.sweep(tiny, {"train.devices": [1, 2]}, out="unused")


def test_configure_takes_dotted_nested_and_file_overrides(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text("[data]\nmu = 0.3\n")
    a = mv.configure("tiny", {"data.mu": 0.3, "model.m": 3})
    b = mv.configure("tiny", {"data": {"mu": 0.3}}, model={"m": 3})
    assert a == b and mv.configure("tiny", f).data.mu == 0.3
    with pytest.raises(ConfigError, match="data.mu"):
        mv.configure("tiny", {"data.mu": 2})


def test_float64_configs_compute_in_float64_from_the_library(tiny):
    import jax

    from multiview.check import run_check
    from multiview.config import override
    from multiview.recipe import train_methods

    cfg = override(tiny, {"train.dtype": "float64", "train.steps": 20})
    run = train_methods(cfg, 2, 0, ["single"], progress=False)
    st = run.stages["single"]
    assert st.trained.params.dtype == np.float64
    assert st.train_logits.dtype == np.float64 and st.lam.dtype == np.float64
    assert st.trained.fit.history["loss"].dtype == np.float64
    assert not jax.config.read("jax_enable_x64")            # restored afterwards
    with warnings.catch_warnings():
        warnings.simplefilter("error")        # jax warns when it truncates float64 to float32
        res = run_check(cfg, 2, 0, ["single"], progress=False)
    assert res["config"]["train"]["dtype"] == "float64"
    assert not jax.config.read("jax_enable_x64")


def test_load_params_returns_the_members_and_their_training_time_logits(tmp_path):
    from multiview.cli import main
    from multiview.recipe import train_methods

    out = tmp_path / "run"
    assert main(["train", "--seeds", "2", "--out", str(out), "--no-progress", *tiny_sets()]) == 0
    members = mv.load_params(out)
    assert members.L == 2 and members.seed == 0
    assert members.config == mv.configure("tiny")
    # the logits the training run computed (the recipe is deterministic): same members, same data
    run = train_methods(members.config, 2, 0, ["single"], progress=False)
    problem = members.problem()
    np.testing.assert_allclose(members.logits(problem.train.x),
                               run.stages["single"].train_logits, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(members.logits(problem.test.x),
                               run.stages["single"].test_logits, rtol=1e-5, atol=1e-5)
    acc = members.accuracy(problem.test)
    expected = (run.stages["single"].test_logits.argmax(-1) == np.asarray(problem.test.y))
    np.testing.assert_allclose(acc["acc"], expected.mean(-1))
    assert mv.load_params(out / "params.npz").config == members.config


def test_load_params_refuses_what_is_not_a_train_run(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        mv.load_params(tmp_path / "nothing")
    np.savez(tmp_path / "params.npz", W=np.zeros((2, 3, 2, 40)))
    with pytest.raises(ConfigError, match="train.json"):
        mv.load_params(tmp_path)
    (tmp_path / "train.json").write_text(json.dumps({
        "config": mv.configure("tiny").to_dict(), "seed": 0, "seeds": [0], "steps_run": 1,
        "stopped_at": [1], "final_train_acc": [1.0]}))
    np.savez(tmp_path / "params.npz", W=np.zeros((2, 3, 2, 41)))
    with pytest.raises(ConfigError, match="d=40"):
        mv.load_params(tmp_path)


def test_use_compile_cache_after_jax_is_imported_keeps_programs(tmp_path):
    code = ("import jax, jax.numpy as jnp\n"
            "jax.jit(lambda x: x + 1)(jnp.ones(3))\n"        # compiled before the cache is on
            "import multiview as mv\n"
            "print(mv.use_compile_cache())\n"
            "jax.jit(lambda x: jnp.sin(x) * 2)(jnp.ones(5)).block_until_ready()\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_COMPILATION_CACHE")}
    env |= {"MULTIVIEW_COMPILE_CACHE": str(tmp_path / "c"), "JAX_PLATFORMS": "cpu",
            "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=120, env=env)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == str(tmp_path / "c")
    assert any((tmp_path / "c").glob("jit_*"))


def test_load_gives_the_kind_path_and_content(tmp_path, world_check):
    loaded = mv.load(world_check)
    assert loaded.kind == "check" and loaded.path.name == "check.json"
    assert set(loaded.content["methods"]) == {"single"}
    with pytest.raises(ConfigError):
        mv.load(tmp_path / "nothing.json")


@pytest.fixture
def world_check(tmp_path):
    acc = {"train_acc": 1.0, "test_acc": 0.9, "test_acc_multi": 1.0, "test_acc_single": 0.5}
    rec = acc | {"std": {q: 0.0 for q in acc}, "per_model": {q: [v] for q, v in acc.items()},
                 "views": {"none": 0, "one": 0, "both": 1}, "lam_over_varrho": None}
    (tmp_path / "check.json").write_text(json.dumps({"config": {}, "seed": 0, "seeds": [0],
                                                     "methods": {"single": rec},
                                                     "predictions": []}))
    return tmp_path


def test_a_grid_file_gives_the_axes_of_a_sweep(tmp_path, tiny, monkeypatch):
    from multiview import sweep as sweep_module
    from multiview.cli import main

    f = tmp_path / "grid.toml"
    f.write_text('[model]\nm = 3\n[grid]\n"data.mu" = [0.0, 0.1]\nmodel.sigma0 = [0.03]\n'
                 '"data.z_own" = [[1, 2], [1, 3]]\n')
    grid = sweep_module.parse_grid(["train.lr=1,2"], tiny, f)
    assert grid == {"data.mu": [0.0, 0.1], "model.sigma0": [0.03],
                    "data.z_own": [[1, 2], [1, 3]], "train.lr": ["1", "2"]}
    assert sweep_module.grid_points(tiny, grid)[-1].cfg.data.z_own == (1.0, 3.0)
    seen = {}

    def stop(cfg, grid, *a, **kw):          # what the command would sweep, without training
        seen.update(cfg=cfg, grid=grid)
        raise KeyboardInterrupt

    monkeypatch.setattr(sweep_module, "run_sweep", stop)
    # the command reads the same file: the overrides for the base config, the grid for the axes
    assert main(["sweep", *tiny_sets(), "--config", str(f), "--out", str(tmp_path / "s")]) == 130
    assert seen["cfg"].model.m == 3 and list(seen["grid"]) == ["data.mu", "model.sigma0",
                                                                  "data.z_own"]

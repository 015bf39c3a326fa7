"""Every door tells the truth: the Python API refuses what the command line refuses, with the
same words naming the parameter as the caller wrote it; numpy values are taken where Python
ones are; the size guard reads every cgroup limit over the process; an output is claimed before
any work; every result file says where it came from; progress in a log is plain lines."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import multiview as mv
from multiview import inputs, outputs, progress, provenance, size
from multiview.api import Members
from multiview.cli import main
from multiview.config import SEED_MAX, ConfigError, override, preset

ROOT = Path(__file__).resolve().parents[1]


def _allowed(message: str) -> str:
    return message[message.index("allowed:"):]


def _cli(argv: list[str]) -> int:
    """main(argv)'s exit status, argparse's refusals (SystemExit) included."""
    try:
        return main(argv)
    except SystemExit as e:
        return e.code


# --- one validation for every door ----------------------------------------------------------

@pytest.mark.parametrize("seed", [-1, SEED_MAX + 1, 2**40, 1.5, True, "3", None])
def test_a_bad_seed_is_refused_by_the_api_as_by_the_command_line(tiny, seed, capsys):
    """seed=-1 once computed seed 4294967295's numbers and 2**40 seed 0's, each recorded under
    the seed given; 1.5 raised a jax tracer error."""
    with pytest.raises(ConfigError) as e:
        mv.check(tiny, seeds=2, seed=seed, methods="single")
    assert str(e.value).startswith("seed: value ") and "0 <= seed <= 4294967295" in str(e.value)
    if isinstance(seed, int) and not isinstance(seed, bool):
        assert _cli(["check", "--preset", "tiny", "--seed", str(seed)]) == 2
        err = capsys.readouterr().err
        assert "--seed" in err and _allowed(err).strip().startswith(_allowed(str(e.value)))


@pytest.mark.parametrize("call, name", [
    (lambda c: mv.check(c, methods=None), "methods"),
    (lambda c: mv.check(c, methods=["single", 3]), "methods"),
    (lambda c: mv.check(c, seeds=0), "seeds"),
    (lambda c: mv.check(c, seeds=2.0), "seeds"),
    (lambda c: mv.check(c, seeds=2, progress="yes"), "progress"),
    (lambda c: mv.sweep(c, {"data.mu": [0.1]}, out=None), "out"),
    (lambda c: mv.sweep(c, {"data.mu": [0.1]}, seeds=2, out="x", batch_points=0),
     "batch_points"),
    (lambda c: mv.sweep(c, {"data.mu": 0.1}, out="x"), "grid data.mu"),
    (lambda c: mv.sweep(c, {"train.dtype": ["float32", "float64"]}, seeds=2, out="x"),
     "grid train.dtype"),
    (lambda c: mv.sweep(c, {"data.mu": [0.1]}, seeds=2, out="x", cluster="foo"), "cluster"),
    (lambda c: mv.sweep(c, {"data.mu": [0.1]}, seeds=2, out="x", stages=""), "stages"),
    (lambda c: mv.check(c, seeds=2, methods="single", stages=3), "stages"),
    (lambda c: mv.search(c, {"require": ["T1.single"], "data.mu": {"low": 0.1, "high": 0.2}},
                         out="s", stages=["x"]), "stages"),
    (lambda c: mv.dose(c, seeds=4, sizes=[2, 5]), "sizes"),
    (lambda c: mv.dose(c, seeds=4, sizes=[np.int64(2), 2.5]), "sizes"),
    (lambda c: mv.load(123), "path"),
    (lambda c: mv.load("nowhere/check.json"), "path"),
    (lambda c: mv.load_params(None), "path"),
    (lambda c: mv.plot("nope", "x"), "kind"),
    (lambda c: mv.plot("methods", "x", fix=[1]), "fix"),
    (lambda c: mv.plot("methods", "nowhere"), "path"),
    (lambda c: mv.configure(3), "preset"),
    (lambda c: mv.check("tiny"), "cfg"),
])
def test_the_api_refuses_bad_arguments_in_one_line_naming_them(tiny, call, name, tmp_path,
                                                                monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as e:
        call(tiny)
    assert str(e.value).startswith(f"{name}:") and "\n" not in str(e.value), str(e.value)
    assert not (tmp_path / "x").exists()                # refused before any work


def test_members_refuse_inputs_of_the_wrong_shape(tiny):
    members = Members(tiny, 0, {"single": np.zeros((2, 3, 2, 40), np.float32)})
    assert members.logits(np.zeros((5, 6, 40), np.float32)).shape == (2, 5, 3)
    with pytest.raises(ConfigError, match=r"^x: .*\[n, P=6, d=40\]"):
        members.logits(np.zeros((5, 3, 40), np.float32))


def test_numpy_integers_floats_and_arrays_are_taken_where_python_ones_are():
    cfg = mv.configure("tiny", {"data.k": np.int64(4), "data.mu": np.float32(0.25),
                                "data.z_own": np.array([1.0, 3.0]), "train.steps": np.int32(7)})
    assert (cfg.data.k, cfg.data.mu, cfg.data.z_own, cfg.train.steps) == (4, 0.25, (1.0, 3.0), 7)
    assert type(cfg.data.k) is int and type(cfg.data.mu) is float
    assert mv.configure(preset="tiny") == preset("tiny")      # docs/api.md's spelling
    assert inputs.texts("data.mu=0.1", "fix", "") == ["data.mu=0.1"]   # a str is one item
    assert inputs.seed(np.uint32(SEED_MAX)) == SEED_MAX
    assert type(inputs.seed(np.int8(3))) is int
    assert inputs.integer("12", "--n", 1, text=True) == 12
    with pytest.raises(ConfigError, match="^n: value '12'"):        # text only from the shell
        inputs.integer("12", "n", 1)


def test_numpy_grids_and_a_grid_string_pass_the_sweep_checks(tiny, tmp_path):
    # force_size is checked after the grid: a refusal naming it means the grid was accepted
    for grid in ({"data.mu": np.linspace(0.1, 0.2, 2)}, "data.mu=0.1,0.2", ["data.mu=0.1"],
                 np.array(["data.mu=0.1,0.2", "model.m=2"])):
        with pytest.raises(ConfigError, match="^force_size:"):
            mv.sweep(tiny, grid, seeds=np.int64(2), seed=np.uint32(3), out=tmp_path / "s",
                     force_size="no")


def test_a_field_given_twice_in_one_file_is_refused(tmp_path, tiny):
    both = tmp_path / "g.toml"
    both.write_text('[grid]\n"data.mu" = [0.1]\n\n[grid.data]\nmu = [0.2, 0.3]\n')
    with pytest.raises(ConfigError, match="^grid data.mu: given twice"):
        mv.sweep(tiny, both, seeds=2, out=tmp_path / "s")
    assert main(["sweep", "--preset", "tiny", "--config", str(both), "--out",
                 str(tmp_path / "s")]) == 2
    twice = tmp_path / "c.json"
    twice.write_text('{"data": {"mu": 0.1, "mu": 0.2}}')
    with pytest.raises(ConfigError, match="^overrides: field 'mu' is given twice"):
        mv.configure("tiny", twice)
    assert not (tmp_path / "s").exists()


def test_a_grid_file_applies_its_overrides_from_the_api_as_sweep_config_does(tmp_path, tiny):
    """`[data] k = 4` in the file stayed 3 through mv.sweep."""
    # d = 6 is a valid grid value at tiny's k = 3 (d >= 2k) and not at the file's k = 4: the
    # grid is checked on the config with the file's overrides, as `sweep --config` checks it
    g = tmp_path / "g.toml"
    g.write_text('[data]\nk = 4\n\n[grid]\n"data.d" = [6]\n')
    with pytest.raises(ConfigError, match="values k=4, d=6 are not allowed together"):
        mv.sweep(tiny, g, methods=np.array(["single"]), seeds=np.int64(2), out=tmp_path / "s")
    assert _cli(["sweep", "--preset", "tiny", "--config", str(g), "--out",
                 str(tmp_path / "s")]) == 2
    g.write_text('[grid]\n"data.d" = [6]\n')
    with pytest.raises(ConfigError, match="^force_size:"):             # accepted at k = 3
        mv.sweep(tiny, g, seeds=2, out=tmp_path / "s", force_size=None)


# --- the size guard: every cgroup limit over the process ------------------------------------

def _tree(root: Path, files: dict) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_a_nested_cgroup_v2_limit_is_read_up_the_hierarchy(tmp_path):
    """A SLURM job limits its own cgroup (3 GB), not the root: the guard reads every ancestor
    of /proc/self/cgroup's path."""
    root = _tree(tmp_path, {
        "proc/self/cgroup": "0::/slurm/job_7/step_0\n",
        "proc/meminfo": "MemTotal: 25000000 kB\nMemAvailable: 20000000 kB\n",
        "sys/fs/cgroup/cgroup.controllers": "memory\n",
        "sys/fs/cgroup/slurm/memory.max": "max\n",
        "sys/fs/cgroup/slurm/job_7/memory.max": "3000000000\n",
        "sys/fs/cgroup/slurm/job_7/memory.current": "100000000\n",
        "sys/fs/cgroup/slurm/job_7/step_0/memory.max": "max\n"})
    limits = size.cgroup_limits(root)
    assert limits == [(3_000_000_000, 100_000_000,
                       str(root / "sys/fs/cgroup/slurm/job_7/memory.max"))]
    have, where = size.available(root)
    assert have == 2_900_000_000 and "slurm/job_7/memory.max" in where and "3.0 GB" in where


def test_a_cgroup_v1_limit_on_an_ancestor_counts(tmp_path):
    root = _tree(tmp_path, {
        "proc/self/cgroup": "5:cpu,cpuacct:/\n4:memory:/jobs/a/b\n0::/\n",
        "proc/meminfo": "MemAvailable: 20000000 kB\n",
        "sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n",
        "sys/fs/cgroup/memory/jobs/memory.limit_in_bytes": "2000000000\n",
        "sys/fs/cgroup/memory/jobs/memory.usage_in_bytes": "500000000\n",
        "sys/fs/cgroup/memory/jobs/a/b/memory.limit_in_bytes": "9000000000\n"})
    have, where = size.available(root)
    assert have == 1_500_000_000 and where.endswith("in use") and "jobs/memory.limit" in where
    # no cgroup file at all: MemAvailable alone
    assert size.available(_tree(tmp_path / "bare", {"proc/meminfo": "MemAvailable: 1000 kB\n"})) \
        == (1_024_000, "MemAvailable in /proc/meminfo")


def test_the_out_of_memory_run_is_refused_before_work_naming_the_limit(tmp_path, monkeypatch,
                                                                        capsys):
    """`check --preset tiny --set data.d=1000000 --set train.engine=patch --seeds 2` peaked at
    16.4 GB (docs/performance.md); in a 3 GB job it is refused with its estimate."""
    root = _tree(tmp_path, {"proc/self/cgroup": "0::/job\n",
                            "proc/meminfo": "MemAvailable: 20000000 kB\n",
                            "sys/fs/cgroup/cgroup.controllers": "memory\n",
                            "sys/fs/cgroup/job/memory.max": "3000000000\n"})
    real = size.available
    monkeypatch.setattr(size, "available", lambda: real(root))
    cfg = override(preset("tiny"), {"data.d": 10**6, "train.engine": "patch"})
    assert 16e9 < size.estimate_total(cfg, 2) < 17e9
    argv = ["check", "--preset", "tiny", "--set", "data.d=1000000", "--set", "train.engine=patch",
            "--methods", "single,ensemble", "--seeds", "2", "--out", str(tmp_path / "o")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "16.4 GB" in err and str(root / "sys/fs/cgroup/job/memory.max") in err
    assert not (tmp_path / "o").exists()


def test_every_engine_has_an_estimate_and_a_long_run_says_how_long(tiny):
    """A training step's memory is the engine's: the direct engine's pre-activations grow with
    the members; the patch engine's Gram matrix [N·P, N·P] is there for one member already."""
    def batch(engine, L):
        return size.estimate(override(tiny, {"train.engine": engine}), L)["training batch"][0]
    NP = tiny.data.n_train * tiny.data.n_patches
    assert batch("direct", 4) == 2 * batch("direct", 2) > 0
    assert batch("patch", 1) >= 4 * NP * NP > batch("direct", 1)
    slow = size.duration(override(preset("asymptotic"), {"train.steps": 10**7}), 10)
    assert slow is not None and "10000000 steps" in slow and " h " in slow
    assert size.duration(preset("small"), 10) is None


# --- races: an output is claimed before any work -----------------------------------------------

HOLD = ("import contextlib, sys, time\nfrom multiview.outputs import claim\n"
        "with contextlib.ExitStack() as stack:\n"
        "    for path in sys.argv[1:]:\n        stack.enter_context(claim(path))\n"
        "    print('held', flush=True)\n    time.sleep(60)\n")


@pytest.fixture
def held(tmp_path):
    """Another process holding the claims on paths (multiview.outputs.claim)."""
    procs = []

    def hold(*paths):
        p = subprocess.Popen([sys.executable, "-c", HOLD, *map(str, paths)],
                             stdout=subprocess.PIPE,
                             text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert p.stdout.readline().strip() == "held"
        procs.append(p)
        return p
    yield hold
    for p in procs:
        p.kill()
        p.wait()


def test_a_second_process_aimed_at_the_same_output_is_refused_before_work(tmp_path, held,
                                                                          capsys):
    d = tmp_path
    paths = ("tr/train.json", "a.npz", "x.npz", "o/check.json", "o/dose.json")
    holder = held(*(d / p for p in paths))
    for argv, path in [
            (["train", "--preset", "tiny", "--seeds", "2", "--out", f"{d}/tr"], "tr/train.json"),
            (["arrays", "--preset", "tiny", "--seeds", "2", "--out", f"{d}/a.npz"], "a.npz"),
            (["data", "--preset", "tiny", "--npz", f"{d}/x.npz"], "x.npz"),
            (["check", "--preset", "tiny", "--seeds", "2", "--out", f"{d}/o"], "o/check.json"),
            (["dose", "--preset", "tiny", "--seeds", "2", "--out", f"{d}/o/dose.json"],
             "o/dose.json")]:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert str(d / path) in err and f"process {holder.pid} is computing" in err, err
        assert "--force" in err and "Traceback" not in err
    assert sorted(p.name for p in (d / "tr").iterdir()) == [".train.json.lock"]
    # --force: written anyway (the last one to finish wins, atomically)
    assert main(["data", "--preset", "tiny", "--npz", f"{d}/x.npz", "--force"]) == 0
    with np.load(d / "x.npz") as z:
        assert json.loads(str(z["provenance"]))["command"].startswith("multiview data")


def test_the_estimate_of_a_long_run_is_printed_before_it_starts(tmp_path, held, capsys):
    held(tmp_path / "check.json")         # so that the run stops right after its checks
    assert main(["check", "--preset", "asymptotic", "--set", "train.steps=10000000",
                 "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert "10000000 steps" in err[0] and "h (" in err[0] and "is computing it" in err[1]


def test_a_sweep_of_another_study_is_refused_before_any_work(tmp_path, tiny, capsys):
    out = tmp_path / "s"
    out.mkdir()
    other = {"fields": ["model.sigma0"], "methods": ["single"], "seeds": 2, "seed": 0,
             "base": {}}
    outputs.claim_study(out, other)            # another sweep claimed it and is computing
    before = sorted(p.name for p in out.iterdir())
    assert main(["sweep", "--preset", "tiny", "--grid", "data.mu=0.1", "--seeds", "2",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--out" in err and "model.sigma0" in err and ".study" in err
    assert "Traceback" not in err
    with pytest.raises(ConfigError, match=r"^out: .*model\.sigma0"):
        mv.sweep(tiny, {"data.mu": [0.1]}, seeds=2, out=out)
    assert sorted(p.name for p in out.iterdir()) == before       # nothing left behind


@pytest.mark.parametrize("make, argv, needle", [
    (lambda d: (d / "o/check.json").mkdir(parents=True), ["check", "--out", "{d}/o"],
     "is a folder"),
    (lambda d: (d / "o/check.json").mkdir(parents=True), ["check", "--out", "{d}/o/check.json"],
     "is no file"),
    (lambda d: os.symlink(d / "loop", d / "loop"), ["check", "--out", "{d}/loop"],
     "symlink loop"),
    (lambda d: os.symlink(d / "loop", d / "loop"), ["train", "--out", "{d}/loop/run"],
     "symlink loop"),
    (lambda d: (d / "f").write_text("a file"), ["train", "--out", "{d}/f"], "existing file"),
    (lambda d: (d / "f").write_text("a file"), ["sweep", "--grid", "data.mu=0.1", "--out",
                                                 "{d}/f/s"], "is a file"),
    (lambda d: (d / "o/dose.json").mkdir(parents=True), ["dose", "--out", "{d}/o"],
     "is a folder"),
])
def test_an_out_that_cannot_hold_the_result_is_refused_before_work(tmp_path, make, argv, needle,
                                                                   capsys):
    make(tmp_path)
    argv = [a.format(d=tmp_path) for a in argv] + ["--preset", "tiny", "--seeds", "2"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "--out" in err and needle in err and len(err.strip().splitlines()) == 1, err


# --- provenance, the figure's metadata, progress in a log --------------------------------------

KEYS = {"multiview", "git", "python", "packages", "backend", "devices", "command", "time_utc"}


def test_check_out_names_the_file_and_every_result_says_where_it_came_from(tmp_path, capsys):
    out = tmp_path / "o/check.json"
    assert main(["check", "--preset", "tiny", "--seeds", "2", "--methods", "single",
                 "--out", str(out)]) == 0
    assert out.is_file() and not (out / "check.json").exists()
    err = capsys.readouterr().err
    assert "\x1b[" not in err and "\r" not in err                # no cursor codes in a log
    tree = json.loads(out.read_text())
    prov = tree["provenance"]
    assert set(prov) == KEYS and set(prov["packages"]) == set(provenance.PACKAGES)
    assert prov["command"].startswith("multiview check --preset tiny")
    assert prov["backend"] == "cpu" and prov["devices"] and prov["time_utc"].endswith("+00:00")
    assert prov["git"] is None or len(prov["git"]["commit"]) == 40
    # readers take files with and without the block
    assert mv.load(out).kind == "check"
    del tree["provenance"]
    (tmp_path / "old").mkdir()
    (tmp_path / "old/check.json").write_text(json.dumps(tree))
    assert mv.load(tmp_path / "old").kind == "check"
    # the figure's PDF carries the commit
    [pdf, _] = mv.plot("methods", out, tmp_path / "figs")
    commit = "no git checkout" if prov["git"] is None else prov["git"]["commit"]
    assert commit.encode() in pdf.read_bytes()
    # the API records its call
    res = mv.check(mv.configure("tiny"), seeds=2, methods="single", out=tmp_path / "api")
    assert "provenance" not in res
    api = json.loads((tmp_path / "api/check.json").read_text())["provenance"]
    assert api["command"] == ("mv.check(cfg, seeds=2, seed=0, methods=['single'], "
                              f"out={tmp_path / 'api'!r})")
    assert res["methods"] == json.loads((tmp_path / "api/check.json").read_text())["methods"]


def test_progress_in_a_log_is_plain_lines_at_most_every_few_seconds(monkeypatch, capsys):
    assert progress.mode() == "lines"               # stderr is captured: not a terminal
    bar = progress.bar(total=100, desc="single ×2", unit="step")     # a line: started
    bar.update(10)                                  # a line: under way
    bar.update(10)                                  # within INTERVAL of the last line: none
    monkeypatch.setattr(progress, "INTERVAL", 0.0)
    bar.set_postfix(loss="0.1")
    bar.update(10)
    bar.close()
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(" [")[0] for line in lines] == [
        "single ×2: 0/100 step", "single ×2: 10/100 step", "single ×2: 30/100 step",
        "single ×2: 30/100 step"] and lines[-1].endswith("loss=0.1")
    assert not any("\x1b" in line or "\r" in line for line in lines)


def test_plot_stability_of_a_file_with_no_steps_exits_2(tmp_path, capsys):
    empty = {"format": "multiview.stability/1", "config": {}, "seed": 0, "L": 2, "B": 1,
             "factor": 5, "long_steps": 0, "member_fit_steps": [1, 1], "steps": [], "both": [],
             "one": [], "train_acc": [], "methods": {}}
    (tmp_path / "stability.json").write_text(json.dumps(empty))
    assert main(["plot", "stability", "--in", str(tmp_path / "stability.json")]) == 2
    err = capsys.readouterr().err
    assert "steps" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.glob("stability.p*"))

"""Sweeps on a Ray cluster (multiview/cluster.py) and failed points, in-process and on Ray.

The Ray tests run against a real local cluster: a head and one worker node started with
`ray start` (one CPU each, loopback addresses only) in a module fixture that stops every
process they started afterwards. They are skipped where Ray is not installed; CI installs it
(the `cluster` extra).
"""

import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from multiview import cluster as cluster_module
from multiview import sweep
from multiview.cli import main
from multiview.config import ConfigError
from multiview.cluster import free_port, local_cluster, session_processes
from multiview.sweep import grid_points, run_sweep

from .conftest import tiny_sets

# the batch of sigma_p = 0.02 trains together; patch noise sigma_p = 1e37 overflows float32 at
# step 0, so its batch is rerun point by point and both points fail
GRID = {"data.sigma_p": ["0.02", "1e37"], "data.mu": ["0.1", "0.3"]}
METHODS = ["single", "ensemble"]
L = 2
# results that depend on wall time or on where the sweep ran, not on the numbers
UNTIMED = ("seconds", "stage_seconds", "checksum", "cluster", "provenance")   # metadata, not results


def _cli_args(out):
    grid = [a for k, v in GRID.items() for a in ("--grid", f"{k}={','.join(v)}")]
    return ["sweep", "--no-progress", "--seeds", str(L), "--batch-points", "2", "--out",
            str(out), *grid, *tiny_sets()]


def _untimed(obj):
    if isinstance(obj, dict):
        return {k: _untimed(v) for k, v in obj.items() if k not in UNTIMED}
    if isinstance(obj, list):
        return [_untimed(v) for v in obj]
    return obj


def _files(out: Path) -> dict:
    """Every JSON file of a sweep directory, without its wall-time fields and provenance."""
    return {p.name: _untimed(json.loads(p.read_text())) for p in sorted(out.glob("*.json"))}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The sweep in-process through the CLI: (exit status, stdout, stderr, directory)."""
    out = tmp_path_factory.mktemp("in_process")
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        rc = main(_cli_args(out))
    return rc, stdout.getvalue(), stderr.getvalue(), out


# --- failed points (no Ray needed) ------------------------------------------------------------

def test_a_failing_point_is_listed_and_the_sweep_goes_on_in_process(reference, tiny):
    rc, stdout, stderr, out = reference
    assert rc == 3, stderr                                  # like a diverged `check`
    summary = json.loads((out / "sweep.json").read_text())
    assert summary["run"] | {"seconds": 0} == {
        "points": 4, "cached": 0, "computed": 2, "failed": 2, "fit_calls": 2,
        "recomputed_corrupt": [], "cluster": None, "seconds": 0}
    assert [p["grid"]["data.sigma_p"] for p in summary["points"]] == [0.02, 0.02]
    assert [f["grid"] for f in summary["failed"]] == [
        {"data.sigma_p": 1e37, "data.mu": 0.1}, {"data.sigma_p": 1e37, "data.mu": 0.3}]
    for f in summary["failed"]:
        assert f["error"].startswith("training diverged: ") and "step 0" in f["error"]
        assert not (out / f"{f['key']}.json").exists()     # never written: a rerun computes it
        assert f"FAILED: {f['error']}" in stdout
    assert "4 points (0 cached, 2 computed, 2 failed)" in stdout
    assert len(list(out.glob("*.json"))) == 3              # 2 points + sweep.json


def test_a_rerun_computes_only_the_failed_points_again(reference, tmp_path, monkeypatch):
    out = tmp_path / "again"
    shutil.copytree(reference[3], out)
    calls = []
    real = sweep.compute_points

    def counted(cfgs, *a, **kw):
        calls.append([c.data.sigma_p for c in cfgs])
        return real(cfgs, *a, **kw)

    monkeypatch.setattr(sweep, "compute_points", counted)
    assert main(_cli_args(out)) == 3
    summary = json.loads((out / "sweep.json").read_text())
    # the failed batch again, then (it fails) its points one by one
    assert calls == [[1e37, 1e37], [1e37], [1e37]]
    assert (summary["run"]["cached"], summary["run"]["failed"]) == (2, 2)
    first = _files(reference[3])
    assert _files(out) == first | {"sweep.json": _files(out)["sweep.json"]}
    assert summary["failed"] == first["sweep.json"]["failed"]


def test_compute_points_fails_only_the_diverging_points_of_a_batch(tiny):
    cfgs = [p.cfg for p in grid_points(tiny, {"data.sigma_p": ["0.02", "1e37", "0.05"]})]
    results = sweep.compute_points(cfgs, L, 0, METHODS, progress=False)
    assert [type(r) for r in results] == [dict, str, dict]
    assert results[1].startswith("training diverged:")
    for cfg, r in zip(cfgs[::2], results[::2]):
        assert r["config"] == cfg.to_dict() and set(r["methods"]) == set(METHODS)


# --- the command line without a cluster -------------------------------------------------------

@pytest.mark.parametrize("argv,needle", [
    (["--cluster", "spark"], "--cluster: value 'spark' is not allowed"),
    (["--address", "127.0.0.2:6379"], "--address: value '127.0.0.2:6379' needs --cluster ray"),
    (["--cluster", "ray", "--address", "nohost"], "--address: value 'nohost' is not allowed"),
])
def test_bad_cluster_options_exit_2_with_one_line(tmp_path, capsys, argv, needle):
    assert main(_cli_args(tmp_path) + argv) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1


def test_without_ray_cluster_ray_exits_2_with_the_install_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)          # `import ray` raises ImportError
    assert main(_cli_args(tmp_path) + ["--cluster", "ray"]) == 2
    err = capsys.readouterr().err
    assert "pip install -e '.[cluster]'" in err and err.count("\n") == 1


def test_a_sweep_without_cluster_never_imports_ray(tmp_path):
    code = ("import sys; from multiview.cli import main; "
            f"main({['sweep', '--out', str(tmp_path), '--grid', 'data.mu=0.1,5']!r}); "
            "print('ray' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=dict(os.environ, JAX_PLATFORMS="cpu"), timeout=120)
    assert proc.stdout.strip() == "False", proc.stderr


# Ray Client's error when the head's per-client server died at start (Ray issue #63202): the
# server's traceback follows the first line
SERVER_DIED = ("Initialization failure from server:\nTraceback (most recent call last):\n"
               "  File \"proxier.py\", line 773, in Datapath\n"
               "RuntimeError: Starting Ray client server failed. See ray_client_server_23003.err "
               "for detailed logs.\n")


def _fake_init(monkeypatch, errors: list) -> list:
    """ray.init raising `errors` in turn, then succeeding; returns its calls' addresses."""
    ray = pytest.importorskip("ray")
    calls = []

    def init(address, **kw):
        calls.append(address)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]

    monkeypatch.setattr(ray, "init", init)
    monkeypatch.setattr(cluster_module, "_probe", lambda address: None)
    return calls


def test_a_ray_client_server_that_dies_at_start_is_tried_again_and_each_failure_logged(
        monkeypatch):
    calls = _fake_init(monkeypatch, [ConnectionAbortedError(SERVER_DIED)] * 2)
    logged = []
    assert cluster_module.connect("ray://127.0.0.2:10001", logged.append).init is not None
    assert calls == ["ray://127.0.0.2:10001"] * 3
    assert len(logged) == 2 and all("\n" not in m for m in logged)
    for line, n in zip(logged, (2, 3)):
        # the reason is the server's last traceback line, not Ray Client's bare header
        assert "(ConnectionAbortedError: Initialization failure from server: RuntimeError: " \
               "Starting Ray client server failed. See ray_client_server_23003.err" in line
        assert line.endswith(f"connecting again ({n} of {cluster_module.CLIENT_ATTEMPTS})")


def test_a_ray_client_server_that_dies_every_time_exits_2_with_the_reason(monkeypatch):
    calls = _fake_init(monkeypatch, [ConnectionAbortedError(SERVER_DIED)] * 3)
    with pytest.raises(ConfigError) as e:
        cluster_module.connect("ray://127.0.0.2:10001", lambda m: None)
    assert len(calls) == cluster_module.CLIENT_ATTEMPTS == 3
    assert str(e.value) == (
        "--cluster: value 'ray://127.0.0.2:10001': cannot start or join Ray (ConnectionAbortedError:"
        " Initialization failure from server: RuntimeError: Starting Ray client server failed. "
        "See ray_client_server_23003.err for detailed logs.)")


def test_other_connection_errors_are_not_tried_again(monkeypatch):
    calls = _fake_init(monkeypatch, [ConnectionError("ray client connection timeout")] * 3)
    with pytest.raises(ConfigError):
        cluster_module.connect("ray://127.0.0.2:10001", lambda m: None)
    assert len(calls) == 1


# --- a real local Ray cluster -----------------------------------------------------------------

@pytest.fixture(scope="module")
def compile_cache():
    """Environment for Ray's workers (they inherit the nodes' or the driver's) in which they
    share compiled programs: a fresh worker then starts in seconds, not the half minute a
    compile takes on 2 busy cores."""
    pytest.importorskip("ray")
    temp = tempfile.mkdtemp(prefix="mvjax")
    yield {"JAX_PLATFORMS": "cpu", "JAX_COMPILATION_CACHE_DIR": temp,
           "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}
    shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster(compile_cache):
    """A Ray head and one worker node on this machine (`ray start`, one CPU each, loopback
    addresses; cluster.local_cluster), stopped with every process they started afterwards:
    (head address, Ray Client address, session ids)."""
    # the head's Ray Client server gives a new client's server process 30 s (Ray's default)
    # to come up; measured here: at most 1.8 s on these 2 cores with 4 busy loops beside the
    # sweep, and a server that is later than this is replaced (cluster.CLIENT_ATTEMPTS). It is
    # kept short because a connection whose server died holds the driver until the head gives
    # up on it (measured: the retry began 41 s after the start with 10 s, 190 s with 180 s)
    env = {**compile_cache, "RAY_CLIENT_SERVER_CHECK_CHANNEL_TIMEOUT_S": "10"}
    with local_cluster(nodes=2, cpus=1, env=env) as c:
        yield c


def test_a_sweep_on_the_cluster_writes_the_in_process_files(cluster, reference, tiny, tmp_path,
                                                            capsys):
    address = cluster[0]
    out = tmp_path / "ray"
    assert main(_cli_args(out) + ["--cluster", "ray", "--address", address]) == 3
    assert capsys.readouterr().out.count("FAILED: training diverged") == 2
    summary = json.loads((out / "sweep.json").read_text())
    assert summary["run"]["cluster"] == address
    assert summary["run"]["failed"] == 2 and summary["run"]["computed"] == 2
    # bit for bit: the same batches through the same program, only elsewhere
    assert _files(out) == _files(reference[3])
    # and a rerun in-process reuses every point the cluster finished
    again = run_sweep(tiny, GRID, METHODS, L, 0, out, batch_points=2, progress=False,
                      log=lambda m: None)
    assert again["run"]["cached"] == 2 and again["points"] == summary["points"]


def test_a_sweep_on_the_cluster_keeps_its_stages_in_the_folder_given(cluster, tiny, tmp_path):
    """sweep --stages on Ray: the tasks write their finished stages to the folder given (a
    path every task reaches), and an in-process rerun into another folder reads them back."""
    stages, methods = tmp_path / "stages", ["single", "ensemble", "kd"]
    summary = run_sweep(tiny, {"data.mu": [0.2]}, methods, L, 0, tmp_path / "ray",
                        progress=False, log=lambda m: None, cluster=cluster[0], stages=stages)
    assert summary["run"]["computed"] == 1 and len(list(stages.glob("*.stage.pkl"))) == 3
    run_sweep(tiny, {"data.mu": [0.2]}, methods, L, 0, tmp_path / "here", progress=False,
              log=lambda m: None, stages=stages)
    (ray,) = [json.loads(p.read_text()) for p in (tmp_path / "ray").glob("*.json")
              if p.name != "sweep.json"]
    (here,) = [json.loads(p.read_text()) for p in (tmp_path / "here").glob("*.json")
               if p.name != "sweep.json"]
    assert set(here["result"]["run"]["stages_read_back"]) == {"single", "labels_alone", "kd"}
    assert _untimed(here["result"]["methods"]) == _untimed(ray["result"]["methods"])


def _kill_first(sessions, is_target, killed: list, stop: threading.Event):
    """Kill (SIGKILL) the first process of the cluster whose command line `is_target` accepts
    and which did not exist when this started."""
    before = set(session_processes(sessions))
    while not stop.is_set():
        for pid in set(session_processes(sessions)) - before:
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if is_target(cmdline):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
        time.sleep(0.01)


def _sweep_through_ray_client(client, sessions, tmp_path, is_target):
    """The sweep through Ray Client (ray://, the way a driver outside the cluster joins it)
    from a fresh process, as a user runs it (Ray cannot switch one process from a direct
    connection, as in the test above, to Ray Client), while the first new cluster process
    that `is_target` accepts is killed: (process, killed pids)."""
    killed, stop = [], threading.Event()
    killer = threading.Thread(target=_kill_first, args=(sessions, is_target, killed, stop))
    killer.start()
    try:
        proc = subprocess.run([sys.executable, "-m", "multiview", *_cli_args(tmp_path),
                               "--cluster", client], capture_output=True, text=True,
                              env=dict(os.environ, JAX_PLATFORMS="cpu"), timeout=300)
    finally:
        stop.set()
        killer.join()
    return proc, killed


def test_a_worker_killed_mid_sweep_is_retried_and_the_results_are_equal(cluster, reference,
                                                                        tmp_path):
    _, client, sessions = cluster
    proc, killed = _sweep_through_ray_client(client, sessions, tmp_path,
                                             lambda cmd: cmd.startswith(b"ray::_task"))
    assert proc.returncode == 3, proc.stderr
    assert len(killed) == 1, "no task was running to kill"
    summary = json.loads((tmp_path / "sweep.json").read_text())
    assert summary["run"]["cluster"] == client
    assert summary["run"]["computed"] == 2 and summary["run"]["failed"] == 2
    assert _files(tmp_path) == _files(reference[3])


def test_a_ray_client_server_that_dies_at_start_is_replaced_and_the_results_are_equal(
        cluster, reference, tmp_path):
    # what Ray issue #63202 does now and then: the head's server process for this client dies
    # as it starts; here it is killed as soon as it runs, so the driver's first connection
    # fails (after the head's channel timeout) and its second gets a new server
    _, client, sessions = cluster
    proc, killed = _sweep_through_ray_client(client, sessions, tmp_path,
                                             lambda cmd: b"specific-server" in cmd)
    assert proc.returncode == 3, proc.stderr
    assert len(killed) == 1, "no Ray Client server started"
    # one retry, or more where a replacement server came up later than the channel timeout
    retried = [line for line in proc.stderr.splitlines() if "Ray Client" in line]
    assert 1 <= len(retried) < cluster_module.CLIENT_ATTEMPTS, proc.stderr
    # the cause as the head reports it: which error its dying server left (a RuntimeError, or
    # psutil's ZombieProcess when the head looks at the killed process first) is Ray's
    assert retried[0].startswith("sweep: Ray Client: the cluster could not start this client's "
                                 "server (ConnectionAbortedError: Initialization failure from "
                                 "server: ")
    assert retried[0].endswith(f"connecting again (2 of {cluster_module.CLIENT_ATTEMPTS})")
    assert json.loads((tmp_path / "sweep.json").read_text())["run"]["cluster"] == client
    assert _files(tmp_path) == _files(reference[3])


def test_a_bad_cluster_address_exits_2_with_one_line(tmp_path, capsys):
    pytest.importorskip("ray")
    nothing = f"127.0.0.2:{free_port('127.0.0.2')}"
    assert main(_cli_args(tmp_path) + ["--cluster", "ray", "--address", nothing]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"multiview sweep: error: --address: value {nothing!r}")
    assert err.count("\n") == 1


def test_cluster_ray_alone_starts_ray_on_this_machine(compile_cache, reference, tmp_path):
    # a fresh process, as a user runs it (the private instance listens on loopback only);
    # token authentication off, or Ray would write ~/.ray/auth_token
    env = dict(os.environ, RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0",
               **compile_cache)
    proc = subprocess.run([sys.executable, "-m", "multiview", *_cli_args(tmp_path),
                           "--cluster", "ray"], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 3, proc.stderr
    assert json.loads((tmp_path / "sweep.json").read_text())["run"]["cluster"] == "local"
    assert _files(tmp_path) == _files(reference[3])

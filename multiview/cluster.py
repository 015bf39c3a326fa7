"""Sweeps on a Ray cluster: each planned run of grid points is one Ray task (docs/cluster.md).

The driver (the `multiview sweep` process) plans the runs exactly as in-process
(`sweep.plan`), submits each as a task that calls `sweep.compute_points`, and writes every
point file itself as its task returns: results land where the driver runs, and a driver killed
mid-sweep loses only the points still in flight. Ray resubmits a task whose worker process or
node dies (at most MAX_RETRIES times); a point that fails inside the program comes back as its
message. Ray is an optional extra (INSTALL); nothing here imports it until a sweep asks for it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator

from .config import Config, ConfigError

INSTALL = "pip install -e '.[cluster]'"
MAX_RETRIES = 3                 # resubmissions of a task whose worker or node died
PROBE_SECONDS = 5.0             # how long a cluster address may take to accept a connection
# Ray Client connections tried before giving up: the head starts a server process for each
# client by fork() from a multithreaded gRPC process, and that child sometimes dies at once
# (Ray issue #63202 reports about 7 % of starts; here 2 of 95 on 2 busy cores). A new
# connection gets a new server.
CLIENT_ATTEMPTS = 3


def address_of(cluster: str | None, address: str | None) -> str | None:
    """CLI `--cluster` / `--address` -> the address for `ray.init` ("local": start Ray in this
    process's machine); None without `--cluster` (in-process)."""
    if cluster is None:
        if address is not None:
            raise ConfigError(f"--address: value {address!r} needs --cluster ray")
        return None
    if cluster == "ray":
        return address or "local"
    if cluster.startswith("ray://") and address is None:
        return cluster
    raise ConfigError(f"--cluster: value {cluster!r} is not allowed; allowed: ray (with "
                      f"--address HOST:PORT to join a cluster) or ray://HOST:PORT")


def _probe(address: str) -> None:
    """Fail fast, in one line, when nothing answers at HOST:PORT (`ray.init` would retry for
    minutes)."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ConfigError(f"--address: value {address!r} is not allowed; allowed: HOST:PORT of "
                          f"a Ray head (`ray start --head` prints it), auto, or ray://HOST:PORT")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=PROBE_SECONDS).close()
    except OSError as e:
        raise ConfigError(f"--address: value {address!r}: no Ray cluster answers there "
                          f"({e.strerror or e}); start one with `ray start --head` or fix the "
                          f"address") from None


def _client_server_failed(e: BaseException) -> bool:
    """Whether `e` is Ray Client's report that the head could not set up this client's server
    (the head's traceback follows the first line). Its reason is not matched: a server that
    died shows up as several different errors, and a refusal that repeats costs only the
    retries."""
    return (isinstance(e, ConnectionAbortedError)
            and str(e).startswith("Initialization failure from server"))


def connect(address: str, log: Callable[[str], None]):
    """`ray.init` for `address` ("local" starts a private Ray instance on this machine); the
    `ray` module. Errors a user can cause are ConfigErrors of one line. A Ray Client address
    (ray://) is tried up to CLIENT_ATTEMPTS times while the head fails to start this client's
    server, each failure passed to `log` with its reason."""
    if importlib.util.find_spec("ray") is None:
        raise ConfigError(f"--cluster: Ray is not installed; install it with {INSTALL}")
    if address == "local" and "ray" not in sys.modules:
        # a private instance serves this process only: keep it on the loopback interface
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    import ray
    if address not in ("local", "auto"):
        _probe(address)
    kw = {"include_dashboard": False} if address == "local" else {}
    attempt = 1
    while True:
        try:
            ray.init(address=address, log_to_driver=False, logging_level="ERROR", **kw)
            return ray
        except (ConnectionError, ValueError, RuntimeError, ray.exceptions.RayError) as e:
            if not (_client_server_failed(e) and attempt < CLIENT_ATTEMPTS):
                option = ("--cluster" if address == "local" or address.startswith("ray://")
                          else "--address")
                raise ConfigError(f"{option}: value {address!r}: cannot start or join Ray "
                                  f"({_first_line(e)})") from None
            attempt += 1
            log(f"sweep: Ray Client: the cluster could not start this client's server "
                f"({_first_line(e)}); connecting again ({attempt} of {CLIENT_ATTEMPTS})")


def _first_line(e: BaseException) -> str:
    """`e` in one line: its message's first line and, where that only announces what follows
    (Ray Client's "Initialization failure from server:" before the server's traceback), the
    last line of the rest, which names the error."""
    lines = [line.strip() for line in str(e).strip().splitlines() if line.strip()] or [""]
    if len(lines) > 1 and lines[0].endswith(":"):
        lines[0] += " " + lines[-1]
    return f"{type(e).__name__}: {lines[0]}"


def _task(compute: Callable, cfgs: list[Config], L: int, seed: int, methods: list[str]) -> list:
    """What one Ray task runs: `compute` (the sweep's `compute_points`, sent by reference to
    its module) on a worker, without progress bars."""
    return compute(cfgs, L, seed, methods, progress=False)


def run_on_ray(address: str, batches: list[list[Config]], L: int, seed: int | list[int],
               methods: list[str], compute: Callable,
               log: Callable[[str], None]) -> Iterator[tuple[int, list]]:
    """Yield (batch index, compute(batch, L, seed, methods) results) for every batch, each as
    its task ends (`compute` is `sweep.compute_points`: the sweep hands it over, so this module
    never imports the sweep). `seed`: the base seed of every batch, or a list of one per batch
    (a search's points).

    Each task asks for one CPU and, where the cluster has GPUs, `train.devices` of them (the
    tasks then run on GPU nodes only); without GPUs its JAX sees the CPU only. A task whose worker or node died more than
    MAX_RETRIES times gives each of its points the failure message. `log` takes the sweep's
    messages (connect's retries). Closing the generator disconnects from Ray (and stops a
    private local instance).
    """
    ray = connect(address, log)
    try:
        gpus = ray.cluster_resources().get("GPU", 0) > 0
        task = ray.remote(_task)
        pending = {}
        seeds = seed if isinstance(seed, list) else [seed] * len(batches)
        for n, cfgs in enumerate(batches):
            opts = ({"num_gpus": cfgs[0].train.devices} if gpus else
                    {"num_gpus": 0, "runtime_env": {"env_vars": {"JAX_PLATFORMS": "cpu"}}})
            ref = task.options(num_cpus=1, max_retries=MAX_RETRIES, **opts).remote(
                compute, cfgs, L, seeds[n], methods)
            pending[ref] = n
        while pending:
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            n = pending.pop(ref)
            try:
                results = ray.get(ref)
            except ray.exceptions.RayTaskError as e:
                raise e.as_instanceof_cause() from None    # a bug in the task: as in-process
            except ray.exceptions.RayError as e:         # worker or node lost beyond retries
                results = [f"Ray task failed: {_first_line(e)}"] * len(batches[n])
            yield n, results
    finally:
        ray.shutdown()


# --- a cluster of several nodes on this machine (tests, experiments/cluster_throughput.py) ----

def free_port(host: str) -> int:
    """A TCP port nobody listens on at `host` now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def session_processes(sessions: list[int]) -> list[int]:
    """Live processes (not zombies) whose session id is one of `sessions`."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[3]) in sessions:
            pids.append(int(stat.parent.name))
    return pids


def _stop(sessions: list[int]) -> None:
    """SIGTERM, then SIGKILL, every process of `sessions`."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in session_processes(sessions):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 5.0
        while session_processes(sessions) and time.monotonic() < deadline:
            time.sleep(0.1)


@contextlib.contextmanager
def local_cluster(nodes: int = 2, cpus: int = 1, env: dict | None = None):
    """A Ray head and nodes - 1 worker nodes on this machine, `cpus` CPUs each, started with
    `ray start` on the loopback addresses 127.0.0.2, 127.0.0.3, ... (Ray replaces 127.0.0.1 by
    the machine's network address; these it keeps). Yields (head address, Ray Client address
    ray://..., session ids); on exit every process of those sessions (each `ray start` runs in
    its own) is stopped.

    Token authentication is off (this cluster is loopback-only and short-lived): Ray turns it
    on for a head when ~/.ray/auth_token exists, which a local `ray.init()` writes, and a worker
    node then cannot join without the token. `env` adds to the nodes' (and so the workers')
    environment.
    """
    ray_cli = str(Path(sys.executable).with_name("ray"))
    temp = tempfile.mkdtemp(prefix="mvray", dir="/tmp")    # Ray's socket paths: <= 107 bytes
    port, client_port = free_port("127.0.0.2"), free_port("127.0.0.2")
    address = f"127.0.0.2:{port}"
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "1",
           "RAY_AUTH_MODE": "disabled", **(env or {})}
    common = ["--num-cpus", str(cpus), "--disable-usage-stats", "--temp-dir", temp]
    sessions: list[int] = []
    try:
        for n in range(nodes):
            node = (["--head", "--port", str(port), "--include-dashboard", "false",
                     "--ray-client-server-port", str(client_port)] if n == 0
                    else ["--address", address])
            proc = subprocess.Popen([ray_cli, "start", *node, "--node-ip-address",
                                     f"127.0.0.{2 + n}", *common], env=env,
                                    start_new_session=True, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True)
            sessions.append(proc.pid)
            log, _ = proc.communicate(timeout=300)
            if proc.returncode != 0:
                raise RuntimeError(f"ray start failed:\n{log}")
        yield address, f"ray://127.0.0.2:{client_port}", sessions
    finally:
        _stop(sessions)
        shutil.rmtree(temp, ignore_errors=True)

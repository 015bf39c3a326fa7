"""A sweep on a local 2-node Ray cluster against the same sweep in-process; a killed driver.

    python experiments/cluster_throughput.py [--out runs/cluster_throughput] [--seeds 4]
        [--batch-points 2] [--cpus 1] [--tiny]

Default grid: the `small` preset, data.mu = 0.05, 0.1, 0.2, 0.3 (4 points), single + ensemble.
Every sweep is a `multiview sweep` subprocess:
1. in-process (timed);
2. on a head and one worker node started on this machine with `ray start`, --cpus CPUs each
   (`multiview.cluster.local_cluster`; its start is timed apart), `--cluster ray --address HEAD`
   (timed);
3. the Ray sweep again, killed with SIGKILL as soon as one point file exists, then rerun
   in-process on its directory: the rerun must read back every point the killed driver wrote.
Prints and writes OUT/report.json: times, the throughput ratio (Ray / in-process, points per
second), and whether the Ray point files equal the in-process ones up to wall-time fields.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from multiview.cluster import local_cluster

GRID = ["--preset", "small", "--grid", "data.mu=0.05,0.1,0.2,0.3"]
TINY = ["--preset", "tiny", "--grid", "data.mu=0.05,0.1,0.2,0.3"]


def command(out: Path, args, *extra) -> list[str]:
    return [sys.executable, "-m", "multiview", "sweep", "--seeds", str(args.seeds),
            "--methods", "single,ensemble", "--batch-points", str(args.batch_points),
            "--no-progress", "--out", str(out), *(TINY if args.tiny else GRID), *extra]


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def untimed(obj):
    """A result without its wall-time (and so checksum) fields."""
    if isinstance(obj, dict):
        return {k: untimed(v) for k, v in obj.items() if k not in ("seconds", "checksum")}
    return [untimed(v) for v in obj] if isinstance(obj, list) else obj


def point_files(out: Path) -> dict:
    return {p.name: untimed(json.loads(p.read_text())) for p in out.glob("*.json")
            if p.name != "sweep.json"}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/cluster_throughput")
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--batch-points", type=int, default=2)
    ap.add_argument("--cpus", type=int, default=1, help="CPUs each Ray node offers")
    ap.add_argument("--tiny", action="store_true", help="the tiny preset (a self-check)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    here, there, killed = out / "in_process", out / "ray", out / "killed"
    env = {"JAX_PLATFORMS": "cpu"}
    os.environ.update(env)
    report = {"grid": TINY if args.tiny else GRID, "seeds": args.seeds,
              "batch_points": args.batch_points, "cpus_per_node": args.cpus,
              "cpu_count": os.cpu_count(), "load_before": os.getloadavg()[0]}
    report["in_process_s"] = timed(command(here, args))
    t0 = time.perf_counter()
    with local_cluster(nodes=2, cpus=args.cpus, env=env) as (address, _, _):
        report["cluster_start_s"] = time.perf_counter() - t0
        report["ray_s"] = timed(command(there, args, "--cluster", "ray", "--address", address))
        proc = subprocess.Popen(command(killed, args, "--cluster", "ray", "--address", address),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while not list(killed.glob("*.json")) and proc.poll() is None:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    on_disk = len(point_files(killed))
    report["killed_driver"] = {"points_on_disk": on_disk,
                               "finished_before_kill": (killed / "sweep.json").exists()}
    timed(command(killed, args))
    rerun = json.loads((killed / "sweep.json").read_text())["run"]
    report["killed_driver"] |= {"rerun_cached": rerun["cached"],
                                "rerun_computed": rerun["computed"]}
    points = len(point_files(here))
    report["points"] = points
    report["ratio_ray_over_in_process"] = report["in_process_s"] / report["ray_s"]
    report["ray_files_equal_in_process"] = point_files(there) == point_files(here)
    report["load_after"] = os.getloadavg()[0]
    (out / "report.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

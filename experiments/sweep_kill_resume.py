"""Kill a sweep with SIGKILL halfway, rerun it, and compare with an uninterrupted sweep.

    python experiments/sweep_kill_resume.py [--out runs/kill_resume] [--seeds 10]
        [--kill-after 8] [--batch-points 4] [--tiny]

Runs `multiview sweep` (default: the `small` preset, a 4 x 4 grid of data.mu x model.sigma0,
single + ensemble, 10 seeds) three times as subprocesses: once uninterrupted (timed); once
killed with SIGKILL as soon as --kill-after point files exist; once more on the killed
directory (timed; it must compute only the missing points). Prints and writes OUT/report.json:
times, points cached / computed by the rerun, and the largest difference of any accuracy
between the resumed and the uninterrupted sweep.
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

from multiview.results import write_json

GRID = ["--grid", "data.mu=0.02,0.05,0.1,0.2", "--grid", "model.sigma0=0.03,0.045,0.06,0.09"]
TINY_GRID = ["--grid", "data.mu=0.1,0.2,0.3", "--grid", "model.sigma0=0.03,0.06"]
QUANTITIES = ("train_acc", "test_acc", "test_acc_multi", "test_acc_single")


def command(out: Path, args) -> list[str]:
    return [sys.executable, "-m", "multiview", "sweep", "--preset",
            "tiny" if args.tiny else "small", "--seeds", str(args.seeds), "--methods",
            "single,ensemble", "--batch-points", str(args.batch_points), "--no-progress",
            "--out", str(out), *(TINY_GRID if args.tiny else GRID)]


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def points_done(out: Path) -> int:
    return len([p for p in out.glob("*.json") if p.name != "sweep.json"])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/kill_resume")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--kill-after", type=int, default=8, help="points finished before the kill")
    ap.add_argument("--batch-points", type=int, default=4)
    ap.add_argument("--tiny", action="store_true",
                    help="the `tiny` preset and a tiny grid (a self-check in a minute)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    whole, killed = out / "whole", out / "killed"
    for d in (whole, killed):
        shutil.rmtree(d, ignore_errors=True)
    env = dict(os.environ, JAX_PLATFORMS=os.environ.get("JAX_PLATFORMS", "cpu"))

    print("uninterrupted sweep ...", flush=True)
    t_whole = timed(command(whole, args))
    print(f"  {t_whole:.0f} s", flush=True)

    print(f"sweep killed with SIGKILL after {args.kill_after} points ...", flush=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen(command(killed, args), env=env, stdout=subprocess.DEVNULL)
    while points_done(killed) < args.kill_after and proc.poll() is None:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    t_killed = time.perf_counter() - t0
    done_at_kill = points_done(killed)
    print(f"  killed after {t_killed:.0f} s with {done_at_kill} points on disk", flush=True)

    print("rerun on the killed directory ...", flush=True)
    t_rerun = timed(command(killed, args))
    resumed = json.loads((killed / "sweep.json").read_text())
    reference = json.loads((whole / "sweep.json").read_text())
    diff = 0.0
    for a, b in zip(resumed["points"], reference["points"]):
        assert a["key"] == b["key"] and a["grid"] == b["grid"]
        for m in a["methods"]:
            for q in QUANTITIES:
                diff = max(diff, abs(a["methods"][m][q] - b["methods"][m][q]))
    report = {
        "command": " ".join(command(Path("OUT"), args)[1:]),
        "points": len(reference["points"]), "seeds": args.seeds,
        "uninterrupted_s": t_whole, "killed_after_s": t_killed, "points_at_kill": done_at_kill,
        "rerun_s": t_rerun, "rerun_cached": resumed["run"]["cached"],
        "rerun_computed": resumed["run"]["computed"],
        "max_abs_accuracy_difference": diff,
        "identical": resumed["points"] == reference["points"],
    }
    write_json(report, out, "report.json")
    print(json.dumps(report, indent=2))
    ok = report["rerun_computed"] == report["points"] - done_at_kill and diff <= 1e-9
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

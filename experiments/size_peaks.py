"""Measured peak RSS of `multiview check` against the size guard's estimate (docs/performance.md,
"Memory: the size guard against measured peaks").

Each case runs `multiview check --methods single,ensemble --seeds L` in its own process under
/usr/bin/time -v (nice'd), with --force-size so that the guard does not refuse it, and prints
one JSON line: the case, the peak RSS (bytes), the guard's estimate (bytes, multiview.size on
the same config), the wall time and the exit status.

    python experiments/size_peaks.py tiny:1000 tiny:100000 small:10000:patch >> out/peaks.jsonl

A case is PRESET:D[:ENGINE[:L]] (engine default auto, L default 2).
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time


def case(spec: str) -> dict:
    preset, d, *rest = spec.split(":")
    engine = rest[0] if rest else "auto"
    L = int(rest[1]) if len(rest) > 1 else 2
    return {"preset": preset, "d": int(float(d)), "engine": engine, "L": L}


def measure(c: dict) -> dict:
    from multiview.config import override, preset
    from multiview.size import engine_for, estimate_total

    cfg = override(preset(c["preset"]), {"data.d": c["d"], "train.engine": c["engine"]})
    with tempfile.TemporaryDirectory() as out:
        cmd = ["nice", "/usr/bin/time", "-v", sys.executable, "-m", "multiview", "check",
               "--preset", c["preset"], "--set", f"data.d={c['d']}",
               "--set", f"train.engine={c['engine']}", "--methods", "single,ensemble",
               "--seeds", str(c["L"]), "--no-progress", "--force-size", "--out", out]
        t0 = time.time()
        p = subprocess.run(cmd, capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": os.getcwd()})
        wall = time.time() - t0
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    return {**c, "engine_used": engine_for(cfg, c["L"]), "rc": p.returncode,
            "peak": int(peak.group(1)) * 1024 if peak else None,
            "estimate": estimate_total(cfg, c["L"]), "seconds": round(wall, 1),
            "load": os.getloadavg()[0]}


def table(path: str) -> str:
    """The markdown table of measured cases (JSON lines), the estimate recomputed with the
    current multiview.size."""
    from multiview.config import override, preset
    from multiview.size import estimate_total

    rows = ["| preset | d | engine | L | estimate | measured peak RSS | peak / estimate | wall |",
            "|---|---|---|---|---|---|---|---|"]
    for line in open(path):
        c = json.loads(line)
        cfg = override(preset(c["preset"]), {"data.d": c["d"], "train.engine": c["engine"]})
        est = estimate_total(cfg, c["L"])
        peak = c["peak"]
        rows.append(f"| {c['preset']} | {c['d']:.0e} | {c['engine_used']} | {c['L']} | "
                    f"{est / 1e9:.2f} GB | {peak / 1e9:.2f} GB | {peak / est:.2f} | "
                    f"{c['seconds']:.0f} s |" if c["rc"] == 0 and peak else
                    f"| {c['preset']} | {c['d']:.0e} | {c['engine_used']} | {c['L']} | "
                    f"{est / 1e9:.2f} GB | rc {c['rc']} | | |")
    return "\n".join(rows)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--table"]:
        print(table(sys.argv[2]))
        sys.exit()
    for spec in sys.argv[1:]:
        print(json.dumps(measure(case(spec))), flush=True)

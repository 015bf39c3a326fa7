"""Compare two result trees number by number (a refactor's check that behaviour is unchanged).

    python experiments/compare_results.py A B

A and B are result files (check.json, dose.json, sweep.json, stability.json, arrays .npz) or
folders of them (every *.json and *.npz below, paired by relative path). Every number, string
and array is compared exactly; only timing fields (seconds, stage_seconds, the sweep's
timings) differ between two runs and are skipped, with the checksum of a sweep point file (it
covers its seconds). Prints each difference; exits 1 if any.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

# timing fields, and a point file's checksum (it covers its seconds too)
TIMING = {"seconds", "stage_seconds", "wall_seconds", "elapsed", "started", "finished", "checksum"}


def diff(a, b, where: str = "") -> list[str]:
    """Every place where the trees a and b differ (timing fields skipped)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{where}/{k}: only in {'A' if k in a else 'B'}" for k in set(a) ^ set(b)
               if k not in TIMING]
        for k in sorted(set(a) & set(b) - TIMING):
            out += diff(a[k], b[k], f"{where}/{k}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} items vs {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in diff(x, y, f"{where}[{i}]")]
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        same = a.shape == b.shape and (np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
                                       if a.dtype.kind in "fc" else np.array_equal(a, b))
        return [] if same else [f"{where}: arrays differ"]
    return [] if a == b or (a != a and b != b) else [f"{where}: {a!r} vs {b!r}"]


def read(path: Path):
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    return json.loads(path.read_text())


def files(root: Path) -> dict[str, Path]:
    if root.is_file():
        return {root.name: root}
    return {str(p.relative_to(root)): p for p in sorted(root.rglob("*"))
            if p.suffix in (".json", ".npz") and p.is_file()}


def main(argv=None) -> int:
    a, b = (Path(p) for p in (argv or sys.argv[1:]))
    fa, fb = files(a), files(b)
    problems = [f"{n}: only in {'A' if n in fa else 'B'}" for n in sorted(set(fa) ^ set(fb))]
    for name in sorted(set(fa) & set(fb)):
        problems += [f"{name}{d}" for d in diff(read(fa[name]), read(fb[name]))]
    print("\n".join(problems) or f"no difference in {len(set(fa) & set(fb))} files")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

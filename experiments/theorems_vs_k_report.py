"""Print the k sweep's tables (docs/studies/20-theorems-vs-k.md) from a k-sweep folder, without
training: per objective a row per k (single-view accuracy with paired bootstrap intervals over
the base seeds, T3.teacher, the students' Λ/ϱ, each theorem's pass rate with its controls),
kd's ratchet, the smallest k at which each theorem holds on every base seed, T3.teacher's trend,
then every prediction pooled over the base seeds, a column per k.

    python experiments/theorems_vs_k_report.py [FOLDER]     (default figures/theorems_vs_k_runs)
"""

from __future__ import annotations

import sys

from multiview.results import load
from multiview.theorems_k import pooled_table, table, theorems_vs_k


def main(argv: list[str]) -> int:
    folder = argv[0] if argv else "figures/theorems_vs_k_runs"
    prepared = theorems_vs_k(load(folder, "ksweep").content)
    print(table(prepared))
    for objective in prepared["objectives"]:
        print(f"\n**{objective}: every prediction pooled over the base seeds** (mean, 95 % "
              "t-interval over the base seeds, verdict)\n")
        print(pooled_table(prepared, objective))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

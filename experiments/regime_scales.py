"""The paper's regime of scales at d = 1,000: the table of a study over a small grid and several
base seeds (evidence for docs/studies/12-towards-asymptotic.md).

The study itself is the library's: one `multiview sweep` per base seed, with the method
single_long among the methods (the single models' own initialisations trained on labels with no
stop for 5 x B steps, B = the step at which the last of them first reached 100 % train
accuracy; T1.stable and T1.stable_single are theory's predictions on it). Every record is
check.report's (the methods, the ensemble teacher's dark knowledge: the logit gap and the
softmax ratio at T = 1 and at the temperature the objective reads, the predictions), and the
sweep resumes point by point. This script only reads the sweeps back and prints, per grid
point, mean [min, max] over the seeds:

    for S in 0 1 2; do          # the study's settings and its [grid] in one --config file
      multiview sweep --config experiments/studies/asymptotic-screen2.toml --seeds 10 \\
        --seed $S --methods single,ensemble,single_long --out out/screen2/seed$S
    done
    python experiments/regime_scales.py out/screen2/seed*
"""

from __future__ import annotations

import sys

import numpy as np

from multiview import theory
from multiview.results import load, lookup


def _ids(prefix: str) -> tuple[str, ...]:
    """The predictions of a theorem on the single models (T1) or the ensemble (T2), as theory
    lists them; T1.stable* (on single_long) apart."""
    method = {"T1": "single", "T2": "ensemble"}[prefix]
    return tuple(p.id for p in theory.predictions(2)
                 if p.id.startswith(prefix + ".") and method in p.needs
                 and "single_long" not in p.needs)


def _method(name: str, quantity: str):
    return lambda point, run: lookup(point, f"methods/{name}/{quantity}".replace(".", "/"))


def _measured(pid: str):
    def read(point: dict, run: dict):
        return next((p["measured"] for p in point["predictions"] if p["id"] == pid), None)
    return read


def _teacher(kind: str, key: str):
    return lambda point, run: lookup(point, f"dark_knowledge/ensemble_teacher/{kind}/{key}")


COLUMNS = [  # (header, read(point of sweep.json, run block of its point file), format)
    ("sgl train", _method("single", "train_acc"), ".3f"),
    ("sgl 1view", _method("single", "test_acc_single"), ".3f"),
    ("sgl one", _method("single", "views.one"), ".2f"),
    ("T1", lambda p, r: theory.held(p, _ids("T1")), "holds"),
    ("ens 1view", _method("ensemble", "test_acc_single"), ".3f"),
    ("T2", lambda p, r: theory.held(p, _ids("T2")), "holds"),
    ("long steps", lambda p, r: lookup(r, "steps_run/single_long"), ".0f"),
    ("long one", _method("single_long", "views.one"), ".2f"),
    ("long 1view", _method("single_long", "test_acc_single"), ".3f"),
    ("T1.stable", lambda p, r: theory.held(p, ("T1.stable", "T1.stable_single")), "holds"),
    ("kd", _method("kd", "test_acc_single"), ".3f"),
    ("kd_twin", _method("kd_twin", "test_acc_single"), ".3f"),
    ("alone", lambda p, r: lookup(p, "labels_alone/test_acc_single"), ".3f"),
    ("kd_hard", _method("kd_hard", "test_acc_single"), ".3f"),
    ("self_d", _method("self_distill", "test_acc_single"), ".3f"),
    ("T3.teach", _measured("T3.teacher"), ".2f"),
    ("Λ/ϱ sgl", _method("single", "lam_over_varrho"), ".2f"),
    ("gap", _teacher("logit", "gap"), ".2f"),
    ("ratio T1", _teacher("softmax", "ratio"), ".2f"),
    ("ratio T", _teacher("softmax_T", "ratio"), ".2f"),
    ("s", lambda p, r: r.get("seconds"), ".0f"),
]


def rows(folders) -> dict[str, list[tuple[int, dict, dict]]]:
    """grid point (as text) -> [(base seed, point of sweep.json, run block of its point file)]
    over the sweep folders."""
    out: dict[str, list] = {}
    for folder in folders:
        sweep = load(folder, "sweep").content
        for p in sweep["points"]:
            run = load(f"{folder}/{p['file']}", "point").content["result"].get("run") or {}
            key = ", ".join(f"{f}={v}" for f, v in p["grid"].items()) or "base"
            out.setdefault(key, []).append((sweep["seed"], p, run))
    return out


def format_table(points: dict) -> str:
    """One block per grid point: each column's mean [min, max] over its seeds (and each seed's
    value); predictions as 'holds in N of M'."""
    lines = []
    for key, recs in points.items():
        lines.append(f"point {key}  seeds {sorted(s for s, _, _ in recs)}")
        for head, read, fmt in COLUMNS:
            vals = [read(p, r) for _, p, r in recs]
            if fmt == "holds":
                known = [v for v in vals if v is not None]
                text = f"holds in {sum(map(bool, known))} of {len(vals)}" + (
                    f" ({len(vals) - len(known)} n/a)" if len(known) < len(vals) else "")
            else:
                num = [float(v) for v in vals if v is not None]
                each = " ".join(format(v, fmt) for v in num)
                text = (f"{np.mean(num):{fmt}} [{min(num):{fmt}}, {max(num):{fmt}}]   ({each})"
                        if num else "n/a")
            lines.append(f"  {head:<11} {text}")
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    print(format_table(rows(sys.argv[1:])))

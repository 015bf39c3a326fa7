"""The paper's CIFAR test accuracies (docs/cifar.md, 10 seeds) and the side-by-side table.

Two tables in the paper: the first gives single / ensemble / "10 runs of KD" (mean ± std) /
ensemble over KD models; the second single / ensemble / sum trained / KD / self-distill.
Percentages as printed; std is None where the paper gives one number.
"""

from __future__ import annotations

# arch -> dataset -> method -> (mean %, std % or None)
PAPER = {
    "wrn-28-2": {
        "cifar10": {"single": (95.22, 0.14), "ensemble": (96.33, None), "kd": (96.16, None),
                    "self_distill": (95.78, None), "sum_trained": (95.02, None),
                    "kd_runs": (95.89, 0.07), "ensemble_kd": (96.21, None)},
        "cifar100": {"single": (76.38, 0.23), "ensemble": (81.13, None), "kd": (79.03, None),
                     "self_distill": (78.12, None), "sum_trained": (73.18, None),
                     "kd_runs": (78.94, 0.21), "ensemble_kd": (80.35, None)},
    },
    "wrn-34-1": {
        "cifar10": {"single": (93.65, 0.19), "ensemble": (94.97, None), "kd": (94.59, None),
                    "self_distill": (94.21, None), "sum_trained": (93.12, None),
                    "kd_runs": (94.37, 0.13), "ensemble_kd": (94.88, None)},
        "cifar100": {"single": (71.66, 0.43), "ensemble": (76.85, None), "kd": (73.74, None),
                     "self_distill": (73.14, None), "sum_trained": (68.88, None),
                     "kd_runs": (73.57, 0.34), "ensemble_kd": (75.60, None)},
    },
    "wrn-34-2": {
        "cifar10": {"single": (95.45, 0.14), "ensemble": (96.55, None), "kd": (96.08, None),
                    "self_distill": (95.86, None), "sum_trained": (95.00, None),
                    "kd_runs": (96.00, 0.12), "ensemble_kd": (96.42, None)},
        "cifar100": {"single": (77.01, 0.35), "ensemble": (81.48, None), "kd": (79.23, None),
                     "self_distill": (79.07, None), "sum_trained": (72.99, None),
                     "kd_runs": (79.43, 0.23), "ensemble_kd": (81.56, None)},
    },
    "wrn-16-10": {
        "cifar10": {"single": (96.08, 0.16), "ensemble": (96.80, None), "kd": (96.81, None),
                    "self_distill": (96.62, None), "sum_trained": (95.88, None),
                    "kd_runs": (96.73, 0.07), "ensemble_kd": (96.76, None)},
        "cifar100": {"single": (80.03, 0.17), "ensemble": (83.18, None), "kd": (82.67, None),
                     "self_distill": (82.25, None), "sum_trained": (80.53, None),
                     "kd_runs": (82.51, 0.14), "ensemble_kd": (83.36, None)},
    },
    "wrn-22-10": {
        "cifar10": {"single": (96.44, 0.09), "ensemble": (97.12, None), "kd": (97.09, None),
                    "self_distill": (97.05, None), "sum_trained": (96.41, None),
                    "kd_runs": (97.01, 0.09), "ensemble_kd": (97.09, None)},
        "cifar100": {"single": (81.17, 0.23), "ensemble": (84.33, None), "kd": (83.71, None),
                     "self_distill": (83.26, None), "sum_trained": (81.59, None),
                     "kd_runs": (83.54, 0.19), "ensemble_kd": (84.27, None)},
    },
    "wrn-28-10": {
        "cifar10": {"single": (96.70, 0.21), "ensemble": (97.20, None), "kd": (97.22, None),
                    "self_distill": (97.13, None), "sum_trained": (96.46, None),
                    "kd_runs": (97.06, 0.08), "ensemble_kd": (97.24, None)},
        "cifar100": {"single": (81.51, 0.16), "ensemble": (84.69, None), "kd": (83.81, None),
                     "self_distill": (83.56, None), "sum_trained": (81.83, None),
                     "kd_runs": (83.75, 0.16), "ensemble_kd": (84.87, None)},
    },
}

# Our method name -> the paper's column it is compared with. Our `kd` is L students, each
# reported as mean ± std, i.e. the first table's "10 runs of KD".
COLUMNS = (("single", "single", "single"), ("ensemble", "ensemble", "ensemble"),
           ("kd", "kd_runs", "KD runs"), ("ensemble_kd", "ensemble_kd", "ens. of KD"),
           ("self_distill", "self_distill", "self-distill"),
           ("sum_trained", "sum_trained", "sum trained"))


def paper_row(arch: str, dataset: str) -> dict | None:
    """The paper's numbers for this network and data set, or None (e.g. the fast net)."""
    return PAPER.get(arch, {}).get(dataset)


def _cell(mean: float, std: float | None) -> str:
    return f"{mean:.2f}" if std is None else f"{mean:.2f}±{std:.2f}"


def format_table(result: dict) -> str:
    """Our train/test accuracies (%) per method in the paper's column order, with the
    paper's row for the same network under it when there is one."""
    methods = result["methods"]
    cols = [c for c in COLUMNS if c[0] in methods]
    cfg = result["config"]
    title = (f"{cfg['dataset']} {cfg['arch']}: {len(result['seeds'])} seeds, "
             f"{cfg['train']['epochs']} epochs (accuracy %)")
    rows = [["", *[c[2] for c in cols]]]
    for split in ("test", "train"):
        row = [f"ours {split}"]
        for name, _, _ in cols:
            m = methods[name]
            std = m["std"][f"{split}_acc"] if m["n_models"] > 1 else None
            row.append(_cell(100 * m[f"{split}_acc"], None if std is None else 100 * std))
        rows.append(row)
    paper = result.get("paper")
    if paper:
        extra = f" (KD from ensemble: {_cell(*paper['kd'])})" if "kd" in methods else ""
        rows.append(["paper test", *[_cell(*paper[c[1]]) for c in cols]])
        title += f"; paper: 10 seeds{extra}"
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [title] + ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(lines)

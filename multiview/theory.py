"""What the theorems predict (docs/model.md section 5), as bands checked against measured results.

The theorems are asymptotic in k. At the small k a CPU affords, we check the finite-k
versions below (the ordering and rough sizes); docs/regime.md explains each band. The
asymptotic statements are kept in `asymptotic` for the record.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Prediction:
    id: str
    source: str
    method: str
    quantity: str
    expected: tuple[float, float]
    measure: Callable[[dict], float]     # methods dict -> measured value
    needs: tuple[str, ...]               # methods that must have been run
    asymptotic: str = ""


def _get(method: str, quantity: str):
    def f(methods):
        m = methods[method]
        if quantity.startswith("views."):
            return m["views"][quantity.split(".", 1)[1]]
        return m[quantity]
    return f


def _diff(a: str, b: str, quantity: str):
    return lambda methods: methods[a][quantity] - methods[b][quantity]


def predictions(L: int) -> list[Prediction]:
    """The finite-k prediction bands for an ensemble of L members."""
    out = [
        Prediction("T1.train", "Theorem 1", "single", "train_acc", (0.99, 1.0),
                   _get("single", "train_acc"), ("single",), "train accuracy 100%"),
        Prediction("T1.multi", "Theorem 1", "single", "test_acc_multi", (0.97, 1.0),
                   _get("single", "test_acc_multi"), ("single",),
                   "≈100% on multi-view test points"),
        Prediction("T1.single", "Theorem 1", "single", "test_acc_single", (0.35, 0.70),
                   _get("single", "test_acc_single"), ("single",),
                   "test error in [0.49μ, 0.51μ]: ≈50% on single-view test points"),
        Prediction("T1.lottery", "Theorem 1", "single", "views.one", (0.7, 1.0),
                   _get("single", "views.one"), ("single",),
                   "each class learns exactly one view (the lottery winner)"),
        Prediction("T2.train", "Theorem 2", "ensemble", "train_acc", (0.99, 1.0),
                   _get("ensemble", "train_acc"), ("ensemble",), "train accuracy 100%"),
        Prediction("T2.multi", "Theorem 2", "ensemble", "test_acc_multi", (0.97, 1.0),
                   _get("ensemble", "test_acc_multi"), ("ensemble",), "≈100% on multi-view"),
        Prediction("T2.single", "Theorem 2", "ensemble", "test_acc_single",
                   (min(0.90, 1 - 2.0 ** -L), 1.0), _get("ensemble", "test_acc_single"),
                   ("ensemble",), "test error ≤ 0.01μ; single-view error ≈ 2^-L"),
        Prediction("T2.gain", "Theorem 2", "ensemble", "test_acc_single - single",
                   (0.15, 1.0), _diff("ensemble", "single", "test_acc_single"),
                   ("single", "ensemble"), "ensemble gain ≈ μ/2 of test accuracy"),
        Prediction("T3.train", "Theorem 3", "kd", "train_acc", (0.99, 1.0),
                   _get("kd", "train_acc"), ("kd",), "train accuracy 100%"),
        Prediction("T3.single", "Theorem 3", "kd", "test_acc_single", (0.85, 1.0),
                   _get("kd", "test_acc_single"), ("kd",),
                   "test error ≤ 0.01μ: the ensemble's gain distilled into one model"),
        Prediction("T3.views", "Theorem 3", "kd", "views.both", (0.7, 1.0),
                   _get("kd", "views.both"), ("kd",), "the student learns both views"),
        Prediction("T3.ensemble_kd", "Theorem 3", "ensemble_kd",
                   "test_acc_single - ensemble", (-1.0, 0.03),
                   _diff("ensemble_kd", "ensemble", "test_acc_single"), ("ensemble_kd", "ensemble"),
                   "an ensemble of distilled students adds little over the ensemble"),
        Prediction("T3.hard", "Theorem 3", "kd_hard", "test_acc_single - single", (-1.0, 0.05),
                   _diff("kd_hard", "single", "test_acc_single"), ("kd_hard", "single"),
                   "hard labels carry no dark knowledge: no gain over single"),
        Prediction("T4.gain", "Theorem 4", "self_distill", "test_acc_single - single",
                   (0.10, 1.0), _diff("self_distill", "single", "test_acc_single"),
                   ("self_distill", "single"), "test error ≤ 0.26μ (≈ μ/4)"),
        Prediction("T4.below", "Theorem 4", "self_distill", "ensemble - test_acc_single",
                   (0.0, 1.0), _diff("ensemble", "self_distill", "test_acc_single"),
                   ("self_distill", "ensemble"), "self-distillation stays below the ensemble"),
        Prediction("T4.twin", "Theorem 4 (mechanism)", "self_distill_twin",
                   "test_acc_single - single", (-1.0, 0.05),
                   _diff("self_distill_twin", "single", "test_acc_single"),
                   ("self_distill_twin", "single"),
                   "control: a teacher with the student's own initialisation knows no view the "
                   "student would not learn itself, so it should give no gain"),
        Prediction("S.sum", "Training the sum", "sum_trained", "test_acc_single - single",
                   (-0.10, 0.10), _diff("sum_trained", "single", "test_acc_single"),
                   ("sum_trained", "single"), "no ensemble gain: error stays ≈ μ/2"),
    ]
    for fam in ("rf", "ntk"):
        s_, e_, k_, m_ = (f"{fam}_single", f"{fam}_ensemble", f"{fam}_kd", f"{fam}_sum")
        out += [
            Prediction(f"F.{fam}.ensemble", "Fixed features", e_, "test_acc - single",
                       (1e-9, 1.0), _diff(e_, s_, "test_acc"), (s_, e_),
                       "ensembling helps fixed-feature models"),
            Prediction(f"F.{fam}.sum", "Fixed features", m_, "test_acc - single", (1e-9, 1.0),
                       _diff(m_, s_, "test_acc"), (s_, m_),
                       "training the sum helps as much as ensembling"),
            Prediction(f"F.{fam}.kd", "Fixed features", k_, "recovered fraction of gain",
                       (-10.0, 0.5), _recovered(s_, e_, k_), (s_, e_, k_),
                       "distillation into one model of the original size does not help"),
        ]
    return out


def _recovered(single: str, ensemble: str, student: str):
    """(student - single) / (ensemble - single) of test accuracy; nan when there is no gain."""
    def f(methods):
        gain = methods[ensemble]["test_acc"] - methods[single]["test_acc"]
        if gain <= 0:
            return float("nan")
        return (methods[student]["test_acc"] - methods[single]["test_acc"]) / gain
    return f


def check(methods: dict, L: int) -> list[dict]:
    """Measured vs expected for every prediction whose methods were run. A prediction whose
    value is undefined (an accuracy over an empty slice, a fraction of a zero gain) has
    measured None and holds None: it could not be evaluated, it did not fail."""
    out = []
    for p in predictions(L):
        if not all(n in methods for n in p.needs):
            continue
        try:
            value = float(p.measure(methods))
        except TypeError:            # an undefined (None) accuracy among the inputs
            value = float("nan")
        lo, hi = p.expected
        finite = math.isfinite(value)
        out.append({"id": p.id, "source": p.source, "method": p.method, "quantity": p.quantity,
                    "measured": value if finite else None, "expected": [lo, hi],
                    "holds": bool(lo <= value <= hi) if finite else None,
                    "asymptotic": p.asymptotic})
    return out

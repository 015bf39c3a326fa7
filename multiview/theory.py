"""What the theorems predict (SPEC section 4), as bands checked against measured results.

The theorems are asymptotic in k. At the small k a CPU affords, we check the finite-k
versions below (the ordering and rough sizes); docs/regime.md explains each band. The
asymptotic statements are kept in `asymptotic` for the record.
"""

from __future__ import annotations

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
    return [
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
    ]


def check(methods: dict, L: int) -> list[dict]:
    """Measured vs expected for every prediction whose methods were run (SPEC section 6)."""
    out = []
    for p in predictions(L):
        if not all(n in methods for n in p.needs):
            continue
        value = float(p.measure(methods))
        lo, hi = p.expected
        out.append({"id": p.id, "source": p.source, "method": p.method, "quantity": p.quantity,
                    "measured": value, "expected": [lo, hi],
                    "holds": bool(lo <= value <= hi), "asymptotic": p.asymptotic})
    return out

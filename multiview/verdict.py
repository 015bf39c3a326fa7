"""Statistical verdicts of the predictions (docs/learners.md, "Verdicts"): a 95 % interval of
each measured value and where it lies against the band.

- `holds`: the interval lies inside the band; `fails`: it lies entirely outside;
  `inconclusive`: it crosses an edge. A band's end at the quantity's own limit (`limits`)
  bounds nothing and is never crossed.
- The interval of one run is over its members (`member_interval`): the jackknife over member
  indices, paired across the methods a prediction reads (member l of every method left out
  together), its pseudo-values given to `metrics.confidence_interval` (Student's t for at most
  20 members, the BCa bootstrap above: the `ci_kind` of the method records). For a mean or a
  paired difference the pseudo-values are the per-member values or differences themselves,
  so the interval is exactly the t-interval (bootstrap) of those; for a share or a ratio of
  gains it is the jackknife's linearisation of it.
- Across several runs of one configuration (base seeds) `pool` gives the interval over the
  runs' measured values.
- A quantity with no interval (one model, e.g. an ensemble, on one base seed; a median of
  Λ/ϱ, which the records keep only whole) is decided by its point estimate, as `holds` is.
  A quantity whose leave-one-out value is undefined for some member (a share of a gain that
  vanishes without that member) is `inconclusive`.
"""

from __future__ import annotations

import math

import numpy as np

from .metrics import ci_kind, confidence_interval

HOLDS, FAILS, INCONCLUSIVE = "holds", "fails", "inconclusive"
VERDICTS = (HOLDS, FAILS, INCONCLUSIVE)


def limits(quantity: str) -> tuple[float, float]:
    """What a quantity can take; a band's end there bounds nothing: accuracies and view
    shares [0, 1], their differences [-1, 1], ratios of Λ/ϱ [0, ∞), shares of a gain ±10
    (theory.py's stand-in for no bound)."""
    if "Λ" in quantity:
        return 0.0, math.inf
    if " - " in quantity:
        return -1.0, 1.0
    if quantity.endswith("acc") or "acc_" in quantity or quantity.startswith("views."):
        return 0.0, 1.0
    return -10.0, 10.0


def decide(measured, ci, band, quantity: str, undefined: bool = False) -> str | None:
    """The verdict of a measured value (None: not evaluable) with its interval `ci` ([lo, hi]
    or None) against `band` (lo, hi). No interval: the point estimate decides; `undefined`
    (an interval that exists for the run but not for this value): inconclusive."""
    if measured is None or not math.isfinite(measured):
        return None
    lo, hi = band
    if undefined:
        return INCONCLUSIVE
    if ci is None:
        return HOLDS if lo <= measured <= hi else FAILS
    a, b = ci
    lim_lo, lim_hi = limits(quantity)
    above_lo = lo <= lim_lo or a >= lo
    below_hi = hi >= lim_hi or b <= hi
    if above_lo and below_hi:
        return HOLDS
    if b < lo or a > hi:
        return FAILS
    return INCONCLUSIVE


# --- over the members of one run --------------------------------------------------------------

class _NotPerMember(Exception):
    """The prediction read a quantity that the records keep only for all members together."""


class _Means(dict):
    """A method record rebuilt from its per-member values (without one member): reading a
    quantity with no per-member values raises _NotPerMember instead of giving the full value."""

    def __missing__(self, key):
        raise _NotPerMember(key)

    def get(self, key, default=None):
        return self[key]


def members(record: dict) -> int:
    """How many members a record's per-model values hold (1 for an ensemble: one model)."""
    per = record.get("per_model") or {}
    return len(per.get("train_acc") or [])


def _mean(values) -> float:
    return float("nan") if any(v is None for v in values) else float(np.mean(values))


def without(record: dict, i: int) -> _Means:
    """The record's per-member quantities averaged over every member but member i; views
    shares from its `per_model` "views.none" / "views.one" / "views.both"."""
    out, views = _Means(), _Means()
    for q, values in (record.get("per_model") or {}).items():
        rest = [v for j, v in enumerate(values) if j != i]
        if q.startswith("views."):
            views[q.split(".", 1)[1]] = _mean(rest)
        else:
            out[q] = _mean(rest)
    if views:
        out["views"] = views
    return out


def member_interval(measure, records: dict, names, value: float):
    """(ci, n, undefined) of `measure` (methods dict -> value) over the members of the
    methods `names` read from `records`, by the paired jackknife (module docstring); `value`
    is measure(records). ci None when there is no interval: a method of one model, methods
    with different numbers of members, or a quantity kept only for all members together;
    undefined True when a leave-one-out value is not finite."""
    counts = {members(records[n]) for n in names}
    if len(counts) != 1 or min(counts) < 2 or not math.isfinite(value):
        return None, None, False
    n = counts.pop()
    loo = []
    for i in range(n):
        try:
            v = float(measure({name: without(records[name], i) for name in names}))
        except _NotPerMember:
            return None, None, False
        except (TypeError, KeyError, ZeroDivisionError):
            v = float("nan")
        loo.append(v)
    if not all(math.isfinite(v) for v in loo):
        return None, n, True
    pseudo = [n * value - (n - 1) * v for v in loo]
    return confidence_interval(pseudo), n, False


# --- over base seeds ----------------------------------------------------------------------------

def pool(results: list[dict]) -> list[dict]:
    """The predictions of several runs of one configuration (check.json results of different
    base seeds) pooled: each prediction that all of them evaluated, its `measured` the mean of
    theirs (`per_seed`), its interval over them (`metrics.confidence_interval`: t for at most
    20 base seeds, bootstrap above) and the verdict of that interval."""
    if not results:
        return []
    out = []
    for p in results[0]["predictions"]:
        found = [next((q for q in r["predictions"] if q["id"] == p["id"]), None) for r in results]
        if any(q is None for q in found):
            continue
        values = [q["measured"] for q in found]
        defined = [v for v in values if v is not None]
        measured = float(np.mean(defined)) if len(defined) == len(values) else None
        ci = confidence_interval(defined) if measured is not None else None
        lo, hi = p["expected"]
        out.append({**{k: p[k] for k in ("id", "source", "theorem", "method", "quantity",
                                          "expected", "control") if k in p},
                    "measured": measured, "per_seed": values,
                    "holds": None if measured is None else bool(lo <= measured <= hi),
                    "ci": ci, "ci_over": "base seeds" if ci is not None else None,
                    "ci_kind": ci_kind(len(defined)) if ci is not None else None,
                    "n": len(defined),
                    "verdict": decide(measured, ci, (lo, hi), p.get("quantity", ""))})
    return out

"""Accuracies by slice and which views each model learned (docs/model.md sections 1 and 4)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .data import Dataset


def std_over_models(values) -> float:
    """The `std` of both arms' records: the sample standard deviation over models (ddof = 1);
    0 for one model (an ensemble, a sum), nan where a value is (an undefined accuracy)."""
    v = np.asarray(values, dtype=float).ravel()
    if v.size < 2:
        return float(v.sum() * 0.0)
    return float(np.std(v, ddof=1))


def slice_accuracies(logits, ds: Dataset) -> dict[str, np.ndarray]:
    """Accuracy overall, on multi-view and on single-view points; logits [..., n, k] -> [...]."""
    correct = np.asarray(jnp.argmax(logits, -1) == ds.y, dtype=float)
    single = np.asarray(ds.single)

    def mean(mask):
        return correct[..., mask].mean(-1) if mask.any() else np.full(correct.shape[:-1], np.nan)

    return {"acc": correct.mean(-1), "multi": mean(~single), "single": mean(single)}


def learned_threshold(model) -> float:
    """Λ at or above which a view counts as learned: model.learned_factor * model.varrho."""
    return model.learned_factor * model.varrho


def views_learned(lam, threshold: float) -> np.ndarray:
    """Number of views learned (0, 1, 2) per (model, class) from Λ[..., k, 2]."""
    return (np.asarray(lam) >= threshold).sum(-1)


def views_fractions(counts: np.ndarray) -> dict[str, float]:
    """Fraction of (model, class) pairs with none / one / both views learned."""
    c = np.asarray(counts).ravel()
    return {"none": float((c == 0).mean()), "one": float((c == 1).mean()),
            "both": float((c == 2).mean())}


# --- uncertainty over seeds (check.json's "ci"; README) --------------------------------------

CI_LEVEL = 0.95
# at most this many per-model values: Student's t-interval; more: scipy.stats.bootstrap (BCa).
# Below ~20 values the bootstrap under-covers (its resamples see too few distinct values) and
# the t-interval is the better-calibrated choice; above, the bootstrap drops t's normality
# assumption, which matters for accuracies piled up near 0 or 1.
T_INTERVAL_MAX_N = 20
BOOTSTRAP_RESAMPLES = 9999


def ci_kind(n: int) -> str:
    """Which interval `confidence_interval` uses for n values: "t" or "bootstrap"."""
    return "t" if n <= T_INTERVAL_MAX_N else "bootstrap"


def confidence_interval(values, level: float = CI_LEVEL) -> list[float] | None:
    """The `level` confidence interval [lo, hi] of the mean of `values` (None entries and NaN
    dropped): mean ± t_{(1+level)/2, n-1}·s/√n (s the sample std, ddof=1) for n <= 20, the BCa
    bootstrap interval of the mean (9999 resamples, a fixed seed) above; None for fewer than 2
    values. Equal values give [v, v]."""
    from scipy import stats

    x = np.array([v for v in values if v is not None], dtype=float)
    x = x[~np.isnan(x)]
    n = len(x)
    if n < 2:
        return None
    if np.ptp(x) == 0:
        return [float(x[0]), float(x[0])]
    if ci_kind(n) == "t":
        half = stats.t.ppf((1 + level) / 2, n - 1) * x.std(ddof=1) / np.sqrt(n)
        return [float(x.mean() - half), float(x.mean() + half)]
    res = stats.bootstrap((x,), np.mean, confidence_level=level, n_resamples=BOOTSTRAP_RESAMPLES,
                          method="BCa", random_state=np.random.default_rng(0))
    lo, hi = res.confidence_interval
    if not (np.isfinite(lo) and np.isfinite(hi)):    # BCa undefined (one odd value): percentile
        res = stats.bootstrap((x,), np.mean, confidence_level=level,
                              n_resamples=BOOTSTRAP_RESAMPLES, method="percentile",
                              random_state=np.random.default_rng(0))
        lo, hi = res.confidence_interval
    return [float(lo), float(hi)]

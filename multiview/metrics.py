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

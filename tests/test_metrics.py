"""Confidence intervals over seeds (metrics.confidence_interval; check.json's `ci`)."""

import numpy as np
import pytest

from multiview.check import _record
from multiview.metrics import T_INTERVAL_MAX_N, ci_kind, confidence_interval


def test_small_samples_get_the_hand_computed_t_interval():
    # mean 0.65, s = sqrt(0.05 / 3) = 0.129099, t_{0.975, 3} = 3.182446:
    # half width 3.182446 * 0.129099 / 2 = 0.205426
    lo, hi = confidence_interval([0.5, 0.6, 0.7, 0.8])
    assert lo == pytest.approx(0.65 - 0.205426, abs=1e-6)
    assert hi == pytest.approx(0.65 + 0.205426, abs=1e-6)
    assert ci_kind(4) == "t" and ci_kind(T_INTERVAL_MAX_N) == "t"


def test_undefined_values_are_dropped_and_fewer_than_two_give_none():
    assert confidence_interval([0.5, None, 0.7, float("nan")]) == pytest.approx(
        [0.6 - 12.706205 * 0.141421 / np.sqrt(2), 0.6 + 12.706205 * 0.141421 / np.sqrt(2)],
        abs=1e-5)
    assert confidence_interval([0.5]) is None and confidence_interval([None, None]) is None
    assert confidence_interval([0.8, 0.8, 0.8]) == [0.8, 0.8]


def test_large_samples_get_a_bootstrap_interval_around_the_mean():
    x = np.random.default_rng(1).uniform(0.4, 0.9, 50)
    lo, hi = confidence_interval(list(x))
    assert ci_kind(50) == "bootstrap"
    assert lo < x.mean() < hi
    # close to the normal interval for a sample this size
    half = 1.96 * x.std(ddof=1) / np.sqrt(50)
    assert hi - lo == pytest.approx(2 * half, rel=0.2)
    assert confidence_interval(list(x)) == [lo, hi]             # a fixed seed: reproducible


def test_a_record_carries_an_interval_per_accuracy_and_its_kind(tiny):
    import jax.numpy as jnp

    from multiview.data import make_problem
    from multiview.keys import data_key

    p = make_problem(data_key(0), tiny.data)
    rng = np.random.default_rng(0)
    members = jnp.asarray(rng.normal(size=(3, p.test.x.shape[0], 3)))
    train = jnp.asarray(rng.normal(size=(3, p.train.x.shape[0], 3)))
    rec = _record(train, members, p.train, p.test, None)
    assert set(rec["ci"]) == {"train_acc", "test_acc", "test_acc_multi", "test_acc_single"}
    assert rec["ci_kind"] == "t"
    assert rec["ci"]["test_acc"] == pytest.approx(confidence_interval(rec["per_model"]["test_acc"]))
    ens = _record(train.mean(0), members.mean(0), p.train, p.test, None)
    assert ens["ci"] == dict.fromkeys(rec["ci"]) and ens["ci_kind"] == "t"

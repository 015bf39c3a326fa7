"""ratchet.py: the theorem update's saturation, per-step change and Λ growth against the
predicted η′·|gap|·E[z]/k, by hand and on a tiny run."""

import numpy as np
import pytest

from multiview.ratchet import (gap_and_z, measured_growth, predicted_growth, saturated_share)


def test_the_issues_numbers():
    # small: η′ = η·eta_ratio = 5 × 20, gap −0.47, E[z] 1.43, k = 5, ϱ = 3: ≈ 4.5ϱ per step
    assert predicted_growth(-0.47, 1.43, 5, 100.0, 3.0) == pytest.approx(4.48, abs=0.01)
    # a student that can reach its teacher (gap >= 0) has no ratchet
    assert predicted_growth(0.1, 1.43, 5, 100.0, 3.0) == 0.0


def test_shares_gap_and_z_by_hand():
    tau = 0.5                                   # τ²F >= 1 from F = 4
    F = np.array([[4.0, 0.0], [5.0, 3.9]])
    assert saturated_share(F, tau) == 0.5
    y = np.array([0, 1])
    Z = np.zeros((2, 2, 2))
    Z[0, 0] = (1.0, 2.0)
    Z[1, 1] = (1.5, 0.1)
    G = np.array([[8.0, 0.0], [0.0, 0.0]])      # point 0: τ²G = (2, 0): logit^τ = softmax((1, 0)/τ)
    p0 = np.exp(2.0) / (np.exp(2.0) + 1.0)
    gap, ez = gap_and_z(G, y, Z, tau)
    assert gap == pytest.approx(0.5 - (p0 + 0.5) / 2)
    assert ez == pytest.approx((1.0 + 2.0 + 1.5 + 0.1) / 4)
    # per-member teachers [L, n, k] average over the members too
    gap2, _ = gap_and_z(np.stack([G, np.zeros_like(G)]), y, Z, tau)
    assert gap2 == pytest.approx(0.5 - (p0 + 0.5 + 0.5 + 0.5) / 4)


def test_measured_growth_is_the_second_halfs_slope_in_varrho():
    t = np.arange(11.0)
    lam = np.where(t < 5, 0.0, 3.0 * (t - 5))[:, None, None, None] * np.ones((1, 2, 3, 2))
    assert measured_growth(lam, varrho=1.5) == pytest.approx(3.0 / 1.5)
    assert measured_growth(lam[:1], 1.0) is None


def test_saturated_students_grow_at_the_predicted_rate_on_a_tiny_run():
    """The theorem update's students saturate and their Λ then grows at η′·|gap|·E[z]/k per
    step. A factor 2 either way: the formula takes 1/k for a label's share of the points
    (60 points, 3 classes: each share within ±30 % of 1/3), the product of the mean gap and
    the mean Z for the mean of their product, and full activation over the whole second half.
    Label training alone (kd_hard) gives no such growth."""
    from multiview.check import run_check
    from multiview.config import override, preset

    cfg = override(preset("tiny"), {"distill.steps": 150})
    r = run_check(cfg, 2, 0, ["single", "kd", "kd_hard"], progress=False)
    st = r["diagnostics"]["ratchet"]["students"]
    kd = st["kd"]
    assert kd["saturated"] and kd["saturated_share"] >= 0.9
    assert kd["teacher_saturated_share"] < 0.5 and kd["gap"] < 0
    assert 0.5 <= kd["lam_growth"] / kd["lam_growth_predicted"] <= 2.0
    assert kd["max_step_dF"] > 0
    assert not st["kd_hard"]["saturated"] and st["kd_hard"]["lam_growth_predicted"] is None
    assert st["kd_hard"]["lam_growth"] < 0.05 * kd["lam_growth"]


def test_other_objectives_have_no_ratchet_block():
    from multiview.config import override, preset
    from multiview.ratchet import diagnose
    from multiview.recipe import run_of

    for objective in ("hinton", "logits", "theorem_projected"):
        cfg = override(preset("tiny"), {"distill.objective": objective})
        assert diagnose(run_of(cfg, 0, 2, None, {})) is None

"""The paper's scales as a function of k (docs/model.md section 6), and the constants it leaves
free as the fields of the config's `scale` section.

With `scale.rule = "paper"` the config's scaled fields follow `paper_scales(k, q, scale)`
whenever the config is built or overridden (config.preset / config.override), except the fields
set explicitly (`--set`, a --config file, a sweep's grid), which `scale.pinned` records and
which always win. `scale.rule = "none"` (every preset but `scaled`) leaves the config as it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class ScaleConfig:
    """The scaling rule and the constants the paper leaves free (docs/model.md section 6)."""

    rule: str = "none"              # "paper": the scaled fields follow paper_scales; "none": not
    sigma0_c: float = 1.0           # σ0 = sigma0_c · k^(−1/(q−2))       (paper: σ0^(q−2) = 1/k)
    varrho_c: float = 1.0           # ϱ = varrho_c / log(k)^varrho_pow   (paper: 1/polylog k)
    varrho_pow: float = 1.0
    lr_c: float = 1.0               # η = lr_c · k^(−lr_pow)              (paper: η ≤ 1/poly k)
    lr_pow: float = 0.0
    eta_ratio_c: float = 20.0       # η′/η = eta_ratio_c · k^eta_ratio_pow (paper: η′ > η, free)
    eta_ratio_pow: float = 0.0
    steps_c: float = 1000.0         # T = ⌈steps_c · k^steps_pow / η⌉     (paper: poly(k)/η)
    steps_pow: float = 1.0
    pinned: tuple[str, ...] = ()    # the fields set explicitly: the rule never changes them


RULES = ("none", "paper")


def paper_scales(k: int, q: int, c: ScaleConfig, C_p: int = 1) -> dict[str, float | int]:
    """The paper's scales at k classes and smoothed-ReLU power q, as {"section.field": value}:

    data.N_train = 40k, data.P = 2k·C_p (each of the 2k views in C_p patches of its own),
    model.varrho ϱ = varrho_c / log(k)^varrho_pow, model.sigma0 σ0 = sigma0_c·k^(−1/(q−2))
    (σ0^(q−2) = 1/k up to the constant sigma0_c^(q−2); sigma0_c = 1 is the formula as the
    paper writes it), distill.tau τ = 1/log²k, train.lr η = lr_c·k^(−lr_pow),
    distill.eta_ratio η′/η = eta_ratio_c·k^eta_ratio_pow, and the budgets
    train.steps = distill.steps = T = ⌈steps_c·k^steps_pow/η⌉ (log is the natural log)."""
    log_k = math.log(k)
    lr = c.lr_c * k ** (-c.lr_pow)
    steps = max(1, math.ceil(c.steps_c * k ** c.steps_pow / lr))
    return {"data.N_train": 40 * k, "data.P": 2 * k * C_p,
            "model.varrho": c.varrho_c / log_k ** c.varrho_pow,
            "model.sigma0": c.sigma0_c * k ** (-1.0 / (q - 2)),
            "distill.tau": 1.0 / log_k ** 2,
            "train.lr": lr, "distill.eta_ratio": c.eta_ratio_c * k ** c.eta_ratio_pow,
            "train.steps": steps, "distill.steps": steps}


# the fields paper_scales sets (those not pinned follow k and q under rule "paper")
SCALED_FIELDS = tuple(paper_scales(3, 3, ScaleConfig()))

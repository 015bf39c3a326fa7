"""Shared tiny configurations: every test trains in well under a second."""

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import pytest  # noqa: E402

from multiview.config import override, preset  # noqa: E402

TINY = {
    "data.k": 3, "data.d": 40, "data.N_train": 60, "data.N_test": 200, "data.sigma_p": 0.02,
    "model.m": 2, "model.varrho": 1.0, "model.sigma0": 0.05,
    "train.steps": 60, "train.chunk": 20, "train.lr": 2.0,
}


@pytest.fixture
def tiny():
    return override(preset("small"), TINY)


def tiny_sets() -> list[str]:
    """The tiny config as CLI --set arguments."""
    out = []
    for k, v in TINY.items():
        out += ["--set", f"{k}={v}"]
    return out

"""Shared tiny configurations: every test trains in well under a second."""

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import pytest  # noqa: E402

from multiview.config import PRESETS, preset  # noqa: E402

# the `tiny` preset as flat SECTION.FIELD overrides (for tests that vary it)
TINY = {f"{s}.{n}": v for s, fields in PRESETS["tiny"].items() for n, v in fields.items()}


@pytest.fixture
def tiny():
    return preset("tiny")


def tiny_sets() -> list[str]:
    """The tiny config as CLI arguments."""
    return ["--preset", "tiny"]

"""Shared tiny configurations: every test trains in well under a second."""

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("JAX_PLATFORMS", "cpu")
# `multiview` programs the tests start keep compiled programs in one cache for the session
# (never in the user's own cache directory)
_CACHE = tempfile.mkdtemp(prefix="multiview-test-xla-")
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)
os.environ.setdefault("MULTIVIEW_COMPILE_CACHE", _CACHE)

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

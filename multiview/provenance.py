"""Where a result came from: the "provenance" block of every result file.

    {"multiview": "0.1.0", "git": {"commit": "32f58ae...", "dirty": false} or null,
     "python": "3.12.3", "packages": {"jax": ..., "jaxlib": ..., "numpy": ..., "optax": ...},
     "backend": "cpu", "devices": ["TFRT_CPU_0"], "command": "multiview check --preset tiny",
     "time_utc": "2026-12-06T20:15:03+00:00"}

`git` is null when the package does not run from a git checkout (or git is absent); `dirty`
says whether tracked files differ from the commit. `command` is the command line, or the API
call (`invoked`). `backend` and `devices` are null when jax was not loaded (nothing was
trained). It is metadata: no number of a result depends on it, and readers ignore it.
"""

from __future__ import annotations

import contextvars
import functools
import platform
import shlex
import subprocess
import sys
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

KEY = "provenance"
PACKAGES = ("jax", "jaxlib", "numpy", "optax")

_CALL: contextvars.ContextVar[str | None] = contextvars.ContextVar("multiview_call",
                                                                   default=None)


@contextmanager
def invoked(text: str):
    """Record `text` (the command line, or the API call) as the command of the results
    written inside the block."""
    token = _CALL.set(text)
    try:
        yield
    finally:
        _CALL.reset(token)


def command() -> str:
    """The command line or API call of the results written now (`invoked`; else sys.argv)."""
    return _CALL.get() or shlex.join(sys.argv)


@functools.lru_cache(maxsize=None)
def git() -> dict | None:
    """{"commit", "dirty"} of the checkout the package runs from; None outside one, or
    without git (once per process)."""
    root = Path(__file__).resolve().parents[1]
    if not (root / ".git").exists():
        return None
    try:
        def run(*args):
            return subprocess.run(["git", "-C", str(root), *args], capture_output=True,
                                  text=True, timeout=10, check=True).stdout.strip()
        commit = run("rev-parse", "HEAD")
        dirty = bool(run("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": dirty}


def _package_version() -> str:
    """multiview.__version__ (the package is loaded: this module is part of it)."""
    return sys.modules[__name__.rpartition(".")[0]].__version__


def _version(name: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def block() -> dict:
    """The provenance of a result written now (module docstring)."""
    backend = devices = None
    if "jax" in sys.modules:          # a run trained: its backend (loading jax just for this
        import jax                    # would cost a second)

        backend, devices = jax.default_backend(), [str(d) for d in jax.devices()]
    return {"multiview": _package_version(), "git": git(), "python": platform.python_version(),
            "packages": {p: _version(p) for p in PACKAGES}, "backend": backend,
            "devices": devices, "command": command(),
            "time_utc": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def pdf_metadata() -> dict:
    """The provenance a figure's PDF carries (its metadata's Subject and Keywords)."""
    g = git()
    commit = "no git checkout" if g is None else g["commit"] + (" (dirty)" if g["dirty"] else "")
    return {"Subject": f"multiview {_package_version()}, commit {commit}",
            "Keywords": f"multiview commit={commit}; {command()}"}

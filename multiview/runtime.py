"""The process-wide settings a run needs from jax: 64-bit mode for float64 configs, and the
persistent compilation cache. Library functions, used by the command line and the Python API
alike (docs/api.md).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import sys
from pathlib import Path

# --- precision ------------------------------------------------------------------------------


@contextlib.contextmanager
def precision(cfg):
    """Run float64 configs with jax's 64-bit mode on (restored afterwards), before any array
    of the run is made; without it jax silently computes in float32."""
    if cfg.train.dtype != "float64":
        yield
        return
    import jax

    before = jax.config.read("jax_enable_x64")
    jax.config.update("jax_enable_x64", True)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", before)


def in_precision(fn):
    """Decorate a library entry whose first argument is a Config (or a list of Configs of one
    dtype): the whole call runs under `precision` of that config."""
    name = next(iter(inspect.signature(fn).parameters))

    @functools.wraps(fn)
    def run(*args, **kw):
        cfg = args[0] if args else kw[name]
        with precision(cfg[0] if isinstance(cfg, (list, tuple)) else cfg):
            return fn(*args, **kw)
    return run


# --- the persistent compilation cache (docs/performance.md) ---------------------------------
# compiled programs are kept on disk and reused by later runs, so a second `check` or `sweep`
# skips most of its ~30 s of compilation

COMPILE_CACHE_ENV = "MULTIVIEW_COMPILE_CACHE"
COMPILE_CACHE_MAX_BYTES = 2 * 1024**3
MIN_COMPILE_SECONDS = 0.1


def compile_cache_dir(env=os.environ) -> Path | None:
    """Where this process keeps compiled programs: $MULTIVIEW_COMPILE_CACHE, or ("" / unset)
    $XDG_CACHE_HOME/multiview/xla-<machine> (default ~/.cache); None when the variable is
    0/off/no/none. <machine> is a digest of the processor (architecture and feature flags):
    XLA:CPU programs are built for the host's instruction set, so a home directory shared by
    different machines keeps one cache per kind of machine."""
    import hashlib
    import platform

    where = env.get(COMPILE_CACHE_ENV, "").strip()
    if where.lower() in ("0", "off", "no", "none"):
        return None
    if where:
        return Path(where).expanduser()
    flags = ""
    with contextlib.suppress(OSError):
        flags = next((line for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith(("flags", "Features"))), "")
    machine = hashlib.sha256(f"{platform.machine()} {flags}".encode()).hexdigest()[:12]
    base = Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "multiview" / f"xla-{machine}"


def use_compile_cache(env=os.environ) -> Path | None:
    """Point JAX's persistent compilation cache at compile_cache_dir() through JAX's own
    environment variables (read when jax is imported, so this runs before that); a setting the
    user made in those variables wins. Programs that compiled in under 0.1 s are not kept.
    Returns the cache directory, or None (switched off, or jax imported already: see
    `enable_compile_cache` for a running process)."""
    path = compile_cache_dir(env)
    if path is None or "jax" in sys.modules:
        return None
    env.setdefault("JAX_COMPILATION_CACHE_DIR", str(path))
    env.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", str(MIN_COMPILE_SECONDS))
    env.setdefault("JAX_COMPILATION_CACHE_MAX_SIZE", str(COMPILE_CACHE_MAX_BYTES))
    return Path(env["JAX_COMPILATION_CACHE_DIR"])


def enable_compile_cache(env=os.environ) -> Path | None:
    """The cache of `use_compile_cache` for this process, whether or not jax is imported (a
    notebook kernel): before the import through the environment, after it through jax.config
    (the cache is re-initialised, so programs compiled from now on are kept and read). A cache
    directory the user gave jax (JAX_COMPILATION_CACHE_DIR or jax.config) wins. Returns the
    directory in use, or None when MULTIVIEW_COMPILE_CACHE switches it off."""
    if "jax" not in sys.modules:
        return use_compile_cache(env)
    if compile_cache_dir(env) is None:
        return None
    import jax
    from jax.experimental.compilation_cache import compilation_cache

    current = jax.config.jax_compilation_cache_dir
    if current:
        return Path(current)
    jax.config.update("jax_compilation_cache_dir", str(compile_cache_dir(env)))
    # the user's own settings of jax's variables win here too (jax read them at its import)
    if "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" not in env:
        jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_SECONDS)
    if "JAX_COMPILATION_CACHE_MAX_SIZE" not in env:
        jax.config.update("jax_compilation_cache_max_size", COMPILE_CACHE_MAX_BYTES)
    compilation_cache.reset_cache()
    return compile_cache_dir(env)

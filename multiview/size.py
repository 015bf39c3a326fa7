"""The size guard: estimate a run's memory before allocating it, refuse what the machine lacks.

The estimate counts the arrays that dominate: the training and test inputs [n, P, d] (and the
generator's temporaries while one of them, or a piece of a large test set, is drawn), the
pre-activations of the largest training batch (L members x n_train x P x k*m, forward and
backward; with the patch engine also its Gram matrix [N·P, N·P]) and the test logits of all
members. It is a lower bound of the peak to within a small factor, not a measurement.
Setting MULTIVIEW_FORCE_SIZE=1 (or the CLI's --force-size) skips the refusal.
"""

from __future__ import annotations

import os
from pathlib import Path

from .config import Config
from .errors import ConfigError

FORCE_ENV = "MULTIVIEW_FORCE_SIZE"

# a test set larger than CHUNKED_ABOVE bytes (float32) is drawn in pieces of at most CHUNK_BYTES
# into one host array (data.generate_chunked), so that the generator's temporaries stay small
# (d = 10^5: the test set of `small` is 8 GB); its draws are then other draws of the same
# distribution
CHUNK_BYTES = 1 << 30
CHUNKED_ABOVE = 4 * CHUNK_BYTES

# the patch engine's G and per-member pre-activation work must fit in this many bytes
PATCH_BYTES = 1 << 30


def patch_bytes(cfg: Config, L: int, m: int | None = None) -> int:
    """Bytes of the patch engine's G [N·P, N·P] and the members' H0, H, ∂L/∂H and C
    [L, k·m, N·P] (multiview/patch.py)."""
    b = 8 if cfg.train.dtype == "float64" else 4
    NP = cfg.data.n_train * cfg.data.n_patches
    return b * (NP * NP + 5 * L * cfg.data.k * (m or cfg.model.m) * NP)


def engine_for(cfg: Config, L: int, m: int | None = None) -> str:
    """The network's engine for L members of m neurons per class: train.engine, or with "auto"
    the patch engine where it is exact (gd, momentum), cheaper (d > N·P) and its arrays fit in
    PATCH_BYTES; else "direct". At d = ∞ always "limit" (multiview/limit.py)."""
    if cfg.data.limit:                 # d = ∞: the only engine that can run it
        return "limit"
    if cfg.train.engine != "auto":
        return cfg.train.engine
    NP = cfg.data.n_train * cfg.data.n_patches
    linear = cfg.train.optimizer in ("gd", "momentum")
    fits = patch_bytes(cfg, L, m) <= PATCH_BYTES
    return "patch" if linear and cfg.data.d > NP and fits else "direct"


def estimate(cfg: Config, L: int) -> dict[str, tuple[int, str | tuple[str, ...]]]:
    """{term: (bytes, the field or fields that set it)} for a run of L members on `cfg` (L = 0: data
    only)."""
    D, M = cfg.data, cfg.model
    if D.limit:
        return limit_estimate(cfg, L)
    b = 8 if cfg.train.dtype == "float64" else 4
    P, d, km = D.n_patches, D.d, D.k * M.m
    train_x, test_x = D.n_train * P * d * b, D.N_test * P * d * b
    # a large test set is drawn in pieces (data.generate_chunked): its temporaries are a piece's
    test_piece = test_x if D.N_test * P * d * 4 <= CHUNKED_ABOVE else CHUNK_BYTES * b // 4
    out = {"training set": (train_x, "data.N_train"), "test set": (test_x, "data.N_test"),
           "generator temporaries": (2 * max(train_x, test_piece),
                                     "data.N_train" if train_x >= test_piece else "data.N_test")}
    if L:
        widest = max(L, cfg.train.sum_models * L) if L > 1 else 1
        batch = 3 * widest * D.n_train * P * km * b
        if engine_for(cfg, widest) == "patch":       # + G = X Xᵀ (multiview/patch.py)
            batch += (D.n_train * P) ** 2 * b
        out["training batch"] = (batch, ("--seeds", "data.N_train"))
        out["test logits"] = (2 * L * D.N_test * P * km * b, ("--seeds", "data.N_test"))
    return out


# the limit engine's live arrays per member, in units of its coordinates [k·m, 2k + N·P]
# (parameters, gradient, update, momentum) and of its pre-activations [k·m, N·P] (H, the
# smoothed ReLU and its derivative, ∂L/∂H); fitted to measured peaks in docs/performance.md
LIMIT_STATE_COPIES = 4
LIMIT_PREACT_COPIES = 4
# the test logits are evaluated 1,000 points at a time (learners.logits_of)
EVAL_BATCH = 1000
# what a process holds besides the arrays counted (jax, XLA's CPU client, the compiled
# programs): a d = ∞ check at k = 5 peaked at 600 MB with about 60 MB of arrays
# (docs/performance.md); counted at every moment of a d = ∞ estimate, where the arrays alone
# would be far below the peak at small k
LIMIT_RUNTIME_BYTES = 550 * 10**6


def limit_estimate(cfg: Config, L: int) -> dict[str, tuple[int, str | tuple[str, ...]]]:
    """`estimate` at d = ∞ (multiview/limit.py): patches are 2k + 2 numbers; a member holds
    its coordinates along the views and the noise of every training and test patch; every
    term but the data sets includes the process's runtime (LIMIT_RUNTIME_BYTES)."""
    D, M = cfg.data, cfg.model
    b = 8 if cfg.train.dtype == "float64" else 4
    P, km, V = D.n_patches, D.k * M.m, 2 * D.k
    NP, test_NP = D.n_train * P, D.N_test * P
    train_x, test_x = NP * (V + 2) * b, test_NP * (V + 2) * b
    run = LIMIT_RUNTIME_BYTES
    out = {"training set": (train_x, "data.N_train"), "test set": (test_x, "data.N_test"),
           "generator temporaries": (run + 4 * max(train_x, test_x),
                                     "data.N_train" if train_x >= test_x else "data.N_test")}
    if L:
        widest = max(L, cfg.train.sum_models * L) if L > 1 else 1
        state = widest * km * (LIMIT_STATE_COPIES * (V + NP) + LIMIT_PREACT_COPIES * NP) * b
        # every member's frozen coordinates along the test noise (the test noise's draws)
        test_noise = widest * km * (V + NP + test_NP) * b
        out["training batch"] = (run + state + test_noise, ("--seeds", "data.N_train"))
        out["test logits"] = (run + test_noise + 3 * widest * km * min(EVAL_BATCH, D.N_test)
                              * P * b, ("--seeds", "data.N_test"))
    return out


def available() -> tuple[int, str]:
    """(bytes, where read) of memory this process may still use: the smaller of the kernel's
    MemAvailable and a cgroup limit."""
    found: list[tuple[int, str]] = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append((int(line.split()[1]) * 1024, "MemAvailable in /proc/meminfo"))
    except (OSError, ValueError, IndexError):
        pass
    for limit, used in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                        ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                         "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            text = Path(limit).read_text().strip()
            if text != "max" and int(text) < 1 << 60:
                found.append((int(text) - int(Path(used).read_text()), f"the cgroup limit {limit}"))
        except (OSError, ValueError):
            pass
    if not found:
        try:
            found.append((os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"),
                          "os.sysconf(SC_AVPHYS_PAGES)"))
        except (OSError, ValueError):
            return 1 << 62, "unknown"
    return min(found)


def _gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e8 else f"{n / 1e6:.0f} MB"


def guard(cfg: Config, L: int, force: bool = False, field_flags: dict | None = None) -> int:
    """Raise ConfigError when the estimate exceeds the available memory (unless `force` or
    MULTIVIEW_FORCE_SIZE=1); return the estimate in bytes. `field_flags` renames fields to
    the flag that set them (e.g. {"data.N_train": "--n"})."""
    terms = estimate(cfg, L)
    resident = ("training set", "test set")         # held throughout; the rest one at a time
    total = sum(terms[t][0] for t in resident) + max(v for t, (v, _) in terms.items()
                                                     if t not in resident)
    if force or os.environ.get(FORCE_ENV, "") not in ("", "0"):
        return total
    have, where = available()
    if total <= have:
        return total
    term, (_, names) = max(terms.items(), key=lambda kv: kv[1][0])
    names = names if isinstance(names, tuple) else (names,)
    values = {"data.N_train": cfg.data.n_train, "data.N_test": cfg.data.N_test, "--seeds": L}
    shown = ", ".join((field_flags or {}).get(n, n) for n in names)
    value = ", ".join(str(values[n]) for n in names)
    verb = "values {} are" if len(names) > 1 else "value {} is"
    raise ConfigError(
        f"{shown}: {verb.format(value)} not allowed on this machine; the run needs about "
        f"{_gb(total)} (largest: the {term}, {_gb(terms[term][0])}) but {_gb(have)} is "
        f"available ({where}); allowed: smaller values, or --force-size ({FORCE_ENV}=1) to "
        "try anyway")

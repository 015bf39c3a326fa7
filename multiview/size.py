"""The size guard: estimate a run's memory before allocating it, refuse what the machine lacks.

The estimate counts the process itself and the arrays that dominate: the training and test
inputs [n, P, d] (and the generator's temporaries while one of them, or one piece of a large
test set, is drawn), one training step of the widest batch by its engine (`ENGINE_BYTES`: the
direct engine's pre-activations, L members x n_train x P x k*m forward and backward; the patch
engine's Gram matrix [N·P, N·P] and coefficient arrays) and the evaluation of the test set in
batches. Measured peaks (RSS) are within 1.5x of it from d = 10^3 to 10^6 on `tiny` and
`small` (docs/performance.md). The memory available is the smallest of MemAvailable and what
every cgroup limit over the process leaves (its own cgroup and its ancestors, v2 and v1: a
SLURM job's or a container's limit). Setting MULTIVIEW_FORCE_SIZE=1 (or the CLI's
--force-size) skips the refusal.
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


# the process before any array: Python, numpy, jax, XLA's runtime and compiled programs
# (measured: 0.55-0.6 GB peak RSS for `check --preset tiny` at d = 1000, docs/performance.md)
PROCESS_BYTES = 600 * 10**6
# the logits of a set are computed in batches of this many samples (learners.logits_of), each
# batch a copy of its rows on the device
EVAL_BATCH = 1000


def _direct_batch(cfg: Config, L: int) -> int:
    """The direct engine's step: pre-activations of L members on every training patch,
    forward and backward (3 x [L, N, P, k·m])."""
    D = cfg.data
    b = 8 if cfg.train.dtype == "float64" else 4
    return 3 * L * D.n_train * D.n_patches * D.k * cfg.model.m * b


# the memory of one training step of L members, per engine (learners.fit_network picks the
# engine, size.engine_for with "auto"); an engine added to train.engine adds its entry here
ENGINE_BYTES = {
    "direct": _direct_batch,
    "patch": lambda cfg, L: patch_bytes(cfg, L),        # G [N·P, N·P] and [L, k·m, N·P] x 5
}


def test_piece(cfg: Config) -> int:
    """Samples in one piece of the test set as data.generate_chunked draws it (all of them
    when it is drawn whole)."""
    D = cfg.data
    if D.N_test * D.n_patches * D.d * 4 <= CHUNKED_ABOVE:
        return D.N_test
    return min(D.N_test, max(1, CHUNK_BYTES // (D.n_patches * D.d * 4)))


def _held(train_x: int, test_x: int, drawn: int, copies: int) -> dict:
    """The terms of every estimate: the process, the training and test sets, and the
    generator's temporaries (`copies` of the larger of the training set and the largest piece
    of the test set drawn at once)."""
    return {"process": (PROCESS_BYTES, "data.N_test"),
            "training set": (train_x, "data.N_train"), "test set": (test_x, "data.N_test"),
            "generator temporaries": (copies * max(train_x, drawn),
                                      "data.N_train" if train_x >= drawn else "data.N_test")}


def _widest(cfg: Config, L: int) -> int:
    """Members of the widest stage: the sum's L·sum_models (one member alone: 1)."""
    return max(L, cfg.train.sum_models * L) if L > 1 else 1


def estimate(cfg: Config, L: int) -> dict[str, tuple[int, str | tuple[str, ...]]]:
    """{term: (bytes, the field or fields that set it)} for a run of L members on `cfg` (L = 0: data
    only). The process, the training and the test set are held throughout; the other terms
    are alive one at a time (`estimate_total`)."""
    D = cfg.data
    if D.limit:
        return limit_estimate(cfg, L)
    b = 8 if cfg.train.dtype == "float64" else 4
    sample = D.n_patches * D.d * b
    train_x, test_x = D.n_train * sample, D.N_test * sample
    # a set is drawn with its Gaussian noise and the sum as temporaries of its size; a large
    # test set in pieces (data.generate_chunked), whose temporaries are a piece's
    piece = test_piece(cfg) * sample
    out = _held(train_x, test_x, piece, 2)
    if L:
        widest = _widest(cfg, L)
        engine = engine_for(cfg, widest)
        out["training batch"] = (ENGINE_BYTES[engine](cfg, widest), ("--seeds", "data.N_train"))
        km = D.k * cfg.model.m
        rows = min(D.N_test, EVAL_BATCH)
        # a batch of test rows copied to the device and once more as the matmul's operand,
        # and with more than one batch the next batch's copy while the last one computes (jax
        # dispatches asynchronously); measured: tiny at d = 10^6 (one batch) peaks at the
        # process, both sets and 2 copies of its test set, small at d = 6·10^4 (two batches)
        # at 3 copies of a batch; then the batch's pre-activations and all the logits
        copies = 2 if D.N_test <= rows else 3
        out["test evaluation"] = (copies * rows * sample + 2 * L * rows * D.n_patches * km * b
                                  + L * D.N_test * D.k * b, ("--seeds", "data.N_test"))
    return out


# the limit engine's live arrays per member, in units of its coordinates [k·m, 2k + N·P]
# (parameters, gradient, update, momentum) and of its pre-activations [k·m, N·P] (H, the
# smoothed ReLU and its derivative, ∂L/∂H); fitted to measured peaks in docs/performance.md
LIMIT_STATE_COPIES = 4
LIMIT_PREACT_COPIES = 4


def limit_estimate(cfg: Config, L: int) -> dict[str, tuple[int, str | tuple[str, ...]]]:
    """`estimate` at d = ∞ (multiview/limit.py): patches are 2k + 2 numbers; a member holds
    its coordinates along the views and the noise of every training and test patch."""
    D, M = cfg.data, cfg.model
    b = 8 if cfg.train.dtype == "float64" else 4
    P, km, V = D.n_patches, D.k * M.m, 2 * D.k
    NP, test_NP = D.n_train * P, D.N_test * P
    train_x, test_x = NP * (V + 2) * b, test_NP * (V + 2) * b
    out = _held(train_x, test_x, test_x, 4)
    if L:
        widest = _widest(cfg, L)
        state = widest * km * (LIMIT_STATE_COPIES * (V + NP) + LIMIT_PREACT_COPIES * NP) * b
        # every member's frozen coordinates along the test noise (the test noise's draws)
        test_noise = widest * km * (V + NP + test_NP) * b
        out["training batch"] = (state + test_noise, ("--seeds", "data.N_train"))
        out["test evaluation"] = (test_noise + 3 * widest * km * min(EVAL_BATCH, D.N_test)
                                  * P * b, ("--seeds", "data.N_test"))
    return out


def estimate_total(cfg: Config, L: int) -> int:
    """The estimated peak in bytes: the sets held throughout plus the largest other term (they
    are alive one at a time)."""
    terms = estimate(cfg, L)
    resident = ("process", "training set", "test set")
    return sum(terms[t][0] for t in resident) + max(v for t, (v, _) in terms.items()
                                                    if t not in resident)


# the files of a cgroup's memory limit and usage: cgroup v2, then v1
CGROUP_FILES = {"v2": ("memory.max", "memory.current"),
                "v1": ("memory.limit_in_bytes", "memory.usage_in_bytes")}


def _read_int(path: Path) -> int | None:
    """The integer in a cgroup file; None for "max", a missing file or an unlimited value."""
    try:
        text = path.read_text().strip()
        value = int(text)
    except (OSError, ValueError):
        return None
    return value if value < 1 << 60 else None


def cgroup_limits(root: str | Path = "/") -> list[tuple[int, int, str]]:
    """(limit, usage, the file read) of every memory limit over this process: its own cgroup
    and every ancestor up to the hierarchy's root, in cgroup v2 (`memory.max`) and v1
    (`memory.limit_in_bytes`), as /proc/self/cgroup names them under ROOT/sys/fs/cgroup (a
    SLURM job or a container limits a cgroup below the root). `root` is "/" but for tests."""
    root = Path(root)
    try:
        lines = (root / "proc/self/cgroup").read_text().splitlines()
    except OSError:
        lines = []
    mount, found = root / "sys/fs/cgroup", []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hid, controllers, path = parts
        if hid == "0" and not controllers:          # the v2 (unified) hierarchy
            base = mount if (mount / "cgroup.controllers").exists() else mount / "unified"
            limit_file, usage_file = CGROUP_FILES["v2"]
        elif "memory" in controllers.split(","):
            base = mount / "memory"
            limit_file, usage_file = CGROUP_FILES["v1"]
        else:
            continue
        rel = Path(path.strip().lstrip("/"))
        # a cgroup namespace shows our own cgroup as the mount's root: ancestors not mounted
        # are skipped (the walk reads what is there)
        for folder in [rel, *rel.parents]:
            limit = _read_int(base / folder / limit_file)
            if limit is not None:
                found.append((limit, _read_int(base / folder / usage_file) or 0,
                              str(base / folder / limit_file)))
    return found


def available(root: str | Path = "/") -> tuple[int, str]:
    """(bytes, where read) of memory this process may still use: the smallest of the kernel's
    MemAvailable and what every cgroup limit over the process leaves (`cgroup_limits`)."""
    root = Path(root)
    found: list[tuple[int, str]] = []
    try:
        for line in (root / "proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append((int(line.split()[1]) * 1024, "MemAvailable in /proc/meminfo"))
    except (OSError, ValueError, IndexError):
        pass
    for limit, used, where in cgroup_limits(root):
        found.append((max(0, limit - used), f"the cgroup limit of {_gb(limit)} in {where}, "
                                            f"{_gb(used)} of it in use"))
    if not found:
        try:
            found.append((os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"),
                          "os.sysconf(SC_AVPHYS_PAGES)"))
        except (OSError, ValueError):
            return 1 << 62, "unknown"
    return min(found)


# the time estimate of a run's training: a step's FLOPs at this rate plus a fixed cost per step
# (measured by `multiview bench` on the 2-core CPU of docs/performance.md: 145 GFLOP/s for the
# direct engine at L = 10; the rate here is lower for a shared machine)
FLOP_RATE = 1e11
STEP_SECONDS = 2e-4
SLOW_SECONDS = 600          # above this, the estimate is printed before the run starts


def step_seconds(cfg: Config, L: int) -> float:
    """Estimated seconds of one training step of L single models by their engine: 4·N·P·d·k·m
    FLOPs per member for the direct engine (forward and weight gradient), 4·k·m·(N·P)² for
    the patch engine (its G products), 4·N·P·(2k + 1)·k·m for the limit engine."""
    D = cfg.data
    NP, km = D.n_train * D.n_patches, D.k * cfg.model.m
    engine = engine_for(cfg, L)
    # the limit engine's step: H = a·cᵀ + b over the 2k views and its transpose
    width = {"patch": NP, "limit": 2 * D.k + 1}.get(engine, D.d)
    flops = 4 * L * km * NP * width
    return flops / FLOP_RATE + STEP_SECONDS


def duration(cfg: Config, L: int) -> str | None:
    """A line estimating the single models' training (train.steps steps at most) when it
    exceeds SLOW_SECONDS; None otherwise. Students, sums and fixed-feature learners add to it."""
    per = step_seconds(cfg, L)
    total = cfg.train.steps * per
    if total <= SLOW_SECONDS:
        return None
    h = total / 3600
    when = f"{h:.1f} h" if h < 48 else f"{h / 24:.0f} days"
    return (f"the {L} single models alone need up to about {when} ({cfg.train.steps} steps "
            f"x {per * 1e3:.3g} ms, estimated at {FLOP_RATE / 1e9:.0f} GFLOP/s, a 2-core CPU's "
            "rate; train.steps sets it)")


def _gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e8 else f"{n / 1e6:.0f} MB"


def guard(cfg: Config, L: int, force: bool = False, field_flags: dict | None = None) -> int:
    """Raise ConfigError when the estimate exceeds the available memory (unless `force` or
    MULTIVIEW_FORCE_SIZE=1); return the estimate in bytes. `field_flags` renames fields to
    the flag that set them (e.g. {"data.N_train": "--n"})."""
    terms = estimate(cfg, L)
    total = estimate_total(cfg, L)
    if force or os.environ.get(FORCE_ENV, "") not in ("", "0"):
        return total
    have, where = available()
    if total <= have:
        return total
    term, (_, names) = max(((t, v) for t, v in terms.items() if t != "process"),
                           key=lambda kv: kv[1][0])
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

"""Frozen configuration for the CIFAR pipeline, with validation (ConfigError names the field).

Defaults are the standard WRN recipe (docs/cifar.md; ours, the paper's recipe was not
recovered): SGD + Nesterov 0.9, lr 0.1, weight decay 5e-4, batch 128, 200 epochs, cosine
decay, 4-px reflect pad + random crop + horizontal flip.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from multiview.errors import ConfigError, need, subset  # noqa: F401  (one error type for both arms)
from multiview.methods import METHODS as TABLE

# the stages of the synthetic arm's method table (multiview/methods.py) the CIFAR arm trains,
# and the table's methods read off them, in the table's order
STAGES = ("single", "kd", "self_distill", "sum")
METHODS = tuple(name for name, (stage, _) in TABLE.items() if stage in STAGES)
DATASETS = ("cifar10", "cifar100")
SCHEDULES = ("cosine", "step")
PAD_MODES = ("reflect", "zero")


@dataclass(frozen=True)
class CifarTrainConfig:
    """How one model (or a vmapped ensemble of them) is trained."""

    epochs: int = 200
    batch_size: int = 128
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    schedule: str = "cosine"  # cosine decay to 0, or step: x0.2 at 30%, 60%, 80% of epochs
    augment: bool = True
    pad: int = 4
    pad_mode: str = "reflect"
    bf16: bool = False  # compute dtype bfloat16 (parameters and optimizer stay float32)
    kd_temperature: float = 4.0  # Hinton KD temperature T (ours)
    kd_alpha: float = 0.9  # weight of the KD term; 1 - alpha on the label cross-entropy


@dataclass(frozen=True)
class CifarConfig:
    """One pipeline run: data set, network, methods, seeds and the training recipe."""

    dataset: str = "cifar10"
    arch: str = "fast"
    methods: tuple[str, ...] = METHODS
    seeds: int = 10  # L: members of the ensemble, KD students, self-distilled students
    seed: int = 0  # seeds used are seed, seed + 1, ..., seed + L - 1
    sequential: bool = False  # train members in turn instead of under vmap
    eval_batch_size: int = 500
    train: CifarTrainConfig = field(default_factory=CifarTrainConfig)

    @property
    def seed_list(self) -> list[int]:
        return [self.seed + i for i in range(self.seeds)]

    @property
    def num_classes(self) -> int:
        return 10 if self.dataset == "cifar10" else 100


def _check(ok: bool, name: str, value, allowed: str) -> None:
    """`need` with the field named as its command-line flag (`--weight-decay`)."""
    need(ok, "--" + name.replace("_", "-"), value, allowed)


def validate(cfg: CifarConfig) -> CifarConfig:
    """Return cfg unchanged or raise ConfigError naming the field, value and allowed range."""
    from multiview.cifar.models import ARCH_NAMES, resolve_arch
    from multiview.config import SEED_MAX

    t = cfg.train
    for f in dataclasses.fields(t):                 # no inf or nan anywhere
        v = getattr(t, f.name)
        _check(not isinstance(v, float) or math.isfinite(v), f.name, v, "a finite number")
    _check(cfg.dataset in DATASETS, "dataset", cfg.dataset, ", ".join(DATASETS))
    try:
        resolve_arch(cfg.arch)
    except ValueError:
        _check(False, "arch", cfg.arch, ", ".join(ARCH_NAMES))
    subset(cfg.methods, METHODS, "--methods", everything=None)     # the one --methods check
    _check(cfg.seeds >= 1, "seeds", cfg.seeds, "an integer >= 1")
    _check(0 <= cfg.seed and cfg.seed + cfg.seeds - 1 <= SEED_MAX, "seed", cfg.seed,
           f"an integer >= 0 with seed + seeds - 1 <= {SEED_MAX}")
    _check(cfg.eval_batch_size >= 1, "eval_batch_size", cfg.eval_batch_size, "an integer >= 1")
    _check(t.epochs >= 1, "epochs", t.epochs, "an integer >= 1")
    _check(t.batch_size >= 1, "batch_size", t.batch_size, "an integer >= 1")
    _check(t.lr > 0, "lr", t.lr, "a float > 0")
    _check(0 <= t.momentum < 1, "momentum", t.momentum, "a float in [0, 1)")
    _check(t.weight_decay >= 0, "weight_decay", t.weight_decay, "a float >= 0")
    _check(t.schedule in SCHEDULES, "schedule", t.schedule, ", ".join(SCHEDULES))
    _check(0 <= t.pad <= 16, "pad", t.pad, "an integer in [0, 16]")
    _check(t.pad_mode in PAD_MODES, "pad_mode", t.pad_mode, ", ".join(PAD_MODES))
    _check(t.kd_temperature > 0, "kd_temperature", t.kd_temperature, "a float > 0")
    _check(0 <= t.kd_alpha <= 1, "kd_alpha", t.kd_alpha, "a float in [0, 1]")
    return cfg


def to_dict(cfg: CifarConfig) -> dict:
    """Every resolved field as plain JSON-ready data."""
    out = dataclasses.asdict(cfg)
    out["methods"] = list(cfg.methods)
    out["seed_list"] = cfg.seed_list
    out["num_classes"] = cfg.num_classes
    return out

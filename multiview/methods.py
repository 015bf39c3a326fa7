"""The method table: the names of the learners, the training (stage) each is read from, the
PRNG stream of its members, its teacher and the stages it needs. Plain Python (no jax), so the
command line and the CIFAR arm's configuration use it without importing the numerics.

A *stage* is one training: a learner (network, student, random features, NTK) whose members are
initialised from one named PRNG stream (multiview/keys.py), possibly distilled from the frozen
training-set logits of an earlier stage (its teacher). A *method* of `check` is read off one
stage: its members one by one, or their average (an ensemble). multiview/recipe.py trains the
stages; the CIFAR arm (multiview/cifar/pipeline.py) trains the stages of the methods it supports.

To add a learner: add its stage to STAGES (stream, learner, teacher, needs) and its method to
METHODS; `check` records it and `theory` may predict it (docs/architecture.md). A teacher
control (what a student learns from its teacher stage) is one rule in TEACHERS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

from .errors import ConfigError


@dataclass(frozen=True)
class Stage:
    """One training of L members (train.sum_models for the sums)."""

    stream: str                      # PRNG stream of the members' initialisations
    learner: str                     # "net", "student", "rf", "ntk": a key of recipe.LEARNERS
    teacher: tuple | None = None     # (stage, rule of TEACHERS) whose train logits it learns
    wide: bool = False               # one model with L times the neurons / features (the sum)
    needs: tuple[str, ...] = ()      # stages that must be trained first


STAGES: dict[str, Stage] = {
    "single": Stage("single", "net"),
    # the students' own initialisations trained like `single`: their paired baseline and twins
    "alone": Stage("student", "net"),
    "kd": Stage("student", "student", ("single", "mean"), needs=("single",)),
    "self_distill": Stage("student", "student", ("single", "members"), needs=("single",)),
    # each student distils from its twin (its own initialisation trained on labels alone)
    "twin": Stage("student", "student", ("alone", "members"), needs=("single", "alone")),
    "kd_hard": Stage("student", "student", ("single", "argmax"), needs=("single",)),
    "sum": Stage("sum", "net", wide=True),
    "rf_single": Stage("rf", "rf"),
    "rf_sum": Stage("rf_sum", "rf", wide=True),
    "rf_kd": Stage("rf_kd", "rf", ("rf_single", "mean"), needs=("rf_single",)),
    "ntk_single": Stage("ntk", "ntk"),
    "ntk_sum": Stage("ntk_sum", "ntk", wide=True),
    "ntk_kd": Stage("ntk_kd", "ntk", ("ntk_single", "mean"), needs=("ntk_single",)),
}

class Target(NamedTuple):
    """What the students of a stage learn from: teacher logits or hard labels."""

    logits: Any                      # [n, k] one teacher for all, [L, n, k] one per member, or None
    per_member: bool                 # student l learns from logits[l]
    labels: Any = None               # [n] targets that replace the labels (no soft teacher)


# teacher rule -> target, from G [L, n, k] (the teacher stage's training-set logits, frozen) and
# y [n] (the labels); plain array methods, so both arms (numpy, jax) use the same rules
TEACHERS: dict[str, Callable[[Any, Any], Target]] = {
    "mean": lambda G, y: Target(G.mean(0), False),             # the ensemble's averaged logits
    "members": lambda G, y: Target(G, True),                  # student l from member l
    "argmax": lambda G, y: Target(None, False, G.mean(0).argmax(-1)),   # the ensemble's labels
}


def teacher_target(stage: Stage, G, y) -> Target:
    """The target of a stage's students from its teacher stage's training-set logits G."""
    return TEACHERS[stage.teacher[1]](G, y)


# method name -> (stage, how it is read: "members" one by one, or "mean" of their logits)
METHODS: dict[str, tuple[str, str]] = {
    "single": ("single", "members"),
    "ensemble": ("single", "mean"),
    "kd": ("kd", "members"),
    "kd_twin": ("twin", "members"),
    "self_distill": ("self_distill", "members"),
    "self_distill_twin": ("twin", "members"),
    "ensemble_kd": ("kd", "mean"),
    "sum_trained": ("sum", "members"),
    "kd_hard": ("kd_hard", "members"),
    "rf_single": ("rf_single", "members"),
    "rf_ensemble": ("rf_single", "mean"),
    "rf_sum": ("rf_sum", "members"),
    "rf_kd": ("rf_kd", "members"),
    "ntk_single": ("ntk_single", "members"),
    "ntk_ensemble": ("ntk_single", "mean"),
    "ntk_sum": ("ntk_sum", "members"),
    "ntk_kd": ("ntk_kd", "members"),
}
METHOD_NAMES = tuple(METHODS)


def stages_for(methods, extra=()) -> list[str]:
    """The stages the methods (and `extra` stages) need, in dependency order (table order)."""
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ConfigError(f"--methods: unknown {', '.join(unknown)}; allowed: {', '.join(METHODS)}")
    need = {METHODS[m][0] for m in methods} | set(extra)
    todo = list(need)
    while todo:
        for dep in STAGES[todo.pop()].needs:
            if dep not in need:
                need.add(dep)
                todo.append(dep)
    return [s for s in STAGES if s in need]

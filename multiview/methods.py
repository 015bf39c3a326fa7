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
control (what a student learns from its teacher stage) is one rule in TEACHERS; a rule that
needs the teacher stage's snapshots or a PRNG stream says so in its Teacher record, and the
recipe supplies them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

from .errors import ConfigError


@dataclass(frozen=True)
class Stage:
    """One training of L members (train.sum_models for the sums)."""

    stream: str                      # PRNG stream of the members' initialisations
    learner: str                     # "net", "net_long", "student", "rf", "ntk": a key of recipe.LEARNERS
    teacher: tuple | None = None     # (stage, rule of TEACHERS) whose train logits it learns
    wide: bool = False               # one model with L times the neurons / features (the sum)
    needs: tuple[str, ...] = ()      # stages that must be trained first


STAGES: dict[str, Stage] = {
    "single": Stage("single", "net"),
    # the single models' own initialisations trained on labels with no stop, LONG_FACTOR times
    # as long as the last of them took to reach 100 % train accuracy: does the lottery last?
    "single_long": Stage("single", "net_long", needs=("single",)),
    # the students' own initialisations trained like `single`: their paired baseline and twins
    "alone": Stage("student", "net"),
    "kd": Stage("student", "student", ("single", "mean"), needs=("single",)),
    "self_distill": Stage("student", "student", ("single", "members"), needs=("single",)),
    # each student distils from its twin (its own initialisation trained on labels alone)
    "twin": Stage("student", "student", ("alone", "members"), needs=("single", "alone")),
    "kd_hard": Stage("student", "student", ("single", "argmax"), needs=("single",)),
    # the random controls of kd: the same students and budget, teachers without the knowledge
    "kd_random": Stage("student", "student", ("single", "start"), needs=("single",)),
    "kd_smooth": Stage("student", "student", ("single", "smooth"), needs=("single",)),
    "kd_shuffled": Stage("student", "student", ("single", "shuffled"), needs=("single",)),
    "kd_early": Stage("student", "student", ("single", "early"), needs=("single",)),
    # label smoothing apart from the ensemble's level: at each student's twin's confidence, and
    # at a fixed confidence (distill.smooth_level); the same students and budget as kd
    "kd_smooth_twin": Stage("student", "student", ("alone", "smooth_members"),
                            needs=("single", "alone")),
    "kd_smooth_fixed": Stage("student", "student", ("single", "smooth_fixed"), needs=("single",)),
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
    step: int | None = None          # the teacher stage's step it was read at (snapshot rules)


class TeacherInputs(NamedTuple):
    """What a teacher rule reads: the teacher stage's frozen training-set logits and labels, and
    what a rule with Teacher.history / Teacher.stream asks for."""

    G: Any                           # [L, n, k] the teacher stage's training-set logits at its end
    y: Any                           # [n] the labels
    history: list | None = None      # [(step, G_step [L, n, k])] at the stage's snapshots, step 0 first
    rng: Any = None                  # numpy Generator of the rule's PRNG stream
    read: Callable | None = None     # G [n, k] -> the distribution distill.objective matches
    write: Callable | None = None    # (p [n, k], level) -> teacher logits read as p exactly
    smooth_level: float | None = None  # distill.smooth_level (the fixed label-smoothing target)


@dataclass(frozen=True)
class Teacher:
    """A teacher rule: TeacherInputs -> Target, and what it needs besides G and y."""

    rule: Callable[[TeacherInputs], Target]
    # the teacher stage's logits at its snapshots (train.chunk apart): True, every one of them;
    # "first", step 0's only (the stage then keeps one snapshot, not one per chunk)
    history: bool | str = False
    stream: str | None = None        # a PRNG stream (keys.STREAMS) its randomness comes from


def off_class_spread(p, y) -> float:
    """The off-class spread of a teacher's distribution p [n, k] on points with labels y [n]:
    the standard deviation over the off-classes j != y_i of p[i, j], averaged over the points.
    0 for a uniform teacher (at initialisation) and for a saturated one (every off-class
    output ~0); in between it measures how much the off-class outputs differ (dark knowledge)."""
    import numpy as np

    p, y = np.asarray(p), np.asarray(y)
    off = np.ones(p.shape, bool)
    off[np.arange(len(y)), y] = False
    return float(p[off].reshape(len(y), -1).std(-1).mean())


def _smoothed(t: TeacherInputs, y, c: float, level: float):
    """Label smoothing at confidence c: c on each point's label, (1 - c)/(k - 1) on every other
    class, written as logits the objective reads as exactly that (raw mean `level`)."""
    import numpy as np

    n, k = len(y), np.asarray(t.G).shape[-1]
    p = np.full((n, k), (1.0 - c) / (k - 1))
    p[np.arange(n), y] = c
    return np.asarray(t.write(p, level))


def _confidence(t: TeacherInputs, G, y) -> float:
    """The mean over points of the objective's reading of logits G [n, k] on the label."""
    import numpy as np

    return float(np.asarray(t.read(G))[np.arange(len(y)), y].mean())


def _smooth(t: TeacherInputs) -> Target:
    """Label smoothing at the ensemble's confidence: every point's target puts c, the ensemble's
    mean confidence on the label (as the objective reads it), on its label and (1 - c)/(k - 1)
    on each other class, written as logits the objective reads as exactly that."""
    import numpy as np

    G, y = np.asarray(t.G).mean(0), np.asarray(t.y)
    return Target(_smoothed(t, y, _confidence(t, G, y), float(G.mean())), False)


def _smooth_members(t: TeacherInputs) -> Target:
    """Label smoothing at each member's own confidence: student l's target is smoothed at c_l,
    member l's mean confidence on the label (its raw level member l's mean logit)."""
    import numpy as np

    G, y = np.asarray(t.G), np.asarray(t.y)
    return Target(np.stack([_smoothed(t, y, _confidence(t, g, y), float(g.mean())) for g in G]),
                  True)


def _smooth_fixed(t: TeacherInputs) -> Target:
    """Label smoothing at the fixed confidence distill.smooth_level (raw level the teacher
    stage's mean logit, which only logit matching reads)."""
    import numpy as np

    G = np.asarray(t.G)
    return Target(_smoothed(t, np.asarray(t.y), float(t.smooth_level), float(G.mean())), False)


def _shuffled(t: TeacherInputs) -> Target:
    """The ensemble's logits moved among the training points of each label along one random
    cycle: every point gets another point's output (its own when it is alone in its label)."""
    import numpy as np

    G, y = np.asarray(t.G).mean(0), np.asarray(t.y)
    out = G.copy()
    for label in np.unique(y):
        idx = t.rng.permutation(np.flatnonzero(y == label))
        out[idx] = G[np.roll(idx, 1)]
    return Target(out, False)


def _start(t: TeacherInputs) -> Target:
    """The teacher stage's members at step 0 (untrained), averaged."""
    step, G = t.history[0]
    assert step == 0, step
    return Target(G.mean(0), False, step=0)


def _early(t: TeacherInputs) -> Target:
    """The teacher stage's average at the snapshot with the largest off-class spread on the
    training set (the earliest of equal ones)."""
    import numpy as np

    spread = [off_class_spread(t.read(G.mean(0)), t.y) for _, G in t.history]
    step, G = t.history[int(np.argmax(spread))]
    return Target(G.mean(0), False, step=int(step))


# teacher rule -> Teacher; plain array methods, so both arms (numpy, jax) use the same rules
TEACHERS: dict[str, Teacher] = {
    "mean": Teacher(lambda t: Target(t.G.mean(0), False)),     # the ensemble's averaged logits
    "members": Teacher(lambda t: Target(t.G, True)),          # student l from member l
    "argmax": Teacher(lambda t: Target(None, False, t.G.mean(0).argmax(-1))),   # its labels
    # the random controls (docs/learners.md): what kd's students get with the knowledge removed
    "start": Teacher(_start, history="first"),                # the ensemble untrained
    "smooth": Teacher(_smooth),                               # its confidence, no off-class pattern
    "shuffled": Teacher(_shuffled, stream="shuffle"),         # another point's pattern, same label
    "early": Teacher(_early, history=True),                   # before it saturated
    # label smoothing apart from the ensemble's level (kd_smooth_twin, kd_smooth_fixed)
    "smooth_members": Teacher(_smooth_members),               # each member's own confidence
    "smooth_fixed": Teacher(_smooth_fixed),                   # distill.smooth_level
}


def teacher_target(stage: Stage, inputs, y=None) -> Target:
    """The target of a stage's students from its teacher stage's training-set logits: `inputs`
    is a TeacherInputs, or the logits G [L, n, k] with the labels y (enough for the rules that
    read nothing else: mean, members, argmax; the CIFAR arm calls it so)."""
    if not isinstance(inputs, TeacherInputs):
        inputs = TeacherInputs(inputs, y)
    return TEACHERS[stage.teacher[1]].rule(inputs)


# method name -> (stage, how it is read: "members" one by one, or "mean" of their logits)
METHODS: dict[str, tuple[str, str]] = {
    "single": ("single", "members"),
    "single_long": ("single_long", "members"),
    "ensemble": ("single", "mean"),
    "kd": ("kd", "members"),
    "kd_random": ("kd_random", "members"),
    "kd_smooth": ("kd_smooth", "members"),
    "kd_shuffled": ("kd_shuffled", "members"),
    "kd_early": ("kd_early", "members"),
    "kd_smooth_twin": ("kd_smooth_twin", "members"),
    "kd_smooth_fixed": ("kd_smooth_fixed", "members"),
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

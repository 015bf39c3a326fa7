"""The one recipe: train the stages of the method table (multiview/methods.py) in order.

`train_methods` walks the stages a set of methods needs in dependency order (each stage's
members from its named PRNG stream, multiview/keys.py; a student from the frozen
training-set logits of its teacher stage, through its rule in methods.TEACHERS) and returns
them; `check.run_check`, `runs`, `dose` and the CLI's `train` all call it, so the recipe is
written once. Each stage's learner is a record of three functions in `LEARNERS`, looked up by
`Stage.learner`; a new learner is one entry there, with no edit of the walk.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Callable, Iterable, NamedTuple

import numpy as np
from .progress import bar as progress_bar

from .config import Config
from .data import Problem, make_problem
from .errors import need
from .keys import data_key, stream_keys, stream_rng
from .learners import (Trained, net_eval_logits, net_lam, rf_eval_logits, train_rf, train_single,
                       train_students)
from .losses import teacher_logits, teacher_probs
from .methods import (METHODS, STAGES, TEACHERS, Stage, Target, TeacherInputs, stages_for,
                      teacher_target)
from .ntk import ntk_eval_logits, ntk_lam, train_ntk
from .results.stages import load_stage, save_stage, stage_key, upstream
from .train import FitResult
from .runtime import in_precision


class StageResult(NamedTuple):
    trained: Trained
    train_logits: np.ndarray         # [L, n_train, k]
    test_logits: np.ndarray          # [L, n_test, k]
    lam: np.ndarray | None           # [L, k, 2] at the end (None for random features)
    seconds: float
    target: Target | None = None     # what the stage learnt from its teacher (None: the labels)


class Run(NamedTuple):
    """A trained run, with what its records read (check.report): built by `run_of`."""

    cfg: Config
    seed: int
    L: int
    problem: Problem
    stages: dict[str, StageResult]
    budget: int | None               # steps the single models used (students' default budget)
    seconds: float                   # wall-clock of the whole run (data, every stage)
    # (train logits, test logits) of each method whose stage ran: [L, n, k] for members,
    # [n, k] for a mean (methods.METHODS)
    logits: dict[str, tuple[np.ndarray, np.ndarray]]
    student_steps: int | None        # steps every student ran (None: no single models trained)
    read_back: tuple[str, ...] = ()  # stages read back from the stages folder, not trained


def run_of(cfg: Config, seed: int, L: int, problem: Problem, stages: dict[str, StageResult],
           seconds: float = 0.0, read_back: tuple[str, ...] = ()) -> Run:
    """The Run of trained stages: the single models' step budget, the students' steps and each
    method's logits (its stage's members, or their mean). `read_back`: the stages read from a
    stages folder (results/stages.py) rather than trained."""
    budget = _budget(stages, cfg)
    logits = {}
    for method, (stage, how) in METHODS.items():
        if stage in stages:
            r = stages[stage]
            logits[method] = ((r.train_logits.mean(0), r.test_logits.mean(0)) if how == "mean"
                              else (r.train_logits, r.test_logits))
    return Run(cfg, seed, L, problem, stages, budget, seconds, logits,
               None if budget is None else student_steps(cfg, budget), tuple(read_back))


# --- the students' budget -------------------------------------------------------------------

def step_budget(fit_result: FitResult, cfg: Config) -> int:
    """Steps the L label-trained members used: the step at which the last of them met the
    stopping rule (train.steps when one never did). Students get this many steps when
    distill.steps = 0, so they train as long as the models they are compared with."""
    stopped = np.asarray(fit_result.stopped_at)
    if cfg.train.stop == "none" or (stopped < 0).any():
        return int(cfg.train.steps)
    return max(1, int(stopped.max()))


# single_long trains LONG_FACTOR times as long as the single models took to fit (Theorem 1 holds
# for T = poly(k)/eta steps, long after the fit: does the lottery survive that?)
LONG_FACTOR = 5


def fit_step(fit_result: FitResult) -> int | None:
    """The step at which the last of the L label-trained members first reached 100 % train
    accuracy, read off the history (row t: the accuracy after t steps), so whatever train.stop
    was; None when one never did."""
    hit = np.asarray(fit_result.history["train_acc"]) >= 1.0              # [steps, L]
    if not hit.size or not hit.any(0).all():
        return None
    return max(1, int(hit.argmax(0).max()))


def long_steps(fitted: int | None, cfg: Config) -> int:
    """Steps of single_long: LONG_FACTOR x `fit_step` (train.steps in its place when a single
    model never fit, as `step_budget` does)."""
    return LONG_FACTOR * (fitted if fitted is not None else int(cfg.train.steps))


def student_steps(cfg: Config, budget: int | None) -> int:
    """distill.steps, or the given budget when distill.steps = 0."""
    if cfg.distill.steps:
        return cfg.distill.steps
    if budget is None:
        raise ValueError("distill.steps = 0 means 'the single models' step budget': pass "
                         "steps=step_budget(single.fit, cfg) or set distill.steps >= 1")
    return int(budget)


# --- the learners -----------------------------------------------------------------------------

class StageInputs(NamedTuple):
    """What a learner's `train` gets for one stage."""

    stage: Stage
    cfg: Config
    L: int                           # members of the run (a wide stage is one model L times wider)
    keys: object                     # [members] PRNG keys of the stage's stream
    problem: Problem
    target: Target | None            # what the stage learns from its teacher (None: the labels)
    budget: int | None               # the single models' steps (students' default budget)
    progress: bool
    desc: str
    snapshots: bool | str            # train.fit's snapshots mode (`_kept`)
    fitted: int | None = None        # the step at which the last single model fit (`fit_step`)


class Learner(NamedTuple):
    """A learner as a record of pure functions, one signature per role."""

    train: Callable[[StageInputs], Trained]
    logits: Callable[[Trained, object, Config], object]   # (trained, x [n, P, d], cfg) -> [L, n, k]
    lam: Callable[[Trained, Problem], object]            # (trained, problem) -> Λ [L, k, 2] | None
    snapshots: bool = False          # its train keeps the parameters after every chunk when asked


def _train_net(s: StageInputs) -> Trained:
    return train_single(s.keys, s.cfg, s.problem, progress=s.progress, desc=s.desc,
                        m=s.L * s.cfg.model.m if s.stage.wide else None, snapshots=s.snapshots)


def _train_net_long(s: StageInputs) -> Trained:
    """The network trained on labels with no stop for long_steps(fitted) steps (single_long)."""
    train = dataclasses.replace(s.cfg.train, stop="none", steps=long_steps(s.fitted, s.cfg))
    return _train_net(s._replace(cfg=dataclasses.replace(s.cfg, train=train)))


def _train_student(s: StageInputs) -> Trained:
    t = s.target
    return train_students(s.keys, s.cfg, s.problem, t.logits, per_member=t.per_member,
                          labels=t.labels, steps=student_steps(s.cfg, s.budget),
                          progress=s.progress, desc=s.desc, snapshots=s.snapshots)


def _fixed(trainer: Callable, wide: Callable[[Config, int], dict]) -> Callable:
    """train of a fixed-feature learner (random features, NTK): wide stages by `wide`, a teacher
    through fixed.kd_objective."""
    def train(s: StageInputs) -> Trained:
        kw = wide(s.cfg, s.L) if s.stage.wide else {}
        if s.target is not None:
            kw.update(teacher=s.target.logits, objective=s.cfg.fixed.kd_objective)
        return trainer(s.keys, s.cfg, s.problem, progress=s.progress, desc=s.desc, **kw)
    return train


def _no_lam(tr: Trained, problem: Problem):
    return None


LEARNERS: dict[str, Learner] = {
    "net": Learner(_train_net, net_eval_logits, net_lam, snapshots=True),
    "net_long": Learner(_train_net_long, net_eval_logits, net_lam, snapshots=True),
    "student": Learner(_train_student, net_eval_logits, net_lam, snapshots=True),
    "rf": Learner(_fixed(train_rf, lambda cfg, L: {"width": L * cfg.fixed.rf_width}),
                  rf_eval_logits, _no_lam),
    "ntk": Learner(_fixed(train_ntk, lambda cfg, L: {"m": L * cfg.model.m}),
                   ntk_eval_logits, ntk_lam),
}


# --- the walk ---------------------------------------------------------------------------------

class _Walk(NamedTuple):
    """One run of train_methods: what every stage of it shares."""

    cfg: Config
    L: int
    seed: int
    problem: Problem
    order: list[str]
    done: dict[str, StageResult]
    progress: bool
    snapshots: frozenset             # stages whose parameters are kept after every chunk
    log: Callable[[str], None]
    t0: float
    history: dict = {}                # stage -> the snapshots a teacher rule reads of it
    stages: Path | None = None        # the folder of finished stages (results/stages.py)
    keys: dict = {}                   # stage -> its key there, as the walk reaches it
    read_back: list = []              # stages read back from that folder


@in_precision   # float64 configs compute in float64 (multiview/runtime.py)
def train_methods(cfg: Config, L: int, seed: int = 0, methods=("single", "ensemble"), *,
                  extra_stages=(), progress: bool = True, snapshots: bool | Iterable[str] = False,
                  log: Callable[[str], None] | None = None,
                  stages: str | Path | None = None) -> Run:
    """Train every stage the methods need (plus `extra_stages`) for the run with base seed `seed`.

    Data from keys.data_key(seed); stage s's members from stream STAGES[s].stream. Students
    train student_steps(cfg, budget) steps, budget = the step at which the last single model met
    its stopping rule. `log` receives one line per finished stage ("[i/n] name: ...").
    `snapshots`: the stages whose parameters are kept after every chunk (fit's snapshots), of
    a learner that keeps them (Learner.snapshots); True: the single stage.
    `stages`: a folder of finished stages (multiview/results/stages.py). Each stage is read
    back from it where it is there and written to it once trained, so an interrupted run
    resumes from its last finished stage and runs that differ only in their students share
    the rest. The numbers are those of a run without it.
    """
    order = stages_for(methods, extra_stages)
    kept = frozenset(("single",) if snapshots is True else () if snapshots is False else snapshots)
    for s in kept:
        need(s in order and LEARNERS[STAGES[s].learner].snapshots, "snapshots", s,
             "a stage the run trains, of a learner that keeps snapshots ("
             + ", ".join(n for n, lr in LEARNERS.items() if lr.snapshots) + ")")
    log = log or (lambda msg: None)
    t0 = time.perf_counter()
    if progress:
        log(f"generating data (k={cfg.data.k}, d={cfg.data.d}, N_train={cfg.data.n_train}, "
            f"N_test={cfg.data.N_test}) and compiling the first training step ...")
    history: dict[str, bool | str] = {}       # stage -> the snapshots its readers need
    for s in order:
        if STAGES[s].teacher is not None and TEACHERS[STAGES[s].teacher[1]].history:
            source, wants = STAGES[s].teacher[0], TEACHERS[STAGES[s].teacher[1]].history
            history[source] = wants if history.get(source, wants) == wants else True
    walk = _Walk(cfg, L, seed, make_problem(data_key(seed), cfg.data), order, {}, progress,
                 kept, log, t0, history, None if stages is None else Path(stages), {}, [])
    overall = progress_bar(total=len(order), desc=f"{len(order)} stages", unit="stage",
                   disable=not progress, leave=False, position=0)
    try:
        for i, name in enumerate(order, 1):
            overall.set_postfix_str(name)
            _stage(walk, i, name)
            overall.update(1)
    finally:
        overall.close()
    return run_of(cfg, seed, L, walk.problem, walk.done, time.perf_counter() - t0,
                  tuple(walk.read_back))


def _budget(done: dict[str, StageResult], cfg: Config) -> int | None:
    return step_budget(done["single"].trained.fit, cfg) if "single" in done else None


def _stage(walk: _Walk, i: int, name: str) -> None:
    """Train and evaluate stage `name` into walk.done."""
    cfg, problem, done = walk.cfg, walk.problem, walk.done
    stage = STAGES[name]
    learner = LEARNERS[stage.learner]
    t = time.perf_counter()
    n = cfg.train.sum_models if stage.wide else walk.L
    keep = _kept(walk, name, stage)
    if walk.stages is not None:
        walk.keys[name] = stage_key(cfg, walk.seed, walk.L, name, keep,
                                    {u: walk.keys[u] for u in upstream(name)})
        stored = load_stage(walk.stages, walk.keys[name], StageResult, n,
                            [(len(problem.train.y), cfg.data.k),
                             (len(problem.test.y), cfg.data.k)], walk.log)
        if stored is not None:
            done[name] = stored
            walk.read_back.append(name)
            walk.log(f"[{i}/{len(walk.order)}] {name}: read back from {walk.stages} "
                     f"({stored.trained.fit.steps_run} steps, trained in {stored.seconds:.1f} s)")
            return
    target = None if stage.teacher is None else teacher_target(stage, _teacher_inputs(walk, stage))
    keys = stream_keys(walk.seed, stream=stage.stream, n=n)
    fitted = fit_step(done["single"].trained.fit) if "single" in done else None
    tr = learner.train(StageInputs(stage, cfg, walk.L, keys, problem, target, _budget(done, cfg),
                                   walk.progress, f"{name} ×{n}", keep, fitted))
    lt, le = (np.asarray(learner.logits(tr, x, cfg)) for x in (problem.train.x, problem.test.x))
    lam = learner.lam(tr, problem)
    seconds = time.perf_counter() - t
    done[name] = StageResult(tr, lt, le, None if lam is None else np.asarray(lam), seconds, target)
    if walk.stages is not None:
        save_stage(walk.stages, walk.keys[name], done[name])
    acc = float((lt.argmax(-1) == np.asarray(problem.train.y)).mean())
    read_at = "" if target is None or target.step is None else f", teacher at step {target.step}"
    log = walk.log
    log(f"[{i}/{len(walk.order)}] {name}: {tr.fit.steps_run} steps, train acc {acc:.3f}{read_at}, "
        f"{seconds:.1f} s (total {time.perf_counter() - walk.t0:.0f} s)")


def _kept(walk: _Walk, name: str, stage: Stage) -> bool | str:
    """What stage `name` keeps of its parameters over training (train.fit's `snapshots`): every
    chunk when asked for (`snapshots=`), what its teacher rules read ("first": step 0), the
    last two under the theorem update (the ratchet diagnostic); every chunk where two of these
    differ."""
    wants = {mode for mode, on in ((True, name in walk.snapshots),
                                   (walk.history.get(name), name in walk.history),
                                   ("last2", _ratchet_snapshots(stage, walk.cfg))) if on}
    return False if not wants else wants.pop() if len(wants) == 1 else True


def _ratchet_snapshots(stage: Stage, cfg: Config) -> bool:
    """Students of the theorem update keep their snapshots (every train.chunk steps): the
    ratchet diagnostic reads their per-step change of F off them (multiview/ratchet.py)."""
    return stage.learner == "student" and cfg.distill.objective == "theorem"


def _teacher_inputs(walk: _Walk, stage: Stage) -> TeacherInputs:
    """What the stage's teacher rule reads: its teacher stage's frozen training-set logits, the
    labels, and where the rule asks for them the teacher stage's logits at its snapshots, a
    numpy Generator of its stream and how the students' objective reads a teacher."""
    cfg, problem = walk.cfg, walk.problem
    source, rule = walk.done[stage.teacher[0]], TEACHERS[stage.teacher[1]]
    history = None
    if rule.history:
        logits = LEARNERS[STAGES[stage.teacher[0]].learner].logits
        tr = source.trained
        history = [(int(step), np.asarray(logits(tr._replace(params=p), problem.train.x, cfg)))
                   for step, p in tr.fit.snapshots]
    K = cfg.distill
    return TeacherInputs(
        source.train_logits, np.asarray(problem.train.y), history,
        None if rule.stream is None else stream_rng(walk.seed, rule.stream),
        lambda G: teacher_probs(G, K.objective, K.T, K.tau),
        lambda p, level: teacher_logits(p, K.objective, K.T, K.tau, level), K.smooth_level)

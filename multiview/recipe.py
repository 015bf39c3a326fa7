"""The method table and the one recipe: which trainings a set of methods needs, in what order.

A *stage* is one training: a learner (network, student, random features, NTK) whose members are
initialised from one named PRNG stream (multiview/keys.py), possibly distilled from the frozen
training-set logits of an earlier stage (its teacher). A *method* of `check` is read off one
stage: its members one by one, or their average (an ensemble). `train_methods` walks the stages
a set of methods needs in dependency order and returns them; `check.run_check`, `runs`,
`dose` and the CLI's `train` all call it, so the recipe is written once.

To add a learner: add its stage to STAGES (stream, learner, teacher, needs) and its method to
METHODS; `check` records it and `theory` may predict it (docs/architecture.md).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, NamedTuple

import jax
import numpy as np
from tqdm.auto import tqdm

from .config import Config
from .data import Problem, make_problem
from .keys import data_key, stream_keys
from .learners import (Trained, logits_of, ntk_eval_logits, rf_eval_logits, step_budget,
                       student_steps, train_ntk, train_rf, train_single, train_students)
from .model import phi_lam


@dataclass(frozen=True)
class Stage:
    """One training of L members (train.sum_models for the sums)."""

    stream: str                      # PRNG stream of the members' initialisations
    learner: str                     # "net", "student", "rf", "ntk"
    teacher: tuple | None = None     # (stage, "mean" | "members" | "argmax") whose train logits it learns
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

class StageResult(NamedTuple):
    trained: Trained
    train_logits: np.ndarray         # [L, n_train, k]
    test_logits: np.ndarray          # [L, n_test, k]
    lam: np.ndarray | None           # [L, k, 2] at the end (None for random features)
    seconds: float


class Run(NamedTuple):
    cfg: Config
    seed: int
    L: int
    problem: Problem
    stages: dict[str, StageResult]
    budget: int | None               # steps the single models used (students' default budget)


def stages_for(methods, extra=()) -> list[str]:
    """The stages the methods (and `extra` stages) need, in dependency order (table order)."""
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"--methods: unknown {', '.join(unknown)}; allowed: {', '.join(METHODS)}")
    need = {METHODS[m][0] for m in methods} | set(extra)
    todo = list(need)
    while todo:
        for dep in STAGES[todo.pop()].needs:
            if dep not in need:
                need.add(dep)
                todo.append(dep)
    return [s for s in STAGES if s in need]


def _teacher_logits(spec, done: dict[str, StageResult]):
    stage, how = spec
    G = done[stage].train_logits
    return G if how == "members" else G.mean(0)     # "argmax": train_students takes the argmax


def _evaluate(stage: Stage, tr: Trained, problem: Problem, cfg: Config):
    x_tr, x_te = problem.train.x, problem.test.x
    if stage.learner == "rf":
        return rf_eval_logits(tr, x_tr, cfg), rf_eval_logits(tr, x_te, cfg), None
    if stage.learner == "ntk":
        lam = jax.vmap(lambda D, W0: phi_lam(D + W0, problem.views)[1])(tr.params, tr.extra["W0"])
        return ntk_eval_logits(tr, x_tr, cfg), ntk_eval_logits(tr, x_te, cfg), lam
    return (logits_of(tr.params, x_tr, cfg), logits_of(tr.params, x_te, cfg),
            tr.fit.history["lam"][-1])


def _train(name: str, stage: Stage, cfg: Config, L: int, seed: int, problem: Problem,
           done: dict[str, StageResult], budget, progress: bool, snapshots: bool) -> Trained:
    n = cfg.train.sum_models if stage.wide else L
    keys = stream_keys(seed, stream=stage.stream, n=n)
    desc = f"{name} ×{n}"
    if stage.learner == "net":
        return train_single(keys, cfg, problem, progress=progress, desc=desc,
                            m=L * cfg.model.m if stage.wide else None, snapshots=snapshots)
    if stage.learner == "student":
        G = _teacher_logits(stage.teacher, done)
        return train_students(keys, cfg, problem, G, per_member=stage.teacher[1] == "members",
                              objective="hard" if stage.teacher[1] == "argmax" else None,
                              steps=budget, progress=progress, desc=desc)
    trainer = train_rf if stage.learner == "rf" else train_ntk
    kw = {}
    if stage.wide:
        kw = ({"width": L * cfg.fixed.rf_width} if stage.learner == "rf"
              else {"m": L * cfg.model.m})
    if stage.teacher is not None:
        kw.update(teacher=_teacher_logits(stage.teacher, done), objective=cfg.fixed.kd_objective)
    return trainer(keys, cfg, problem, progress=progress, desc=desc, **kw)


def train_methods(cfg: Config, L: int, seed: int = 0, methods=("single", "ensemble"), *,
                  extra_stages=(), progress: bool = True, snapshots: bool = False,
                  log: Callable[[str], None] | None = None) -> Run:
    """Train every stage the methods need (plus `extra_stages`) for the run with base seed `seed`.

    Data from keys.data_key(seed); stage s's members from stream STAGES[s].stream. Students
    train student_steps(cfg, budget) steps, budget = the step at which the last single model met
    its stopping rule. `log` receives one line per finished stage ("[i/n] name: ...").
    """
    order = stages_for(methods, extra_stages)
    log = log or (lambda msg: None)
    t0 = time.perf_counter()
    if progress:
        log(f"generating data (k={cfg.data.k}, d={cfg.data.d}, N_train={cfg.data.n_train}, "
            f"N_test={cfg.data.N_test}) and compiling the first training step ...")
    problem = make_problem(data_key(seed), cfg.data)
    done: dict[str, StageResult] = {}
    budget = None
    overall = tqdm(total=len(order), desc=f"{len(order)} stages", unit="stage",
                   disable=not progress, leave=False, position=0)
    try:
        for i, name in enumerate(order, 1):
            overall.set_postfix_str(name)
            budget = _stage(i, name, order, cfg, L, seed, problem, done, budget, progress,
                            snapshots, log, t0)
            overall.update(1)
    finally:
        overall.close()
    return Run(cfg, seed, L, problem, done, budget)


def _stage(i, name, order, cfg, L, seed, problem, done, budget, progress, snapshots, log, t0):
    """Train and evaluate stage `name` into `done`; return the students' budget."""
    stage = STAGES[name]
    t = time.perf_counter()
    tr = _train(name, stage, cfg, L, seed, problem, done, budget, progress,
                snapshots and name == "single")
    lt, le, lam = _evaluate(stage, tr, problem, cfg)
    seconds = time.perf_counter() - t
    done[name] = StageResult(tr, np.asarray(lt), np.asarray(le),
                             None if lam is None else np.asarray(lam), seconds)
    if name == "single":
        budget = step_budget(tr.fit, cfg)
    acc = float((np.asarray(lt).argmax(-1) == np.asarray(problem.train.y)).mean())
    log(f"[{i}/{len(order)}] {name}: {tr.fit.steps_run} steps, train acc {acc:.3f}, "
        f"{seconds:.1f} s (total {time.perf_counter() - t0:.0f} s)")
    return budget


def method_logits(run: Run, method: str):
    """(train logits, test logits) of a method: [L, n, k] for members, [n, k] for a mean."""
    stage, how = METHODS[method]
    r = run.stages[stage]
    if how == "mean":
        return r.train_logits.mean(0), r.test_logits.mean(0)
    return r.train_logits, r.test_logits


def students_steps(run: Run) -> int | None:
    """Steps every student ran in this run (None when no single models were trained)."""
    return None if run.budget is None else student_steps(run.cfg, run.budget)

"""The one recipe: train the stages of the method table (multiview/methods.py) in order.

`train_methods` walks the stages a set of methods needs in dependency order (each stage's
members from its named PRNG stream, multiview/keys.py; a student from the frozen
training-set logits of its teacher stage) and returns them; `check.run_check`, `runs`, `dose`
and the CLI's `train` all call it, so the recipe is written once.
"""

from __future__ import annotations

import time
from typing import Callable, NamedTuple

import jax
import numpy as np
from tqdm.auto import tqdm

from .config import Config
from .data import Problem, make_problem
from .keys import data_key, stream_keys
from .learners import (Trained, logits_of, ntk_eval_logits, rf_eval_logits, step_budget,
                       student_steps, train_ntk, train_rf, train_single, train_students)
from .methods import METHODS, STAGES, Stage, stages_for
from .model import phi_lam
from .runtime import in_precision


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


@in_precision   # float64 configs compute in float64 (multiview/runtime.py)
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

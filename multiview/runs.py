"""Trained arrays for the figures: Φ / Λ over training and the members' test logits.

`check.run_check` keeps summary numbers only; the views-learned heat maps, the lottery
dynamics and the ensemble-size curve need the arrays. `view_arrays` trains the same stages as
`run_check` through the one recipe (`recipe.train_methods`: same PRNG streams, same budget)
and returns plain numpy arrays, saved with `results.save_arrays` (the command
`multiview arrays`) to an .npz that `multiview.plots` reads.
"""

from __future__ import annotations

import json

import jax
import numpy as np

from .config import Config
from .keys import stream_keys
from .learners import init_members
from .model import phi_lam
from .methods import STAGES
from .recipe import train_methods
from .runtime import in_precision

STUDENTS = ("kd", "self_distill")


def _thin(history: np.ndarray, max_points: int):
    """Every s-th step of a [T, ...] history (and the last), at most ~max_points rows."""
    T = history.shape[0]
    s = max(1, int(np.ceil(T / max_points)))
    idx = np.unique(np.r_[np.arange(0, T, s), T - 1])
    return idx, history[idx]


@in_precision   # float64 configs compute in float64 (multiview/runtime.py)
def view_arrays(cfg: Config, L: int, seed: int = 0, students=STUDENTS,
                progress: bool = True, max_points: int = 400) -> dict[str, np.ndarray]:
    """Train L single models (and the distilled students) as run_check does; return arrays.

    Keys: `<name>_phi`, `<name>_lam` [T', L, k, 2] over training (thinned to ~max_points rows),
    `<name>_step` [T'] (steps 1..T after which they were logged), `<name>_lam0` [L, k, 2] at
    init (the same initialisations), for name in single and the students; `single_test_logits` [L, n, k] and the test
    set's `test_y`, `test_single`, `test_strong`; `single_stopped_at` [L]; `config` (JSON).
    """
    run = train_methods(cfg, L, seed, ("single", *students), progress=progress)
    problem = run.problem
    out: dict[str, np.ndarray] = {}
    for name in ("single", *students):
        stage = run.stages[name]
        for q in ("phi", "lam"):
            idx, h = _thin(np.asarray(stage.trained.fit.history[q]), max_points)
            out[f"{name}_{q}"] = h
        out[f"{name}_step"] = idx + 1
        W0 = init_members(stream_keys(seed, STAGES[name].stream, L), cfg)
        phi0, lam0 = jax.vmap(phi_lam, in_axes=(0, None))(W0, problem.views)
        out[f"{name}_phi0"], out[f"{name}_lam0"] = np.asarray(phi0), np.asarray(lam0)
        out[f"{name}_test_logits"] = stage.test_logits
    out["single_stopped_at"] = np.asarray(run.stages["single"].trained.fit.stopped_at)
    out["single_train_logits"] = run.stages["single"].train_logits
    for name in ("y", "single", "strong"):
        out[f"test_{name}"] = np.asarray(getattr(problem.test, name))
        out[f"train_{name}"] = np.asarray(getattr(problem.train, name))
    out["config"] = np.array(json.dumps(cfg.to_dict()))
    out["seed"] = np.array(seed)
    return out


# --- the lottery under long training (figures/stability.*) -------------------------------------

def _view_shares(lam: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Per member, the share of classes with both views and with exactly one view learned:
    lam [..., L, k, 2] -> ([..., L], [..., L]) (metrics.views_learned's counts)."""
    from .metrics import views_learned

    counts = views_learned(lam, threshold)                        # [..., L, k]
    return (counts == 2).mean(-1), (counts == 1).mean(-1)


def stability_of(run, name: str | None = None) -> dict:
    """The stability curve of a trained run that has the stage single_long (recipe.train_methods
    with methods ("single_long",)): the both-views and one-view shares of every member at step 0
    (the initialisation) and after every train.chunk steps up to the end (5 x B steps, B =
    recipe.fit_step of the single models), their train accuracy at the same steps, B and each
    member's own first step at 100 % train accuracy, and check's records of single and
    single_long; `name` (a preset's) labels it in the figure. A plain dict of arrays and
    numbers: results.write_json writes it as stability.json."""
    from .check import record_method
    from .learners import logits_of
    from .metrics import learned_threshold
    from .recipe import LONG_FACTOR, fit_step

    cfg, problem = run.cfg, run.problem
    long, single = run.stages["single_long"].trained.fit, run.stages["single"].trained.fit
    threshold = learned_threshold(cfg.model)
    T = int(long.steps_run)
    rows = np.unique(np.r_[np.arange(cfg.train.chunk, T + 1, cfg.train.chunk), T]) - 1
    both, one = _view_shares(np.asarray(long.history["lam"])[rows], threshold)
    W0 = init_members(stream_keys(run.seed, STAGES["single_long"].stream, run.L), cfg)
    lam0 = jax.vmap(phi_lam, in_axes=(0, None))(W0, problem.views)[1]
    both0, one0 = _view_shares(np.asarray(lam0), threshold)
    acc0 = np.asarray(logits_of(W0, problem.train.x, cfg).argmax(-1) == problem.train.y).mean(-1)
    hit = np.asarray(single.history["train_acc"]) >= 1.0                    # [steps, L]
    keep = ("train_acc", "test_acc_multi", "test_acc_single", "views", "lam_over_varrho")
    return {"config": cfg.to_dict(), "seed": run.seed, "L": run.L, "B": fit_step(single),
            "factor": LONG_FACTOR, "long_steps": T,
            "member_fit_steps": np.where(hit.any(0), np.maximum(1, hit.argmax(0)), -1),
            "steps": np.r_[0, rows + 1], "both": np.vstack([both0, both]),
            "one": np.vstack([one0, one]),
            "train_acc": np.vstack([acc0, np.asarray(long.history["train_acc"])[rows]]),
            "methods": {name: {q: v for q, v in record_method(run, name).items() if q in keep}
                        for name in ("single", "single_long")},
            "engine": long.engine, "seconds": run.seconds, **({"name": name} if name else {})}


@in_precision
def stability_arrays(cfg: Config, L: int, seed: int = 0, progress: bool = True,
                     log=None, name: str | None = None) -> dict:
    """Train the L single models and their single_long continuation (the library's recipe: the
    same initialisations, no stop, 5 x B steps) and return `stability_of` the run."""
    return stability_of(train_methods(cfg, L, seed, ("single_long",), progress=progress,
                                      log=log), name)

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


def ensemble_curve(test_logits: np.ndarray, y: np.ndarray, single: np.ndarray,
                   draws: int = 200, seed: int = 0) -> dict[str, np.ndarray]:
    """Single-view test accuracy of ensembles of L' = 1..L members (random subsets of the L
    trained ones): mean and std over `draws` subsets (all of them when there are fewer)."""
    import itertools
    import math

    L = test_logits.shape[0]
    rng = np.random.default_rng(seed)
    mean, std, multi = [], [], []
    for size in range(1, L + 1):
        if math.comb(L, size) <= draws:
            subsets = [list(c) for c in itertools.combinations(range(L), size)]
        else:
            subsets = [rng.choice(L, size, replace=False) for _ in range(draws)]
        acc_s, acc_m = [], []
        for sub in subsets:
            correct = test_logits[sub].mean(0).argmax(-1) == y
            acc_s.append(correct[single].mean())
            acc_m.append(correct[~single].mean())
        mean.append(np.mean(acc_s))
        std.append(np.std(acc_s))
        multi.append(np.mean(acc_m))
    return {"L": np.arange(1, L + 1), "single_mean": np.array(mean), "single_std": np.array(std),
            "multi_mean": np.array(multi)}

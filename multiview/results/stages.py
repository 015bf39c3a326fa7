"""Finished stages on disk: a long run resumes from its last finished stage, and runs that
differ only in their students share the stages that are the same.

`recipe.train_methods(..., stages=FOLDER)` looks each stage up in FOLDER before training it
and writes it there (atomically) once trained. A stage's file is named by `stage_key`: the hash
of everything that decides the stage's result:

- the config as it decides results (`store._identity_config`: train.devices left out), with one
  exception. A stage that reads no teacher and whose stages before it read none either (single,
  single_long, alone, sum, the fixed-feature learners' label stages) never reads the `distill`
  section. Its key leaves that section out, and the `distill.*` entries of scale.pinned with it.
  So the theorem update's run and the bounded objective's run of one (k, seed) share their
  single models, their twins, single_long and the sum.
- the base seed, the members L, the stage's name and its record in methods.STAGES;
- what it kept of its parameters over training (train.fit's snapshot mode);
- the keys of the stages it reads (its needs and its teacher);
- the file format, the package version and JAX's backend.

A file that cannot be read back as a stage of the right shape is moved to NAME.corrupt and the
stage is trained again. Code that changes a stage's numbers without changing the package
version makes old files stale: delete the folder then (the same holds for a sweep's points).
"""

from __future__ import annotations

import dataclasses
import hashlib
import pickle
from pathlib import Path
from typing import Callable

import numpy as np

from .io import atomic_file
from .store import _canon, _identity_config

STAGE_FORMAT = "multiview.stage/1"
SUFFIX = ".stage.pkl"


def reads_distill(name: str) -> bool:
    """Whether stage `name` or a stage it reads (its needs, its teacher, theirs) learns from a
    teacher: only those read the config's `distill` section."""
    from ..methods import STAGES

    todo, seen = [name], set()
    while todo:
        s = todo.pop()
        if s in seen:
            continue
        seen.add(s)
        stage = STAGES[s]
        if stage.teacher is not None or stage.learner == "student":
            return True
        todo.extend(stage.needs)
    return False


def upstream(name: str) -> list[str]:
    """The stages whose results stage `name` reads: its needs and its teacher's stage."""
    from ..methods import STAGES

    stage = STAGES[name]
    return sorted(set(stage.needs) | ({stage.teacher[0]} if stage.teacher else set()))


def stage_key(cfg, seed: int, L: int, name: str, snapshots: bool,
              upstream_keys: dict[str, str]) -> str:
    """The file name (without suffix) of stage `name` of the run (cfg, seed, L): see the module
    docstring for what it covers."""
    import sys

    import jax

    from ..methods import STAGES

    version = sys.modules[__name__.split(".")[0]].__version__    # the package is loaded

    config = _identity_config(cfg)
    if not reads_distill(name):
        config.pop("distill", None)
        if "scale" in config:
            pinned = [p for p in config["scale"].get("pinned", []) if not p.startswith("distill.")]
            config["scale"] = {**config["scale"], "pinned": pinned}
    ident = {"format": STAGE_FORMAT, "version": version, "backend": jax.default_backend(),
             "stage": name, "record": dataclasses.asdict(STAGES[name]), "config": config,
             "seed": seed, "L": L, "snapshots": bool(snapshots), "upstream": upstream_keys}
    return hashlib.sha256(_canon(ident).encode()).hexdigest()[:24]


class _Jax:
    """A JAX array stored as numpy, turned back into one on reading."""

    __slots__ = ("a",)

    def __init__(self, a):
        self.a = a


def _to_disk(result):
    import jax

    return jax.tree_util.tree_map(
        lambda x: _Jax(np.asarray(x)) if isinstance(x, jax.Array) else x, result)


def _from_disk(stored):
    import jax
    import jax.numpy as jnp

    return jax.tree_util.tree_map(lambda x: jnp.asarray(x.a) if isinstance(x, _Jax) else x,
                                  stored)


def path_of(folder: str | Path, key: str) -> Path:
    return Path(folder) / f"{key}{SUFFIX}"


def save_stage(folder: str | Path, key: str, result) -> Path:
    """Write a finished stage (a recipe.StageResult) atomically as FOLDER/KEY.stage.pkl."""
    path = path_of(folder, key)
    data = pickle.dumps(_to_disk(result), protocol=pickle.HIGHEST_PROTOCOL)
    with atomic_file(path, "wb") as f:
        f.write(data)
    return path


def load_stage(folder: str | Path, key: str, kind: type, n_members: int, shapes: tuple,
               log: Callable[[str], None]):
    """The stage stored as FOLDER/KEY.stage.pkl, or None where there is none. A file that does
    not read back as a `kind` (recipe.StageResult) with `n_members` members and train/test
    logits of `shapes` ([n_train, k], [n_test, k]) is moved to NAME.corrupt (said in `log`) and
    None returned."""
    path = path_of(folder, key)
    if not path.exists():
        return None
    why = None
    try:
        with open(path, "rb") as f:
            result = _from_disk(pickle.load(f))
        if not isinstance(result, kind):
            why = f"holds a {type(result).__name__}, not a stage"
        else:
            got = (np.shape(result.train_logits), np.shape(result.test_logits))
            want = tuple((n_members,) + tuple(s) for s in shapes)
            if got != want:
                why = f"logits of shapes {got}, expected {want}"
    except FileNotFoundError:
        return None           # removed meanwhile (a finished sweep point's folder): train it
    except Exception as e:    # noqa: BLE001 - a damaged file of any kind is trained again
        why = f"{type(e).__name__}: {e}"
    if why is None:
        return result
    log(f"stages: {path} is not a stage of this run ({why}); moved to {path.name}.corrupt, "
        f"training it again")
    try:
        path.replace(path.with_name(path.name + ".corrupt"))
    except FileNotFoundError:
        pass
    return None

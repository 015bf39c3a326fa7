"""Sweeps: `run_check` over a Cartesian grid of config values, one result file per point, resume.

Each finished grid point is written atomically to OUT/<key>.json, where the key is a hash of
the resolved config, the methods, the number of seeds and the base seed; the file carries the
grid values, the check result (check.json, README), a checksum and a "complete" marker. Rerunning the same
sweep reads the finished points back (a file that fails to parse, or has the wrong key,
checksum or fields is reported and recomputed) and trains only the rest. OUT/sweep.json
summarises, at the end, every point of this study on disk: slices of one grid run by several
processes into one OUT add up (results.write_sweep_summary), and a folder holding another
study's points is refused (results.claim_sweep_dir). The files' formats live in results/store.py.

Points that share the training program are trained together: for the methods `single` and
`ensemble`, points whose shape-determining and static fields agree (`TRAINING_STATIC`) are
stacked on the member axis of one `train.fit` call (grid points x seeds; each member reads its
point's training set and varrho from `member`). Other methods run point by point through
`check.run_check`. docs/sweeps.md has the details.
"""

from __future__ import annotations

import functools
import itertools
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .config import Config, ConfigError, override
from .errors import split_items
from .outputs import claim_study
from .runtime import in_precision
# the point files, their keys and checksums, and sweep.json live in results/store.py (every file
# is written and read there); the names stay importable from here
from .results import (POINT_FORMAT as FORMAT, RESULT_FIELDS, _canon, _checksum,  # noqa: F401
                      _unique, canonical_methods, claim_sweep_dir, load_point, load_sweep,
                      point_key, study, summarise, write_point, write_sweep_summary)

# jax and the learners are imported where training happens, so that building the CLI's
# parser (which imports this module) stays fast

BATCHED_METHODS = ("single", "ensemble")
# fields that fix the training program of `single` (array shapes, static arguments, the views
# every member sees); points that agree on them can share one `fit` call
TRAINING_STATIC = ("data.k", "data.d", "data.n_patches", "data.n_train", "data.views",
                   "model.m", "model.q", "train.optimizer", "train.lr", "train.momentum",
                   "train.steps", "train.stop", "train.stop_value", "train.chunk", "train.dtype")


# --- the grid -------------------------------------------------------------------------------

def parse_grid(items: list[str], cfg: Config, file: str | Path | None = None,
               flag: str = "--grid") -> dict[str, list]:
    """CLI `--grid SECTION.FIELD=V1,V2,...` items, and the `[grid]` table of the --config
    `file` (TOML `"data.mu" = [0.0, 0.1]`, or a JSON object "grid"), -> {field: [values]} in
    order (the file's fields first), validated by `validate_grid`.

    Pair-valued fields (e.g. data.z_own) separate their values with ';': `data.z_own=1,2;1,3`;
    in a file they are arrays of pairs, `"data.z_own" = [[1, 2], [1, 3]]`.
    """
    grid: dict[str, list] = dict(grid_file(file, flag)) if file else {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"{flag} {item!r}: expected SECTION.FIELD=V1,V2,...")
        key, text = (s.strip() for s in item.split("=", 1))
        if key in grid:
            raise ConfigError(f"{flag} {key}: given twice; list all its values in one {flag}"
                              + (f" (it is in the [grid] of {str(file)!r})" if file else ""))
        section, _, name = key.partition(".")
        current = getattr(getattr(cfg, section, None), name, None) if name else None
        sep = ";" if isinstance(current, tuple) else ","
        grid[key] = split_items(text, f"{flag} {key}", sep)
    if not grid:
        raise ConfigError(f"{flag}: value None is not allowed; allowed: at least one {flag} "
                          "SECTION.FIELD=V1,V2,... (or a [grid] table in the --config file)")
    return validate_grid(grid, cfg, flag)


def grid_file(path: str | Path, flag: str = "--grid") -> dict[str, list]:
    """The `grid` table of a --config file ({} when it has none); each entry a non-empty list,
    each field once (`"data.mu" = [...]` beside a `[grid.data]` table holding mu is refused)."""
    from .config import read_tree

    tree = read_tree(path, "--config" if flag == "--grid" else flag)
    table = tree.get("grid", {})
    if not isinstance(table, dict):
        raise ConfigError(f"grid: in {str(path)!r} must be a table of SECTION.FIELD = [values]")
    # TOML reads an unquoted data.mu = [...] as a table data = {mu = [...]}
    flat: dict[str, list] = {}
    for k, v in table.items():
        for key, values in ([(f"{k}.{n}", w) for n, w in v.items()] if isinstance(v, dict)
                            else [(k, v)]):
            if key in flat:
                raise ConfigError(f"{flag} {key}: given twice in {str(path)!r} (as "
                                  f"\"{key}\" and in a [grid.{key.split('.')[0]}] table); "
                                  "allowed: each field once")
            flat[key] = values
    for key, values in flat.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{flag} {key}: value {values!r} in {str(path)!r} is not allowed; "
                              f"allowed: a non-empty array of values")
    return flat


def validate_grid(grid: dict[str, list], cfg: Config, flag: str = "--grid") -> dict[str, list]:
    """Check a grid {SECTION.FIELD: [values]} before any work: every value valid on `cfg` (as
    --set would check it), no value twice (it would be computed twice under one key), and no
    train.devices axis (sharding gives the same numbers, so its points would share one result
    file: give --devices instead). Returns `grid`."""
    for key, values in grid.items():
        if key == "train.devices":
            raise ConfigError(f"{flag} {key}: not a grid field; allowed: a field that changes "
                              "results (sharding over devices gives the same numbers: give "
                              "--devices N instead)")
        if not isinstance(values, (list, tuple)) or not values:
            raise ConfigError(f"{flag} {key}: value {values!r} is not allowed; allowed: a "
                              "non-empty list of values")
        seen = []
        for v in values:
            typed = _get(override(cfg, {key: v}), key)
            if typed in seen:
                raise ConfigError(f"{flag} {key}: value {v!r} is not allowed; allowed: distinct "
                                  f"values ({typed!r} is given twice)")
            seen.append(typed)
    return grid


@dataclass(frozen=True)
class Point:
    """One grid point: its grid values (typed, as resolved) and its full config."""

    values: dict
    cfg: Config


def grid_points(cfg: Config, grid: dict[str, list]) -> list[Point]:
    """The Cartesian product of the grid over the base config, in grid order (last field fastest)."""
    points = []
    for combo in itertools.product(*grid.values()):
        c = override(cfg, dict(zip(grid, combo)))
        points.append(Point({k: _get(c, k) for k in grid}, c))
    return points


def check_grid_points(points: list[Point], flag: str = "--grid") -> None:
    """What a sweep's points must share: one precision (a float32 and a float64 point cannot
    run in one process's jax mode)."""
    dtypes = sorted({p.cfg.train.dtype for p in points})
    if len(dtypes) > 1:
        raise ConfigError(f"{flag} train.dtype: values {' and '.join(dtypes)} are not allowed in "
                          "one sweep; allowed: one precision per sweep (run two sweeps)")


def _get(cfg: Config, key: str):
    section, name = key.split(".", 1)
    v = getattr(getattr(cfg, section), name)
    return list(v) if isinstance(v, tuple) else v


# --- batched training of single / ensemble ------------------------------------------------

def training_group(cfg: Config) -> tuple:
    """Values of TRAINING_STATIC: points with equal groups can be trained in one `fit` call."""
    d = cfg.to_dict()
    d["data"]["n_patches"], d["data"]["n_train"] = cfg.data.n_patches, cfg.data.n_train
    group = tuple(_canon(d[s][n]) for s, n in (k.split(".") for k in TRAINING_STATIC))
    # at d = ∞ a member's parameters include its test patches' noise coordinates
    return group + (cfg.data.N_test,) if cfg.data.limit else group


@functools.lru_cache(maxsize=None)
def point_loss(q: int) -> Callable:
    """learners.label_loss on the member's own training set, labels and varrho (the `member`
    arrays take the place of the shared ones)."""
    from .learners import label_loss

    base = label_loss(q)

    def loss(W, shared, member):
        return base(W, {**shared, **member}, member)
    return loss


def train_points(cfgs: list[Config], L: int, seed: int, progress: bool = True,
                 desc: str = "points") -> list:
    """The L single models of several configs of one training group, trained as
    `check.run_check` trains them, but in one `fit` call: its members are the (point, seed)
    pairs, each reading its point's training set and varrho from `member`. `fit` stops each
    member by the stopping rule and drops stopped members from the batch, so a slow point does
    not hold the others' compute.
    Returns one `recipe.Run` per point with its stage "single" (parameters [L, k, m, d], its
    slice of the fit: history, stopping steps and the steps the point alone would report, Λ at
    the end), as `recipe.train_methods(cfg, L, seed, ("single",))` returns it; the seconds are
    the batch's shared equally.
    """
    import jax
    import jax.numpy as jnp
    import numpy as np

    from .keys import member_keys
    from .data import make_problem
    from .learners import Trained, float_dtype, init_members, net_eval_logits
    from .model import phi_lam
    from .recipe import StageResult, run_of
    from .train import FitResult, fit, steps_until

    assert len({training_group(c) for c in cfgs}) == 1, "configs of different training groups"
    t0 = time.perf_counter()
    base = cfgs[0]
    dt = float_dtype(base)
    data_key, keys = member_keys(seed, L)
    problems = [make_problem(data_key, c.data) for c in cfgs]
    views = problems[0].views
    for p in problems[1:]:  # same key, k, d and view mode: the same views
        assert np.array_equal(np.asarray(p.views), np.asarray(views))
    G = len(cfgs)
    W = jnp.concatenate([init_members(keys, c) for c in cfgs])             # [G*L, k, m, d]
    member = {"x": jnp.stack([p.train.x.astype(dt) for p in problems]),
              "y": jnp.stack([p.train.y for p in problems]),
              "varrho": jnp.asarray([c.model.varrho for c in cfgs], dt)}
    member = jax.tree_util.tree_map(lambda a: jnp.repeat(a, L, axis=0), member)
    res = fit(point_loss(base.model.q), W, {}, member, base.train, progress=progress, desc=desc)
    W = res.params.reshape((G, L) + res.params.shape[1:])
    stopped = res.stopped_at.reshape(G, L)
    lam = np.asarray(jax.vmap(jax.vmap(lambda w: phi_lam(w, views.astype(dt))[1]))(W))
    runs = []
    for g, (cfg, problem) in enumerate(zip(cfgs, problems)):
        steps = steps_until(stopped[g], base.train)
        history = {k: v[:steps, g * L:(g + 1) * L] for k, v in res.history.items()}
        tr = Trained(W[g], FitResult(W[g], history, stopped[g], steps, []))
        logits = [np.asarray(net_eval_logits(tr, x, cfg))
                  for x in (problem.train.x, problem.test.x)]
        runs.append([cfg, problem, tr, logits, lam[g]])
    seconds = (time.perf_counter() - t0) / G
    return [run_of(cfg, seed, L, problem, {"single": StageResult(tr, *logits, lam_g, seconds)},
                   seconds)
            for cfg, problem, tr, logits, lam_g in runs]


@in_precision   # float64 configs compute in float64 (multiview/runtime.py)
def run_batched(cfgs: list[Config], L: int, seed: int, methods, progress: bool = True,
                desc: str = "points") -> list[dict]:
    """`run_check(cfg, L, seed, methods)` for several configs of one training group at once
    (methods within BATCHED_METHODS): `train_points`, then `check.report` of each point's run."""
    from .check import report

    methods = canonical_methods(methods)
    assert set(methods) <= set(BATCHED_METHODS), methods
    out = []
    for run in train_points(cfgs, L, seed, progress, desc):
        rec = report(run, methods)
        rec["run"]["batched_with"] = len(cfgs)
        out.append(rec)
    return out


# --- the sweep --------------------------------------------------------------------------------

def batchable(cfg: Config, methods) -> bool:
    """Whether a point can share a `fit` call with others (run_batched's conditions)."""
    return set(methods) <= set(BATCHED_METHODS)


def plan(todo: list[tuple[int, Point]], methods, batch_points: int) -> list[list]:
    """Split the points to compute into runs: batchable points of one training group in
    batches of <= batch_points (grid order within a group); every other point on its own."""
    groups: dict[tuple, list] = {}
    for item in todo:
        key = training_group(item[1].cfg) if batchable(item[1].cfg, methods) else ("own", item[0])
        groups.setdefault(key, []).append(item)
    per = max(1, batch_points)
    runs = [items[i:i + per] for items in groups.values() for i in range(0, len(items), per)]
    return sorted(runs, key=lambda items: items[0][0])


def compute_points(cfgs: list[Config], L: int, seed: int, methods, progress: bool = True,
                   desc: str = "points", stages: Path | None = None) -> list:
    """The results of one planned run: `run_batched` for several points, `check.run_check`
    for one (the call a Ray task makes). A point whose training fails inside the program
    (TrainingDiverged) gives its one-line message (a str) in place of a result; a batch that
    fails is rerun point by point, so only the failing points fail. `stages`: the folder of
    finished stages of a point computed on its own (results/stages.py)."""
    from . import check
    from .train import TrainingDiverged

    if len(cfgs) > 1:
        try:
            return run_batched(cfgs, L, seed, methods, progress=progress, desc=desc)
        except TrainingDiverged:
            return [compute_points([c], L, seed, methods, progress)[0] for c in cfgs]
    try:
        return [check.run_check(cfgs[0], L, seed, methods, progress=progress, stages=stages)]
    except TrainingDiverged as e:
        return [f"training diverged: {e}"]


def point_stages(out: Path, key: str, stages) -> Path:
    """Where a point computed on its own keeps its finished stages (results/stages.py): the
    folder given, shared by every point and kept; by default OUT/stages/KEY, removed by
    `_drop_stages` once the point is written."""
    return Path(stages) if stages is not None else out / "stages" / key


def ray_compute(stages) -> Callable:
    """compute_points as Ray tasks run it: a stages folder given is every task's (a path all of
    them can reach); by default the tasks keep none."""
    if stages is None:
        return compute_points
    return functools.partial(compute_points, stages=Path(stages).resolve())


def _drop_stages(out: Path, key: str) -> None:
    """Remove a written point's own stages folder (OUT/stages/KEY), and OUT/stages once it is
    empty."""
    import shutil

    shutil.rmtree(out / "stages" / key, ignore_errors=True)
    try:
        (out / "stages").rmdir()
    except OSError:
        pass            # absent, or another point's stages are still there


def cached_point(out: Path, key: str, cfg: Config, methods, log: Callable[[str], None],
                 corrupt: list[str] | None = None) -> dict | None:
    """The finished point `key` in OUT (its point file, checked by `load_point`), or None
    where there is none: a file that is not a valid result is moved to NAME.corrupt (said in
    `log`, its name appended to `corrupt`), so that it is computed again. The sweep's resume,
    and a study's that walks its own points over the same store."""
    path = out / f"{key}.json"
    if not path.exists():
        return None
    record, why = load_point(path, key, cfg, methods)
    if record is None:
        if corrupt is not None:
            corrupt.append(path.name)
        log(f"sweep: {path} is not a valid result ({why}); moved to {path.name}.corrupt, "
            f"recomputing it")
        path.replace(path.with_name(path.name + ".corrupt"))
    return record


def run_sweep(cfg: Config, grid: dict[str, list], methods, L: int, seed: int, out: str | Path, *,
              batch_points: int = 4, progress: bool = True,
              log: Callable[[str], None] | None = None, cluster: str | None = None,
              stages: str | Path | None = None) -> dict:
    """Run (or resume) the sweep over the Cartesian product of `grid` on top of `cfg`; return
    the summary, also written to OUT/sweep.json.

    batch_points: at most this many points of one training group per `fit` call (1: every
    point through `check.run_check`). cluster: None computes in this process; otherwise the
    Ray address ("local", HOST:PORT, ray://HOST:PORT) whose tasks compute the runs
    (multiview/cluster.py). Points that fail are listed under "failed", not written, and
    computed again by a rerun.

    stages: where a point computed on its own (not in a batch) keeps its finished stages
    (results/stages.py), so that an interrupted point resumes from its last finished stage.
    None: OUT/stages/POINT_KEY, removed once the point is written (on Ray: none kept). A
    folder given here is shared by every point and kept, on Ray too (a path every task can
    reach): sweeps that differ only in their students' settings (distill.*) then train their
    single models, twins and sums once.
    """
    from .progress import bar as progress_bar

    log = log or (lambda msg: print(msg, file=sys.stderr))
    methods = canonical_methods(methods)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    points = grid_points(cfg, grid)
    mine = study(cfg, list(grid), methods, L, seed)
    claim_study(out, mine)          # another study's points or claim there: refused before any work
    keys = [point_key(p.cfg, methods, L, seed) for p in points]
    records: dict[int, dict] = {}
    corrupt: list[str] = []
    for i, (p, key) in enumerate(zip(points, keys)):
        record = cached_point(out, key, p.cfg, methods, log, corrupt)
        if record is not None:
            records[i] = record
    todo = [(i, p) for i, p in enumerate(points) if i not in records]
    runs = plan(todo, methods, batch_points)
    failed: dict[int, str] = {}
    bar = progress_bar(total=len(points), initial=len(records), desc="sweep", unit="point",
               disable=not progress, dynamic_ncols=True)

    def own_stages(items) -> Path | None:
        """The stages folder of a run of one point (None for a batch)."""
        return None if len(items) > 1 else point_stages(out, keys[items[0][0]], stages)

    def in_process():
        for n, items in enumerate(runs):
            label = ", ".join(f"{k.split('.')[-1]}={v}" for k, v in items[0][1].values.items())
            bar.set_postfix_str(label + (f" (+{len(items) - 1} more)" if len(items) > 1 else ""))
            yield n, compute_points([p.cfg for _, p in items], L, seed, methods,
                                    progress=progress, desc=f"{len(items)} points × {L} seeds",
                                    stages=own_stages(items))

    if cluster is None:
        outcomes = in_process()
    else:
        from .cluster import run_on_ray
        outcomes = run_on_ray(cluster, [[p.cfg for _, p in items] for items in runs], L, seed,
                              methods, ray_compute(stages), log)
    try:
        for n, results in outcomes:
            for (i, p), result in zip(runs[n], results):
                if isinstance(result, str):
                    failed[i] = result
                    log(f"sweep: point {p.values} failed: {result}")
                    if stages is None and cluster is None:
                        _drop_stages(out, keys[i])      # a divergence is deterministic
                    continue
                path = write_point(out, keys[i], p.values, methods, L, seed, result)
                records[i] = json.loads(path.read_text())
                if stages is None and cluster is None:
                    _drop_stages(out, keys[i])
            bar.update(len(runs[n]))
    finally:
        outcomes.close()
        bar.close()
    summary = {
        "format": "multiview.sweep/1",
        "grid": {k: _unique([pt.values[k] for pt in points]) for k in grid},
        "base_config": cfg.to_dict(), "methods": methods, "seeds": L, "seed": seed,
        "failed": [{"grid": points[i].values, "key": keys[i], "error": failed[i]}
                   for i in sorted(failed)],
        "run": {"points": len(points), "cached": len(points) - len(todo),
                "computed": len(todo) - len(failed), "failed": len(failed),
                "fit_calls": len(runs), "recomputed_corrupt": corrupt, "cluster": cluster,
                "seconds": time.perf_counter() - t0},
    }
    # sweep.json: the union of this study's points on disk (slices of the grid run by other
    # processes into the same folder included), written under the folder's lock
    return write_sweep_summary(out, summary, mine)


# --- the printed summary ------------------------------------------------------------------

def _num(v, width: int) -> str:
    return f"{'n/a':>{width}}" if v is None else f"{v:>{width}.3f}"


def format_summary(summary: dict) -> str:
    """One line per point: grid values, single-view test accuracy per method (its 95 % CI
    where the summary has one), predictions held. Columns are as wide as their names."""
    fields = list(summary["grid"])
    methods = summary["methods"]
    points = summary["points"]
    ci = any(m.get("ci") for p in points for m in p["methods"].values())
    fw = {f: max(8, len(f.split(".")[-1]), *(len(str(p["grid"][f])) for p in points)) + 2
          for f in fields}
    mw = {m: max(7, len(m)) + 2 for m in methods}

    def cell(p, m):
        rec = p["methods"].get(m)
        text = _num(None if rec is None else rec["test_acc_single"], mw[m])
        if ci:
            lo_hi = ((rec or {}).get("ci") or {}).get("test_acc_single")
            interval = "" if not lo_hi or None in lo_hi else f"[{lo_hi[0]:.2f},{lo_hi[1]:.2f}]"
            text += f"{interval:>13}"
        return text
    head = "".join(f"{f.split('.')[-1]:>{fw[f]}}" for f in fields) + "".join(
        f"{m:>{mw[m]}}" + (f"{'95% CI':>13}" if ci else "") for m in methods) + \
        "   predictions held"
    lines = [head, "-" * len(head)]
    for p in points:
        held = sum(q["holds"] is True for q in p["predictions"])
        lines.append("".join(f"{str(p['grid'][f]):>{fw[f]}}" for f in fields)
                     + "".join(cell(p, m) for m in methods)
                     + f"   {held}/{len(p['predictions'])}")
    for p in summary.get("failed", []):
        lines.append("".join(f"{str(p['grid'][f]):>{fw[f]}}" for f in fields)
                     + f"   FAILED: {p['error']}")
    lines.append("(columns per method: single-view test accuracy"
                 + (", and its 95% confidence interval over the seeds)" if ci else ")"))
    return "\n".join(lines)

"""The Python face of the package (docs/api.md): what a notebook needs, in one place.

    import multiview as mv
    cfg = mv.configure("tiny", {"data.mu": 0.2})     # a preset and overrides -> a Config
    result = mv.check(cfg, seeds=4)                  # the dict check.json holds

configure, check, sweep, search, dose, load, plot, load_params and use_compile_cache call the same
library functions as the command line, with the same validation (a ConfigError naming the
field, the value and what is allowed). Float64 configs compute in float64, and the compiled
programs persist on disk as they do for the `multiview` program (MULTIVIEW_COMPILE_CACHE).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from . import inputs
from .config import Config, ConfigError, from_dict, load_file, override
from .config import preset as preset_config
from .errors import native, need

__all__ = ["configure", "check", "sweep", "search", "dose", "load", "plot", "load_params",
           "use_compile_cache", "Config", "ConfigError", "Members"]


def use_compile_cache() -> Path | None:
    """Keep compiled programs on disk and reuse them (as the `multiview` program does): in
    $MULTIVIEW_COMPILE_CACHE, default ~/.cache/multiview/xla-<machine>; MULTIVIEW_COMPILE_CACHE=off
    switches it off. Works before or after jax is imported; check, sweep and dose call it
    themselves. Returns the cache directory (None: off)."""
    from .runtime import enable_compile_cache

    return enable_compile_cache()


def configure(preset: str = "small", overrides: dict | str | Path | None = None,
              **sections) -> Config:
    """The validated Config of preset `preset` with `overrides`: a dict {"data.mu": 0.1} or
    {"data": {"mu": 0.1}}, or the path of a JSON/TOML file of them; keyword arguments take
    sections too (`configure("tiny", model={"m": 4})`)."""
    need(isinstance(preset, str), "preset", preset, "a preset's name (a str)")
    cfg = preset_config(preset)
    if isinstance(overrides, (str, Path)):
        cfg = override(cfg, load_file(overrides, flag="overrides"))
    elif overrides is not None:
        cfg = override(cfg, _flat(overrides))
    return override(cfg, _flat(sections)) if sections else cfg


def _flat(tree: dict) -> dict:
    if not isinstance(tree, dict):
        raise ConfigError(f"overrides: value {tree!r} is not allowed; allowed: a dict "
                          "{'section.field': value} or {'section': {'field': value}}, or a "
                          "file path")
    return {f"{k}.{n}" if isinstance(v, dict) else k: w
            for k, v in tree.items() for n, w in (v.items() if isinstance(v, dict) else [(k, v)])}


def _methods(methods) -> list[str]:
    """A text ('all' or 'a,b') or a list of method names, checked by the CLI's one validator."""
    from .methods import METHOD_NAMES

    return inputs.choice(methods, METHOD_NAMES, "methods")


def _cfg(cfg) -> Config:
    need(isinstance(cfg, Config), "cfg", cfg, "a Config (from mv.configure)")
    return cfg


def _start(cfgs: list, L: int, force_size: bool, out, members: int | None = None) -> None:
    """What every entry checks before it trains (after its arguments and `out`): the configs,
    the memory (of `members` trained together, default L); a long run's time estimate is
    printed; then the compilation cache."""
    import sys

    from .size import duration, guard

    inputs.flag(force_size, "force_size")
    for cfg in cfgs:
        guard(_cfg(cfg), members or L, force_size)
    slow = duration(cfgs[0], L) if cfgs else None
    if slow:
        print(f"multiview: {slow}", file=sys.stderr, flush=True)
    use_compile_cache()


def _out(out, name: str | None):
    """The output folder `out` (None: no file), checked before any work (outputs.out_dir)."""
    from .outputs import out_dir

    return None if out is None else out_dir(inputs.path(out, "out"), name, "out")


def check(cfg: Config, seeds: int = 10, seed: int = 0, methods="all", *, out=None,
          progress: bool = False, force_size: bool = False, stages=None) -> dict:
    """Train the learners `methods` need on `seeds` members and compare with the theorems:
    the dict of check.json (README), also written to OUT/check.json when `out` is given.
    `stages`: a folder of finished stages (`check --stages`): each stage is read back from it
    when there and written to it once trained."""
    from .check import run_check

    methods = _methods(methods)
    seeds, seed = inputs.count(seeds, "seeds"), inputs.seed(seed, "seed")
    stages = _folder(stages, "stages")
    return _produce("check", cfg, seeds, force_size, out, lambda: run_check(
        cfg, seeds, seed, methods, progress=inputs.flag(progress, "progress"), stages=stages),
        seeds=seeds, seed=seed, methods=methods, **_given(stages=stages))


def _folder(path, name: str):
    """An optional folder argument (None: none), checked before any work as --out is."""
    from .outputs import out_dir

    return None if path is None else out_dir(inputs.path(path, name), None, name)


def _produce(name: str, cfg, members: int, force_size: bool, out, run, **call) -> dict:
    """What check and dose share once their own arguments are checked: the config, OUT (None:
    no file) and the memory before any work, then `run()` with the call recorded as provenance
    and OUT/NAME.json claimed, written there."""
    from .outputs import claim
    from .provenance import invoked
    from .results import write_json

    file = f"{name}.json"
    _cfg(cfg)
    out = _out(out, file)
    _start([cfg], members, force_size, out)
    with invoked(_call(name, **call, out=out)), claim(None if out is None else out / file, "out"):
        result = run()
        if out is not None:
            write_json(result, out, file)
    return result


def sweep(cfg: Config, grid, methods=("single", "ensemble"), seeds: int = 10, seed: int = 0, *,
          out, batch_points: int = 4, progress: bool = False, cluster: str | None = None,
          force_size: bool = False, stages=None) -> dict:
    """Run (or resume) `check` over a grid on top of `cfg` into the directory `out` (one result
    file per point, sweep.json): grid is {"data.mu": [0.0, 0.1], ...}, a list of --grid
    strings ("data.mu=0,0.1"), or the path of a TOML/JSON file with a [grid] table. Returns
    the summary (sweep.json); a point that fails (training diverged) is listed under
    "failed" and reported on stderr, as the command does. `stages`: the folder points
    computed one at a time share for their finished stages (`sweep --stages`; None:
    OUT/stages/POINT, removed once the point is written)."""
    from .provenance import invoked
    from .sweep import check_grid_points, grid_points, parse_grid, run_sweep, validate_grid

    methods = _methods(methods)
    seeds, seed = inputs.count(seeds, "seeds"), inputs.seed(seed, "seed")
    batch_points = inputs.count(batch_points, "batch_points")
    _cfg(cfg)
    out = _out(inputs.path(out, "out"), None)          # required: the sweep's folder
    stages = _folder(stages, "stages")
    grid_arg = grid = native(grid)                     # a numpy array of --grid strings too
    if isinstance(grid, str) and "=" in grid and not Path(grid).exists():
        grid = [grid]                            # one --grid string: "data.mu=0.1,0.2"
    if isinstance(grid, (str, Path)):
        # the file's sections override cfg, as `sweep --config FILE` applies them
        cfg = override(cfg, load_file(grid, grid=True, flag="grid"))
        grid = parse_grid([], cfg, grid, flag="grid")
    elif isinstance(grid, (list, tuple)):
        grid = parse_grid(inputs.texts(list(grid), "grid", "a 'SECTION.FIELD=V1,V2' text"),
                          cfg, flag="grid")
    else:
        need(isinstance(grid, dict), "grid", grid, "a dict {field: [values]}, --grid strings "
             "or a file with a [grid] table")
        grid = validate_grid({k: inputs.values(v, f"grid {k}") for k, v in grid.items()}, cfg,
                             flag="grid")
    points = grid_points(cfg, grid)
    check_grid_points(points, "grid")
    _start([p.cfg for p in points], seeds, force_size, out, members=seeds * batch_points)
    with invoked(_call("sweep", grid=grid_arg, methods=methods, seeds=seeds, seed=seed,
                       out=out, batch_points=batch_points, cluster=cluster,
                       **_given(stages=stages))), \
            _named({"--out": "out"}):
        return run_sweep(cfg, grid, methods, seeds, seed, out, batch_points=batch_points,
                         progress=inputs.flag(progress, "progress"),
                         cluster=_cluster(cluster), stages=stages)


def _cluster(cluster) -> str | None:
    """The `cluster` argument: None (this process), "ray" or "local" (Ray on this machine),
    "auto", HOST:PORT or ray://HOST:PORT (a running Ray cluster)."""
    import re

    if cluster is None:
        return None
    need(isinstance(cluster, str) and (cluster in ("ray", "local", "auto")
                                       or re.fullmatch(r"(ray://)?[^\s:]+:[0-9]+", cluster)),
         "cluster", cluster, "None, 'ray' (Ray on this machine), 'auto', HOST:PORT or "
         "ray://HOST:PORT of a running Ray cluster")
    return "local" if cluster == "ray" else cluster


def _given(**kw) -> dict:
    """The keyword arguments that are not None (a call's provenance names an option only when
    it was used)."""
    return {k: v for k, v in kw.items() if v is not None}


def _call(name: str, **kw) -> str:
    """The API call as provenance records it: mv.NAME(cfg, key=value, ...)."""
    return f"mv.{name}(cfg, " + ", ".join(f"{k}={v!r}" for k, v in kw.items()) + ")"


def search(cfg: Config, space, *, out, trials: int = 20, seeds: int = 5, base_seeds: int = 3,
           seed: int = 0, methods=None, require=None, first=None, storage: str | None = None,
           study: str = "search", progress: bool = False, cluster: str | None = None,
           parallel: int | None = None, force_size: bool = False, stages=None) -> dict:
    """Run (or resume) `multiview search` into the directory `out` (docs/search.md): space is a
    [search] table as a dict ({"model.varrho": {"low": 0.5, "high": 3, "log": True},
    "require": ["T1.*"]}) or the path of a TOML/JSON file holding one, whose other sections
    override `cfg` as `--config` does; require and first override the table's. `stages`: the
    folder of finished stages every trial shares and keeps (`search --stages`; None:
    OUT/stages/POINT, removed once the point is written). Returns the summary (search.json)."""
    from .config import load_file
    from .provenance import invoked
    from .search import prepare, run_search

    _cfg(cfg)
    if isinstance(space, (str, Path)):
        cfg = override(cfg, load_file(space, grid=True))
    trials = inputs.count(trials, "trials")
    parallel = None if parallel is None else inputs.count(parallel, "parallel")
    progress, force_size = inputs.flag(progress, "progress"), inputs.flag(force_size, "force_size")
    _cluster(cluster)
    out = _out(out, None)
    need(out is not None, "out", out, "a folder for the points, the study and search.json")
    stages = _folder(stages, "stages")
    job = prepare(cfg, space, seeds, base_seeds, seed, methods, require, force_size, first)
    _start([], job["L"], force_size, out)
    with invoked(_call("search", space=space, trials=trials, seeds=job["L"],
                       base_seeds=len(job["base_seeds"]), seed=job["base_seeds"][0],
                       methods=methods, require=require, first=first, out=out,
                       **_given(stages=stages))):
        return run_search(**job, out=out, trials=trials, seed=job["base_seeds"][0],
                          storage=storage, name=study, progress=progress,
                          cluster=_cluster(cluster), parallel=parallel or (4 if cluster else 1),
                          stages=stages)


def dose(cfg: Config, seeds: int = 10, seed: int = 0, sizes=None, *, out=None,
         progress: bool = False, force_size: bool = False) -> dict:
    """The teacher dose-response (multiview/dose.py): the dict of dose.json, also written to
    OUT/dose.json when `out` is given. sizes: teacher ensemble sizes (default 2, 4, ..., L)."""
    from .dose import run_dose

    seeds, seed = inputs.count(seeds, "seeds"), inputs.seed(seed, "seed")
    if sizes is not None:
        sizes = [inputs.integer(j, "sizes", 1, seeds) for j in inputs.values(sizes, "sizes")]
    return _produce("dose", cfg, seeds, force_size, out, lambda: run_dose(
        cfg, seeds, seed, sizes, progress=inputs.flag(progress, "progress")),
        seeds=seeds, seed=seed, sizes=sizes)


def plot(kind: str, path, out=None, *, name: str | None = None, x: str | None = None,
         y: str | None = None, fix: list[str] | None = None, force: bool = False) -> list[Path]:
    """Draw figure `kind` (views, lottery, ensemble-size, methods, fixed, phase, phase-teacher,
    teacher-vs-k, dose, stability) from the result at `path` into OUT/name.{pdf,png} (beside
    the input by default); the files written. `fix` picks the slice of a grid of three or more fields
    (["FIELD=VALUE", ...]). Existing figures are replaced only with `force`."""
    from .plots import KINDS
    from .plots import plot as draw

    need(isinstance(kind, str) and kind in KINDS, "kind", kind, ", ".join(KINDS))
    path = inputs.path(path, "path")
    out = None if out is None else inputs.path(out, "out")
    for arg, v in (("name", name), ("x", x), ("y", y)):
        need(v is None or isinstance(v, str), arg, v, "a str, or None")
    fix = None if fix is None else inputs.texts(fix, "fix", "a 'FIELD=VALUE' text")
    force = inputs.flag(force, "force")
    with _named({"--in": "path", "--out": "out", "--name": "name"}):
        return draw(kind, path, out, name, x, y, force, fix)


@contextmanager
def _named(flags: dict):
    """A ConfigError of the library code below that names a command-line flag ("--out: ...")
    names the argument the caller wrote instead ("out: ...")."""
    try:
        yield
    except ConfigError as e:
        text = str(e)
        for flag, arg in flags.items():
            if text.startswith(f"{flag}:"):
                raise ConfigError(arg + text[len(flag):]) from None
        raise


def load(path, kind: str | None = None):
    """The result at `path` (a file, or a folder holding one) as `Loaded(kind, path, content)`
    with `.frame()`: multiview.results.load, the one reader of every result file; with `kind`
    only a result of that kind is accepted."""
    from .results import KINDS
    from .results import load as read

    need(kind is None or kind in KINDS, "kind", kind, f"None or one of {', '.join(KINDS)}")
    return read(inputs.path(path, "path"), kind, "path")


# --- trained members (`multiview train`'s params.npz) ----------------------------------------

@dataclass(frozen=True)
class Members:
    """The members `multiview train` saved: their config, base seed and parameters per stage
    ({"single": W [L, k, m, d]}); they evaluate on new data."""

    config: Config
    seed: int
    params: dict

    @property
    def L(self) -> int:
        return int(next(iter(self.params.values())).shape[0])

    def logits(self, x, stage: str = "single"):
        """Logits [L, n, k] of every member of `stage` on inputs x [n, P, d]."""
        import numpy as np

        from .learners import logits_of
        from .runtime import precision

        need(stage in self.params, "stage", stage, f"one of {', '.join(self.params)}")
        D = self.config.data
        shape = getattr(x, "shape", None)
        need(shape is not None and len(shape) == 3 and tuple(shape[1:]) == (D.n_patches, D.d),
             "x", f"an array of shape {list(shape)}" if shape is not None else type(x).__name__,
             f"inputs [n, P={D.n_patches}, d={D.d}] (the members' config)")
        with precision(self.config):
            return np.asarray(logits_of(self.params[stage], x, self.config))

    def accuracy(self, dataset, stage: str = "single") -> dict:
        """Per-member accuracy on a data.Dataset: {"acc", "multi", "single": [L]} (overall,
        multi-view and single-view points; NaN for an empty slice)."""
        from .metrics import slice_accuracies

        return slice_accuracies(self.logits(dataset.x, stage), dataset)

    def problem(self):
        """The data the members were trained and tested on (`check --seed S`'s data)."""
        from .data import make_problem
        from .keys import data_key
        from .runtime import precision

        with precision(self.config):
            return make_problem(data_key(self.seed), self.config.data)


def load_params(path) -> Members:
    """The members of a `multiview train --out DIR` run: DIR (or DIR/params.npz) with the
    train.json beside it (config and seed). A missing or foreign file is a ConfigError."""
    import numpy as np

    from .results import read_result

    p = inputs.path(path, "path")
    npz = p / "params.npz" if p.is_dir() else p
    need(npz.is_file(), "path", str(path), "a `multiview train` directory or its params.npz "
         "(not found)")
    info = read_result(npz.parent / "train.json", "train.json", "multiview train", "path")
    try:
        with np.load(npz, allow_pickle=False) as z:
            params = {k: z[k] for k in z.files if k != "provenance"}   # metadata
    except (OSError, ValueError, EOFError) as e:
        raise ConfigError(f"path: {str(npz)!r} is not an .npz file ({type(e).__name__}); "
                          "expected the params.npz of `multiview train`") from None
    need(set(params) == {"W"} and params["W"].ndim == 4, "path", str(npz),
         f"the params.npz of `multiview train` (arrays W [L, k, m, d]; found "
         f"{', '.join(f'{k} {v.shape}' for k, v in params.items())})")
    try:
        cfg = from_dict(info["config"])
    except (KeyError, TypeError, AttributeError) as e:
        raise ConfigError(f"path: {str(npz.parent / 'train.json')!r} has no readable config "
                          f"({e})") from None
    W = params["W"]
    from .model import coordinates     # d, or at d = ∞ the coordinates (multiview/limit.py)

    d = coordinates(cfg.data)
    need(W.shape[1:] == (cfg.data.k, cfg.model.m, d), "path", str(npz),
         f"W of shape [L, k={cfg.data.k}, m={cfg.model.m}, d={d}] as train.json's "
         f"config says (found {list(W.shape)})")
    return Members(cfg, int(info.get("seed", 0)), {"single": W})


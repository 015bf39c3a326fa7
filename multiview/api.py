"""The Python face of the package (docs/api.md): what a notebook needs, in one place.

    import multiview as mv
    cfg = mv.configure("tiny", {"data.mu": 0.2})     # a preset and overrides -> a Config
    result = mv.check(cfg, seeds=4)                  # the dict check.json holds

configure, check, sweep, dose, load, plot, load_params and use_compile_cache call the same
library functions as the command line, with the same validation (a ConfigError naming the
field, the value and what is allowed). Float64 configs compute in float64, and the compiled
programs persist on disk as they do for the `multiview` program (MULTIVIEW_COMPILE_CACHE).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .config import Config, ConfigError, from_dict, load_file, override, preset
from .errors import need
from .results import load            # noqa: F401  (the one reader of every result file)

__all__ = ["configure", "check", "sweep", "dose", "load", "plot", "load_params",
           "use_compile_cache", "Config", "ConfigError", "Members"]


def use_compile_cache() -> Path | None:
    """Keep compiled programs on disk and reuse them (as the `multiview` program does): in
    $MULTIVIEW_COMPILE_CACHE, default ~/.cache/multiview/xla-<machine>; MULTIVIEW_COMPILE_CACHE=off
    switches it off. Works before or after jax is imported; check, sweep and dose call it
    themselves. Returns the cache directory (None: off)."""
    from .runtime import enable_compile_cache

    return enable_compile_cache()


def configure(name: str = "small", overrides: dict | str | Path | None = None,
              **sections) -> Config:
    """The validated Config of preset `name` with `overrides`: a dict {"data.mu": 0.1} or
    {"data": {"mu": 0.1}}, or the path of a JSON/TOML file of them; keyword arguments take
    sections too (`configure("tiny", model={"m": 4})`)."""
    cfg = preset(name)
    if isinstance(overrides, (str, Path)):
        cfg = override(cfg, load_file(overrides))
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
    from .errors import subset
    from .methods import METHOD_NAMES

    chosen = methods if isinstance(methods, str) else [m.strip() for m in methods]
    return subset(chosen, METHOD_NAMES, "--methods")


def _start(cfgs: list, L: int, force_size: bool, out, members: int | None = None) -> None:
    """What every entry checks before it trains: the configs, L, the memory (of `members`
    trained together, default L), the output folder; then the compilation cache."""
    from .results import probe_dir
    from .size import guard

    need(isinstance(L, int) and not isinstance(L, bool) and L >= 1, "seeds", L,
         "an integer >= 1")
    if out is not None:
        probe_dir(out, "out")
    for cfg in cfgs:
        need(isinstance(cfg, Config), "cfg", cfg, "a Config (from mv.configure)")
        guard(cfg, members or L, force_size)
    use_compile_cache()


def check(cfg: Config, seeds: int = 10, seed: int = 0, methods="all", *, out=None,
          progress: bool = False, force_size: bool = False) -> dict:
    """Train the learners `methods` need on `seeds` members and compare with the theorems:
    the dict of check.json (README), also written to OUT/check.json when `out` is given."""
    from .check import run_check
    from .results import write_json

    methods = _methods(methods)
    _start([cfg], seeds, force_size, out)
    result = run_check(cfg, seeds, seed, methods, progress=progress)
    if out is not None:
        write_json(result, out)
    return result


def sweep(cfg: Config, grid, methods=("single", "ensemble"), seeds: int = 10, seed: int = 0, *,
          out, batch_points: int = 4, progress: bool = False, cluster: str | None = None,
          force_size: bool = False) -> dict:
    """Run (or resume) `check` over a grid on top of `cfg` into the directory `out` (one result
    file per point, sweep.json): grid is {"data.mu": [0.0, 0.1], ...}, a list of --grid
    strings ("data.mu=0,0.1"), or the path of a TOML/JSON file with a [grid] table. Returns
    the summary (sweep.json); a point that fails (training diverged) is listed under
    "failed" and reported on stderr, as the command does."""
    from .sweep import grid_points, parse_grid, run_sweep, validate_grid

    methods = _methods(methods)
    need(isinstance(cfg, Config), "cfg", cfg, "a Config (from mv.configure)")
    if isinstance(grid, (str, Path)):
        grid = parse_grid([], cfg, grid)
    elif isinstance(grid, (list, tuple)):
        grid = parse_grid(list(grid), cfg)
    else:
        need(isinstance(grid, dict), "grid", grid, "a dict {field: [values]}, --grid strings "
             "or a file with a [grid] table")
        grid = validate_grid(dict(grid), cfg)
    need(isinstance(batch_points, int) and batch_points >= 1, "batch_points", batch_points,
         "an integer >= 1")
    _start([p.cfg for p in grid_points(cfg, grid)], seeds, force_size, out,
           members=seeds * batch_points)
    return run_sweep(cfg, grid, methods, seeds, seed, out, batch_points=batch_points,
                     progress=progress, cluster=cluster)


def dose(cfg: Config, seeds: int = 10, seed: int = 0, sizes=None, *, out=None,
         progress: bool = False, force_size: bool = False) -> dict:
    """The teacher dose-response (multiview/dose.py): the dict of dose.json, also written to
    OUT/dose.json when `out` is given. sizes: teacher ensemble sizes (default 2, 4, ..., L)."""
    from .dose import run_dose
    from .results import write_json

    if sizes is not None:
        sizes = list(sizes)
        need(all(isinstance(j, int) and 1 <= j <= seeds for j in sizes) and sizes, "sizes", sizes,
             f"ensemble sizes between 1 and seeds = {seeds}")
    _start([cfg], seeds, force_size, out)
    rec = run_dose(cfg, seeds, seed, sizes, progress=progress)
    if out is not None:
        write_json(rec, out, "dose.json")
    return rec


def plot(kind: str, path, out=None, *, name: str | None = None, x: str | None = None,
         y: str | None = None, fix: list[str] | None = None, force: bool = False) -> list[Path]:
    """Draw figure `kind` (views, lottery, ensemble-size, methods, fixed, phase, phase-teacher,
    teacher-vs-k, dose, stability) from the result at `path` into OUT/name.{pdf,png} (beside
    the input by default); the files written. `fix` picks the slice of a grid of three or more fields
    (["FIELD=VALUE", ...]). Existing figures are replaced only with `force`."""
    from .plots import plot as draw

    return draw(kind, path, out, name, x, y, force, fix)


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

    p = Path(path)
    npz = p / "params.npz" if p.is_dir() else p
    need(npz.is_file(), "path", str(path), "a `multiview train` directory or its params.npz "
         "(not found)")
    info = read_result(npz.parent / "train.json", "train.json", "multiview train", "path")
    try:
        with np.load(npz, allow_pickle=False) as z:
            params = {k: z[k] for k in z.files}
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


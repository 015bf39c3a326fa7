"""Regenerate every figure in figures/ (PDF + PNG) from fresh runs of the `small` preset.

    python experiments/make_figures.py [--figures figures] [--runs runs/figures] [--seeds 10]
                                       [--tiny] [--only NAME[,NAME...]]
    make figures                        (the same, through the Makefile)

What it runs (all of `small`, seed 0, L = --seeds members), each result kept under --runs so
that a rerun redraws without retraining (the sweeps resume point by point; delete a result
to recompute it):

  runs/figures/check/check.json     `multiview check --methods all`     -> methods, fixed
  runs/figures/arrays.npz           Φ/Λ over training, test logits     -> views, lottery,
                                    (multiview.runs.view_arrays)          ensemble_size
  runs/figures/sweep_mu_sigma0/     4 x 4 sweep of data.mu x model.sigma0 (single, ensemble)
                                                                        -> phase_mu_sigma0
  runs/figures/sweep_q_varrho/      3 x 4 sweep of model.q x model.varrho -> phase_q_varrho
  runs/figures/dose_{theorem,logits}/dose.json  `multiview dose` for two objectives, off-class
                                    Z in [0.6, 1.0]                     -> dose
  runs/figures/sweep_teacher/       3 x 2 sweep of data.k x distill.objective (kd, kd_twin;
                                    5 seeds)                            -> phase_teacher
  runs/figures/stability_{small,asymptotic}/stability.json  the single models trained with no
                                    stop to 5 x B (multiview.runs.stability_arrays; its own
                                    preset each, not only `small`)     -> stability
  runs/figures/sweep_teacher_vs_k/  sweep of data.k = 5, 8, 12, 16, 20 (single, ensemble, kd,
                                    kd_twin; 5 seeds; the same points as `multiview sweep
                                    --preset small --grid data.k=5,8,12,16,20 --methods
                                    single,ensemble,kd,kd_twin --seeds 5`) -> teacher_vs_k
  figures/atlas_runs/PRESET/seedS/check.json  recorded by experiments/atlas_runs.sh (committed;
                                    never trained here, --atlas names another folder) -> atlas
  figures/search_runs/t1_stable_limit/search.json  the T1.stable search in the limit
                                    (experiments/search_t1_stable_limit.toml, docs/search.md;
                                    committed, never searched here; --search names another
                                    search.json or folder)            -> search_t1_stable_limit
  figures/theorems_vs_k_runs/OBJECTIVE/seedS/  the k sweep in the limit, both objectives
                                    (experiments/theorems_vs_k.sh, docs/studies/20; its point
                                    files committed, never trained here; --ksweep names another
                                    folder)                            -> theorems_vs_k

--tiny swaps in the `tiny` preset (the tests' configuration) and tiny grids (a self-check in a
minute; do not commit its figures). Wall times of the last full run are in docs/figures.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from multiview import plots
from multiview.analysis import teacher_table, teacher_vs_k
from multiview.check import METHODS, run_check
from multiview.config import from_dict, override, preset
from multiview.dose import run_dose
from multiview.results import load, load_arrays, save_arrays, write_json
from multiview.runs import stability_arrays, view_arrays
from multiview.sweep import parse_grid, run_sweep

SWEEPS = {   # name -> grid items (`multiview sweep --grid` syntax)
    "mu_sigma0": ["data.mu=0.02,0.05,0.1,0.2", "model.sigma0=0.03,0.045,0.06,0.09"],
    "q_varrho": ["model.q=3,4,5", "model.varrho=1.5,3,4.5,6"],
}
TINY_SWEEPS = {"mu_sigma0": ["data.mu=0.1,0.3", "model.sigma0=0.03,0.06"],
               "q_varrho": ["model.q=3,4", "model.varrho=0.5,1.0"]}
# teacher dependence: kd vs kd_twin over k and the distillation objective (5 seeds per cell)
TEACHER_SWEEP = (["data.k=5,8,12", "distill.objective=theorem,logits"],
                 ["distill.alpha=1"], 5)
TINY_TEACHER_SWEEP = (["data.k=3,4", "distill.objective=theorem,logits"], ["distill.alpha=1"], 2)
# dose-response of the theorem objective and of logit matching, on `small` with strong
# off-class views (Z in [0.6, 1.0]: where the teachers' dark knowledge is strongest;
# docs/studies/06-dose-response-small.md)
DOSE_DATA = {"data.z_off_multi": "0.6,1.0"}
DOSE_OBJECTIVES = {"theorem": DOSE_DATA,
                   "logits": {**DOSE_DATA, "distill.objective": "logits", "distill.alpha": 1}}
# the lottery under long training: each preset's single models with no stop to 5 x B
STABILITY = ("small", "asymptotic")
TINY_STABILITY = ("tiny",)
# the theorem update's teacher share across k (kd, kd_twin; 5 seeds per k)
TEACHER_K_SWEEP = (["data.k=5,8,12,16,20"], 5)
TINY_TEACHER_K_SWEEP = (["data.k=3,4"], 2)
# each file of figures/ -> the figure (a kind of multiview.plots.FIGURES) that draws it
FIGURES = {"methods": "methods", "fixed": "fixed", "views": "views", "lottery": "lottery",
           "ensemble_size": "ensemble-size", "phase_mu_sigma0": "phase",
           "phase_q_varrho": "phase", "dose": "dose", "phase_teacher": "phase-teacher",
           "stability": "stability", "teacher_vs_k": "teacher-vs-k", "atlas": "atlas",
           "search_t1_stable_limit": "search", "theorems_vs_k": "theorems-vs-k"}
assert set(FIGURES.values()) == set(plots.FIGURES), "a figure of multiview.plots not drawn here"


def log(msg: str) -> None:
    print(f"[make_figures {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def cached_check(cfg, L: int, path: Path) -> dict:
    """check.json of all methods at `path`, computed unless one for this config and L exists."""
    if path.is_file():
        try:
            res = json.loads(path.read_text())
            if (from_dict(res["config"]) == cfg and len(res["seeds"]) == L
                    and set(res["methods"]) == set(METHODS)):
                log(f"reusing {path}")
                return res
        except (ValueError, KeyError, TypeError) as e:
            log(f"{path} unusable ({e}); recomputing")
    log(f"check: all methods, {L} seeds (the longest step) ...")
    res = run_check(cfg, L, 0, list(METHODS))
    write_json(res, path.parent)
    return res


def cached_arrays(cfg, L: int, path: Path) -> dict:
    if path.is_file():
        arrays = load_arrays(path)
        if arrays["config"] == cfg and arrays["single_test_logits"].shape[0] == L:
            log(f"reusing {path}")
            return arrays
    log(f"arrays: single models and students over training, {L} seeds ...")
    save_arrays(view_arrays(cfg, L), path)
    return load_arrays(path)


def cached_stability(name: str, L: int, path: Path) -> dict:
    """stability.json of preset `name` at `path`, computed unless one for its config and L exists."""
    cfg = preset(name)
    if path.is_file():
        try:
            rec = load(path, "stability").content
            if from_dict(rec["config"]) == cfg and rec["L"] == L:
                log(f"reusing {path}")
                return rec
        except (ValueError, KeyError, TypeError) as e:       # ConfigError is a ValueError
            log(f"{path} unusable ({e}); recomputing")
    log(f"stability: {name}, {L} single models with no stop to 5 x B ...")
    t = time.perf_counter()
    rec = stability_arrays(cfg, L, 0, progress=True, log=log, name=name)
    write_json(rec, path.parent, "stability.json")
    log(f"stability {name}: B = {rec['B']}, {rec['long_steps']} steps, "
        f"{time.perf_counter() - t:.0f} s")
    return load(path, "stability").content


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--figures", default="figures", help="output folder of the PDF/PNG files")
    ap.add_argument("--runs", default="runs/figures", help="folder of the cached results")
    ap.add_argument("--seeds", type=int, default=10, help="L, members per method (default 10)")
    ap.add_argument("--tiny", action="store_true", help="tiny config (a self-check)")
    ap.add_argument("--atlas", default="figures/atlas_runs",
                    help="the atlas's recorded runs (experiments/atlas_runs.sh)")
    ap.add_argument("--search", default="figures/search_runs/t1_stable_limit/search.json",
                    help="the recorded search the search figure draws (docs/search.md)")
    ap.add_argument("--ksweep", default="figures/theorems_vs_k_runs",
                    help="the k sweep's recorded points (experiments/theorems_vs_k.sh)")
    ap.add_argument("--only", default=",".join(FIGURES),
                    help=f"comma-separated subset of {', '.join(FIGURES)}")
    args = ap.parse_args(argv)
    only = [f.strip() for f in args.only.split(",") if f.strip()]
    bad = [f for f in only if f not in FIGURES]
    if bad or args.seeds < 2:
        ap.error(f"--only: unknown {bad}; allowed {', '.join(FIGURES)}" if bad else
                 "--seeds: value must be >= 2 (ensembles)")
    cfg = preset("tiny") if args.tiny else preset("small")
    runs, figs = Path(args.runs), Path(args.figures)
    t0 = time.perf_counter()
    written: list[Path] = []

    def draw(name, result, **opts):
        """File `name` of figures/: its figure's prepare step of `result`, drawn and saved."""
        written.extend(plots.save(plots.figure(FIGURES[name], result, **opts), figs, name))

    if {"methods", "fixed"} & set(only):
        check = cached_check(cfg, args.seeds, runs / "check" / "check.json")
        if "methods" in only:
            draw("methods", check)
        if "fixed" in only:
            draw("fixed", check)
    if {"views", "lottery", "ensemble_size"} & set(only):
        arrays = cached_arrays(cfg, args.seeds, runs / "arrays.npz")
        for name in ("views", "lottery", "ensemble_size"):
            if name in only:
                draw(name, arrays)
    for name, items in (TINY_SWEEPS if args.tiny else SWEEPS).items():
        if f"phase_{name}" not in only:
            continue
        grid = parse_grid(items, cfg)
        log(f"sweep {name}: {' x '.join(grid)} (resumes; finished points are reused) ...")
        summary = run_sweep(cfg, grid, ["single", "ensemble"], args.seeds, 0,
                            runs / f"sweep_{name}", log=log)
        x, y = list(grid)
        draw(f"phase_{name}", summary, x=x, y=y)
    if "dose" in only:
        records = []
        for obj, sets in DOSE_OBJECTIVES.items():
            path = runs / f"dose_{obj}" / "dose.json"
            c = override(cfg, sets) if sets else cfg
            if path.is_file() and from_dict(json.loads(path.read_text())["config"]) == c:
                log(f"reusing {path}")
                records.append(json.loads(path.read_text()))
                continue
            log(f"dose-response, {obj} objective, {args.seeds} students per teacher ...")
            rec = run_dose(c, args.seeds, 0, progress=True, log=log)
            write_json(rec, path.parent, "dose.json")
            records.append(rec)
        draw("dose", records)
    if "phase_teacher" in only:
        items, sets, L = TINY_TEACHER_SWEEP if args.tiny else TEACHER_SWEEP
        c = override(cfg, {k: v for k, v in (i.split("=") for i in sets)})
        grid = parse_grid(items, c)
        log(f"sweep teacher: {' x '.join(grid)}, {L} seeds (resumes) ...")
        summary = run_sweep(c, grid, ["single", "ensemble", "kd", "kd_twin"], L, 0,
                            runs / "sweep_teacher", batch_points=1, log=log)
        x, y = list(grid)
        draw("phase_teacher", summary, x=x, y=y)
    if "stability" in only:
        records = [cached_stability(name, args.seeds, runs / f"stability_{name}" / "stability.json")
                   for name in (TINY_STABILITY if args.tiny else STABILITY)]
        draw("stability", records)
    if "teacher_vs_k" in only:
        items, L = TINY_TEACHER_K_SWEEP if args.tiny else TEACHER_K_SWEEP
        grid = parse_grid(items, cfg)
        log(f"sweep teacher share across k: {items[0]}, {L} seeds (resumes) ...")
        summary = run_sweep(cfg, grid, ["single", "ensemble", "kd", "kd_twin"], L, 0,
                            runs / "sweep_teacher_vs_k", batch_points=1, log=log)
        table = teacher_vs_k(summary)
        log("teacher share of kd's gain across k:\n" + teacher_table(table))
        write_json(table, runs, "teacher_vs_k.json")
        written.extend(plots.save(plots.FIGURES["teacher-vs-k"].draw(table), figs,
                                  "teacher_vs_k"))
    if "atlas" in only:
        draw("atlas", load(args.atlas, "atlas").content)
    if "search_t1_stable_limit" in only:
        draw("search_t1_stable_limit", load(args.search, "search").content)
    if "theorems_vs_k" in only:
        draw("theorems_vs_k", load(args.ksweep, "ksweep").content)
    for p in written:
        print(p)
    log(f"{len(written)} files in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

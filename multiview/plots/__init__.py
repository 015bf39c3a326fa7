"""Paper figures from results (never trains): check.json, sweep.json, dose.json, stability.json,
the arrays of runs.py and an atlas folder of check.json files.

Each figure is one `Figure` record in `FIGURES`: the result kind it reads (results.KINDS), its
prepare step (the numbers, from multiview/analysis.py: no drawing), its draw function (takes the
prepared numbers and an optional `ax=`; returns a matplotlib Figure) and its file name. `plot`
runs every kind alike: load -> prepare -> probe the output -> draw -> save (PDF + PNG together);
`figure` draws one in memory. A new figure is one entry here and a module beside this one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..analysis import teacher_vs_k
from ..errors import ConfigError, need
from ..results import KINDS as RESULTS, load, probe_dir
from .arrays import (fig_ensemble_size, fig_lottery, fig_views, prepare_ensemble_size,
                     prepare_lottery, prepare_views)
from .atlas import fig_atlas, prepare_atlas
from .checks import fig_fixed, fig_methods, prepare_fixed, prepare_methods
from .doses import dose_labels, fig_dose, prepare_dose
from .search import fig_search, prepare as prepare_search
from .stability import fig_stability, prepare_stability
from .theorems_k import fig_theorems_k, prepare_theorems_k
from .style import METHOD_COLOR, METHOD_LABEL, OKABE_ITO, paper_style, save
from .sweeps import (fig_phase, fig_phase_teacher, fig_teacher_vs_k, phase_axes, phase_name,
                     prepare_phase, prepare_phase_teacher)


@dataclass(frozen=True)
class Figure:
    """One figure: `input` the result kind it reads (results.KINDS); `prepare(result, **opts)`
    its numbers (opts: those named in `options`, from the command line's --x / --y / --fix);
    `draw(prepared, ax=None)` the matplotlib Figure; `file` its file name without extension, or
    a function of the prepared numbers; `needs`: (a key of the result that must not be empty,
    what the input must then be), checked before anything is prepared; `note`: what else the
    input must hold, for the command line's help."""
    input: str
    prepare: Callable
    draw: Callable
    file: str | Callable
    options: tuple[str, ...] = ()
    needs: tuple[str, str] | None = None
    note: str = ""


POINTS = ("points", "a sweep with at least one finished point")
FIGURES: dict[str, Figure] = {
    "views": Figure("arrays", prepare_views, fig_views, "views"),
    "lottery": Figure("arrays", prepare_lottery, fig_lottery, "lottery"),
    "ensemble-size": Figure("arrays", prepare_ensemble_size, fig_ensemble_size, "ensemble_size"),
    "methods": Figure("check", prepare_methods, fig_methods, "methods"),
    "fixed": Figure("check", prepare_fixed, fig_fixed, "fixed"),
    "phase": Figure("sweep", prepare_phase, fig_phase, phase_name, ("x", "y", "fixed"), POINTS),
    "dose": Figure("dose", prepare_dose, fig_dose, "dose",
                   needs=("teachers", "a dose.json with at least one teacher")),
    "phase-teacher": Figure("sweep", prepare_phase_teacher, fig_phase_teacher, "phase_teacher",
                            ("x", "y", "fixed"), POINTS),
    "teacher-vs-k": Figure("sweep", teacher_vs_k, fig_teacher_vs_k, "teacher_vs_k", ("fixed",),
                           POINTS, "a sweep over data.k with kd and kd_twin"),
    "stability": Figure("stability", prepare_stability, fig_stability, "stability"),
    "search": Figure("search", prepare_search, fig_search, "search",
                     needs=("trials", "a search.json with at least one trial")),
    "atlas": Figure("atlas", prepare_atlas, fig_atlas, "atlas",
                    note="a folder of PRESET/seedS/check.json"),
    "theorems-vs-k": Figure("ksweep", prepare_theorems_k, fig_theorems_k, "theorems_vs_k",
                            note="a folder of OBJECTIVE/seedS/ sweeps over data.k"),
}
KINDS = tuple(FIGURES)
__all__ = ["FIGURES", "Figure", "INPUT", "KINDS", "METHOD_COLOR", "METHOD_LABEL", "OKABE_ITO",
           "default_out", "dose_labels", "figure", "kinds_help", "paper_style", "parse_fix", "phase_axes",
           "plot", "save"]
INPUT = {kind: f.input for kind, f in FIGURES.items()}       # the result kind each figure draws


def kinds_help() -> str:
    """The command line's help on the figures: the kinds that draw each result kind."""
    groups: dict[str, list[str]] = {}
    for kind, f in FIGURES.items():
        groups.setdefault(f.input, []).append(f"{kind} ({f.note})" if f.note else kind)
    return "; ".join(f"{', '.join(kinds)}: the {RESULTS[i][0]} of `{RESULTS[i][1]}`"
                     + (" (or its folder)" if i == "sweep" else "") for i, kinds in groups.items())


def figure(kind: str, result, ax=None, **opts):
    """Figure `kind` of a loaded result (or results, for `dose` and `stability`: one line
    each), drawn in memory: its draw function of its prepared numbers."""
    f = FIGURES[kind]
    return f.draw(f.prepare(result, **opts), ax=ax)


def parse_fix(items: list[str], kind: str = "phase") -> dict:
    """--fix FIELD=VALUE,... -> {FIELD: "VALUE"} (checked against the grid when drawn)."""
    out = {}
    for item in items:
        field, sep, value = item.partition("=")
        if not sep or not field.strip() or not value.strip():
            raise ConfigError(f"plot {kind}: --fix {item!r}: expected FIELD=VALUE, e.g. "
                              "--fix model.q=4")
        out[field.strip()] = value.strip()
    return out


def default_out(path: str | Path) -> Path:
    """Where `plot` writes without --out: the folder of the input (the input itself when it
    is a folder) -- never figures/, whose files `make figures` owns."""
    p = Path(path)
    return p if p.is_dir() else p.parent


def plot(kind: str, path: str | Path, out: str | Path | None = None, name: str | None = None,
         x: str | None = None, y: str | None = None, force: bool = False,
         fix: list[str] | None = None) -> list[Path]:
    """Draw figure `kind` from the result at `path` into OUT/name.{pdf,png} (OUT: beside the
    input by default). Existing files are replaced only with `force`; the input (its kind
    included), the figure's numbers and the output path are checked before anything is drawn."""
    if kind not in FIGURES:
        raise ConfigError(f"plot: unknown kind {kind!r}; allowed: {', '.join(KINDS)}")
    f = FIGURES[kind]
    # every input is read and validated by results.load (one message for a damaged file)
    result = load(path, f.input).content
    if f.needs:
        key, what = f.needs
        need(bool(result.get(key)), "--in", str(path),
             f"{what} (this one has none: nothing to draw)")
    given = {"x": x, "y": y, "fixed": parse_fix(fix or [], kind)}
    prepared = f.prepare(result, **{o: given[o] for o in f.options})
    out = probe_dir(default_out(path) if out is None else out)
    name = name or (f.file if isinstance(f.file, str) else f.file(prepared))
    need(name and "/" not in name and name not in (".", ".."), "--name", name,
         "a file name without folders or extension")
    exists = [str(p) for p in (out / f"{name}.pdf", out / f"{name}.png") if p.exists()]
    need(force or not exists, "--out", str(out),
         f"a folder without {', '.join(exists)} (give --force to overwrite)")
    return save(f.draw(prepared), out, name)

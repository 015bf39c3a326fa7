"""Figures of a sweep (a sweep directory or sweep.json): the phase diagrams over two grid
fields (`phase`, lines for a one-field sweep), the teacher dependence over two fields
(`phase-teacher`) and the teacher's share of distillation's gain across k (`teacher-vs-k`)."""

from __future__ import annotations

import numpy as np

from ..analysis import (SHARE_FORMS, fitted_share, k_bound as _k_bound, k_text as _k_text,
                        phase_grid, phase_line, teacher_grid,
                        value_text as _fmt)
from ..errors import ConfigError
from .style import (METHOD_COLOR, METHOD_LABEL, OKABE_ITO, SMALL, WIDTH, _label, _note,
                    _slice_note, paper_style, subplots)


def phase_axes(sweep: dict, x: str | None, y: str | None, kind: str = "phase"):
    """The fields on a phase figure's axes: --x, else the first grid field; --y, else the
    first other field (None for a one-field sweep: `phase` draws it as lines)."""
    fields = list(sweep["grid"])
    x = x or fields[0]
    y = y or next((f for f in fields if f != x), None)
    if y is None and kind != "phase":
        raise ConfigError(f"plot {kind}: the sweep needs a grid over two fields (--x, --y)")
    if y == x:
        raise ConfigError(f"plot {kind}: --x and --y are the same field {x!r}")
    return x, y


# --- the heat maps' frame -----------------------------------------------------------------

def _outline(ax, mask, **kw):
    """Draw the boundary of the cells where mask is True (cells at integer positions)."""
    ny, nx = mask.shape
    m = np.pad(mask, 1)
    for i in range(ny + 1):                 # horizontal edges between rows i-1 and i
        for j in range(nx):
            if m[i, j + 1] != m[i + 1, j + 1]:
                ax.plot([j - 0.5, j + 0.5], [i - 0.5, i - 0.5], **kw)
    for j in range(nx + 1):
        for i in range(ny):
            if m[i + 1, j] != m[i + 1, j + 1]:
                ax.plot([j - 0.5, j - 0.5], [i - 0.5, i + 0.5], **kw)


def _span(values, step: float = 5.0, least: float = 10.0) -> tuple[float, float]:
    """[min, max] of the finite values, widened to multiples of `step` and to at least
    `least` (0-100 when there is none)."""
    values = np.asarray(values, float)
    if not np.isfinite(values).any():
        return 0.0, 100.0
    lo = step * np.floor(np.nanmin(values) / step)
    hi = step * np.ceil(np.nanmax(values) / step)
    if hi - lo < least:
        mid = (lo + hi) / 2
        lo, hi = mid - least / 2, mid + least / 2
    return float(lo), float(hi)


def _heat_axes(fig, ax, im, outlined, xs, ys, first: bool, title: str) -> None:
    """A phase panel's frame: outlined cells, grid-value ticks, no spines, a colour bar on top."""
    _outline(ax, outlined, color=OKABE_ITO["vermillion"], lw=1.6, solid_capstyle="round")
    ax.set_xticks(range(len(xs)), [_fmt(v) for v in xs])
    ax.set_yticks(range(len(ys)), [_fmt(v) for v in ys] if first else [])
    ax.tick_params(length=0)
    for s in ax.spines.values():
        s.set_visible(False)
    cb = fig.colorbar(im, ax=ax, orientation="horizontal", location="top", pad=0.03,
                      fraction=0.07, aspect=22)
    from matplotlib.ticker import MaxNLocator

    cb.ax.xaxis.set_major_locator(MaxNLocator(nbins=3))   # at 7 pt more would touch
    cb.ax.tick_params(labelsize=SMALL, length=1.5, pad=1)
    cb.set_label(title, fontsize=SMALL, labelpad=2)
    cb.outline.set_linewidth(0.4)


def _cell_values(ax, im, vals, found, fmt: str = ".0f") -> None:
    """Each cell's value (dark text on light cells), '–' where there is none."""
    for i in range(vals.shape[0]):
        for j in range(vals.shape[1]):
            v = vals[i, j]
            if found[i, j] and np.isfinite(v):
                rgba = im.cmap(im.norm(v))
                light = 0.299 * rgba[0] + 0.587 * rgba[1] + 0.114 * rgba[2] > 0.55
                ax.text(j, i, format(v, fmt), ha="center", va="center", fontsize=SMALL,
                        color="black" if light else "white")
            else:
                ax.text(j, i, "–", ha="center", va="center", fontsize=SMALL)


def _hatch(ax, mask) -> None:
    """Hatch the cells where mask is True (cells at integer positions)."""
    import matplotlib.pyplot as plt

    for i, j in zip(*np.nonzero(mask)):
        ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="////",
                                   lw=0, edgecolor=(0, 0, 0, 0.5), zorder=2))


def _heat_labels(fig, axes, x: str, y: str, notes: list[str], fixed: dict) -> None:
    """A heat-map figure's axis labels and its note (the slice off the axes last)."""
    axes[0].set_ylabel(_label(y))
    fig.supxlabel(_label(x), y=-0.02, fontsize=8)
    if fixed:
        notes.append(_slice_note(fixed))
    fig.text(0.5, -0.1, _note(notes), ha="center", va="top", fontsize=SMALL)


def _gain_norm(gain):
    """A colour scale for a gain: sequential when it keeps its sign, diverging at 0 else."""
    from matplotlib.colors import Normalize, TwoSlopeNorm

    lo, hi = float(np.nanmin(gain)), float(np.nanmax(gain))
    a, b = _span(gain)
    pad = (b - a) / 4             # the smallest gain tinted, not white like an empty cell
    return (("Purples", Normalize(a - pad, b)) if lo >= 0 else
            ("Oranges_r", Normalize(a, b + pad)) if hi <= 0 else
            ("PuOr", TwoSlopeNorm(0.0, lo, hi)))


# --- phase diagrams ---------------------------------------------------------------------

def prepare_phase(sweep: dict, x: str | None = None, y: str | None = None,
                  fixed: dict | None = None) -> dict:
    """The phase figure's numbers: over fields x and y (phase_axes' defaults), the grid of
    analysis.phase_grid and the methods with a value in it (`drawn`; `first`: single, else the
    first); for a one-field sweep (y None) the lines of analysis.phase_line."""
    x, y = phase_axes(sweep, x, y, "phase")
    if y is None:
        line = phase_line(sweep, x, fixed)
        if not line["methods"]:
            raise ConfigError("plot phase: no point of the sweep has a single-view test "
                              "accuracy (mu = 0 has no single-view test point)")
        return {"x": x, "y": None, "line": line, "seeds": sweep["seeds"]}
    xs, ys, g, fixed = phase_grid(sweep, x, y, fixed)
    drawn = {m: a for m, a in g["acc"].items() if np.isfinite(a).any()}
    first = "single" if "single" in drawn else next(iter(drawn), None)
    if first is None:
        raise ConfigError(f"plot phase: no point of the slice {_slice_note(fixed) or 'drawn'} "
                          "has a single-view test accuracy (mu = 0 has no single-view point)")
    return {"x": x, "y": y, "xs": xs, "ys": ys, "grid": g, "fixed": fixed, "drawn": drawn,
            "first": first, "seeds": sweep["seeds"]}


def phase_name(phase: dict) -> str:
    """The phase figure's file name: phase_X_Y by the last parts of its fields."""
    return "_".join(["phase"] + [f.split(".")[-1] for f in (phase["x"], phase["y"]) if f])


def fig_phase(phase: dict, ax=None):
    """Two heat maps over (x, y): the single model's single-view test accuracy and the
    ensemble's gain on single-view points (a method's accuracy in their place where single or
    ensemble was not run); outlined: every Theorem 1-2 band holds; hatched: single's 95 % CI
    crosses the T1.single band. A one-field sweep (y None) is drawn as lines (`ax`: an array of
    one axis per panel)."""
    from matplotlib.colors import Normalize

    if phase["y"] is None:
        return fig_phase_line(phase, ax)
    x, y, xs, ys, g, fixed, drawn, first, L = (phase[n] for n in (
        "x", "y", "xs", "ys", "grid", "fixed", "drawn", "first", "seeds"))
    # colour scales span the values drawn (fixed 0-100 and ±max scales left the cells nearly
    # one colour): sequential over [min, max] rounded to 5, diverging at 0 only when the
    # gain changes sign

    def accuracy(name):
        title = "single model" if name == "single" else METHOD_LABEL.get(name, name)
        return (100 * drawn[name], f"{title}, single-view\ntest accuracy (%)", "cividis",
                Normalize(*_span(100 * drawn[name])))
    panels = [accuracy(first)]
    gain = 100 * g["gain"]
    second = next((m for m in drawn if m != first), None)
    if np.isfinite(gain).any():
        panels.append((gain, "ensemble gain on single-view\ntest points (% points)",
                       *_gain_norm(gain)))
    elif second is not None:             # no gain to draw: a second method's accuracy
        panels.append(accuracy(second))
    crosses = g["crosses"] if first == "single" else np.zeros_like(g["crosses"])
    with paper_style():
        fig, axes = subplots(ax, 1, len(panels), figsize=(WIDTH, 2.1), squeeze=False,
                             gridspec_kw={"wspace": 0.12})
        axes = np.ravel(axes)
        for c, (ax, (vals, title, cmap, norm)) in enumerate(zip(axes, panels)):
            im = ax.imshow(vals, origin="lower", cmap=cmap, norm=norm, aspect="auto")
            if c == 0 and first == "single":
                _hatch(ax, crosses)
            _cell_values(ax, im, vals, g["found"])
            _heat_axes(fig, ax, im, g["regime"], xs, ys, c == 0, title)
        notes = [f"{L} seeds per cell"]
        if g["regime"].any():
            notes.append("outlined: Theorem 1–2 bands hold")
        if crosses.any():
            notes.append("hatched: single's 95% CI crosses its band")
        _heat_labels(fig, axes, x, y, notes, fixed)
    return fig


def fig_phase_line(phase: dict, ax=None):
    """A one-field sweep: each method's single-view test accuracy against the field, with
    error bars (95 % CI over seeds where the sweep has them, else ± std)."""
    line = phase["line"]
    x = phase["x"]
    xs = line["x"]
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in xs)
    pos = np.asarray(xs, float) if numeric else np.arange(len(xs))
    with paper_style():
        fig, ax = subplots(ax, figsize=(WIDTH, 2.0))
        for i, (name, (acc, err)) in enumerate(line["methods"].items()):
            colour = METHOD_COLOR.get(name, list(OKABE_ITO.values())[i % len(OKABE_ITO)])
            ok = np.isfinite(acc)
            ax.errorbar(pos[ok], acc[ok], yerr=err[:, ok], fmt="o-", color=colour, ms=3,
                        capsize=1.5, elinewidth=0.7, label=METHOD_LABEL.get(name, name))
        ax.set_xticks(pos, [_fmt(v) for v in xs])      # the grid's values, as on a heat map
        ax.set_xlabel(_label(x))
        ax.set_ylabel("single-view test acc. (%)")
        ax.legend(loc="best")
        bars = "95% CI over seeds" if line["ci"] else "std over seeds"
        note = f"{phase['seeds']} seeds per point; error bars: {bars}"
        if line["fixed"]:
            note += "; " + _slice_note(line["fixed"])
        fig.text(0.5, -0.1, note, ha="center", va="top", fontsize=SMALL)
    return fig


# --- the teacher dependence over two fields ------------------------------------------------

def prepare_phase_teacher(sweep: dict, x: str | None = None, y: str | None = None,
                          fixed: dict | None = None) -> dict:
    """analysis.teacher_grid over fields x and y (phase_axes' defaults)."""
    x, y = phase_axes(sweep, x, y, "phase-teacher")
    xs, ys, g, fixed = teacher_grid(sweep, x, y, fixed)
    if not np.isfinite(g["dependence"]).any():
        raise ConfigError("plot phase-teacher: no point of the slice has a single-view test "
                          "accuracy (mu = 0 has no single-view test point)")
    return {"x": x, "y": y, "xs": xs, "ys": ys, "grid": g, "fixed": fixed,
            "seeds": sweep["seeds"]}


def fig_phase_teacher(teacher: dict, ax=None):
    """Two heat maps over (x, y): kd's single-view gain over the students' own label-trained
    initialisations, and how much of it depends on the teacher (kd minus kd_twin, whose teacher
    is the student's twin); outlined: the controls T3.teacher and students.bounded hold
    (`ax`: two axes)."""
    x, y, xs, ys, g, fixed = (teacher[n] for n in ("x", "y", "xs", "ys", "grid", "fixed"))
    panels = [("gain", "KD gain over labels alone\n(single-view, % points)"),
              ("dependence", "teacher dependence: KD minus\nKD from the twin (% points)")]
    with paper_style():
        fig, axes = subplots(ax, 1, 2, figsize=(WIDTH, 2.0), gridspec_kw={"wspace": 0.12})
        for c, (ax, (key, title)) in enumerate(zip(axes, panels)):
            vals = 100 * g[key]
            vmax = max(10.0, float(np.nanmax(np.abs(vals))) if np.isfinite(vals).any() else 10.0)
            im = ax.imshow(vals, origin="lower", cmap="PuOr", vmin=-vmax, vmax=vmax,
                           aspect="auto")
            for i in range(len(ys)):
                for j in range(len(xs)):
                    v = vals[i, j]
                    ax.text(j, i, "–" if not np.isfinite(v) else f"{v:+.0f}", ha="center",
                            va="center", fontsize=SMALL,
                            color="white" if np.isfinite(v) and abs(v) > 0.6 * vmax else "black")
            _heat_axes(fig, ax, im, g["controls"], xs, ys, c == 0, title)
        notes = [f"{teacher['seeds']} seeds per cell"]
        if g["controls"].any():
            notes.append("outlined: T3.teacher and students.bounded hold")
        _heat_labels(fig, axes, x, y, notes, fixed)
    return fig


# --- the teacher's share of distillation's gain across k --------------------------------------

def fig_teacher_vs_k(table: dict, ax=None):
    """The teacher's share of kd's single-view gain (left) and the gain kd - labels_alone
    (right) against k, with 95 % bootstrap intervals over the paired members; the share's fits
    against log k and 1/k (the better solid) and the k at which the better reaches 0.9
    (`ax`: two axes)."""
    t = table
    rows, fits = t["rows"], t["fits"]
    ks = np.array([r["k"] for r in rows], float)

    def bars(key, scale=1.0):
        mid = scale * np.array([r[key] for r in rows], float)
        ci = [r[f"{key}_ci"] or [np.nan, np.nan] for r in rows]
        lo, hi = scale * np.array([c[0] for c in ci]), scale * np.array([c[1] for c in ci])
        return mid, lo, hi

    with paper_style():
        fig, axes = subplots(ax, 1, 2, figsize=(WIDTH, 1.9), gridspec_kw={"wspace": 0.5})
        share, lo, hi = bars("share")
        ok = np.isfinite(share)
        bounded = np.r_[lo[np.isfinite(lo)], hi[np.isfinite(hi)], share[ok]]
        ylim = (min(-0.1, bounded.min() - 0.05) if bounded.size else -0.1,
                max(1.1, bounded.max() + 0.05) if bounded.size else 1.1)
        # an interval unbounded on a side (resamples without a share) ends at the axis, arrowed
        for bound, edge, marker in ((lo, ylim[0], "v"), (hi, ylim[1], "^")):
            out = ok & np.isinf(bound)
            bound[out] = edge
            axes[0].plot(ks[out], np.full(out.sum(), edge), marker, color=METHOD_COLOR["kd"],
                         ms=3, clip_on=False)
        axes[0].errorbar(ks[ok], share[ok], yerr=[share[ok] - lo[ok], hi[ok] - share[ok]],
                         fmt="o", color=METHOD_COLOR["kd"], capsize=1.5, elinewidth=0.7,
                         label="measured", zorder=3)
        grid = np.geomspace(ks[ok].min(), ks[ok].max(), 100) if ok.any() else ks
        for form in SHARE_FORMS if fits else ():                # over the shares it fits
            best = fits["best"] == form
            axes[0].plot(grid, fitted_share(fits[form], form, grid), color="black" if best else
                         OKABE_ITO["grey"], lw=0.9 if best else 0.7, ls="-" if best else "--",
                         label=f"{form} fit, R² {fits[form]['r2']:.3f}")
        axes[0].axhline(t["target"], color=OKABE_ITO["vermillion"], lw=0.6, ls=":",
                        label=f"share {t['target']:g}")
        axes[0].axhline(0.5, color=OKABE_ITO["grey"], lw=0.6, ls=":",
                        label="T3.teacher's band (≥ 0.5)")
        axes[0].set(title="teacher share of KD's gain", ylabel="T3.teacher", ylim=ylim)
        missing = [r for r in rows if not np.isfinite(r["share"])]
        if missing:                           # no share: a cross where its point would be
            axes[0].plot([r["k"] for r in missing], [ylim[0] + 0.05 * (ylim[1] - ylim[0])] *
                         len(missing), "x", color=OKABE_ITO["grey"], ms=4, clip_on=False,
                         label=f"no share (gain < {100 * t['min_gain']:g} point)")
        gain, glo, ghi = bars("gain", 100)
        axes[1].errorbar(ks, gain, yerr=[gain - glo, ghi - gain], fmt="s",
                         color=METHOD_COLOR["kd"], ms=3, capsize=1.5, elinewidth=0.7)
        axes[1].axhline(0, color=OKABE_ITO["grey"], lw=0.6)
        axes[1].set(title="KD − labels alone", ylabel="% points (single-view test)")
        for ax in axes:
            ax.set_xscale("log")
            ax.set_xticks(ks, [_fmt(int(k)) for k in ks])
            ax.minorticks_off()
            ax.set_xlabel(_label("data.k"))
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 0.97), ncol=2)
        n = sorted({r["n"] for r in rows})
        notes = [f"{'/'.join(map(str, n))} seeds per k; 95% bootstrap CI over seeds "
                 f"({t['resamples']:,} joint resamples)"]
        if fits:
            best = fits["best"]
            lo, hi = t["k_at_target_ci"][best]
            fitted = ", ".join(_fmt(r["k"]) for r in rows if np.isfinite(r["share"]))
            notes.append(f"share {t['target']:g} by the fit in {best} (k = {fitted}) at "
                         f"{_k_text(t['k_at_target'][best])} (95% CI {_k_bound(lo)}–"
                         f"{_k_bound(hi)})")
        if missing:
            notes.append("no share where KD's gain is under {:g} point (k = {})".format(
                100 * t["min_gain"], ", ".join(f"{_fmt(r['k'])}: {100 * r['gain']:+.0f} points"
                                                for r in missing)))
        undefined = max([r["undefined"] for r in rows if np.isfinite(r["share"])] or [0])
        if undefined > 0:
            notes.append(f"resamples without a share (≤ {undefined:.0%}) count at both ends "
                         "(arrow: unbounded)")
        if t["fixed"]:
            notes.append(_slice_note(t["fixed"]))
        fig.text(0.5, -0.1, _note(notes), ha="center", va="top", fontsize=SMALL)
    return fig

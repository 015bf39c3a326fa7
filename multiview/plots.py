"""Paper figures from results (never trains): check.json, sweep.json and the arrays of runs.py.

One style for all: one-column width (3.4 in), 7-8 pt fonts, the Okabe-Ito colour-blind-safe
palette, error bars over seeds, PDF + PNG. Each `fig_*` function takes loaded results and
returns a matplotlib Figure; `save` writes it; `plot(kind, path, out)` is the CLI's entry.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .config import ConfigError
from .errors import need
from .results import load_arrays, probe_dir, read_result

# matplotlib.pyplot is imported inside the functions: the CLI's parser imports this module

WIDTH = 3.4           # inches: one column of a two-column paper
DPI = 250
OKABE_ITO = {"black": "#000000", "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73",
             "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00",
             "purple": "#CC79A7", "grey": "#999999"}
METHOD_COLOR = {"single": OKABE_ITO["blue"], "ensemble": OKABE_ITO["orange"],
                "kd": OKABE_ITO["green"], "self_distill": OKABE_ITO["purple"],
                "ensemble_kd": OKABE_ITO["vermillion"], "sum_trained": OKABE_ITO["grey"],
                "kd_hard": OKABE_ITO["sky"], "kd_twin": OKABE_ITO["yellow"],
                "self_distill_twin": OKABE_ITO["yellow"]}
# the order of figure bars: each control right after the claim it controls
METHOD_LABEL = {"single": "single", "ensemble": "ensemble", "sum_trained": "sum trained",
                "kd": "KD", "kd_random": "KD (random)", "kd_smooth": "KD (smooth)",
                "kd_shuffled": "KD (shuffled)", "kd_early": "KD (early)", "kd_twin": "KD from twin", "self_distill": "self-distill",
                "self_distill_twin": "self-dist. twin", "ensemble_kd": "ens. of KD",
                "kd_hard": "KD (hard)"}
FIELD_LABEL = {"data.mu": r"$\mu$ (single-view fraction)", "model.sigma0": r"$\sigma_0$ (init. scale)",
               "model.q": r"$q$ (smoothed-ReLU power)", "model.varrho": r"$\varrho$ (ReLU threshold)",
               "data.sigma_p": r"$\sigma_p$ (patch noise, per coord.)", "data.rho": r"$\rho$ (faint view)",
               "data.Gamma": r"$\Gamma$ (off-class, single-view)", "data.s": r"$s$ (off-class views)",
               "data.mu_train": r"$\mu_{train}$ (single-view, training)",
               "data.z_off_multi": r"$Z$ off-class (multi-view)", "data.k": r"$k$ (classes)",
               "distill.objective": "distillation objective"}
STYLE = {
    "font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "legend.fontsize": 6.5,
    "xtick.labelsize": 7, "ytick.labelsize": 7, "axes.linewidth": 0.6,
    "xtick.major.width": 0.6, "ytick.major.width": 0.6, "xtick.major.size": 2.5,
    "ytick.major.size": 2.5, "lines.linewidth": 1.2, "lines.markersize": 3.5,
    "axes.spines.top": False, "axes.spines.right": False, "legend.frameon": False,
    "pdf.fonttype": 42, "ps.fonttype": 42, "savefig.bbox": "tight",
    "savefig.pad_inches": 0.02, "figure.dpi": 100, "mathtext.fontset": "dejavusans",
}


@contextmanager
def paper_style():
    """The figures' matplotlib settings, restored afterwards."""
    import matplotlib.pyplot as plt

    with plt.rc_context(STYLE):
        yield


def save(fig, out: str | Path, name: str) -> list[Path]:
    """Write OUT/name.pdf and OUT/name.png (DPI dots per inch); close the figure."""
    import matplotlib.pyplot as plt

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{name}.pdf", out / f"{name}.png"]
    with paper_style():
        fig.savefig(paths[0])
        fig.savefig(paths[1], dpi=DPI)
    plt.close(fig)
    return paths


def _label(field: str) -> str:
    return FIELD_LABEL.get(field, field)


def _pct(v) -> float:
    """A fraction in percent; nan for an undefined (null) accuracy."""
    return float("nan") if v is None else 100 * v


# --- views learned ------------------------------------------------------------------------

def _config_of(arrays: dict):
    """The Config of view_arrays' output, fresh (a JSON string) or read back by load_arrays."""
    from .config import from_dict

    cfg = arrays["config"]
    if isinstance(cfg, np.ndarray):
        cfg = str(cfg)
    return from_dict(json.loads(cfg)) if isinstance(cfg, str) else cfg


def fig_views(arrays: dict, seeds: int = 4):
    """Λ/ϱ per (class, view) at the end of training: single models of several seeds and their
    ensemble (max over members), then KD and self-distilled students of the same seeds."""
    import matplotlib.pyplot as plt

    cfg = _config_of(arrays)
    varrho, thr = cfg.model.varrho, cfg.model.learned_factor
    rows = [("single", "single")] + [(n, METHOD_LABEL[n]) for n in ("kd", "self_distill")
                                     if f"{n}_lam" in arrays]
    L = arrays["single_lam"].shape[1]
    seeds = min(seeds, L)
    k = arrays["single_lam"].shape[2]
    vmax = 2.0
    with paper_style():
        fig, axes = plt.subplots(len(rows), seeds + 1, figsize=(WIDTH, 0.36 * k * len(rows) + 0.5),
                                 squeeze=False, gridspec_kw={"wspace": 0.25, "hspace": 0.45})
        for r, (name, label) in enumerate(rows):
            lam = arrays[f"{name}_lam"][-1] / varrho                    # [L, k, 2]
            panels = [(lam[s], f"seed {s}") for s in range(seeds)]
            if name == "single":
                panels.append((lam.max(0), f"ensemble\n(max of {L})"))
            for c in range(seeds + 1):
                ax = axes[r, c]
                if c >= len(panels):
                    counts = (lam >= thr).sum(-1)
                    ax.axis("off")
                    ax.text(0.05, 0.5, "all {} seeds:\nboth {:.0%}\none {:.0%}\nnone {:.0%}".format(
                        L, np.mean(counts == 2), np.mean(counts == 1), np.mean(counts == 0)),
                        transform=ax.transAxes, va="center", fontsize=6.5)
                    continue
                a, title = panels[c]
                im = ax.imshow(np.clip(a, 0, vmax), cmap="cividis", vmin=0, vmax=vmax,
                               aspect="auto", interpolation="nearest")
                yy, xx = np.nonzero(a >= thr)
                ax.scatter(xx, yy, s=5, c="white", edgecolors="black", linewidths=0.3)
                ax.set_xticks([0, 1], ["1", "2"])
                ax.set_yticks(range(k), [str(i + 1) for i in range(k)] if c == 0 else [])
                ax.tick_params(length=0, pad=1.5)
                for s in ax.spines.values():
                    s.set_visible(False)
                ax.set_title(title, fontsize=6.5, pad=2)
            axes[r, 0].set_ylabel(f"{label}\nclass", fontsize=7)
        for ax in axes[-1, :seeds]:
            ax.set_xlabel("view", fontsize=7, labelpad=1)
        # the colour bar goes under the grid, its label carrying the dot's meaning: at the
        # right it overlapped the per-row summaries of the last column
        grid_h = 0.85 * fig.get_figheight()             # inches of the panels' grid
        cb = fig.colorbar(im, ax=axes, orientation="horizontal", location="bottom",
                          fraction=0.1 / grid_h, pad=0.42 / grid_h, shrink=0.7, aspect=30)
        cb.set_label(r"$\Lambda_{i,\ell}/\varrho$ at the end of training (capped at 2); "
                     rf"dot: view learned ($\Lambda \geq {thr:g}\,\varrho$)", fontsize=6.5)
        cb.ax.tick_params(labelsize=6)
    return fig


# --- lottery dynamics ---------------------------------------------------------------------

def _lottery_pick(lam_end, thr):
    """A class and two seeds that learned different views of it (one view each), if any."""
    L, k, _ = lam_end.shape
    won = np.where((lam_end >= thr).sum(-1) == 1, np.argmax(lam_end, -1), -1)   # [L, k]
    for c in range(k):
        a = [s for s in range(L) if won[s, c] == 0]
        b = [s for s in range(L) if won[s, c] == 1]
        if a and b:
            return c, [a[0], b[0]]
    return 0, list(range(min(2, L)))


def fig_lottery(arrays: dict, cls: int | None = None, seeds: list[int] | None = None):
    """Λ of both views of one class over training: two single models (the lottery picks a
    different view in each) and the KD student; the threshold ϱ dashed."""
    import matplotlib.pyplot as plt

    cfg = _config_of(arrays)
    varrho, thr = cfg.model.varrho, cfg.model.learned_factor
    lam = arrays["single_lam"] / varrho
    c, pick = _lottery_pick(lam[-1], thr)
    cls = c if cls is None else cls
    seeds = pick if seeds is None else seeds
    panels = [("single", s, f"single, seed {s}") for s in seeds]
    if "kd_lam" in arrays:
        panels.append(("kd", seeds[0], f"KD student, seed {seeds[0]}"))
    colours = (OKABE_ITO["blue"], OKABE_ITO["orange"])
    with paper_style():
        fig, axes = plt.subplots(1, len(panels), figsize=(WIDTH, 1.55), sharey=True,
                                 gridspec_kw={"wspace": 0.12})
        axes = np.atleast_1d(axes)
        for ax, (name, s, title) in zip(axes, panels):
            steps = np.r_[0, arrays[f"{name}_step"]]
            h = np.concatenate([arrays[f"{name}_lam0"][None] / varrho,
                                arrays[f"{name}_lam"] / varrho])[:, s, cls]     # [T+1, 2]
            winner = int(np.argmax(h[0]))
            for v in (0, 1):
                ax.plot(steps + 1, np.maximum(h[:, v], 1e-3), color=colours[v],
                        label=f"view {v + 1}" + (" (larger at init)" if v == winner else ""))
            ax.axhline(thr, color="black", lw=0.7, ls="--")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_title(title, fontsize=7, pad=2)
            ax.set_xlabel("step + 1")
        axes[0].set_ylabel(rf"$\Lambda_{{{cls + 1},\ell}}/\varrho$ (class {cls + 1})")
        axes[0].text(1.5, thr * 1.15, r"$\varrho$", fontsize=7, va="bottom")
        handles = [plt.Line2D([], [], color=colours[v], label=f"view {v + 1}") for v in (0, 1)]
        handles.append(plt.Line2D([], [], color="black", ls="--", lw=0.7,
                                  label=r"learned: $\Lambda=\varrho$"))
        fig.legend(handles=handles, loc="lower center", ncol=3, bbox_to_anchor=(0.5, 0.97))
    return fig


# --- ensemble size ----------------------------------------------------------------------

def fig_ensemble_size(arrays: dict, draws: int = 200):
    """Single-view test accuracy of an ensemble of L' of the trained models vs L', mean ± std
    over subsets, against the prediction 1 - 2^-L' (each view learned w.p. 1/2)."""
    import matplotlib.pyplot as plt

    from .runs import ensemble_curve

    y, single = arrays["test_y"], arrays["test_single"].astype(bool)
    cur = ensemble_curve(arrays["single_test_logits"], y, single, draws=draws)
    Ls = cur["L"]
    with paper_style():
        fig, ax = plt.subplots(figsize=(WIDTH, 2.0))
        grid = np.linspace(1, Ls[-1], 100)
        ax.plot(grid, 100 * (1 - 2.0 ** -grid), color="black", ls="--", lw=0.9,
                label=r"prediction $1-2^{-L}$")
        ax.errorbar(Ls, 100 * cur["single_mean"], yerr=100 * cur["single_std"], fmt="o-",
                    color=METHOD_COLOR["ensemble"], capsize=1.5, elinewidth=0.7,
                    label="ensemble, single-view test")
        ax.plot(Ls, 100 * cur["multi_mean"], "s:", color=OKABE_ITO["grey"], ms=2.5,
                label="ensemble, multi-view test")
        # the students (one model each): a line of its own style across, and mean ± std as a
        # marker of its own shape beside the curve, side by side (their values are often close)
        students = [n for n in ("kd", "self_distill") if f"{n}_test_logits" in arrays]
        for i, (name, ls, marker) in enumerate(zip(students, ("-", (0, (4, 2, 1, 2))),
                                                   ("D", "^"))):
            acc = 100 * (arrays[f"{name}_test_logits"].argmax(-1) == y)[:, single].mean(1)
            ax.axhline(acc.mean(), color=METHOD_COLOR[name], lw=0.9, ls=ls, zorder=1)
            ax.errorbar(Ls[-1] + 0.7 + 0.5 * i, acc.mean(), yerr=acc.std(), fmt=marker,
                        color=METHOD_COLOR[name], ms=3.5, capsize=1.5, elinewidth=0.7,
                        ls=ls, label=f"{METHOD_LABEL[name]} student (one model)")
        ax.set_xlabel(r"ensemble size $L$ (models averaged)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_xlim(0.5, Ls[-1] + 0.7 + 0.5 * len(students))
        ax.set_xticks(Ls if len(Ls) <= 12 else Ls[::2])
        ax.set_ylim(min(40, 100 * cur["single_mean"].min() - 5), 101)
        ax.legend(loc="lower right")
    return fig


# --- method comparison -------------------------------------------------------------------

QUANTITIES = (("train_acc", "train", OKABE_ITO["grey"]),
              ("test_acc_multi", "test, multi-view", OKABE_ITO["blue"]),
              ("test_acc_single", "test, single-view", OKABE_ITO["vermillion"]))


def prediction_bands(check: dict) -> dict[tuple[str, str], tuple[float, float, str]]:
    """(method, quantity) -> (lo, hi, id) for the predictions, in the quantity's own units:
    bands on a difference "q - other" or "other - q" are shifted by the other's measured value."""
    methods = check["methods"]
    out = {}
    for p in check["predictions"]:
        lo, hi = p["expected"]
        m, q = p["method"], p["quantity"]
        if q.startswith("views") or "fraction" in q:
            continue
        if " - " in q:
            a, b = (s.strip() for s in q.split(" - "))
            if None in (methods.get(a, {}).get(b, 0), methods.get(b, {}).get(a, 0)):
                continue                                     # undefined (null) accuracy
            if a in methods and b not in methods:          # "ensemble - test_acc_single"
                base, q = methods[a][b], b
                lo, hi = base - hi, base - lo
            elif b in methods:                               # "test_acc_single - single"
                base, q = methods[b][a], a
                lo, hi = base + lo, base + hi
            else:
                continue
        key = (m, q)
        if key in out:      # several bands on one bar: keep their intersection
            lo, hi = max(lo, out[key][0]), min(hi, out[key][1])
        out[key] = (max(lo, 0.0), min(hi, 1.0), p["id"])
    return out


def fig_methods(check: dict, methods: list[str] | None = None):
    """Train / multi-view / single-view test accuracy per method (± std over seeds) with the
    theorems' predicted bands (hatched boxes)."""
    import matplotlib.pyplot as plt

    names = [m for m in (methods or METHOD_LABEL) if m in check["methods"]]
    if not names:
        raise ConfigError("plot methods: the check result has none of the network methods "
                          f"({', '.join(METHOD_LABEL)})")
    bands = prediction_bands(check)
    L = len(check["seeds"])
    width = 0.26
    with paper_style():
        fig, ax = plt.subplots(figsize=(WIDTH, 2.1))
        for j, (q, label, colour) in enumerate(QUANTITIES):
            xs = np.arange(len(names)) + (j - 1) * width
            vals = [_pct(check["methods"][n][q]) for n in names]
            errs = [_pct(check["methods"][n]["std"][q]) for n in names]
            ax.bar(xs, vals, width * 0.92, color=colour, label=label, zorder=2)
            ax.errorbar(xs, vals, yerr=errs, fmt="none", ecolor="black", elinewidth=0.6,
                        capsize=1.2, zorder=3)
            for x, n in zip(xs, names):
                if (n, q) in bands:
                    lo, hi, _ = bands[(n, q)]
                    ax.add_patch(plt.Rectangle((x - width / 2, 100 * lo), width, 100 * (hi - lo),
                                               fill=False, hatch="/////", lw=0.5,
                                               edgecolor="black", zorder=4))
        ax.add_patch(plt.Rectangle((0, 0), 0, 0, fill=False, hatch="/////", lw=0.5,
                                   label="predicted band"))
        ax.set_xticks(range(len(names)), [METHOD_LABEL[n] for n in names], rotation=25,
                      ha="right")
        ax.set_ylabel("accuracy (%)")
        # the axis starts below every bar and every predicted band drawn (no band is cut)
        lows = [_pct(check["methods"][n]["test_acc_single"]) for n in names]
        lows += [100 * lo for (n, _), (lo, _, _) in bands.items() if n in names]
        lo = np.nanmin(lows) if not np.all(np.isnan(lows)) else 0.0
        ax.set_ylim(max(0, 10 * np.floor((lo - 5) / 10)), 103)
        leg = ax.legend(ncol=2, loc="lower left", bbox_to_anchor=(0.0, 1.0), borderaxespad=0.1,
                        title=f"{L} seeds; error bars: std over seeds", title_fontsize=6)
        leg._legend_box.align = "left"
    return fig


# --- fixed features vs the network ----------------------------------------------------------

FAMILIES = (("network", {"single": "single", "ensemble": "ensemble", "sum": "sum_trained",
                         "kd": "kd"}),
            ("random features", {s: f"rf_{s}" for s in ("single", "ensemble", "sum", "kd")}),
            ("NTK", {s: f"ntk_{s}" for s in ("single", "ensemble", "sum", "kd")}))
ROLE = (("single", "single model", METHOD_COLOR["single"]),
        ("ensemble", "ensemble", METHOD_COLOR["ensemble"]),
        ("sum", "sum trained", METHOD_COLOR["sum_trained"]),
        ("kd", "KD student", METHOD_COLOR["kd"]))


def fig_fixed(check: dict):
    """Test accuracy of single / ensemble / sum / KD for the network and the fixed-feature
    learners (random features, NTK): the gains the theory attributes to feature learning."""
    import matplotlib.pyplot as plt

    fams = [(f, m) for f, m in FAMILIES if any(v in check["methods"] for v in m.values())]
    if not any(f != "network" for f, _ in fams):
        raise ConfigError("plot fixed: the check result has no rf_* / ntk_* methods; run "
                          "`multiview check --methods all`")
    width = 0.2
    with paper_style():
        fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 1.9), sharey=False,
                                 gridspec_kw={"wspace": 0.35})
        for ax, q, title in ((axes[0], "test_acc", "all test points"),
                             (axes[1], "test_acc_single", "single-view test points")):
            for j, (role, label, colour) in enumerate(ROLE):
                xs, vals, errs = [], [], []
                for i, (_, mm) in enumerate(fams):
                    name = mm[role]
                    if name in check["methods"]:
                        xs.append(i + (j - 1.5) * width)
                        vals.append(_pct(check["methods"][name][q]))
                        errs.append(_pct(check["methods"][name]["std"][q]))
                ax.bar(xs, vals, width * 0.92, color=colour, label=label, zorder=2)
                ax.errorbar(xs, vals, yerr=errs, fmt="none", ecolor="black", elinewidth=0.6,
                            capsize=1.0, zorder=3)
            ax.set_xticks(range(len(fams)), [{"network": "net-\nwork", "random features":
                                              "random\nfeat.", "NTK": "NTK"}.get(f, f)
                                             for f, _ in fams])
            ax.set_title(title, fontsize=7, pad=2)
            vals = [_pct(m[q]) for n, m in check["methods"].items()
                    if any(n in mm.values() for _, mm in fams)]
            if not np.all(np.isnan(vals)):
                ax.set_ylim(max(0, 5 * np.floor((np.nanmin(vals) - 5) / 5)),
                            min(101, np.nanmax(vals) + 4))
        axes[0].set_ylabel("test accuracy (%)")
        h, lab = axes[0].get_legend_handles_labels()
        fig.legend(h, lab, ncol=4, loc="lower center", bbox_to_anchor=(0.5, 0.96),
                   columnspacing=0.8, handlelength=1.2)
    return fig


# --- phase diagrams ---------------------------------------------------------------------

def phase_grid(sweep: dict, x: str, y: str, fixed: dict | None = None):
    """Arrays [ny, nx] of the sweep's points over fields x and y (other grid fields at `fixed`,
    default: their first value): single model's and ensemble's single-view test accuracy,
    the ensemble gain, and whether the Theorem 1-2 bands hold."""
    grid = sweep["grid"]
    for f in (x, y):
        if f not in grid:
            raise ConfigError(f"plot phase: {f!r} is not a field of the sweep's grid "
                              f"({', '.join(grid)})")
    fixed = {f: v[0] for f, v in grid.items() if f not in (x, y)} | (fixed or {})
    xs, ys = grid[x], grid[y]
    shape = (len(ys), len(xs))
    out = {k: np.full(shape, np.nan) for k in ("single", "single_std", "ensemble", "gain")}
    out["regime"] = np.zeros(shape, bool)
    out["found"] = np.zeros(shape, bool)
    for p in sweep["points"]:
        g = p["grid"]
        if any(g[f] != v for f, v in fixed.items()):
            continue
        i, j = ys.index(g[y]), xs.index(g[x])
        m = p["methods"]
        out["found"][i, j] = True
        num = lambda v: np.nan if v is None else v  # noqa: E731  (null: undefined)
        out["single"][i, j] = num(m["single"]["test_acc_single"])
        out["single_std"][i, j] = num(m["single"]["std"]["test_acc_single"])
        if "ensemble" in m:
            out["ensemble"][i, j] = num(m["ensemble"]["test_acc_single"])
            out["gain"][i, j] = out["ensemble"][i, j] - out["single"][i, j]
        out["regime"][i, j] = all(q["holds"] is True for q in p["predictions"]
                                  if q["id"].split(".")[0] in ("T1", "T2"))
    return xs, ys, out, fixed


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


def _fmt(v):
    return f"{v:g}" if isinstance(v, (int, float)) else str(v)


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
    cb.ax.tick_params(labelsize=5.5, length=1.5, pad=1)
    cb.set_label(title, fontsize=6.5, labelpad=2)
    cb.outline.set_linewidth(0.4)


def fig_phase(sweep: dict, x: str, y: str, fixed: dict | None = None):
    """Two heat maps over (x, y): the single model's single-view test accuracy and the
    ensemble's gain on single-view points; the cells where every Theorem 1-2 band holds are
    outlined."""
    import matplotlib.pyplot as plt

    xs, ys, g, fixed = phase_grid(sweep, x, y, fixed)
    L = sweep["seeds"]
    from matplotlib.colors import Normalize, TwoSlopeNorm

    # colour scales span the values drawn (fixed 0-100 and ±max scales left the cells nearly
    # one colour): sequential over [min, max] rounded to 5, diverging at 0 only when the
    # gain changes sign
    panels = [("single", "single model, single-view\ntest accuracy (%)", "cividis",
               Normalize(*_span(100 * g["single"])))]
    gain = 100 * g["gain"]
    if not np.all(np.isnan(gain)):
        lo, hi = float(np.nanmin(gain)), float(np.nanmax(gain))
        a, b = _span(gain)
        pad = (b - a) / 4             # the smallest gain tinted, not white like an empty cell
        cmap, norm = (("Purples", Normalize(a - pad, b)) if lo >= 0 else
                      ("Oranges_r", Normalize(a, b + pad)) if hi <= 0 else
                      ("PuOr", TwoSlopeNorm(0.0, lo, hi)))
        panels.append(("gain", "ensemble gain on single-view\ntest points (% points)", cmap,
                       norm))
    with paper_style():
        fig, axes = plt.subplots(1, len(panels), figsize=(WIDTH, 1.95), squeeze=False,
                                 gridspec_kw={"wspace": 0.12})
        axes = axes[0]
        for c, (ax, (key, title, cmap, norm)) in enumerate(zip(axes, panels)):
            vals = 100 * g[key]
            im = ax.imshow(vals, origin="lower", cmap=cmap, norm=norm, aspect="auto")
            for i in range(len(ys)):
                for j in range(len(xs)):
                    if g["found"][i, j] and np.isfinite(vals[i, j]):
                        v = vals[i, j]
                        rgba = im.cmap(im.norm(v))
                        light = 0.299 * rgba[0] + 0.587 * rgba[1] + 0.114 * rgba[2] > 0.55
                        ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=5.5,
                                color="black" if light else "white")
                    else:
                        ax.text(j, i, "–", ha="center", va="center", fontsize=6)
            _heat_axes(fig, ax, im, g["regime"], xs, ys, c == 0, title)
        axes[0].set_ylabel(_label(y))
        fig.supxlabel(_label(x), y=-0.02, fontsize=8)
        note = f"{L} seeds per cell; outlined: Theorem 1–2 bands hold"
        if fixed:
            note += "; " + ", ".join(f"{k.split('.')[-1]}={_fmt(v)}" for k, v in fixed.items())
        fig.text(0.5, -0.1, note, ha="center", va="top", fontsize=6)
    return fig


# --- teacher dependence ------------------------------------------------------------------

def fig_dose(records: list[dict]):
    """Dose-response: the share of a student's missing (class, view) pairs it gained against
    the share its teacher knows (left), and its single-view test accuracy (right), one line
    per dose record (an objective, or a seed); the paper's mechanism predicts a rising line."""
    import matplotlib.pyplot as plt

    markers = "osD^v"
    colours = [OKABE_ITO[c] for c in ("green", "vermillion", "blue", "purple", "orange")]
    objectives = [r["config"]["distill"]["objective"] for r in records]
    by_objective = len(set(objectives)) > 1
    with paper_style():
        fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 1.9), gridspec_kw={"wspace": 0.4})
        for s, rec in enumerate(records):
            rows = rec["teachers"]
            x = [r["share_known"] for r in rows]
            kw = dict(marker=markers[s % len(markers)], ms=3, lw=0.9,
                      color=colours[s % len(colours)] if by_objective else OKABE_ITO["green"],
                      alpha=0.9)
            label = (f"{objectives[s]} objective" if by_objective else f"seed {rec['seed']}")
            axes[0].plot(x, [r["share_gained"] for r in rows], label=label, **kw)
            axes[1].errorbar(x, [100 * r["test_acc_single"] for r in rows],
                             yerr=[100 * r["std"] for r in rows], capsize=1, elinewidth=0.5,
                             **kw)
        for r in records[0]["teachers"]:
            if r["teacher"] in ("twin", "single") or r["size"] == records[0]["L"]:
                text = "ensemble" if r["size"] == records[0]["L"] else r["teacher"]
                axes[0].annotate(text, (r["share_known"], r["share_gained"]), fontsize=5,
                                 xytext=(1, 4), textcoords="offset points", ha="center")
        base = 100 * records[0]["labels_alone"]["test_acc_single"]
        axes[1].axhline(base, color=OKABE_ITO["grey"], lw=0.7, ls=":")
        axes[1].annotate("labels only", (1.0, base), fontsize=5, ha="right", va="bottom",
                         xytext=(0, 1), textcoords="offset points", color=OKABE_ITO["grey"])
        axes[0].plot([0, 1], [0, 1], color=OKABE_ITO["grey"], lw=0.6, ls="--",
                     label="gains what the teacher knows")
        axes[0].set(xlim=(-0.05, 1.05), ylim=(-0.05, 1.1), ylabel="share the student gained")
        axes[1].set(xlim=(-0.05, 1.05), ylabel="single-view test acc. (%)")
        fig.supxlabel("share of the student's missing views that its teacher knows", y=-0.06,
                      fontsize=7)
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 0.9), ncol=3,
                   fontsize=5.5)
        fig.text(0.5, -0.14, f"{records[0]['L']} students per teacher: its twin (own "
                 "initialisation on labels), one single model, ensembles of 2, 4, ..., L",
                 ha="center", va="top", fontsize=5.5)
    return fig


def teacher_grid(sweep: dict, x: str, y: str):
    """[ny, nx] arrays over the sweep's fields x, y: kd's single-view gain over labels_alone,
    the teacher dependence (kd minus kd_twin), and whether T3.teacher and students.bounded hold."""
    grid = sweep["grid"]
    for f in (x, y):
        if f not in grid:
            raise ConfigError(f"plot phase-teacher: {f!r} is not a field of the sweep's grid "
                              f"({', '.join(grid)})")
    xs, ys = grid[x], grid[y]
    shape = (len(ys), len(xs))
    out = {k: np.full(shape, np.nan) for k in ("gain", "dependence")}
    out["found"] = np.zeros(shape, bool)
    out["controls"] = np.zeros(shape, bool)
    for p in sweep["points"]:
        g, m = p["grid"], p["methods"]
        if not {"kd", "kd_twin"} <= set(m):
            raise ConfigError("plot phase-teacher: the sweep must have run the methods kd and "
                              "kd_twin (--methods single,ensemble,kd,kd_twin)")
        i, j = ys.index(g[y]), xs.index(g[x])
        out["found"][i, j] = True
        out["dependence"][i, j] = m["kd"]["test_acc_single"] - m["kd_twin"]["test_acc_single"]
        alone = p.get("labels_alone")
        if alone is not None:
            out["gain"][i, j] = m["kd"]["test_acc_single"] - alone["test_acc_single"]
        held = {q["id"]: q["holds"] for q in p["predictions"]}
        out["controls"][i, j] = bool(held.get("T3.teacher")) and bool(held.get("students.bounded"))
    return xs, ys, out


def fig_phase_teacher(sweep: dict, x: str, y: str):
    """Two heat maps over (x, y): kd's single-view gain over the students' own label-trained
    initialisations, and how much of it depends on the teacher (kd minus kd_twin, whose teacher
    is the student's twin); outlined: the controls T3.teacher and students.bounded hold."""
    import matplotlib.pyplot as plt

    xs, ys, g = teacher_grid(sweep, x, y)
    panels = [("gain", "KD gain over labels alone\n(single-view, % points)"),
              ("dependence", "teacher dependence: KD minus\nKD from the twin (% points)")]
    with paper_style():
        fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 2.0), gridspec_kw={"wspace": 0.12})
        for c, (ax, (key, title)) in enumerate(zip(axes, panels)):
            vals = 100 * g[key]
            vmax = max(10.0, float(np.nanmax(np.abs(vals))) if np.isfinite(vals).any() else 10.0)
            im = ax.imshow(vals, origin="lower", cmap="PuOr", vmin=-vmax, vmax=vmax,
                           aspect="auto")
            for i in range(len(ys)):
                for j in range(len(xs)):
                    v = vals[i, j]
                    ax.text(j, i, "–" if not np.isfinite(v) else f"{v:+.0f}", ha="center",
                            va="center", fontsize=5.5,
                            color="white" if np.isfinite(v) and abs(v) > 0.6 * vmax else "black")
            _heat_axes(fig, ax, im, g["controls"], xs, ys, c == 0, title)
        axes[0].set_ylabel(_label(y))
        fig.supxlabel(_label(x), y=-0.02, fontsize=8)
        fig.text(0.5, -0.1, f"{sweep['seeds']} seeds per cell; outlined: T3.teacher and "
                 "students.bounded hold", ha="center", va="top", fontsize=6)
    return fig


# --- the CLI's entry -----------------------------------------------------------------------

KINDS = ("views", "lottery", "ensemble-size", "methods", "fixed", "phase", "dose",
         "phase-teacher")


def _load_check(path) -> dict:
    return read_result(path, "check.json", "multiview check")


def default_out(path: str | Path) -> Path:
    """Where `plot` writes without --out: the folder of the input (the input itself when it
    is a folder) -- never figures/, whose files `make figures` owns."""
    p = Path(path)
    return p if p.is_dir() else p.parent


def plot(kind: str, path: str | Path, out: str | Path | None = None, name: str | None = None,
         x: str | None = None, y: str | None = None, force: bool = False) -> list[Path]:
    """Draw figure `kind` from the result at `path` into OUT/name.{pdf,png} (OUT: beside the
    input by default). Existing files are replaced only with `force`; the input (its kind
    included) and the output path are checked before anything is drawn."""
    from .sweep import load_sweep

    if kind not in KINDS:
        raise ConfigError(f"plot: unknown kind {kind!r}; allowed: {', '.join(KINDS)}")
    if kind in ("views", "lottery", "ensemble-size"):
        result = load_arrays(path)
    elif kind in ("methods", "fixed"):
        result = _load_check(path)
    elif kind == "dose":
        result = [read_result(path, "dose.json", "multiview dose")]
    else:
        result = load_sweep(path)
        fields = list(result["grid"])
        if len(fields) < 2 and not (x and y):
            raise ConfigError(f"plot {kind}: the sweep needs a grid over two fields (--x, --y)")
        x, y = x or fields[0], y or fields[1]
        name = name or ("phase_teacher" if kind == "phase-teacher"
                        else f"phase_{x.split('.')[-1]}_{y.split('.')[-1]}")
    out = probe_dir(default_out(path) if out is None else out)
    name = name or kind.replace("-", "_")
    need(name and "/" not in name and name not in (".", ".."), "--name", name,
         "a file name without folders or extension")
    exists = [str(p) for p in (out / f"{name}.pdf", out / f"{name}.png") if p.exists()]
    need(force or not exists, "--out", str(out),
         f"a folder without {', '.join(exists)} (give --force to overwrite)")
    draw = {"views": fig_views, "lottery": fig_lottery, "ensemble-size": fig_ensemble_size,
            "methods": fig_methods, "fixed": fig_fixed, "dose": fig_dose}.get(kind)
    if draw:
        fig = draw(result)
    else:
        fig = (fig_phase_teacher if kind == "phase-teacher" else fig_phase)(result, x, y)
    return save(fig, out, name)



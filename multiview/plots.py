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
from .results import load, probe_dir, write_together

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
SMALL = 7             # pt: cell values, notes, annotations, legends (labels and titles: 8)
STYLE = {
    "font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "legend.fontsize": SMALL,
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
    """Write OUT/name.pdf and OUT/name.png (DPI dots per inch) together and atomically (both
    files or, on a full disk or an interrupt, neither: the old pair stays); close the figure."""
    import io

    import matplotlib.pyplot as plt

    out = Path(out)
    paths = [out / f"{name}.pdf", out / f"{name}.png"]
    pdf, png = io.BytesIO(), io.BytesIO()
    try:
        with paper_style():
            fig.savefig(pdf, format="pdf")
            fig.savefig(png, format="png", dpi=DPI)
    finally:
        plt.close(fig)
    return write_together({paths[0]: pdf.getvalue(), paths[1]: png.getvalue()})


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
                        transform=ax.transAxes, va="center", fontsize=SMALL)
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
                ax.set_title(title, fontsize=SMALL, pad=2)
            axes[r, 0].set_ylabel(f"{label}\nclass", fontsize=7)
        for ax in axes[-1, :seeds]:
            ax.set_xlabel("view", fontsize=7, labelpad=1)
        # the colour bar goes under the grid, its label carrying the dot's meaning: at the
        # right it overlapped the per-row summaries of the last column
        grid_h = 0.85 * fig.get_figheight()             # inches of the panels' grid
        cb = fig.colorbar(im, ax=axes, orientation="horizontal", location="bottom",
                          fraction=0.1 / grid_h, pad=0.42 / grid_h, shrink=0.7, aspect=30)
        cb.set_label(r"$\Lambda_{i,\ell}/\varrho$ at the end of training (capped at 2); "
                     rf"dot: view learned ($\Lambda \geq {thr:g}\,\varrho$)", fontsize=SMALL)
        cb.ax.tick_params(labelsize=SMALL)
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


def _has_ci(records) -> bool:
    return any("ci" in m for m in records)


def error_bars(record: dict, q: str, ci: bool) -> tuple[float, float]:
    """(below, above) the mean in percent: the 95 % CI of `q` where the results carry
    intervals (0 where it is undefined: one model), else ± std."""
    mean = _pct(record[q])
    if ci:
        lo_hi = (record.get("ci") or {}).get(q)
        if not lo_hi or None in lo_hi or not np.isfinite(mean):
            return 0.0, 0.0
        return max(0.0, mean - 100 * lo_hi[0]), max(0.0, 100 * lo_hi[1] - mean)
    sd = _pct(record["std"][q])
    return sd, sd


def _ci_kind(records) -> str:
    kinds = sorted({m["ci_kind"] for m in records if m.get("ci_kind")})
    names = {"t": "t-interval", "bootstrap": "bootstrap"}
    return f" ({', '.join(names.get(k, k) for k in kinds)})" if kinds else ""


def tick_labels(fig, ax, labels: list[str]) -> float:
    """Category labels under the x axis, rotated just enough that neighbours cannot touch:
    anchored at their tick, parallel labels lie (tick spacing) * sin(angle) apart, at least
    1.6 font sizes. Returns the angle."""
    spacing = ax.get_position().width * fig.get_figwidth() * 72 / max(1, len(labels))
    longest = max((len(t) for t in labels), default=0) * 0.55 * SMALL      # points, roughly
    angle = 0.0 if longest + 2 <= spacing else next(
        (a for a in (30.0, 45.0, 60.0) if spacing * np.sin(np.radians(a)) >= 1.6 * SMALL), 90.0)
    ax.set_xticks(range(len(labels)), labels, fontsize=SMALL, rotation=angle,
                  ha="right" if angle else "center", rotation_mode="anchor")
    return angle


def fig_methods(check: dict, methods: list[str] | None = None):
    """Train / multi-view / single-view test accuracy per method (error bars: 95 % CI over
    seeds where check.json has them, else ± std) with the theorems' predicted bands (hatched)."""
    import matplotlib.pyplot as plt

    names = [m for m in (methods or METHOD_LABEL) if m in check["methods"]]
    if not names:
        raise ConfigError("plot methods: the check result has none of the network methods "
                          f"({', '.join(METHOD_LABEL)})")
    bands = prediction_bands(check)
    L = len(check["seeds"])
    records = [check["methods"][n] for n in names]
    ci = _has_ci(records)
    width = 0.26
    with paper_style():
        fig, ax = plt.subplots(figsize=(WIDTH, 2.3))
        for j, (q, label, colour) in enumerate(QUANTITIES):
            xs = np.arange(len(names)) + (j - 1) * width
            vals = [_pct(m[q]) for m in records]
            errs = np.array([error_bars(m, q, ci) for m in records]).T
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
        tick_labels(fig, ax, [METHOD_LABEL[n] for n in names])
        ax.set_ylabel("accuracy (%)")
        # the axis starts below every bar and every predicted band drawn (no band is cut)
        lows = [_pct(m["test_acc_single"]) for m in records]
        lows += [100 * lo for (n, _), (lo, _, _) in bands.items() if n in names]
        lo = np.nanmin(lows) if not np.all(np.isnan(lows)) else 0.0
        ax.set_ylim(max(0, 10 * np.floor((lo - 5) / 10)), 103)
        bars = (f"95% CI over seeds{_ci_kind(records)}" if ci else "std over seeds")
        leg = ax.legend(ncol=2, loc="lower left", bbox_to_anchor=(0.0, 1.0), borderaxespad=0.1,
                        title=f"{L} seeds; error bars: {bars}", title_fontsize=SMALL)
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

def _num(v) -> float:
    """A stored number, nan for null (an undefined accuracy: mu = 0 has no single-view point)."""
    return np.nan if v is None else float(v)


def _same(a, b) -> bool:
    """A grid value equals a value given as text on the command line (or as itself)."""
    if a == b or str(a) == str(b) or _fmt(a) == str(b):
        return True
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return False


def slice_of(sweep: dict, axes: list[str], fixed: dict | None = None, what: str = "plot phase"
             ) -> dict:
    """The values of the grid fields not on an axis: `fixed` (FIELD -> value, a value of the
    grid, given as itself or as text), else each field's first value."""
    grid = sweep["grid"]
    fixed = dict(fixed or {})
    for f, v in fixed.items():
        if f not in grid or f in axes:
            others = [g for g in grid if g not in axes]
            raise ConfigError(f"{what}: --fix {f}: not a grid field off the axes (allowed: "
                              f"{', '.join(others) or 'none'})")
        match = [g for g in grid[f] if _same(g, v)]
        if not match:
            raise ConfigError(f"{what}: --fix {f}={v}: not a value of the grid (allowed: "
                              f"{', '.join(_fmt(g) for g in grid[f])})")
        fixed[f] = match[0]
    return {f: vals[0] for f, vals in grid.items() if f not in axes} | fixed


def _points(sweep: dict, what: str) -> list[dict]:
    if not sweep.get("points"):
        failed = len(sweep.get("failed", []))
        raise ConfigError(f"{what}: the sweep has no finished point to draw"
                          + (f" ({failed} failed)" if failed else ""))
    return sweep["points"]


def _crosses(ci, band) -> bool:
    """Whether an interval [a, b] straddles an end of a band [lo, hi]."""
    if not ci or None in ci or not band:
        return False
    return any(ci[0] < end < ci[1] for end in band)


def phase_grid(sweep: dict, x: str, y: str, fixed: dict | None = None):
    """Arrays [ny, nx] of the sweep's points over fields x and y (other grid fields at `fixed`,
    default: their first value): each method's single-view test accuracy (`acc`), the single
    model's ("single", nan where not run) and the ensemble's, the ensemble gain, whether the
    Theorem 1-2 bands hold, and whether single's 95 % CI crosses the T1.single band."""
    grid = sweep["grid"]
    for f in (x, y):
        if f not in grid:
            raise ConfigError(f"plot phase: {f!r} is not a field of the sweep's grid "
                              f"({', '.join(grid)})")
    fixed = slice_of(sweep, [x, y], fixed)
    xs, ys = grid[x], grid[y]
    shape = (len(ys), len(xs))
    acc = {m: np.full(shape, np.nan) for m in sweep.get("methods", [])}
    out = {k: np.full(shape, np.nan) for k in ("single", "single_std", "ensemble", "gain")}
    out |= {k: np.zeros(shape, bool) for k in ("regime", "found", "crosses")}
    for p in _points(sweep, "plot phase"):
        g = p["grid"]
        if any(g[f] != v for f, v in fixed.items()):
            continue
        i, j = ys.index(g[y]), xs.index(g[x])
        m = p["methods"]
        out["found"][i, j] = True
        for name, rec in m.items():
            acc.setdefault(name, np.full(shape, np.nan))[i, j] = _num(rec["test_acc_single"])
        if "single" in m:
            out["single"][i, j] = _num(m["single"]["test_acc_single"])
            out["single_std"][i, j] = _num(m["single"]["std"]["test_acc_single"])
            band = next((q["expected"] for q in p["predictions"] if q["id"] == "T1.single"), None)
            out["crosses"][i, j] = _crosses((m["single"].get("ci") or {}).get("test_acc_single"),
                                            band)
        if "ensemble" in m:
            out["ensemble"][i, j] = _num(m["ensemble"]["test_acc_single"])
            out["gain"][i, j] = out["ensemble"][i, j] - out["single"][i, j]
        bands = [q["holds"] for q in p["predictions"] if q["id"].split(".")[0] in ("T1", "T2")]
        out["regime"][i, j] = bool(bands) and all(h is True for h in bands)
    out["acc"] = acc
    return xs, ys, out, {f: v for f, v in fixed.items()}


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


def _note(parts: list[str], width: int = 60) -> str:
    """A figure's note: its parts joined by '; ', broken into lines of about `width` characters
    (the figure's width at SMALL pt)."""
    lines = [""]
    for part in parts:
        joined = f"{lines[-1]}; {part}" if lines[-1] else part
        if len(joined) <= width or not lines[-1]:
            lines[-1] = joined
        else:
            lines[-1] += ";"
            lines.append(part)
    return "\n".join(lines)


def _slice_note(fixed: dict) -> str:
    return ", ".join(f"{k.split('.')[-1]}={_fmt(v)}" for k, v in fixed.items())


def _gain_norm(gain):
    """A colour scale for a gain: sequential when it keeps its sign, diverging at 0 else."""
    from matplotlib.colors import Normalize, TwoSlopeNorm

    lo, hi = float(np.nanmin(gain)), float(np.nanmax(gain))
    a, b = _span(gain)
    pad = (b - a) / 4             # the smallest gain tinted, not white like an empty cell
    return (("Purples", Normalize(a - pad, b)) if lo >= 0 else
            ("Oranges_r", Normalize(a, b + pad)) if hi <= 0 else
            ("PuOr", TwoSlopeNorm(0.0, lo, hi)))


def fig_phase(sweep: dict, x: str, y: str | None, fixed: dict | None = None):
    """Two heat maps over (x, y): the single model's single-view test accuracy and the
    ensemble's gain on single-view points (a method's accuracy in their place where single or
    ensemble was not run); outlined: every Theorem 1-2 band holds; hatched: single's 95 % CI
    crosses the T1.single band. A one-field sweep (y None) is drawn as lines."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import Normalize

    if y is None:
        return fig_phase_line(sweep, x, fixed)
    xs, ys, g, fixed = phase_grid(sweep, x, y, fixed)
    L = sweep["seeds"]
    # colour scales span the values drawn (fixed 0-100 and ±max scales left the cells nearly
    # one colour): sequential over [min, max] rounded to 5, diverging at 0 only when the
    # gain changes sign
    drawn = {m: a for m, a in g["acc"].items() if np.isfinite(a).any()}

    def accuracy(name):
        title = "single model" if name == "single" else METHOD_LABEL.get(name, name)
        return (100 * drawn[name], f"{title}, single-view\ntest accuracy (%)", "cividis",
                Normalize(*_span(100 * drawn[name])))
    first = "single" if "single" in drawn else next(iter(drawn), None)
    if first is None:
        raise ConfigError(f"plot phase: no point of the slice {_slice_note(fixed) or 'drawn'} "
                          "has a single-view test accuracy (mu = 0 has no single-view point)")
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
        fig, axes = plt.subplots(1, len(panels), figsize=(WIDTH, 2.1), squeeze=False,
                                 gridspec_kw={"wspace": 0.12})
        axes = axes[0]
        for c, (ax, (vals, title, cmap, norm)) in enumerate(zip(axes, panels)):
            im = ax.imshow(vals, origin="lower", cmap=cmap, norm=norm, aspect="auto")
            if c == 0 and first == "single":
                _hatch(ax, crosses)
            _cell_values(ax, im, vals, g["found"])
            _heat_axes(fig, ax, im, g["regime"], xs, ys, c == 0, title)
        axes[0].set_ylabel(_label(y))
        fig.supxlabel(_label(x), y=-0.02, fontsize=8)
        notes = [f"{L} seeds per cell"]
        if g["regime"].any():
            notes.append("outlined: Theorem 1–2 bands hold")
        if crosses.any():
            notes.append("hatched: single's 95% CI crosses its band")
        if fixed:
            notes.append(_slice_note(fixed))
        fig.text(0.5, -0.1, _note(notes), ha="center", va="top", fontsize=SMALL)
    return fig


def phase_line(sweep: dict, x: str, fixed: dict | None = None) -> dict:
    """Per method, over the values of field x (other fields at `fixed`): single-view test
    accuracy and its error bars in percent (95 % CI where the sweep has one, else ± std)."""
    grid = sweep["grid"]
    if x not in grid:
        raise ConfigError(f"plot phase: {x!r} is not a field of the sweep's grid "
                          f"({', '.join(grid)})")
    fixed = slice_of(sweep, [x], fixed)
    xs = grid[x]
    points = [p for p in _points(sweep, "plot phase")
              if all(p["grid"][f] == v for f, v in fixed.items())]
    ci = _has_ci(m for p in points for m in p["methods"].values())
    out = {}
    for name in sweep.get("methods") or list(points[0]["methods"]):
        acc = np.full(len(xs), np.nan)
        err = np.zeros((2, len(xs)))
        for p in points:
            rec = p["methods"].get(name)
            if rec is None:
                continue
            j = xs.index(p["grid"][x])
            acc[j] = _pct(rec["test_acc_single"])
            err[:, j] = error_bars(rec, "test_acc_single", ci)
        if np.isfinite(acc).any():
            out[name] = (acc, err)
    return {"x": xs, "methods": out, "ci": ci, "fixed": fixed}


def fig_phase_line(sweep: dict, x: str, fixed: dict | None = None):
    """A one-field sweep: each method's single-view test accuracy against the field, with
    error bars (95 % CI over seeds where the sweep has them, else ± std)."""
    import matplotlib.pyplot as plt

    line = phase_line(sweep, x, fixed)
    if not line["methods"]:
        raise ConfigError("plot phase: no point of the sweep has a single-view test accuracy "
                          "(mu = 0 has no single-view test point)")
    xs = line["x"]
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in xs)
    pos = np.asarray(xs, float) if numeric else np.arange(len(xs))
    with paper_style():
        fig, ax = plt.subplots(figsize=(WIDTH, 2.0))
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
        note = f"{sweep['seeds']} seeds per point; error bars: {bars}"
        if line["fixed"]:
            note += "; " + _slice_note(line["fixed"])
        fig.text(0.5, -0.1, note, ha="center", va="top", fontsize=SMALL)
    return fig


# --- teacher dependence ------------------------------------------------------------------

def dose_labels(rows: list[dict], L: int) -> list[tuple[str, tuple[float, float]]]:
    """The named teachers of a dose record (twin, single, the full ensemble) at their points of
    (share known, share gained); teachers at one point share one label ("single = ensemble")."""
    out: dict[tuple, list[str]] = {}
    for r in rows:
        if r["teacher"] in ("twin", "single") or r["size"] == L:
            xy = (_num(r["share_known"]), _num(r["share_gained"]))
            if np.isfinite(xy).all():
                name = "ensemble" if r["size"] == L and r["teacher"] != "single" else r["teacher"]
                out.setdefault((round(xy[0], 3), round(xy[1], 3)), []).append(name)
    return [(" = ".join(names), xy) for xy, names in out.items()]


def place_labels(ax, items: list[tuple[str, tuple[float, float]]]) -> list:
    """Annotate points with SMALL-pt labels, each at the first of above / below / further
    above / further below (below first near the top; beside the point near the left or right
    edge) where its box (estimated from its length) meets no label placed before."""
    scale = ax.figure.dpi / 72                                    # pixels per point
    placed, out = [], []
    x0, x1 = ax.get_xlim()
    for text, xy in items:
        px, py = ax.transData.transform(xy)
        w, h = len(text) * 0.55 * SMALL * scale, 1.2 * SMALL * scale
        frac = (xy[0] - x0) / (x1 - x0)
        ha, left = (("left", px + 2 * scale) if frac < 0.25 else
                    ("right", px - w) if frac > 0.75 else ("center", px - w / 2))
        offsets = (4, -5 - 1.2 * SMALL, 5 + 1.2 * SMALL, -6 - 2.4 * SMALL)
        y0, y1 = ax.get_ylim()
        if (xy[1] - y0) / (y1 - y0) > 0.8:                        # near the top: below first
            offsets = offsets[1::2] + offsets[0::2]
        for dy in offsets:
            box = (left, py + dy * scale, left + w, py + dy * scale + h)
            if not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3]
                       for b in placed):
                break
        placed.append(box)
        out.append(ax.annotate(text, xy, fontsize=SMALL, xytext=(2 if ha == "left" else 0, dy),
                               textcoords="offset points", ha=ha, va="bottom"))
    return out


def fig_dose(records: list[dict]):
    """Dose-response: the share of a student's missing (class, view) pairs it gained against
    the share its teacher knows (left), and its single-view test accuracy (right), one line
    per dose record (an objective, or a seed); the paper's mechanism predicts a rising line.
    Without single-view test points (mu = 0) the right panel says so."""
    import matplotlib.pyplot as plt

    records = [r for r in records if r.get("teachers")]
    if not records:
        raise ConfigError("plot dose: the dose result has no teachers to draw (run "
                          "`multiview dose` with --seeds 2 or more)")
    markers = "osD^v"
    colours = [OKABE_ITO[c] for c in ("green", "vermillion", "blue", "purple", "orange")]
    objectives = [r["config"]["distill"]["objective"] for r in records]
    by_objective = len(set(objectives)) > 1
    with paper_style():
        fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 2.0), gridspec_kw={"wspace": 0.45})
        accuracy = False
        for s, rec in enumerate(records):
            rows = rec["teachers"]
            x = [_num(r["share_known"]) for r in rows]
            kw = dict(marker=markers[s % len(markers)], ms=3, lw=0.9,
                      color=colours[s % len(colours)] if by_objective else OKABE_ITO["green"],
                      alpha=0.9)
            label = (f"{objectives[s]} objective" if by_objective else f"seed {rec['seed']}")
            axes[0].plot(x, [_num(r["share_gained"]) for r in rows], label=label, **kw)
            acc = [_pct(r["test_acc_single"]) for r in rows]
            if np.isfinite(acc).any():
                accuracy = True
                axes[1].errorbar(x, acc, yerr=[_pct(r["std"]) for r in rows], capsize=1,
                                 elinewidth=0.5, **kw)
        axes[0].set(xlim=(-0.05, 1.05), ylim=(-0.1, 1.12))
        place_labels(axes[0], dose_labels(records[0]["teachers"], records[0]["L"]))
        base = _pct(records[0]["labels_alone"]["test_acc_single"])
        if accuracy and np.isfinite(base):
            axes[1].axhline(base, color=OKABE_ITO["grey"], lw=0.7, ls=":")
            axes[1].annotate("labels only", (1.0, base), fontsize=SMALL, ha="right",
                             va="bottom", xytext=(0, 1), textcoords="offset points",
                             color=OKABE_ITO["grey"])
        if not accuracy:
            axes[1].text(0.5, 0.5, "no single-view\ntest points\n(μ = 0)", ha="center",
                         va="center", fontsize=SMALL, transform=axes[1].transAxes)
            axes[1].set_yticks([])
        axes[0].plot([0, 1], [0, 1], color=OKABE_ITO["grey"], lw=0.6, ls="--",
                     label="gains what the teacher knows")
        axes[0].set(ylabel="share the student gained")
        axes[1].set(xlim=(-0.05, 1.05), ylabel="single-view test acc. (%)")
        fig.supxlabel("share of the student's missing views that its teacher knows", y=-0.06,
                      fontsize=SMALL)
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 0.9), ncol=3,
                   fontsize=SMALL)
        fig.text(0.5, -0.14, f"{records[0]['L']} students per teacher: its twin (own "
                 "initialisation on labels),\none single model, ensembles of 2, 4, ..., L",
                 ha="center", va="top", fontsize=SMALL)
    return fig


def teacher_grid(sweep: dict, x: str, y: str, fixed: dict | None = None):
    """[ny, nx] arrays over the sweep's fields x, y (other grid fields at `fixed`, default: their
    first value): kd's single-view gain over labels_alone, the teacher dependence (kd minus
    kd_twin), and whether T3.teacher and students.bounded hold."""
    grid = sweep["grid"]
    for f in (x, y):
        if f not in grid:
            raise ConfigError(f"plot phase-teacher: {f!r} is not a field of the sweep's grid "
                              f"({', '.join(grid)})")
    fixed = slice_of(sweep, [x, y], fixed, "plot phase-teacher")
    xs, ys = grid[x], grid[y]
    shape = (len(ys), len(xs))
    out = {k: np.full(shape, np.nan) for k in ("gain", "dependence")}
    out["found"] = np.zeros(shape, bool)
    out["controls"] = np.zeros(shape, bool)
    for p in _points(sweep, "plot phase-teacher"):
        g, m = p["grid"], p["methods"]
        if any(g[f] != v for f, v in fixed.items()):
            continue
        if not {"kd", "kd_twin"} <= set(m):
            raise ConfigError("plot phase-teacher: the sweep must have run the methods kd and "
                              "kd_twin (--methods single,ensemble,kd,kd_twin)")
        i, j = ys.index(g[y]), xs.index(g[x])
        out["found"][i, j] = True
        kd = _num(m["kd"]["test_acc_single"])
        out["dependence"][i, j] = kd - _num(m["kd_twin"]["test_acc_single"])
        alone = p.get("labels_alone")
        if alone is not None:
            out["gain"][i, j] = kd - _num(alone["test_acc_single"])
        held = {q["id"]: q["holds"] for q in p["predictions"]}
        out["controls"][i, j] = bool(held.get("T3.teacher")) and bool(held.get("students.bounded"))
    return xs, ys, out, fixed


def fig_phase_teacher(sweep: dict, x: str, y: str, fixed: dict | None = None):
    """Two heat maps over (x, y): kd's single-view gain over the students' own label-trained
    initialisations, and how much of it depends on the teacher (kd minus kd_twin, whose teacher
    is the student's twin); outlined: the controls T3.teacher and students.bounded hold."""
    import matplotlib.pyplot as plt

    xs, ys, g, fixed = teacher_grid(sweep, x, y, fixed)
    if not np.isfinite(g["dependence"]).any():
        raise ConfigError("plot phase-teacher: no point of the slice has a single-view test "
                          "accuracy (mu = 0 has no single-view test point)")
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
                            va="center", fontsize=SMALL,
                            color="white" if np.isfinite(v) and abs(v) > 0.6 * vmax else "black")
            _heat_axes(fig, ax, im, g["controls"], xs, ys, c == 0, title)
        axes[0].set_ylabel(_label(y))
        fig.supxlabel(_label(x), y=-0.02, fontsize=8)
        notes = [f"{sweep['seeds']} seeds per cell"]
        if g["controls"].any():
            notes.append("outlined: T3.teacher and students.bounded hold")
        if fixed:
            notes.append(_slice_note(fixed))
        fig.text(0.5, -0.1, _note(notes), ha="center", va="top", fontsize=SMALL)
    return fig


# --- the lottery under long training -------------------------------------------------------

def stability_curve(record: dict) -> dict:
    """The curves of a stability.json (runs.stability_of): x = steps / B (steps where B is
    undefined: a member never fit), and for the both-views and the one-view share the mean
    over the L members with its 95 % confidence interval over them (metrics.confidence_interval:
    a t-interval for L <= 20; equal members give a zero-width interval)."""
    from .metrics import confidence_interval

    steps = np.asarray(record["steps"], float)
    B = record["B"]
    out = {"steps": steps, "x": steps / B if B else steps, "B": B}
    for q in ("both", "one"):
        rows = np.asarray(record[q], float)                       # [steps, L]
        ci = [confidence_interval(r) or [np.nan, np.nan] for r in rows]
        out[q] = (rows.mean(1), np.array([c[0] for c in ci]), np.array([c[1] for c in ci]))
    return out


def _preset_name(record: dict) -> str:
    return record.get("name") or f"k = {record['config']['data']['k']}"


def fig_stability(records: list[dict]):
    """Both-views (left) and one-view share (right) of the single models' (model, class) pairs
    against training time in units of B (the step at which the last of the L models first fit
    the training set), trained with no stop to 5 B: one line per record (a preset), the mean
    over members with its 95 % CI band; T1.stable's band on the one-view share shaded."""
    import matplotlib.pyplot as plt

    colours = [OKABE_ITO[c] for c in ("blue", "vermillion", "green", "purple")]
    with paper_style():
        fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 1.8), sharex=True,
                                 gridspec_kw={"wspace": 0.35})
        scaled = all(r["B"] for r in records)
        for i, rec in enumerate(records):
            cur = stability_curve(rec)
            label = (f"{_preset_name(rec)} (B = {rec['B']:,} steps)" if rec["B"] else
                     f"{_preset_name(rec)} (a model never fit)")
            for ax, q in zip(axes, ("both", "one")):
                mean, lo, hi = cur[q]
                ax.fill_between(cur["x"], np.clip(lo, 0, 1), np.clip(hi, 0, 1),
                                color=colours[i % 4], alpha=0.2, lw=0)
                ax.plot(cur["x"], mean, color=colours[i % 4], lw=1.0,
                        label=label if q == "both" else None)
        axes[1].axhspan(0.7, 1.0, color=OKABE_ITO["grey"], alpha=0.15, lw=0)
        axes[1].text(0.98, 0.72, "T1.stable band", transform=axes[1].get_yaxis_transform(),
                     ha="right", va="bottom", fontsize=SMALL, color="0.35")
        for ax, title in zip(axes, ("both views learned", "one view learned")):
            if scaled:
                for x in (1, records[0]["factor"]):
                    ax.axvline(x, color="black", lw=0.6, ls=":")
            ax.set(ylim=(-0.02, 1.02), title=title)
            ax.set_xlabel("training steps / B" if scaled else "training steps")
        axes[0].set_ylabel("share of (model, class) pairs")
        fig.legend(loc="lower center", bbox_to_anchor=(0.5, 0.97), ncol=len(records))
        Ls = sorted({r["L"] for r in records})
        notes = [f"{'/'.join(map(str, Ls))} models per line, seed {records[0]['seed']}, "
                 "trained with no stop", "band: 95% CI over models (t), within [0, 1]"]
        if scaled:
            notes += ["B: the step at which the last model first fit", "dotted: B and 5 B"]
        fig.text(0.5, -0.08, _note(notes), ha="center", va="top", fontsize=SMALL)
    return fig


# --- the teacher's share of distillation's gain across k --------------------------------------

MIN_GAIN = 0.01       # a share is undefined where kd's single-view gain is under one point


def teacher_members(sweep: dict, fixed: dict | None = None, what: str = "plot teacher-vs-k"):
    """(ks, [{"kd", "kd_twin", "labels_alone": per-member single-view test accuracy [L]}], fixed)
    of a sweep over data.k (other grid fields at `fixed`, default: their first value) that ran
    kd and kd_twin; the members are paired (the same student initialisations)."""
    if "data.k" not in sweep["grid"]:
        raise ConfigError(f"{what}: the sweep needs data.k in its grid (it has "
                          f"{', '.join(sweep['grid'])})")
    fixed = slice_of(sweep, ["data.k"], fixed, what)
    rows = []
    for p in _points(sweep, what):
        if any(not _same(p["grid"][f], v) for f, v in fixed.items()):
            continue
        m, alone = p["methods"], p.get("labels_alone")
        if not {"kd", "kd_twin"} <= set(m) or alone is None:
            raise ConfigError(f"{what}: the sweep must have run the methods kd and kd_twin "
                              "(--methods single,ensemble,kd,kd_twin)")
        recs = {"kd": m["kd"], "kd_twin": m["kd_twin"], "labels_alone": alone}
        if any("per_model" not in r for r in recs.values()):
            raise ConfigError(f"{what}: the sweep's points have no per-model values (written "
                              "by an older multiview: rerun the sweep)")
        vals = {n: np.array([_num(v) for v in r["per_model"]["test_acc_single"]])
                for n, r in recs.items()}
        if all(np.isfinite(v).all() for v in vals.values()):
            rows.append((p["grid"]["data.k"], vals))
    if not rows:
        raise ConfigError(f"{what}: no point of the sweep has a single-view test accuracy "
                          "(mu = 0 has no single-view test point)")
    rows.sort(key=lambda r: r[0])
    return [k for k, _ in rows], [v for _, v in rows], fixed


def teacher_share(kd: float, kd_twin: float, alone: float, min_gain: float = MIN_GAIN) -> float:
    """theory's T3.teacher of mean single-view accuracies: (kd - kd_twin) / (kd - labels_alone);
    nan where the gain kd - labels_alone is under min_gain (theory: nan where it is <= 0),
    so that a near-zero denominator never makes a share."""
    from .theory import _teacher_share

    if not kd - alone >= min_gain:
        return float("nan")
    acc = {"kd": kd, "kd_twin": kd_twin, "labels_alone": alone}
    return _teacher_share("kd", "kd_twin")({n: {"test_acc_single": v} for n, v in acc.items()})


def joint_resamples(n: int, resamples: int = 10_000, seed=0) -> np.ndarray:
    """[resamples, n] member indices drawn with replacement, from a fixed PRNG seed (an int or a
    sequence of ints, numpy's SeedSequence): one draw per resample, applied to every method
    alike (the members are paired)."""
    return np.random.default_rng(seed).integers(0, n, (resamples, n))


def percentile_ci(samples, level: float = 0.95) -> list[float] | None:
    """The percentile interval of the samples; a nan sample (a resample without a value) counts
    as -inf for the lower bound and +inf for the upper one, so where such samples are more than
    (1 - level) / 2 of them the interval is unbounded on that side (±inf: null in JSON).
    None without samples."""
    s = np.asarray(samples, float)
    if not s.size:
        return None
    q = ((1 - level) / 2, (1 + level) / 2)
    lo = np.quantile(np.where(np.isnan(s), -np.inf, s), q[0], method="lower")
    hi = np.quantile(np.where(np.isnan(s), np.inf, s), q[1], method="higher")
    return [float(lo), float(hi)]


def teacher_samples(vals: dict, resamples: int = 10_000, seed=0,
                    min_gain: float = MIN_GAIN) -> tuple[np.ndarray, np.ndarray]:
    """(share, gain) of each bootstrap resample [resamples]: every resample draws member
    indices once (joint_resamples) and takes the means of kd, kd_twin and labels_alone at those
    same indices; the share is nan where the resample's gain is under min_gain."""
    idx = joint_resamples(len(vals["kd"]), resamples, seed)
    means = {name: v[idx].mean(1) for name, v in vals.items()}          # [resamples] each
    shares = np.array([teacher_share(a, b, c, min_gain) for a, b, c in
                       zip(means["kd"], means["kd_twin"], means["labels_alone"])])
    return shares, means["kd"] - means["labels_alone"]


def teacher_bootstrap(vals: dict, resamples: int = 10_000, seed=0,
                      min_gain: float = MIN_GAIN, level: float = 0.95) -> dict:
    """Share and gain of one k with their bootstrap intervals over the paired members
    (teacher_samples). `undefined` is the fraction of resamples without a share (a gain under
    min_gain); percentile_ci counts them at both ends, so the share's interval is unbounded
    where they are more than 2.5 %."""
    shares, gains = teacher_samples(vals, resamples, seed, min_gain)
    kd, twin, alone = (float(vals[n].mean()) for n in ("kd", "kd_twin", "labels_alone"))
    return {"n": len(vals["kd"]), "kd": kd, "kd_twin": twin, "labels_alone": alone,
            "share": teacher_share(kd, twin, alone, min_gain),
            "share_ci": percentile_ci(shares, level),
            "undefined": float(np.mean(np.isnan(shares))),
            "gain": kd - alone, "gain_ci": percentile_ci(gains, level)}


def fit_line(x, y) -> dict:
    """Least squares y = a + b x: a, b, R² (1 - RSS / TSS; nan when y is constant) and the
    residuals' root mean square."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    A = np.c_[np.ones_like(x), x]
    (a, b), *_ = np.linalg.lstsq(A, y, rcond=None)
    res = y - (a + b * x)
    tss = float(((y - y.mean()) ** 2).sum())
    rss = float((res ** 2).sum())
    return {"a": float(a), "b": float(b), "r2": 1 - rss / tss if tss > 0 else float("nan"),
            "rmse": float(np.sqrt(np.mean(res ** 2)))}


# the fitted forms of the share against k: the regressor of each
SHARE_FORMS = {"log k": np.log, "1/k": lambda k: 1.0 / np.asarray(k, float)}


def share_fits(ks, shares) -> dict:
    """Fits of the share against log k and against 1/k (points with a defined share; at least
    two), and `best`: the form with the smaller residual (the larger R²); {} with fewer."""
    ks, shares = np.asarray(ks, float), np.asarray(shares, float)
    ok = np.isfinite(shares)
    if ok.sum() < 2:
        return {}
    fits = {form: fit_line(f(ks[ok]), shares[ok]) for form, f in SHARE_FORMS.items()}
    fits["best"] = min(SHARE_FORMS, key=lambda form: fits[form]["rmse"])
    return fits


def fitted_share(fit: dict, form: str, k):
    """The fitted share at k."""
    return fit["a"] + fit["b"] * SHARE_FORMS[form](np.asarray(k, float))


def k_at(fit: dict, form: str, target: float = 0.9) -> float | None:
    """The k > 0 at which the fitted share, rising with k, reaches `target`; None where it never
    does (a flat or falling fit, for 1/k a rising fit whose limit a is at most the target, for
    log k a k beyond e^700)."""
    a, b = fit["a"], fit["b"]
    flat = 1e-12                                 # |b| below this: a flat fit (rounding)
    if form == "log k":
        x = (target - a) / b if b > flat else np.inf
        return float(np.exp(x)) if x < 700 else None     # e^700: beyond any k (float range)
    if b < -flat and a > target:                 # a + b/k rises towards a as k grows
        return float(b / (target - a))
    return None


def extrapolations(ks, share_samples: np.ndarray, form: str, target: float = 0.9) -> np.ndarray:
    """The k at which a fit in `form` of each resample's shares [resamples, len(ks)] reaches the
    target: inf where that fit never does, nan where fewer than two of its shares are defined."""
    ks = np.asarray(ks, float)
    out = np.full(len(share_samples), np.nan)
    for r, shares in enumerate(share_samples):
        ok = np.isfinite(shares)
        if ok.sum() >= 2:
            k = k_at(fit_line(SHARE_FORMS[form](ks[ok]), shares[ok]), form, target)
            out[r] = np.inf if k is None else k
    return out


def teacher_vs_k(sweep: dict, fixed: dict | None = None, resamples: int = 10_000, seed: int = 0,
                 min_gain: float = MIN_GAIN, target: float = 0.9, level: float = 0.95) -> dict:
    """Per k of the sweep: teacher_bootstrap, its draws seeded by (seed, k) (reproducible
    whichever other k the sweep holds, independent across k); the share's fits against log k
    and 1/k and, for each form, the k at which it reaches `target`, with the percentile interval
    of that k over the resamples (`extrapolations`; a fit that never reaches it is +inf) and
    the fraction of resamples whose fit never does."""
    ks, members, fixed = teacher_members(sweep, fixed)
    rows, samples = [], []
    for k, v in zip(ks, members):
        rows.append({"k": k, **teacher_bootstrap(v, resamples, [seed, int(k)], min_gain, level)})
        samples.append(teacher_samples(v, resamples, [seed, int(k)], min_gain)[0])
    fits = share_fits(ks, [r["share"] for r in rows])
    reach, reach_ci, never = {}, {}, {}
    for form in SHARE_FORMS if fits else ():
        reach[form] = k_at(fits[form], form, target)
        ext = extrapolations(ks, np.array(samples).T, form, target)
        reach_ci[form] = percentile_ci(ext, level)
        never[form] = float(np.mean(np.isinf(ext)))
    return {"rows": rows, "fits": fits, "k_at_target": reach, "k_at_target_ci": reach_ci,
            "never": never, "target": target, "resamples": resamples, "seed": seed,
            "min_gain": min_gain, "fixed": fixed}


def _k_text(k: float | None) -> str:
    return "never" if k is None else f"k ≈ {k:,.0f}" if k < 1e6 else f"k ≈ {k:.1e}"


def _k_bound(k: float) -> str:
    return ("never" if k == np.inf else "–" if not np.isfinite(k) else
            f"{k:,.0f}" if k < 1e6 else f"{k:.1e}")


def teacher_table(t: dict) -> str:
    """teacher_vs_k's numbers as text: one line per k, then the fits and their k at the target."""
    ci = lambda c: "[–]" if c is None else f"[{c[0]:.2f}, {c[1]:.2f}]".replace("inf", "∞")  # noqa: E731
    lines = [f"{'k':>4} {'kd':>6} {'twin':>6} {'alone':>6}  {'share':>5} {'95% CI':>14} "
             f"{'undef.':>6}  {'gain':>6} {'95% CI':>14}"]
    for r in t["rows"]:
        lines.append(f"{r['k']:>4} {r['kd']:6.3f} {r['kd_twin']:6.3f} {r['labels_alone']:6.3f}  "
                     f"{r['share']:5.2f} {ci(r['share_ci']):>14} {r['undefined']:6.1%}  "
                     f"{r['gain']:+6.3f} {ci(r['gain_ci']):>14}")
    for form in SHARE_FORMS:
        if form in t["fits"]:
            f = t["fits"][form]
            best = "  (best)" if t["fits"]["best"] == form else ""
            lo, hi = t["k_at_target_ci"][form] or (np.nan, np.nan)
            lines.append(f"share = {f['a']:.3f} {f['b']:+.3f} {form}: R² {f['r2']:.3f}, rms "
                         f"residual {f['rmse']:.3f}; share {t['target']:g} at "
                         f"{_k_text(t['k_at_target'][form])} (95% CI {_k_bound(lo)}–"
                         f"{_k_bound(hi)}; never in {t['never'][form]:.0%} of resamples){best}")
    return "\n".join(lines)


def fig_teacher_vs_k(sweep: dict, fixed: dict | None = None, table: dict | None = None):
    """The teacher's share of kd's single-view gain (left) and the gain kd - labels_alone
    (right) against k, with 95 % bootstrap intervals over the paired members; the share's fits
    against log k and 1/k (the better solid) and the k at which the better reaches 0.9."""
    import matplotlib.pyplot as plt

    t = table or teacher_vs_k(sweep, fixed)
    rows, fits = t["rows"], t["fits"]
    ks = np.array([r["k"] for r in rows], float)

    def bars(key, scale=1.0):
        mid = scale * np.array([r[key] for r in rows], float)
        ci = [r[f"{key}_ci"] or [np.nan, np.nan] for r in rows]
        lo, hi = scale * np.array([c[0] for c in ci]), scale * np.array([c[1] for c in ci])
        return mid, lo, hi

    with paper_style():
        fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 1.9), gridspec_kw={"wspace": 0.5})
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


# --- the CLI's entry -----------------------------------------------------------------------

KINDS = ("views", "lottery", "ensemble-size", "methods", "fixed", "phase", "dose",
         "phase-teacher", "teacher-vs-k", "stability", "search")


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



def _search_figure(search: dict):
    from .search_figure import figure      # its own module (prepare, draw)

    with paper_style():
        return figure(search)


# the result kind (results.KINDS) each figure draws
INPUT = {"views": "arrays", "lottery": "arrays", "ensemble-size": "arrays", "methods": "check",
         "fixed": "check", "phase": "sweep", "phase-teacher": "sweep", "dose": "dose",
         "teacher-vs-k": "sweep", "stability": "stability", "search": "search"}


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
    included) and the output path are checked before anything is drawn."""
    if kind not in KINDS:
        raise ConfigError(f"plot: unknown kind {kind!r}; allowed: {', '.join(KINDS)}")
    # every input is read and validated by results.load (one message for a damaged file)
    result = load(path, INPUT[kind]).content
    if kind == "dose":
        result = [result]
        need(bool(result[0].get("teachers")), "--in", str(path),
             "a dose.json with at least one teacher (this one has none: nothing to draw)")
    elif kind == "teacher-vs-k":
        need(bool(result.get("points")), "--in", str(path),
             "a sweep with at least one finished point (this one has none: nothing to draw)")
        table = teacher_vs_k(result, parse_fix(fix or [], kind))    # refused before any file
    elif kind in ("phase", "phase-teacher"):
        x, y = phase_axes(result, x, y, kind)
        name = name or ("phase_teacher" if kind == "phase-teacher" else "_".join(
            ["phase"] + [f.split(".")[-1] for f in (x, y) if f]))
        need(bool(result.get("points")), "--in", str(path),
             "a sweep with at least one finished point (this one has none: nothing to draw)")
    out = probe_dir(default_out(path) if out is None else out)
    name = name or kind.replace("-", "_")
    need(name and "/" not in name and name not in (".", ".."), "--name", name,
         "a file name without folders or extension")
    exists = [str(p) for p in (out / f"{name}.pdf", out / f"{name}.png") if p.exists()]
    need(force or not exists, "--out", str(out),
         f"a folder without {', '.join(exists)} (give --force to overwrite)")
    draw = {"views": fig_views, "lottery": fig_lottery, "ensemble-size": fig_ensemble_size,
            "methods": fig_methods, "fixed": fig_fixed, "dose": fig_dose,
            "stability": lambda r: fig_stability([r]), "search": _search_figure}.get(kind)
    if draw:
        fig = draw(result)
    elif kind == "teacher-vs-k":
        fig = fig_teacher_vs_k(result, table=table)
    else:
        fig = (fig_phase_teacher if kind == "phase-teacher" else fig_phase)(
            result, x, y, parse_fix(fix or [], kind))
    return save(fig, out, name)



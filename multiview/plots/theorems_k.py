"""The figure of a k-sweep folder (`theorems-vs-k`): the theorems against k in the limit, per
objective (experiments/theorems_vs_k.sh; docs/studies/20-theorems-vs-k.md)."""

from __future__ import annotations

import numpy as np

from ..theorems_k import SHOWN, THEOREMS, theorems_vs_k
from .style import METHOD_COLOR, METHOD_LABEL, OKABE_ITO, SMALL, WIDTH, _note, paper_style, subplots

# the colours of the methods the shared palette leaves out, and of the theorems' pass rates
EXTRA_COLOR = {"kd_smooth": OKABE_ITO["sky"], "kd_shuffled": OKABE_ITO["vermillion"]}
THEOREM_STYLE = {"Theorem 1": (OKABE_ITO["blue"], "o"), "Theorem 2": (OKABE_ITO["orange"], "s"),
                 "Theorem 3": (OKABE_ITO["green"], "^"), "Theorem 4": (OKABE_ITO["purple"], "D")}
# the pass-rate lines are drawn this far apart (rate units) so that equal rates stay visible
RATE_OFFSET = {"Theorem 1": 0.015, "Theorem 2": 0.005, "Theorem 3": -0.005, "Theorem 4": -0.015}


def _row_title(objective: str, distill: dict) -> str:
    """The objective's folder name, and the distillation objective it ran where they differ."""
    name = distill.get("objective")
    return objective if not name or name == objective else f"{objective} ({name})"


def _settings(objective: str, distill: dict) -> str | None:
    """The note's line on a bounded objective's settings (α, the students' step)."""
    if distill.get("objective") in (None, "theorem"):
        return None
    step = f", students' step {distill['lr']:.3g}" if distill.get("lr") else ""
    return f"{objective}: {distill['objective']}, α {distill['alpha']:g}{step}"


def _log_limits(ax, values) -> None:
    """A log axis spanning whole decades around the values (at least one tick each end)."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x) and x > 0], float)
    if v.size:
        ax.set_ylim(10 ** np.floor(np.log10(v.min())), 10 ** np.ceil(np.log10(v.max()) + 1e-9))


def prepare_theorems_k(result: dict) -> dict:
    """The numbers of theorems_k.theorems_vs_k of a loaded k-sweep folder."""
    return theorems_vs_k(result)


def _bars(rows, key=None):
    mid = np.array([r["mean"] if r["mean"] is not None else np.nan for r in rows], float)
    ci = [r["ci"] or [np.nan, np.nan] for r in rows]
    lo = np.array([np.nan if c[0] is None else c[0] for c in ci], float)
    hi = np.array([np.nan if c[1] is None else c[1] for c in ci], float)
    return mid, lo, hi


def _errorbar(ax, ks, mid, lo, hi, **kw):
    ok = np.isfinite(mid)
    lo = np.where(np.isfinite(lo), lo, mid)
    hi = np.where(np.isfinite(hi), hi, mid)
    ax.errorbar(ks[ok], mid[ok], yerr=[mid[ok] - lo[ok], hi[ok] - mid[ok]], capsize=1.5,
                elinewidth=0.7, **kw)


def fig_theorems_k(prepared: dict, ax=None):
    """A row per objective: (a) single-view test accuracy of the methods against k, (b) kd's
    teacher share T3.teacher with its band (≥ 0.5), (c) the students' Λ/ϱ (log scale) beside
    the single models', (d) each theorem's pass rate with all its controls (share of base
    seeds); 95 % paired bootstrap intervals over the base seeds (`ax`: rows × 4 axes)."""
    objectives = prepared["objectives"]
    n_rows = len(objectives)
    with paper_style():
        fig, axes = subplots(ax, n_rows, 4, figsize=(2 * WIDTH, 1.75 * n_rows + 0.5),
                             gridspec_kw={"wspace": 0.45, "hspace": 0.6}, squeeze=False)
        axes = np.asarray(axes).reshape(n_rows, 4)
        all_k = sorted({k for o in objectives.values() for k in o["k"]})
        for row, (objective, o) in enumerate(objectives.items()):
            ks = np.array(o["k"], float)
            at = [o["at"][k] for k in o["k"]]
            a, b, c, d = axes[row]
            for j, m in enumerate(SHOWN):
                mid, lo, hi = _bars([x["acc"][m] for x in at])
                shift = ks * (1 + 0.012 * (j - len(SHOWN) / 2))     # side by side, log axis
                _errorbar(a, shift, mid, lo, hi, fmt="-o", ms=2.5, lw=0.8,
                          color=METHOD_COLOR.get(m, EXTRA_COLOR.get(m)),
                          label=METHOD_LABEL.get(m, m))
            a.set(ylabel="single-view test acc.", ylim=(0.3, 1.02),
                  title=_row_title(objective, o.get("distill", {})))
            mid, lo, hi = _bars([x["teacher"] for x in at])
            finite = np.r_[mid[np.isfinite(mid)], lo[np.isfinite(lo)], hi[np.isfinite(hi)]]
            ylim = (min(-0.05, finite.min() - 0.05) if finite.size else -0.05,
                    max(0.6, finite.max() + 0.05) if finite.size else 0.6)
            # an interval open on a side (resamples without a share) reaches the axis edge
            lo, hi = np.where(lo == -np.inf, ylim[0], lo), np.where(hi == np.inf, ylim[1], hi)
            _errorbar(b, ks, mid, lo, hi, fmt="o", color=METHOD_COLOR["kd"])
            b.set_ylim(ylim)
            b.axhline(0.5, color=OKABE_ITO["grey"], lw=0.6, ls=":")
            b.axhline(0.0, color=OKABE_ITO["grey"], lw=0.5)
            for k, x in zip(ks, at):
                if x["teacher"]["mean"] is None or not np.isfinite(x["teacher"]["mean"]):
                    b.plot([k], [0.0], "x", color=OKABE_ITO["grey"], ms=4)
            b.set(ylabel="T3.teacher", title="teacher share of KD's gain")
            mid, lo, hi = _bars([x["students_lam"] for x in at])
            _errorbar(c, ks, mid, lo, hi, fmt="-^", ms=3, lw=0.8, color=METHOD_COLOR["kd"],
                      label="students (KD, self-dist.)")
            c.plot(ks, [x["single_lam"]["mean"] for x in at], "-o", ms=2.5, lw=0.8,
                   color=METHOD_COLOR["single"], label="single")
            c.set_yscale("log")
            _log_limits(c, list(lo) + list(hi) + list(mid)
                        + [x["single_lam"]["mean"] for x in at])
            c.set(ylabel=r"$\Lambda/\varrho$", title="weights' scale")
            for name in THEOREMS:
                colour, marker = THEOREM_STYLE[name]
                rate = [x["passes"][name]["rate"] for x in at]
                rate = np.array([np.nan if r is None else r for r in rate], float)
                d.plot(ks, rate + RATE_OFFSET[name], "-" + marker, ms=3, lw=0.8, color=colour,
                       label=name.replace("Theorem ", "T"))
            d.set(ylabel="seeds where it holds", ylim=(-0.05, 1.05),
                  title="theorem with all controls")
            for x_ax in axes[row]:
                x_ax.set_xscale("log")
                x_ax.set_xticks(all_k, [str(k) for k in all_k])
                x_ax.minorticks_off()
                x_ax.set_xlabel("k (classes)")
            if row == 0:
                handles, labels = a.get_legend_handles_labels()
                fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 0.985),
                           ncol=len(SHOWN), fontsize=SMALL, handlelength=1.2)
                c.legend(loc="best", fontsize=SMALL - 1, handlelength=1.2)
                d.legend(loc="center right", fontsize=SMALL - 1, handlelength=1.2)
        seeds = sorted({x["n"] for o in objectives.values() for x in o["at"].values()})
        settings = [t for t in (_settings(n, o.get("distill", {}))
                                for n, o in objectives.items()) if t]
        fig.text(0.01, -0.02, _note(settings + [
            f"{'/'.join(map(str, seeds))} base seeds per k (members: each seed's mean)",
            "bars: 95% paired bootstrap CI over the base seeds",
            "right: share of base seeds on which every prediction and control of the "
            "theorem holds by its interval verdict (lines offset by up to ±0.015 to stay "
            "visible)", "x: no teacher share (gain < 1 point); an interval open on a side "
            "reaches the axis edge"],
            width=150), fontsize=SMALL - 1, va="top")
    return fig

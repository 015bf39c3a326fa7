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
                  title=f"{objective}: accuracy")
            mid, lo, hi = _bars([x["teacher"] for x in at])
            _errorbar(b, ks, mid, lo, hi, fmt="o", color=METHOD_COLOR["kd"])
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
            c.set(ylabel=r"$\Lambda/\varrho$", title="weights' scale")
            for name in THEOREMS:
                colour, marker = THEOREM_STYLE[name]
                rate = [x["passes"][name]["rate"] for x in at]
                rate = np.array([np.nan if r is None else r for r in rate], float)
                d.plot(ks, rate, "-" + marker, ms=3, lw=0.8, color=colour,
                       label=name.replace("Theorem ", "T"))
            d.set(ylabel="seeds where it holds", ylim=(-0.05, 1.05),
                  title="theorem with all controls")
            for x_ax in axes[row]:
                x_ax.set_xscale("log")
                x_ax.set_xticks(all_k, [str(k) for k in all_k])
                x_ax.minorticks_off()
                x_ax.set_xlabel("k (classes)")
            if row == 0:
                a.legend(loc="lower left", fontsize=SMALL - 1, ncol=2, handlelength=1.2)
                c.legend(loc="upper left", fontsize=SMALL - 1, handlelength=1.2)
                d.legend(loc="center right", fontsize=SMALL - 1, handlelength=1.2)
        seeds = sorted({x["n"] for o in objectives.values() for x in o["at"].values()})
        fig.text(0.01, -0.02, _note([
            f"{'/'.join(map(str, seeds))} base seeds per k (members: each seed's mean)",
            "bars: 95% paired bootstrap CI over the base seeds",
            "right: share of base seeds on which every prediction and control of the "
            "theorem holds by its interval verdict", "x: no teacher share (gain < 1 point)"],
            width=150), fontsize=SMALL - 1, va="top")
    return fig

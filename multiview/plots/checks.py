"""Figures of a check.json: the methods' accuracies against the predicted bands (`methods`) and
the network against the fixed-feature learners (`fixed`)."""

from __future__ import annotations

import numpy as np

from ..analysis import error_bars, has_ci, pct as _pct, prediction_bands
from ..errors import ConfigError
from .style import METHOD_COLOR, METHOD_LABEL, OKABE_ITO, SMALL, WIDTH, paper_style, subplots

# --- method comparison -------------------------------------------------------------------

QUANTITIES = (("train_acc", "train", OKABE_ITO["grey"]),
              ("test_acc_multi", "test, multi-view", OKABE_ITO["blue"]),
              ("test_acc_single", "test, single-view", OKABE_ITO["vermillion"]))


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


def prepare_methods(check: dict, methods: list[str] | None = None) -> dict:
    """The network methods of a check result (in METHOD_LABEL's order), each quantity's values
    and error bars in percent (analysis.error_bars: 95 % CI where the records carry one, else
    ± std), and the predicted bands in the quantities' units (analysis.prediction_bands)."""
    names = [m for m in (methods or METHOD_LABEL) if m in check["methods"]]
    if not names:
        raise ConfigError("plot methods: the check result has none of the network methods "
                          f"({', '.join(METHOD_LABEL)})")
    records = [check["methods"][n] for n in names]
    ci = has_ci(records)
    bars = {q: ([_pct(m[q]) for m in records],
                np.array([error_bars(m, q, ci) for m in records]).T) for q, _, _ in QUANTITIES}
    return {"names": names, "bars": bars, "bands": prediction_bands(check), "ci": ci,
            "ci_kind": _ci_kind(records), "L": len(check["seeds"])}


def fig_methods(methods: dict, ax=None):
    """Train / multi-view / single-view test accuracy per method (error bars: 95 % CI over
    seeds where check.json has them, else ± std) with the theorems' predicted bands (hatched)."""
    import matplotlib.pyplot as plt

    names, bars, bands, ci, L = (methods[n] for n in ("names", "bars", "bands", "ci", "L"))
    width = 0.26
    with paper_style():
        fig, ax = subplots(ax, figsize=(WIDTH, 2.3))
        for j, (q, label, colour) in enumerate(QUANTITIES):
            xs = np.arange(len(names)) + (j - 1) * width
            vals, errs = bars[q]
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
        lows = list(bars["test_acc_single"][0])
        lows += [100 * lo for (n, _), (lo, _, _) in bands.items() if n in names]
        lo = np.nanmin(lows) if not np.all(np.isnan(lows)) else 0.0
        ax.set_ylim(max(0, 10 * np.floor((lo - 5) / 10)), 103)
        bars = (f"95% CI over seeds{methods['ci_kind']}" if ci else "std over seeds")
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
FIXED_PANELS = (("test_acc", "all test points"), ("test_acc_single", "single-view test points"))


def prepare_fixed(check: dict) -> dict:
    """The learner families the check result ran (the network, random features, NTK) and, per
    panel's quantity and role, (family index, mean %, std %) of each family that has the role;
    `values`: every drawn method's mean per quantity (the axis range)."""
    fams = [(f, m) for f, m in FAMILIES if any(v in check["methods"] for v in m.values())]
    if not any(f != "network" for f, _ in fams):
        raise ConfigError("plot fixed: the check result has no rf_* / ntk_* methods; run "
                          "`multiview check --methods all`")
    methods = check["methods"]
    cells = {q: {role: [(i, _pct(methods[mm[role]][q]), _pct(methods[mm[role]]["std"][q]))
                        for i, (_, mm) in enumerate(fams) if mm[role] in methods]
                 for role, _, _ in ROLE} for q, _ in FIXED_PANELS}
    values = {q: [_pct(m[q]) for n, m in methods.items()
                  if any(n in mm.values() for _, mm in fams)] for q, _ in FIXED_PANELS}
    return {"families": [f for f, _ in fams], "cells": cells, "values": values}


def fig_fixed(fixed: dict, ax=None):
    """Test accuracy of single / ensemble / sum / KD for the network and the fixed-feature
    learners (random features, NTK): the gains the theory attributes to feature learning
    (`ax`: two axes)."""
    fams = fixed["families"]
    width = 0.2
    with paper_style():
        fig, axes = subplots(ax, 1, 2, figsize=(WIDTH, 1.9), sharey=False,
                             gridspec_kw={"wspace": 0.35})
        for ax, (q, title) in zip(axes, FIXED_PANELS):
            for j, (role, label, colour) in enumerate(ROLE):
                cells = fixed["cells"][q][role]
                xs = [i + (j - 1.5) * width for i, _, _ in cells]
                vals, errs = [v for _, v, _ in cells], [e for _, _, e in cells]
                ax.bar(xs, vals, width * 0.92, color=colour, label=label, zorder=2)
                ax.errorbar(xs, vals, yerr=errs, fmt="none", ecolor="black", elinewidth=0.6,
                            capsize=1.0, zorder=3)
            ax.set_xticks(range(len(fams)), [{"network": "net-\nwork", "random features":
                                              "random\nfeat.", "NTK": "NTK"}.get(f, f)
                                             for f in fams])
            ax.set_title(title, fontsize=7, pad=2)
            vals = fixed["values"][q]
            if not np.all(np.isnan(vals)):
                ax.set_ylim(max(0, 5 * np.floor((np.nanmin(vals) - 5) / 5)),
                            min(101, np.nanmax(vals) + 4))
        axes[0].set_ylabel("test accuracy (%)")
        h, lab = axes[0].get_legend_handles_labels()
        fig.legend(h, lab, ncol=4, loc="lower center", bbox_to_anchor=(0.5, 0.96),
                   columnspacing=0.8, handlelength=1.2)
    return fig

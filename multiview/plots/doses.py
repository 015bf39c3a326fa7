"""The figure of a dose.json (`dose`): students' gains against what their teachers know."""

from __future__ import annotations

import numpy as np

from ..analysis import num as _num, pct as _pct
from ..errors import ConfigError
from .style import OKABE_ITO, SMALL, WIDTH, paper_style, subplots


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


def prepare_dose(records: dict | list[dict]) -> dict:
    """One line per dose record with teachers (an objective, or a seed): x the share its
    teachers know, the share the students gained, their single-view test accuracy and std in
    percent; the named teachers' labels and the labels-only accuracy of the first record."""
    records = [r for r in ([records] if isinstance(records, dict) else records)
               if r.get("teachers")]
    if not records:
        raise ConfigError("plot dose: the dose result has no teachers to draw (run "
                          "`multiview dose` with --seeds 2 or more)")
    objectives = [r["config"]["distill"]["objective"] for r in records]
    by_objective = len(set(objectives)) > 1
    lines = [{"x": [_num(r["share_known"]) for r in rec["teachers"]],
              "gained": [_num(r["share_gained"]) for r in rec["teachers"]],
              "acc": [_pct(r["test_acc_single"]) for r in rec["teachers"]],
              "std": [_pct(r["std"]) for r in rec["teachers"]],
              "label": f"{objectives[s]} objective" if by_objective else f"seed {rec['seed']}"}
             for s, rec in enumerate(records)]
    return {"lines": lines, "by_objective": by_objective, "L": records[0]["L"],
            "labels": dose_labels(records[0]["teachers"], records[0]["L"]),
            "base": _pct(records[0]["labels_alone"]["test_acc_single"])}


def fig_dose(dose: dict, ax=None):
    """Dose-response: the share of a student's missing (class, view) pairs it gained against
    the share its teacher knows (left), and its single-view test accuracy (right), one line
    per dose record (an objective, or a seed); the paper's mechanism predicts a rising line.
    Without single-view test points (mu = 0) the right panel says so (`ax`: two axes)."""
    markers = "osD^v"
    colours = [OKABE_ITO[c] for c in ("green", "vermillion", "blue", "purple", "orange")]
    by_objective = dose["by_objective"]
    with paper_style():
        fig, axes = subplots(ax, 1, 2, figsize=(WIDTH, 2.0), gridspec_kw={"wspace": 0.45})
        accuracy = False
        for s, line in enumerate(dose["lines"]):
            x = line["x"]
            kw = dict(marker=markers[s % len(markers)], ms=3, lw=0.9,
                      color=colours[s % len(colours)] if by_objective else OKABE_ITO["green"],
                      alpha=0.9)
            axes[0].plot(x, line["gained"], label=line["label"], **kw)
            acc = line["acc"]
            if np.isfinite(acc).any():
                accuracy = True
                axes[1].errorbar(x, acc, yerr=line["std"], capsize=1, elinewidth=0.5, **kw)
        axes[0].set(xlim=(-0.05, 1.05), ylim=(-0.1, 1.12))
        place_labels(axes[0], dose["labels"])
        base = dose["base"]
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
        fig.text(0.5, -0.14, f"{dose['L']} students per teacher: its twin (own "
                 "initialisation on labels),\none single model, ensembles of 2, 4, ..., L",
                 ha="center", va="top", fontsize=SMALL)
    return fig

"""The figure of stability.json records (`stability`): the lottery under long training."""

from __future__ import annotations

import numpy as np

from ..analysis import stability_curve
from .style import OKABE_ITO, SMALL, WIDTH, _note, paper_style, subplots


def _preset_name(record: dict) -> str:
    return record.get("name") or f"k = {record['config']['data']['k']}"


def prepare_stability(records: dict | list[dict]) -> dict:
    """One line per stability record (a preset): its label, its curves (analysis.
    stability_curve), whether every record has a B (the x axis in units of B) and theory's
    T1.stable band."""
    records = [records] if isinstance(records, dict) else records
    lines = [{"label": (f"{_preset_name(rec)} (B = {rec['B']:,} steps)" if rec["B"] else
                        f"{_preset_name(rec)} (a model never fit)"),
              "curve": stability_curve(rec)} for rec in records]
    from ..theory import band     # here: theory imports jax, which `multiview --help` must not

    return {"lines": lines, "scaled": all(r["B"] for r in records), "band": band("T1.stable"),
            "factor": records[0]["factor"], "seed": records[0]["seed"],
            "Ls": sorted({r["L"] for r in records})}


def fig_stability(stability: dict, ax=None):
    """Both-views (left) and one-view share (right) of the single models' (model, class) pairs
    against training time in units of B (the step at which the last of the L models first fit
    the training set), trained with no stop to 5 B: one line per record (a preset), the mean
    over members with its 95 % CI band; T1.stable's band on the one-view share shaded
    (`ax`: two axes)."""
    colours = [OKABE_ITO[c] for c in ("blue", "vermillion", "green", "purple")]
    lines, scaled = stability["lines"], stability["scaled"]
    with paper_style():
        fig, axes = subplots(ax, 1, 2, figsize=(WIDTH, 1.8), sharex=True,
                             gridspec_kw={"wspace": 0.35})
        for i, line in enumerate(lines):
            cur, label = line["curve"], line["label"]
            for ax, q in zip(axes, ("both", "one")):
                mean, lo, hi = cur[q]
                ax.fill_between(cur["x"], np.clip(lo, 0, 1), np.clip(hi, 0, 1),
                                color=colours[i % 4], alpha=0.2, lw=0)
                ax.plot(cur["x"], mean, color=colours[i % 4], lw=1.0,
                        label=label if q == "both" else None)
        low, high = stability["band"]                  # theory's T1.stable band
        axes[1].axhspan(low, high, color=OKABE_ITO["grey"], alpha=0.15, lw=0)
        axes[1].text(0.98, low + 0.02, "T1.stable band",
                     transform=axes[1].get_yaxis_transform(),
                     ha="right", va="bottom", fontsize=SMALL, color="0.35")
        for ax, title in zip(axes, ("both views learned", "one view learned")):
            if scaled:
                for x in (1, stability["factor"]):
                    ax.axvline(x, color="black", lw=0.6, ls=":")
            ax.set(ylim=(-0.02, 1.02), title=title)
            ax.set_xlabel("training steps / B" if scaled else "training steps")
        axes[0].set_ylabel("share of (model, class) pairs")
        fig.legend(loc="lower center", bbox_to_anchor=(0.5, 0.97), ncol=len(lines))
        Ls = stability["Ls"]
        notes = [f"{'/'.join(map(str, Ls))} models per line, seed {stability['seed']}, "
                 "trained with no stop", "band: 95% CI over models (t), within [0, 1]"]
        if scaled:
            notes += ["B: the step at which the last model first fit", "dotted: B and 5 B"]
        fig.text(0.5, -0.08, _note(notes), ha="center", va="top", fontsize=SMALL)
    return fig

"""The search figure (`multiview plot search --in DIR`, plots.FIGURES["search"]): the
required predictions' pass rate against each searched field, one panel per field, a point
per trial, the best trial marked.

`prepare(content)` reads a search.json's content into plain numbers (tested without a figure);
`draw(numbers)` draws them.
"""

from __future__ import annotations

from .style import WIDTH   # inches, one column
PANEL_HEIGHT = 1.5


def prepare(search: dict) -> dict:
    """Per searched field: the values of the complete trials (choices as their index), their
    pass rate (the fraction of required prediction x base seed pairs that hold) and the best
    trial's; the failed trials' values; whether the axis is logarithmic."""
    trials = search["trials"]
    done = [t for t in trials if t["state"] == "complete"]
    failed = [t for t in trials if t["state"] == "fail"]
    best = search["best"][0] if search["best"] else None
    panels = []
    for field, spec in search["space"].items():
        choices = spec.get("choices")

        def x(t, field=field, choices=choices):
            v = t["params"].get(field)
            return float(choices.index(v)) if choices is not None else float(v)
        top = next((t for t in done if t["number"] == best), None)
        integer = all(isinstance(spec.get(e), int) and not isinstance(spec.get(e), bool)
                      for e in ("low", "high"))
        panels.append({"field": field, "log": bool(spec.get("log")), "integer": integer,
                       "choices": None if choices is None else [str(c) for c in choices],
                       "x": [x(t) for t in done], "rate": [t["fraction"] for t in done],
                       "failed_x": [x(t) for t in failed if field in t["params"]],
                       "best": None if top is None else (x(top), top["fraction"])})
    return {"panels": panels, "required": list(search["required"]),
            "base_seeds": len(search["base_seeds"]), "trials": len(done),
            "failed": len(failed), "best_trial": best}


def draw(numbers: dict, axes=None):
    """The panels of `prepare`'s numbers; a new figure unless `axes` (one per panel) is given.
    Returns the figure."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

    panels = numbers["panels"]
    if axes is None:
        fig, axes = plt.subplots(len(panels), 1, squeeze=False,
                                 figsize=(WIDTH, PANEL_HEIGHT * len(panels) + 0.4))
        axes = axes[:, 0]
    fig = axes[0].figure
    for ax, p in zip(axes, panels):
        ax.scatter(p["x"], p["rate"], s=9, color="#0072B2", alpha=0.7, lw=0,
                   label="trial")
        if p["failed_x"]:
            ax.scatter(p["failed_x"], [0.0] * len(p["failed_x"]), marker="x", s=12,
                       color="#999999", lw=0.8, label="failed")
        if p["best"] is not None:
            ax.scatter(*p["best"], marker="*", s=70, color="#D55E00", zorder=3,
                       label=f"best (trial {numbers['best_trial']})")
        if p["log"] and all(v > 0 for v in p["x"] + p["failed_x"]):
            ax.set_xscale("log")
            ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.xaxis.set_minor_formatter(NullFormatter())
        else:
            ax.xaxis.set_major_locator(MaxNLocator(5, integer=p.get("integer", False)))
        if p["choices"] is not None:
            ax.set_xticks(range(len(p["choices"])), p["choices"])
            ax.set_xlim(-0.5, len(p["choices"]) - 0.5)
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlabel(p["field"])
        ax.set_ylabel("pass rate")
    axes[0].legend(loc="best", fontsize=6)
    axes[0].set_title(f"{', '.join(_short(numbers['required'], 4))}\nheld on "
                      f"{numbers['base_seeds']} base seed(s), {numbers['trials']} trials",
                      fontsize=7)
    fig.tight_layout()
    return fig


def _short(ids: list[str], most: int = 6) -> list[str]:
    return ids if len(ids) <= most else ids[:most] + [f"+{len(ids) - most}"]


def fig_search(numbers: dict, ax=None):
    """The figure of `prepare`'s numbers in the house style (plots.FIGURES' draw step); `ax`:
    one axis per searched field, or None for a new figure."""
    from .style import paper_style

    with paper_style():
        return draw(numbers, axes=ax)

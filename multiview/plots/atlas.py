"""The figure of an atlas folder (`atlas`): which prediction holds on which preset, over the
recorded base seeds (experiments/atlas_runs.sh; docs/figures.md)."""

from __future__ import annotations

from ..analysis import atlas
from .style import OKABE_ITO, SMALL, _note, paper_style, subplots

SHARES = (("holds", OKABE_ITO["green"], None), ("inconclusive", "white", "////"),
          ("fails", OKABE_ITO["vermillion"], None))
NA = "0.88"               # the fill of an n/a cell


def prepare_atlas(result: dict) -> dict:
    """The atlas's rows, columns and cells (analysis.atlas) of a loaded atlas folder."""
    return atlas(result["runs"])


def cell_text(cell: dict | None) -> str:
    """'h/n' (holds of the seeds with a verdict), then the inconclusive and n/a seeds if any."""
    if cell is None:
        return "n/a"
    parts = [f"{cell['holds']}/{cell['n']}"]
    if cell["inconclusive"]:
        parts.append(f"{cell['inconclusive']} inc.")
    if cell["seeds"] > cell["n"]:
        parts.append(f"{cell['seeds'] - cell['n']} n/a")
    return " · ".join(parts)


def _seeds(n: int) -> str:
    return f"{n} seed{'s' if n != 1 else ''}"


def _lines(rows: list[dict]) -> list[tuple[str, object]]:
    """The figure's lines top to bottom: a header per theorem, then its rows (index)."""
    out, last = [], None
    for i, r in enumerate(rows):
        if r["theorem"] != last:
            out.append(("header", r["theorem"]))
            last = r["theorem"]
        out.append(("row", i))
    return out


def fig_atlas(prepared: dict, ax=None):
    """Rows the predictions (grouped by theorem, controls after the claims), columns the
    presets; each cell split into the shares of the base seeds whose 95 % CI verdict holds
    (green), is inconclusive (hatched) or fails (vermillion), with the count 'holds/seeds';
    grey and 'n/a' where no seed could evaluate the prediction."""
    import matplotlib.pyplot as plt

    rows, columns, cells = prepared["rows"], prepared["columns"], prepared["cells"]
    lines = _lines(rows)
    width = 0.9
    with paper_style():
        fig, ax = subplots(ax, figsize=(1.5 + width * len(columns), 0.9 + 0.15 * len(lines)))
        for y, (what, item) in enumerate(lines):
            if what == "header":
                ax.text(-0.04, y + 0.1, item, transform=ax.get_yaxis_transform(), ha="right",
                        va="center", fontsize=SMALL, weight="bold")
                continue
            for c, cell in enumerate(cells[item]):
                x0, box = c + 0.03, 0.94
                if cell is None:
                    ax.add_patch(plt.Rectangle((x0, y - 0.42), box, 0.84, color=NA, lw=0))
                else:
                    for name, colour, hatch in SHARES:
                        w = box * cell[name] / cell["n"]
                        ax.add_patch(plt.Rectangle((x0, y - 0.42), w, 0.84, facecolor=colour,
                                                   alpha=0.55 if hatch is None else 1.0,
                                                   hatch=hatch, edgecolor="0.55", lw=0))
                        x0 += w
                ax.text(c + 0.5, y, cell_text(cell), ha="center", va="center",
                        fontsize=SMALL - 1, color="0.4" if cell is None else "black",
                        bbox=None if cell is None else
                        dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.75))
        ys = [y for y, (what, _) in enumerate(lines) if what == "row"]
        ax.set_yticks(ys, [rows[i]["id"] + ("  (control)" if rows[i]["control"] else "")
                           for _, i in (lines[y] for y in ys)], fontsize=SMALL - 1)
        ax.tick_params(axis="y", length=0)
        members = prepared["members"]
        ax.set_xticks([c + 0.5 for c in range(len(columns))],
                      [f"{c}\n{_seeds(len(prepared['seeds'][c]))} × "
                       f"{'/'.join(map(str, members[c]))}" for c in columns], fontsize=SMALL)
        ax.xaxis.tick_top()
        ax.tick_params(axis="x", length=0)
        ax.set(xlim=(0, len(columns)), ylim=(len(lines) - 0.5, -0.5))
        for side in ("left", "bottom", "top", "right"):
            ax.spines[side].set_visible(False)
        handles = [plt.Rectangle((0, 0), 1, 1, facecolor=colour, hatch=hatch, edgecolor="0.55",
                                 lw=0.4, alpha=0.55 if hatch is None else 1.0)
                   for _, colour, hatch in SHARES] + [plt.Rectangle((0, 0), 1, 1, color=NA)]
        ax.legend(handles, ["holds", "inconclusive", "fails", "n/a"], ncol=4,
                  loc="upper center", bbox_to_anchor=(0.5, 0.0), fontsize=SMALL,
                  handlelength=1.2, columnspacing=1.0)
        note = ["cell: base seeds whose verdict (the 95% CI of check) holds / seeds with a "
                "verdict", "n/a: not run, or not evaluable on that seed",
                "seeds × members per check"]
        ax.annotate(_note(note, 70), (0.5, 0.0), xycoords="axes fraction",
                    xytext=(0, -22), textcoords="offset points", ha="center", va="top",
                    fontsize=SMALL - 1)
    return fig

"""The figures' shared style: one-column width (3.4 in), 7-8 pt fonts, the Okabe-Ito
colour-blind-safe palette, method and field labels, notes under a figure, and `save` (the PDF +
PNG pair, written together)."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..analysis import value_text as _fmt
from ..provenance import pdf_metadata
from ..results import write_together

# matplotlib.pyplot is imported inside the functions: the CLI's parser imports this package


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
            fig.savefig(pdf, format="pdf", metadata=pdf_metadata())   # the commit
            fig.savefig(png, format="png", dpi=DPI)
    finally:
        plt.close(fig)
    return write_together({paths[0]: pdf.getvalue(), paths[1]: png.getvalue()})


def _label(field: str) -> str:
    return FIELD_LABEL.get(field, field)


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


def subplots(ax, *args, **kw):
    """(figure, axes): a new figure of plt.subplots(*args, **kw), or the axes `ax` the caller
    gave (one Axes, or an array of them in the layout the figure draws) and their figure."""
    import matplotlib.pyplot as plt

    if ax is None:
        return plt.subplots(*args, **kw)
    return np.ravel(ax)[0].figure, ax

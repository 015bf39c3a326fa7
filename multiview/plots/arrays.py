"""Figures of the arrays .npz of `multiview arrays` (runs.view_arrays): the views learned, the
lottery over training, the ensemble size. Each kind is a `prepare_*` (numbers from the arrays)
and a `fig_*` (draws them; `ax=` draws into the caller's axes)."""

from __future__ import annotations

import json

import numpy as np

from ..analysis import ensemble_curve, lottery_pick
from .style import METHOD_COLOR, METHOD_LABEL, OKABE_ITO, SMALL, WIDTH, paper_style, subplots


def _config_of(arrays: dict):
    """The Config of view_arrays' output, fresh (a JSON string) or read back by load_arrays."""
    from ..config import from_dict

    cfg = arrays["config"]
    if isinstance(cfg, np.ndarray):
        cfg = str(cfg)
    return from_dict(json.loads(cfg)) if isinstance(cfg, str) else cfg


# --- views learned ------------------------------------------------------------------------

def prepare_views(arrays: dict, seeds: int = 4) -> dict:
    """Λ/ϱ [L, k, 2] at the end of training of the single models and of each student stage in
    the arrays (rows: (name, label, Λ/ϱ)), the learned threshold and how many seeds to show."""
    cfg = _config_of(arrays)
    varrho, thr = cfg.model.varrho, cfg.model.learned_factor
    names = [("single", "single")] + [(n, METHOD_LABEL[n]) for n in ("kd", "self_distill")
                                      if f"{n}_lam" in arrays]
    L = arrays["single_lam"].shape[1]
    return {"rows": [(n, label, arrays[f"{n}_lam"][-1] / varrho) for n, label in names],
            "thr": thr, "L": L, "seeds": min(seeds, L), "k": arrays["single_lam"].shape[2]}


def fig_views(views: dict, ax=None):
    """Λ/ϱ per (class, view) at the end of training: single models of several seeds and their
    ensemble (max over members), then KD and self-distilled students of the same seeds
    (`ax`: an array [rows, seeds + 1] of axes)."""
    rows, thr, L, seeds, k = (views[n] for n in ("rows", "thr", "L", "seeds", "k"))
    vmax = 2.0
    with paper_style():
        fig, axes = subplots(ax, len(rows), seeds + 1, figsize=(WIDTH, 0.36 * k * len(rows) + 0.5),
                             squeeze=False, gridspec_kw={"wspace": 0.25, "hspace": 0.45})
        for r, (name, label, lam) in enumerate(rows):
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

def prepare_lottery(arrays: dict, cls: int | None = None, seeds: list[int] | None = None
                    ) -> dict:
    """Λ/ϱ of both views of class `cls` over training (step 0 first) for the panels: two single
    models that learned different views of it (analysis.lottery_pick, unless given) and the KD
    student of the first, with the steps and the learned threshold."""
    cfg = _config_of(arrays)
    varrho, thr = cfg.model.varrho, cfg.model.learned_factor
    c, pick = lottery_pick(arrays["single_lam"][-1] / varrho, thr)
    cls = c if cls is None else cls
    seeds = pick if seeds is None else seeds
    panels = [("single", s, f"single, seed {s}") for s in seeds]
    if "kd_lam" in arrays:
        panels.append(("kd", seeds[0], f"KD student, seed {seeds[0]}"))
    curves = [(np.r_[0, arrays[f"{name}_step"]],
               np.concatenate([arrays[f"{name}_lam0"][None] / varrho,
                               arrays[f"{name}_lam"] / varrho])[:, s, cls], title)   # [T+1, 2]
              for name, s, title in panels]
    return {"cls": cls, "thr": thr, "panels": curves}


def fig_lottery(lottery: dict, ax=None):
    """Λ of both views of one class over training: two single models (the lottery picks a
    different view in each) and the KD student; the threshold ϱ dashed (`ax`: one axis per
    panel)."""
    import matplotlib.pyplot as plt

    cls, thr, panels = lottery["cls"], lottery["thr"], lottery["panels"]
    colours = (OKABE_ITO["blue"], OKABE_ITO["orange"])
    with paper_style():
        fig, axes = subplots(ax, 1, len(panels), figsize=(WIDTH, 1.55), sharey=True,
                             gridspec_kw={"wspace": 0.12})
        axes = np.atleast_1d(axes)
        for ax, (steps, h, title) in zip(axes, panels):
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

def prepare_ensemble_size(arrays: dict, draws: int = 200) -> dict:
    """The ensemble-size curve (analysis.ensemble_curve) and each student's per-model
    single-view test accuracy in percent [L]."""
    y, single = arrays["test_y"], arrays["test_single"].astype(bool)
    students = {n: 100 * (arrays[f"{n}_test_logits"].argmax(-1) == y)[:, single].mean(1)
                for n in ("kd", "self_distill") if f"{n}_test_logits" in arrays}
    return {"curve": ensemble_curve(arrays["single_test_logits"], y, single, draws=draws),
            "students": students}


def fig_ensemble_size(size: dict, ax=None):
    """Single-view test accuracy of an ensemble of L' of the trained models vs L', mean ± std
    over subsets, against the prediction 1 - 2^-L' (each view learned w.p. 1/2)."""
    cur = size["curve"]
    Ls = cur["L"]
    with paper_style():
        fig, ax = subplots(ax, figsize=(WIDTH, 2.0))
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
        students = list(size["students"])
        for i, (name, ls, marker) in enumerate(zip(students, ("-", (0, (4, 2, 1, 2))),
                                                   ("D", "^"))):
            acc = size["students"][name]
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

"""Instrumented lottery dynamics of one configuration (evidence for docs/regime.md).

For a few members: Λ of both views of every class over training, and, for one class, the
gradient-descent push on each view's alignment split by the groups of training points that
produce it (multiview.dynamics.push_by_group). Usage:

    python experiments/regime_probe.py [--preset small] [--set data.sigma_p=0.02 ...] [--seeds 4]

(the options of `multiview check`: --preset, --config, --set, --seed, --seeds.)
"""

from __future__ import annotations

import numpy as np

from multiview.cli import study_args
from multiview.dynamics import GROUPS, push_by_group
from multiview.recipe import train_methods


def main() -> None:
    args, cfg = study_args(__doc__, seeds=4)
    # the single models of `multiview check --seed SEED`, with their snapshots
    run = train_methods(cfg, args.seeds, args.seed, ("single",), progress=False, snapshots=True)
    problem, tr = run.problem, run.stages["single"].trained
    h = tr.fit.history
    thr = cfg.model.learned_factor * cfg.model.varrho
    print(f"steps run {tr.fit.steps_run}, stopped at {tr.fit.stopped_at.tolist()}")
    lam_end = h["lam"][-1]
    print("final Λ / varrho per member (rows: class; columns: view 1, view 2):")
    for i in range(args.seeds):
        print(f"  member {i}: " + "  ".join(f"{a / cfg.model.varrho:5.2f}/{b / cfg.model.varrho:5.2f}"
                                           for a, b in lam_end[i]))
    print(f"views learned (Λ >= {thr:g}): one {np.mean((lam_end >= thr).sum(-1) == 1):.2f}, "
          f"both {np.mean((lam_end >= thr).sum(-1) == 2):.2f}")
    # the class with the clearest lottery in member 0: largest ratio between its views
    i = 0
    cls = int(np.argmax(np.abs(np.log((lam_end[i, :, 0] + 1e-9) / (lam_end[i, :, 1] + 1e-9)))))
    print(f"\nmember {i}, class {cls}: Λ over training and the push per step (lr x -grad) on "
          f"<w_r*, v> of the neuron r* with the largest alignment, by group of training points")
    print(f"{'step':>6} {'loss':>7} {'acc':>5} {'Λ v1':>7} {'Λ v2':>7} | " +
          " ".join(f"{g + ' v1/v2':>26}" for g in GROUPS))
    for step, params in tr.fit.snapshots:
        if step >= len(h["loss"]) and step != tr.fit.steps_run:
            continue
        t = min(step, len(h["loss"]) - 1)
        W = params[i]
        push = push_by_group(W, problem.train, problem.views, cfg.model.q, cfg.model.varrho)
        align = np.einsum("rd,ld->rl", np.asarray(W[cls]), np.asarray(problem.views[cls]))
        r = int(np.argmax(align.max(1)))
        cells = " ".join(f"{cfg.train.lr * push[g][cls, r, 0]:>+12.2e}/{cfg.train.lr * push[g][cls, r, 1]:<+12.2e}"
                         for g in GROUPS)
        print(f"{step:>6} {h['loss'][t, i]:>7.3f} {h['train_acc'][t, i]:>5.2f} "
              f"{h['lam'][t, i, cls, 0]:>7.3f} {h['lam'][t, i, cls, 1]:>7.3f} | {cells}")


if __name__ == "__main__":
    main()

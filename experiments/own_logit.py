"""How uniform is each teacher's confidence on the label over the training set? (evidence for
docs/studies/17-asymptotic-mechanism.md, "The random controls in the preset").

Trains the single models and the students' label-only twins with the library's recipe and
prints, for the ensemble, its members and the twins, the mean logit on the label over the
training points, its coefficient of variation over the points (per model, mean [min, max]),
the share of points below half the model's mean, and kd_smooth's one target value.

    python experiments/own_logit.py [--preset asymptotic] [--seeds 5] [--seed 0] [--set ...]

(the options of `multiview check`: --preset, --config, --set, --seed, --seeds.)
"""

from __future__ import annotations

import numpy as np

from multiview.cli import study_args
from multiview.losses import teacher_logits, teacher_probs
from multiview.methods import TEACHERS, TeacherInputs
from multiview.recipe import train_methods


def own_logits(G, y) -> np.ndarray:
    """The logit of each point's label: G [..., n, k] -> [..., n]."""
    G = np.asarray(G)
    return G[..., np.arange(len(y)), y]


def describe(name: str, v: np.ndarray) -> str:
    v = np.atleast_2d(v)
    cv = v.std(-1) / v.mean(-1)
    low = (v < 0.5 * v.mean(-1, keepdims=True)).mean()
    return (f"{name:16s} mean {v.mean():6.2f}  CV over points {cv.mean():.3f} "
            f"[{cv.min():.3f}, {cv.max():.3f}]  below half its mean {low:.3f}")


def main() -> None:
    args, cfg = study_args(__doc__, seeds=5, preset="asymptotic")
    run = train_methods(cfg, args.seeds, args.seed, ("single",), extra_stages=("alone",),
                        progress=False)
    y = np.asarray(run.problem.train.y)
    members = np.asarray(run.stages["single"].train_logits)
    ens = own_logits(members.mean(0), y)
    print(describe("ensemble", ens))
    print(describe("single members", own_logits(members, y)))
    print(describe("twins (alone)", own_logits(run.stages["alone"].train_logits, y)))
    K = cfg.distill
    smooth = TEACHERS["smooth"].rule(TeacherInputs(
        members, y, read=lambda G: teacher_probs(G, K.objective, K.T, K.tau),
        write=lambda p, level: teacher_logits(p, K.objective, K.T, K.tau, level)))
    print(describe("kd_smooth target", own_logits(smooth.logits, y))
          + f"  (distill.objective={K.objective})")


if __name__ == "__main__":
    main()

"""A/B of the forward's matmul layout: the training step with the previous forward
(h = x[N·P, d] @ W.T) against the current one (h = W @ xT, xT materialised once).

    python benchmarks/layout_ab.py [--reps 5] [--L 1,10,100]

Both run through the same engine (`fit`, vmap over L members, one compiled chunk), side by
side and interleaved, best of --reps; the matmul roofline is measured between them.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import jax
import numpy as np
import optax

from multiview.bench import Roofline, _setup, bench_config, step_flops
from multiview.learners import label_loss, view_monitor
from multiview.model import smoothed_relu
from multiview.train import fit


def forward_before(W, x, q, varrho):
    """The forward before the change: [N·P, d] @ [d, k·m], autodiff gives dh.T @ x."""
    n, P, d = x.shape
    k, m, _ = W.shape
    h = x.reshape(n * P, d) @ W.reshape(k * m, d).T
    return smoothed_relu(h, q, varrho).reshape(n, P, k, m).sum((1, 3))


def loss_before(W, shared, member):
    F = forward_before(W, shared["x"], 4, shared["varrho"])
    return (optax.softmax_cross_entropy_with_integer_labels(F, shared["y"]).mean(),
            (F.argmax(-1) == shared["y"]).mean())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--L", default="1,10,100")
    p.add_argument("--steps", type=int, default=50)
    a = p.parse_args(argv)
    cfg = bench_config(False)
    assert cfg.model.q == 4
    tc = dataclasses.replace(cfg.train, steps=a.steps, chunk=a.steps)
    roof = Roofline(2048)
    Ls = [int(v) for v in a.L.split(",")]
    _, W_all, shared = _setup(cfg, max(Ls))
    print(f"{'L':>4}{'before ms':>11}{'after ms':>10}{'speed-up':>10}{'GF before':>11}"
          f"{'GF after':>10}{'roof':>7}")
    for L in Ls:
        W0 = W_all[:L]
        runs = {name: (lambda loss=loss: fit(loss, W0, shared, None, tc, monitor=view_monitor,
                                             progress=False).params)
                for name, loss in (("before", loss_before), ("after", label_loss(4)))}
        for r in runs.values():
            jax.block_until_ready(r())
        best = {name: np.inf for name in runs}
        for _ in range(a.reps):
            roof.measure(3)
            for name, r in runs.items():
                t = time.perf_counter()
                jax.block_until_ready(r())
                best[name] = min(best[name], (time.perf_counter() - t) / a.steps)
        fl = step_flops(cfg, L) / 1e9
        print(f"{L:>4}{best['before'] * 1e3:>11.2f}{best['after'] * 1e3:>10.2f}"
              f"{best['before'] / best['after']:>10.2f}{fl / best['before']:>11.1f}"
              f"{fl / best['after']:>10.1f}{roof.best:>7.0f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

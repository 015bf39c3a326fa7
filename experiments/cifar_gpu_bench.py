"""Training throughput (images/s) and model FLOP utilisation of the CIFAR nets in bfloat16 on
random CIFAR-shaped data, then an end-to-end `multiview cifar` run on a random archive.

    python experiments/cifar_gpu_bench.py [--tiny] [--out runs/cifar_gpu]

FLOPs per step come from XLA's cost analysis of the compiled step (forward + backward +
update); 3 x the forward count is printed next to it as a cross-check. MFU = achieved
FLOP/s / --peak-tflops (default 989: H100/H200 SXM dense bfloat16). --tiny shrinks every
size so the script checks itself on a CPU in about a minute.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from multiview.cifar import cli, models
from multiview.cifar.config import CifarTrainConfig
from multiview.results import write_json
from multiview.cifar.data import write_archive
from multiview.cifar.losses import label_objective
from multiview.cifar.train import DeviceData, Trainer
from multiview.keys import seed_keys

# (arch, batch, members under vmap, timed steps); tiny: CPU-sized stand-ins.
FULL = [("wrn-28-10", 128, 1, 30), ("fast", 512, 1, 50), ("fast", 512, 8, 20)]
TINY = [("fast-8", 16, 1, 3), ("fast-8", 16, 2, 3), ("wrn-28-2", 4, 1, 2)]


def bench(arch: str, batch: int, members: int, steps: int, peak: float) -> dict:
    """Time `steps` bf16 SGD steps of `members` vmapped nets after one warm-up epoch."""
    n = batch * steps
    rng = np.random.default_rng(0)
    data = DeviceData(jnp.asarray(rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)),
                      jnp.asarray(rng.integers(0, 10, n).astype(np.int32)),
                      jnp.full(3, 0.5), jnp.full(3, 0.25))
    model = models.build(arch, 10, jnp.bfloat16)
    trainer = Trainer(model, CifarTrainConfig(epochs=2, batch_size=batch, bf16=True), n)
    keys = seed_keys(range(members), "single")
    step = trainer.step_fn(label_objective, False)
    state = trainer.init(keys)
    order = trainer.order(keys, 0)
    t0 = time.perf_counter()
    compiled = step.lower(state, keys, 0, 0, order[:, 0], data, None).compile()
    compile_s = time.perf_counter() - t0
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    step_flops = float(cost.get("flops", float("nan")))

    def epoch(state, e):
        for i in range(steps):
            state, metrics = step(state, keys, e, i, order[:, i], data, None)
        return jax.block_until_ready(state)

    state = epoch(state, 0)  # warm-up
    t0 = time.perf_counter()
    state = epoch(state, 1)
    seconds = time.perf_counter() - t0
    images = members * batch * steps
    fwd = models.forward_flops(models.build(arch, 10), batch=1)
    return {
        "arch": arch, "batch": batch, "members": members, "steps": steps,
        "params": models.param_count(model), "compile_s": compile_s,
        "images_per_s": images / seconds, "step_s": seconds / steps,
        "flops_per_step_xla": step_flops, "flops_per_step_3x_forward": 3 * fwd * batch * members,
        "mfu": step_flops * steps / seconds / (peak * 1e12),
    }


def end_to_end(tiny: bool, out: Path) -> dict:
    """`multiview cifar` (fast net, all methods, 2 seeds, 1 epoch) on a random archive."""
    n_train, n_test = (256, 64) if tiny else (10_000, 2_000)
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as tmp:
        write_archive("cifar10", tmp,
                      rng.integers(0, 256, (n_train, 32, 32, 3), dtype=np.uint8),
                      rng.integers(0, 10, n_train), rng.integers(0, 256, (n_test, 32, 32, 3),
                                                                  dtype=np.uint8),
                      rng.integers(0, 10, n_test))
        args = ["--data-dir", tmp, "--arch", "fast-8" if tiny else "fast", "--epochs", "1",
                "--seeds", "2", "--batch-size", "32" if tiny else "512", "--out",
                str(out / "e2e"), "--no-progress"] + ([] if tiny else ["--bf16"])
        t0 = time.perf_counter()
        status = cli.main(args)
        wall = time.perf_counter() - t0
    result = json.loads((out / "e2e" / "cifar.json").read_text()) if status == 0 else {}
    return {"status": status, "wall_s": wall, "args": args,
            "methods": sorted(result.get("methods", {}))}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="CPU-sized self-check")
    parser.add_argument("--out", default="runs/cifar_gpu")
    parser.add_argument("--peak-tflops", type=float, default=989.0)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = {"devices": [str(d) for d in jax.devices()], "tiny": args.tiny,
              "peak_tflops": args.peak_tflops, "bench": []}
    for arch, batch, members, steps in (TINY if args.tiny else FULL):
        row = bench(arch, batch, members, steps, args.peak_tflops)
        report["bench"].append(row)
        print(f"{arch:10s} batch {batch:4d} x {members} members: {row['images_per_s']:9.0f} "
              f"img/s, {row['step_s'] * 1e3:7.1f} ms/step, MFU {100 * row['mfu']:5.1f}% "
              f"(XLA {row['flops_per_step_xla']:.3g} vs 3x fwd "
              f"{row['flops_per_step_3x_forward']:.3g} FLOP/step), compile "
              f"{row['compile_s']:.0f} s", flush=True)
    report["end_to_end"] = end_to_end(args.tiny, out)
    e2e = report["end_to_end"]
    print(f"end to end: status {e2e['status']}, {e2e['wall_s']:.0f} s, methods "
          f"{','.join(e2e['methods'])}")
    write_json(report, out, "gpu_bench.json")
    return 0 if e2e["status"] == 0 and len(e2e["methods"]) == 6 else 1


if __name__ == "__main__":
    sys.exit(main())

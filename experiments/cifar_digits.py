"""The CIFAR pipeline on real images that ship with scikit-learn: the 8x8 digits, packed
as a CIFAR-10 archive (multiview/cifar/digits.py), then `multiview cifar` on it.

    python experiments/cifar_digits.py [--out runs/cifar_digits] [--epochs 5] [--seeds 3]

Prints single vs ensemble vs KD vs self-distill (± std over seeds, and the binomial
standard error of a test accuracy on the 297 test images) and the wall time; writes
OUT/summary.json next to OUT/cifar.json.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import jax

from multiview.cifar import cli
from multiview.cifar.digits import write_digits_archive
from multiview.results import write_json


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/cifar_digits")
    parser.add_argument("--arch", default="fast")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)

    out = Path(args.out)
    start = time.perf_counter()
    write_digits_archive(out / "data")
    cli_args = ["--data-dir", str(out / "data"), "--arch", args.arch, "--epochs",
                str(args.epochs), "--seeds", str(args.seeds), "--batch-size",
                str(args.batch_size), "--out", str(out)]
    if jax.default_backend() == "cpu":  # vmapped convolutions are slower on XLA:CPU
        cli_args.append("--sequential")
    if args.no_progress:
        cli_args.append("--no-progress")
    status = cli.main(cli_args)
    wall = time.perf_counter() - start
    if status != 0:
        return status

    result = json.loads((out / "cifar.json").read_text())
    n_test = result["data"]["n_test"]
    summary = {"wall_s": wall, "command": "python -m multiview.cifar " + " ".join(cli_args),
               "backend": jax.default_backend(), "methods": {}}
    print(f"\ndigits as CIFAR-10 ({result['data']['n_train']} train / {n_test} test), "
          f"{args.arch}, {args.epochs} epochs, {args.seeds} seeds: {wall:.0f} s wall")
    for name, m in result["methods"].items():
        p = m["test_acc"]
        row = {"test_acc": p, "std_over_seeds": m["std"]["test_acc"] if m["n_models"] > 1
               else None, "binomial_se": math.sqrt(p * (1 - p) / n_test),
               "train_acc": m["train_acc"]}
        summary["methods"][name] = row
        spread = (f"± {100 * row['std_over_seeds']:.2f} (std over seeds)"
                  if row["std_over_seeds"] is not None else " " * 25)
        print(f"  {name:13s} test {100 * p:6.2f} {spread}  [± {100 * row['binomial_se']:.2f} "
              f"test-set s.e.]  train {100 * m['train_acc']:6.2f}")
    gain = result["methods"].get("ensemble", {}).get("test_acc", math.nan) - \
        result["methods"].get("single", {}).get("test_acc", math.nan)
    summary["ensemble_minus_single"] = gain
    print(f"  ensemble - mean single: {100 * gain:+.2f} points")
    write_json(summary, out, "summary.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())

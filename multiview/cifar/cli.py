"""`multiview cifar`: parse arguments, load data, run the pipeline, write OUT/cifar.json.

Wired into the main CLI with add_arguments(parser) and run(args) -> exit status.
"""

from __future__ import annotations

import argparse
import json
import sys

from multiview.results import probe_dir, write_json
from multiview.cifar.config import DATASETS, METHODS, PAD_MODES, SCHEDULES, CifarConfig, \
    CifarTrainConfig, ConfigError, validate

RESULT_FILE = "cifar.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `multiview cifar` (defaults: the standard WRN recipe, 10 seeds)."""
    d, t = CifarConfig(), CifarTrainConfig()
    p = parser.add_argument
    p("--dataset", default=d.dataset, help=f"one of {', '.join(DATASETS)}")
    p("--data-dir", default=None,
      help="folder with the python archive or its extracted folder (default $MULTIVIEW_CIFAR_DIR)")
    p("--arch", default=d.arch, help="wrn-28-2, wrn-34-1 (= resnet-34), wrn-34-2, wrn-16-10, "
      "wrn-22-10, wrn-28-10, fast, fast-W (fast net with base width W)")
    p("--describe", action="store_true", help="print the arch's parameter count as JSON and exit")
    p("--methods", default=",".join(d.methods), help="comma-separated subset of "
      + ",".join(METHODS))
    p("--seeds", type=int, default=d.seeds, help="L: ensemble members / students per method")
    p("--seed", type=int, default=d.seed, help="first seed (seeds are seed .. seed + L - 1)")
    p("--epochs", type=int, default=t.epochs)
    p("--batch-size", type=int, default=t.batch_size)
    p("--lr", type=float, default=t.lr)
    p("--momentum", type=float, default=t.momentum)
    p("--no-nesterov", action="store_true", help="plain momentum instead of Nesterov")
    p("--weight-decay", type=float, default=t.weight_decay)
    p("--schedule", default=t.schedule, help=f"one of {', '.join(SCHEDULES)}")
    p("--no-augment", action="store_true", help="no crop / flip augmentation")
    p("--pad", type=int, default=t.pad, help="crop padding in pixels")
    p("--pad-mode", default=t.pad_mode, help=f"one of {', '.join(PAD_MODES)}")
    p("--bf16", action="store_true", help="bfloat16 compute (float32 parameters)")
    p("--kd-temperature", type=float, default=t.kd_temperature, help="Hinton KD temperature T")
    p("--kd-alpha", type=float, default=t.kd_alpha, help="weight of the KD term (1 - alpha: labels)")
    p("--sequential", action="store_true", help="train members in turn instead of under vmap")
    p("--eval-batch-size", type=int, default=d.eval_batch_size)
    p("--out", default="runs/cifar", help="output folder: cifar.json and checkpoints/ (resume)")
    p("--no-progress", action="store_true", help="no progress bars")


def config_from(args: argparse.Namespace) -> CifarConfig:
    """CifarConfig from parsed arguments (validated; raises ConfigError)."""
    train = CifarTrainConfig(
        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, momentum=args.momentum,
        nesterov=not args.no_nesterov, weight_decay=args.weight_decay, schedule=args.schedule,
        augment=not args.no_augment, pad=args.pad, pad_mode=args.pad_mode, bf16=args.bf16,
        kd_temperature=args.kd_temperature, kd_alpha=args.kd_alpha)
    methods = tuple(m.strip() for m in args.methods.split(","))
    return validate(CifarConfig(dataset=args.dataset, arch=args.arch, methods=methods,
                                seeds=args.seeds, seed=args.seed, sequential=args.sequential,
                                eval_batch_size=args.eval_batch_size, train=train))


def _progress_factory(enabled: bool):
    if not enabled:
        return None
    from multiview.progress import bar as progress_bar

    def make(stage: str, total: int):
        bar = progress_bar(total=total, desc=stage, unit="epoch", leave=True)

        def on_epoch(metrics: dict) -> None:
            bar.set_postfix(loss=f"{metrics['loss']:.3f}", acc=f"{metrics['acc']:.3f}")
            bar.update(1)
            if bar.n >= bar.total:
                bar.close()
        return on_epoch
    return make


def run(args: argparse.Namespace) -> int:
    """Run `multiview cifar`; returns the exit status (2 with a one-line message on bad input)."""
    from multiview.cifar import models, pipeline
    from multiview.cifar.checkpoint import CheckpointError
    from multiview.cifar.data import CifarDataError, load
    from multiview.cifar.paper_tables import format_table

    try:
        if args.describe:
            try:
                models.resolve_arch(args.arch)
            except ValueError as err:
                raise ConfigError(str(err)) from None
            num_classes = 100 if args.dataset == "cifar100" else 10
            print(json.dumps(models.describe(args.arch, num_classes)))
            return 0
        cfg = config_from(args)
        out = probe_dir(args.out)
        data = load(cfg.dataset, args.data_dir)
        out.mkdir(parents=True, exist_ok=True)
        result = pipeline.run(cfg, data, out / "checkpoints",
                              _progress_factory(not args.no_progress))
        write_json(result, out, RESULT_FILE)
    except (ConfigError, CifarDataError, CheckpointError, OSError) as err:
        print(f"multiview cifar: error: {err}", file=sys.stderr)
        return 2
    print(format_table(result))
    print(f"wrote {out / RESULT_FILE}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="multiview cifar", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))

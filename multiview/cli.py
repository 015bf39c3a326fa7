"""Command line: parse, validate, call one library function, print (SPEC section 6)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .config import ConfigError, override, resolve


def _add_config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", default="small", help="deck | small (default) | paper")
    p.add_argument("--config", metavar="FILE", help="JSON or TOML file of overrides {section: {field: value}}")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                   help="override one field, e.g. --set data.mu=0.1 (repeatable)")
    p.add_argument("--seed", type=int, default=0, help="base seed of data and initialisations")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def _positive(name):
    def parse(text):
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name}: value {text!r} is not an integer") from None
        if v < 1:
            raise argparse.ArgumentTypeError(f"{name}: value {v} is not allowed; allowed: >= 1")
        return v
    return parse


def _log(msg: str) -> None:
    """A line on stderr that does not break the progress bars."""
    from tqdm.auto import tqdm

    tqdm.write(msg, file=sys.stderr)


def _cfg(args):
    return resolve(args.preset, args.config, args.set)


def cmd_check(args) -> int:
    from .check import METHODS, format_table, run_check, write_json

    cfg = _cfg(args)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if methods == ["all"]:
        methods = list(METHODS)
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        raise ConfigError(f"--methods: value {args.methods!r} is not allowed; "
                          f"allowed: a comma-separated subset of {', '.join(METHODS)}")
    if args.devices != 1:
        cfg = override(cfg, {"train.devices": args.devices})
    result = run_check(cfg, args.seeds, args.seed, methods, progress=not args.no_progress,
                       log=None if args.no_progress else _log)
    path = write_json(result, args.out)
    print(format_table(result))
    print(f"\n{len(result['seeds'])} seeds, {result['run']['seconds']:.1f} s; wrote {path}")
    if args.strict and not all(p["holds"] for p in result["predictions"]):
        return 1
    return 0


def cmd_data(args) -> int:
    import jax
    import numpy as np

    from .data import generate, make_views, summary

    cfg = _cfg(args)
    kv, kd = jax.random.split(jax.random.PRNGKey(args.seed))
    views = make_views(kv, cfg.data)
    mu = cfg.data.mu if args.split == "test" else cfg.data.mu_train_resolved
    n = args.n or (cfg.data.N_test if args.split == "test" else cfg.data.n_train)
    ds = generate(kd, cfg.data, views, n, mu)
    info = summary(ds, cfg.data)
    info["config"] = cfg.to_dict()["data"]
    print(json.dumps(info, indent=2))
    if args.npz:
        Path(args.npz).parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(args.npz, views=np.asarray(views),
                            **{f: np.asarray(getattr(ds, f)) for f in ds._fields})
        print(f"wrote {args.npz}", file=sys.stderr)
    return 0


def cmd_train(args) -> int:
    import numpy as np

    from .check import write_json
    from .keys import member_keys
    from .data import make_problem
    from .learners import train_single

    cfg = _cfg(args)
    if args.devices != 1:
        cfg = override(cfg, {"train.devices": args.devices})
    data_key, keys = member_keys(args.seed, args.seeds)
    problem = make_problem(data_key, cfg.data)
    tr = train_single(keys, cfg, problem, progress=not args.no_progress, desc=f"single ×{args.seeds}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out / "params.npz", W=np.asarray(tr.params))
    np.savez_compressed(out / "history.npz", **tr.fit.history)
    write_json({"config": cfg.to_dict(), "seed": args.seed, "seeds": list(range(args.seeds)),
                "steps_run": tr.fit.steps_run, "stopped_at": tr.fit.stopped_at.tolist(),
                "final_train_acc": tr.fit.history["train_acc"][-1].tolist()},
               out, "train.json")
    print(f"trained {args.seeds} members for {tr.fit.steps_run} steps; wrote {out}/params.npz, "
          f"history.npz, train.json")
    return 0


def cmd_dose(args) -> int:
    from .check import write_json
    from .dose import format_dose, run_dose

    cfg = _cfg(args)
    sizes = None
    if args.sizes:
        try:
            sizes = [int(v) for v in args.sizes.split(",")]
        except ValueError:
            sizes = []
        if not sizes or any(not 1 <= v <= args.seeds for v in sizes):
            raise ConfigError(f"--sizes: value {args.sizes!r} is not allowed; allowed: "
                              f"comma-separated ensemble sizes between 1 and --seeds = {args.seeds}")
    rec = run_dose(cfg, args.seeds, args.seed, sizes, progress=not args.no_progress,
                   log=None if args.no_progress else _log)
    path = write_json(rec, args.out, "dose.json")
    print(format_dose(rec))
    print(f"\n{rec['run']['seconds']:.1f} s; wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="multiview", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("check", help="run learners on one config and compare with the theorems")
    _add_config_args(p)
    p.add_argument("--seeds", type=_positive("--seeds"), default=10, help="ensemble size L")
    p.add_argument("--methods", default="all",
                   help="comma-separated learners, or 'all' (default): single, ensemble, kd, "
                        "self_distill, ensemble_kd, sum_trained, kd_hard, rf_*, ntk_*")
    p.add_argument("--out", default=".", help="directory for check.json")
    p.add_argument("--devices", type=_positive("--devices"), default=1,
                   help="shard ensemble members across N devices (jax.sharding)")
    p.add_argument("--strict", action="store_true", help="exit 1 when a prediction does not hold")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("data", help="summary statistics of a generated data set")
    _add_config_args(p)
    p.add_argument("--split", choices=("train", "test"), default="train")
    p.add_argument("--n", type=_positive("--n"), default=None, help="number of samples")
    p.add_argument("--npz", help="also export arrays to this .npz file")
    p.set_defaults(func=cmd_data)

    p = sub.add_parser("train", help="train L seeds; save parameters and history")
    _add_config_args(p)
    p.add_argument("--seeds", type=_positive("--seeds"), default=10)
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--devices", type=_positive("--devices"), default=1,
                   help="shard members across N devices (jax.sharding)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("dose", help="teacher dose-response: students distilled from teachers "
                                    "that know a growing share of their missing views")
    _add_config_args(p)
    p.add_argument("--seeds", type=_positive("--seeds"), default=10, help="students (= L)")
    p.add_argument("--sizes", help="teacher ensemble sizes (default 2, 4, ..., L)")
    p.add_argument("--out", default=".", help="directory for dose.json")
    p.set_defaults(func=cmd_dose)

    from . import bench, plots, sweep
    for name, module, text in (
            ("sweep", sweep, "run learners over a grid of config values (resumable)"),
            ("plot", plots, "draw a paper figure (PDF + PNG) from results"),
            ("bench", bench, "measure the training engine's speed (docs/performance.md)")):
        p = sub.add_parser(name, help=text)
        module.add_arguments(p)
        p.set_defaults(func=module.run)

    try:
        from .cifar import cli as cifar_cli
    except ImportError:
        cifar_cli = None
    if cifar_cli is not None:
        p = sub.add_parser("cifar", help="CIFAR WRN single / ensemble / KD / self-distill pipeline")
        cifar_cli.add_arguments(p)
        p.set_defaults(func=cifar_cli.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    from .train import TrainingDiverged

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as e:
        print(f"multiview: error: {e}", file=sys.stderr)
        return 2
    except TrainingDiverged as e:
        print(f"multiview: training diverged: {e}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("multiview: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

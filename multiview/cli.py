"""Command line: parse, validate, call one library function, print.

Every output path is checked before any work starts; errors a user can cause exit 2 with one
line; Ctrl-C exits 130 at once (no interpreter shutdown racing XLA's threads, see `console`).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .config import SEED_MAX, ConfigError, ascii_int, override, resolve
from .errors import need, split_items
from .methods import METHOD_NAMES
from .runtime import compile_cache_dir, precision, use_compile_cache  # noqa: F401 (re-exported)


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors that name the (sub)command."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _add_config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", default="small", help="deck | small (default) | paper | tiny")
    p.add_argument("--config", metavar="FILE", help="JSON or TOML file of overrides {section: {field: value}}")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                   help="override one field, e.g. --set data.mu=0.1 (repeatable)")
    p.add_argument("--seed", type=_integer("--seed", 0, SEED_MAX), default=0,
                   help="base seed of data and initialisations (0 .. 2^32-1)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--force-size", action="store_true",
                   help="run even when the memory estimate exceeds what the machine has "
                        "(also MULTIVIEW_FORCE_SIZE=1)")


def _integer(name, lo, hi=None):
    def parse(text):
        try:
            v = ascii_int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"value {text!r} is not an integer") from None
        if v < lo or (hi is not None and v > hi):
            allowed = f"{lo} <= {name.lstrip('-')} <= {hi}" if hi is not None else f">= {lo}"
            raise argparse.ArgumentTypeError(f"value {v} is not allowed; allowed: {allowed}")
        return v
    return parse


def _positive(name):
    return _integer(name, 1)


def _log(msg: str) -> None:
    """A line on stderr that does not break the progress bars."""
    from tqdm.auto import tqdm

    tqdm.write(msg, file=sys.stderr)


def _cfg(args, L: int = 0):
    """The resolved config (with --devices); refused when it does not fit in memory."""
    from .size import guard

    cfg = resolve(args.preset, args.config, args.set, grid=args.command == "sweep")
    if getattr(args, "devices", 1) != 1:
        check_devices(args.devices)
        cfg = override(cfg, {"train.devices": args.devices})
    guard(cfg, L, args.force_size)
    return cfg


def check_devices(n: int) -> None:
    """--devices N needs N devices of the default backend."""
    import jax

    have = len(jax.devices())
    need(n <= have, "--devices", n, f"at most the {have} {jax.default_backend()} device(s) here")


def parse_methods(text: str, methods, flag: str = "--methods") -> list[str]:
    """--methods: a comma-separated subset of `methods`, or 'all'."""
    items = split_items(text, flag)
    if items == ["all"]:
        return list(methods)
    need(all(m in methods for m in items), flag, text,
         f"a comma-separated subset of {', '.join(methods)}, or 'all'")
    return items


def cmd_check(args) -> int:
    from .check import format_table, run_check
    from .results import probe_dir, write_json

    probe_dir(args.out)
    methods = parse_methods(args.methods, METHOD_NAMES)
    cfg = _cfg(args, args.seeds)
    with precision(cfg):
        result = run_check(cfg, args.seeds, args.seed, methods, progress=not args.no_progress,
                           log=None if args.no_progress else _log)
    path = write_json(result, args.out)
    print(format_table(result))
    print(f"\n{len(result['seeds'])} seeds, {result['run']['seconds']:.1f} s; wrote {path}")
    if args.strict and any(p["holds"] is False for p in result["predictions"]):
        return 1
    return 0


def cmd_data(args) -> int:
    import numpy as np

    from .data import make_problem, summary
    from .keys import data_key
    from .results import dumps, probe_file, save_npz

    if args.npz:
        need(args.npz.endswith(".npz"), "--npz", args.npz, "a file name ending in .npz")
        probe_file(args.npz, "--npz")
    field = "data.N_test" if args.split == "test" else "data.N_train"
    cfg = _cfg(args)
    if args.n:
        cfg = override(cfg, {field: args.n})
    from .size import guard
    guard(cfg, 0, args.force_size, {field: "--n"} if args.n else None)
    print(f"data: generating views, {cfg.data.n_train} training and {cfg.data.N_test} test "
          f"samples (seed {args.seed}) ...", file=sys.stderr, flush=True)
    with precision(cfg):
        # the data `check --seed S` trains and tests on: the same key and generator path
        problem = make_problem(data_key(args.seed), cfg.data)
        ds = problem.test if args.split == "test" else problem.train
        info = summary(ds, cfg.data)
        info["config"] = cfg.to_dict()["data"]
        print(dumps(info, indent=2))
        if args.npz:
            path = save_npz(args.npz, views=np.asarray(problem.views),
                            **{f: np.asarray(getattr(ds, f)) for f in ds._fields})
            print(f"wrote {path}", file=sys.stderr)
    return 0


def cmd_train(args) -> int:
    import numpy as np

    from .recipe import train_methods
    from .results import probe_dir, save_npz, write_json

    out = probe_dir(args.out)
    cfg = _cfg(args, args.seeds)
    with precision(cfg):
        run = train_methods(cfg, args.seeds, args.seed, ["single"], progress=not args.no_progress,
                            log=None if args.no_progress else _log)
        tr = run.stages["single"].trained
        save_npz(out / "params.npz", W=np.asarray(tr.params))
    save_npz(out / "history.npz", **tr.fit.history)
    write_json({"config": cfg.to_dict(), "seed": args.seed, "seeds": list(range(args.seeds)),
                "steps_run": tr.fit.steps_run, "stopped_at": tr.fit.stopped_at.tolist(),
                "final_train_acc": tr.fit.history["train_acc"][-1].tolist()},
               out, "train.json")
    print(f"trained {args.seeds} members for {tr.fit.steps_run} steps; wrote {out}/params.npz, "
          f"history.npz, train.json")
    return 0


def cmd_arrays(args) -> int:
    from .results import probe_file, save_arrays
    from .runs import STUDENTS, view_arrays

    need(args.out.endswith(".npz"), "--out", args.out, "a file name ending in .npz")
    probe_file(args.out, "--out", force=args.force)
    students = [] if args.students == "none" else parse_methods(args.students, list(STUDENTS),
                                                                   "--students")
    cfg = _cfg(args, args.seeds)
    with precision(cfg):
        arrays = view_arrays(cfg, args.seeds, args.seed, students=tuple(students),
                             progress=not args.no_progress)
    path = save_arrays(arrays, args.out)
    print(f"trained {args.seeds} single models" + (f" and {', '.join(students)} students"
          if students else "") + f"; wrote {path} (multiview plot views|lottery|ensemble-size "
          f"--in {path})")
    return 0


def cmd_dose(args) -> int:
    from .dose import format_dose, run_dose
    from .results import probe_dir, write_json

    probe_dir(args.out)
    sizes = None
    if args.sizes:
        items = split_items(args.sizes, "--sizes")
        need(all(v.isascii() and v.isdigit() and 1 <= int(v) <= args.seeds for v in items),
             "--sizes", args.sizes,
             f"comma-separated ensemble sizes between 1 and --seeds = {args.seeds}")
        sizes = [int(v) for v in items]
    cfg = _cfg(args, args.seeds)
    with precision(cfg):
        rec = run_dose(cfg, args.seeds, args.seed, sizes, progress=not args.no_progress,
                       log=None if args.no_progress else _log)
    path = write_json(rec, args.out, "dose.json")
    print(format_dose(rec))
    print(f"\n{rec['run']['seconds']:.1f} s; wrote {path}")
    return 0


def cmd_sweep(args) -> int:
    """`multiview sweep`: run or resume the grid; print one line per point (and each failed
    point); exit 3 when a point failed."""
    from .cluster import address_of
    from .results import probe_dir
    from .size import guard
    from .sweep import canonical_methods, format_summary, grid_points, parse_grid, run_sweep

    probe_dir(args.out)
    cfg = _cfg(args)            # checks --devices against the machine, cached points or not
    grid = parse_grid(args.grid, cfg, args.config)
    methods = canonical_methods(parse_methods(args.methods, METHOD_NAMES))
    cluster = address_of(args.cluster, args.address)
    points = grid_points(cfg, grid)
    for point in points:
        guard(point.cfg, args.seeds * args.batch_points, args.force_size)
    dtypes = {p.cfg.train.dtype for p in points}
    if len(dtypes) > 1:
        raise ConfigError("--grid train.dtype: values float32 and float64 are not allowed in "
                          "one sweep; allowed: one precision per sweep (run two sweeps)")
    with precision(points[0].cfg):
        summary = run_sweep(cfg, grid, methods, args.seeds, args.seed, args.out,
                            batch_points=args.batch_points, progress=not args.no_progress,
                            cluster=cluster)
    print(format_summary(summary))
    r = summary["run"]
    print(f"\n{r['points']} points ({r['cached']} cached, {r['computed']} computed"
          f"{', %d failed' % r['failed'] if r['failed'] else ''}"
          f"{', %d corrupt recomputed' % len(r['recomputed_corrupt']) if r['recomputed_corrupt'] else ''}"
          f"), {r['seconds']:.1f} s; wrote {Path(args.out) / 'sweep.json'}")
    return 3 if r["failed"] else 0


def cmd_plot(args) -> int:
    """`multiview plot`: draw one figure, print the files written."""
    from .plots import plot

    for path in plot(args.kind, args.inp, args.out, args.name, args.x, args.y, args.force,
                     args.fix):
        print(path)
    return 0


def cmd_bench(args) -> int:
    """`multiview bench`: run the bench, print the summary."""
    from .bench import format_summary, run_bench
    from .results import probe_dir

    probe_dir(args.out)
    result = run_bench(args.out, quick=args.quick, progress=not args.no_progress,
                       throughput=args.throughput)
    print(format_summary(result))
    print(f"wrote {Path(args.out) / 'bench.json'}")
    return 0


def _ints(text: str) -> tuple[int, ...]:
    allowed = f"value {text!r} is not allowed; allowed: comma-separated integers >= 1"
    try:
        vals = tuple(int(v) for v in split_items(text, "--throughput"))
    except (ConfigError, ValueError):
        raise argparse.ArgumentTypeError(allowed) from None
    if min(vals) < 1:
        raise argparse.ArgumentTypeError(allowed)
    return vals


def _sweep_arguments(p: argparse.ArgumentParser) -> None:
    _add_config_args(p)
    p.add_argument("--grid", action="append", default=[], metavar="SECTION.FIELD=V1,V2,...",
                   help="a grid axis (repeatable; the grid is the Cartesian product); pair "
                        "fields separate values with ';', e.g. data.z_own=1,2;1,3; axes can "
                        "also sit in the --config file's [grid] table")
    p.add_argument("--methods", default="single,ensemble",
                   help="comma-separated learners (default single,ensemble), or 'all'")
    p.add_argument("--seeds", type=_positive("--seeds"), default=10, help="ensemble size L")
    p.add_argument("--out", required=True, help="directory of the per-point results and sweep.json")
    p.add_argument("--batch-points", type=_positive("--batch-points"), default=4,
                   help="grid points trained together in one vmapped call (single/ensemble; "
                        "default 4); 1: point by point")
    p.add_argument("--devices", type=_positive("--devices"), default=1,
                   help="shard the members of each training call (grid points x seeds) across "
                        "N devices (jax.sharding)")
    p.add_argument("--cluster", metavar="ray|ray://HOST:PORT",
                   help="compute the batches as Ray tasks (docs/cluster.md): 'ray' starts Ray "
                        "on this machine, or joins --address; ray://HOST:PORT joins through "
                        "Ray Client")
    p.add_argument("--address", metavar="HOST:PORT",
                   help="with --cluster ray: the head of a running Ray cluster (or 'auto')")


def _plot_arguments(p: argparse.ArgumentParser) -> None:
    from .plots import KINDS

    p.add_argument("kind", choices=KINDS, help="views, lottery, ensemble-size: the arrays "
                   ".npz of `multiview arrays`; methods, fixed: a check.json; phase, "
                   "phase-teacher: a sweep directory or sweep.json; dose: a dose.json")
    p.add_argument("--in", dest="inp", required=True, metavar="PATH", help="result to draw")
    p.add_argument("--out", default=None,
                   help="output directory (default: the folder of the input)")
    p.add_argument("--force", action="store_true", help="overwrite existing figure files")
    p.add_argument("--name", help="file name without extension (default: from the kind)")
    p.add_argument("--x", help="phase: grid field on the x axis (default: the first)")
    p.add_argument("--y", help="phase: grid field on the y axis (default: the second)")
    p.add_argument("--fix", action="append", metavar="FIELD=VALUE", help="phase: the value of "
                   "a grid field off the axes (repeatable; default: each field's first value)")


def _bench_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="runs/bench", help="directory for bench.json and bench.txt")
    p.add_argument("--quick", action="store_true", help="tiny sizes and few steps (seconds)")
    p.add_argument("--throughput", type=_ints, default=(), metavar="L[,L...]",
                   help="also train L members of the small preset to the stopping rule "
                        "and report trained models per second")
    p.add_argument("--no-progress", action="store_true", help="no progress lines")


def build_parser() -> argparse.ArgumentParser:
    """The parser; its subcommands' parsers by name are its `subcommands`."""
    parser = Parser(prog="multiview", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    subs = {}

    p = subs["check"] = sub.add_parser(
        "check", help="run learners on one config and compare with the theorems")
    _add_config_args(p)
    p.add_argument("--seeds", type=_positive("--seeds"), default=10, help="ensemble size L")
    p.add_argument("--methods", default="all",
                   help="comma-separated learners, or 'all' (default): single, ensemble, kd, "
                        "kd_twin, self_distill, self_distill_twin, ensemble_kd, sum_trained, "
                        "kd_hard, rf_*, ntk_*")
    p.add_argument("--out", default=".", help="directory for check.json")
    p.add_argument("--devices", type=_positive("--devices"), default=1,
                   help="shard ensemble members across N devices (jax.sharding)")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 when a prediction does not hold (one that cannot be evaluated, "
                        "holds: null, does not count)")
    p.set_defaults(func=cmd_check)

    p = subs["data"] = sub.add_parser(
        "data", help="summary statistics of the data `check --seed S` uses")
    _add_config_args(p)
    p.add_argument("--split", choices=("train", "test"), default="train")
    p.add_argument("--n", type=_positive("--n"), default=None,
                   help="number of samples (default: the config's N_train or N_test)")
    p.add_argument("--npz", help="also export arrays to this .npz file")
    p.set_defaults(func=cmd_data)

    p = subs["train"] = sub.add_parser("train", help="train L seeds; save parameters and history")
    _add_config_args(p)
    p.add_argument("--seeds", type=_positive("--seeds"), default=10)
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--devices", type=_positive("--devices"), default=1,
                   help="shard members across N devices (jax.sharding)")
    p.set_defaults(func=cmd_train)

    p = subs["arrays"] = sub.add_parser(
        "arrays", help="train L single models (and students); save the arrays that `plot "
                       "views|lottery|ensemble-size` draw")
    _add_config_args(p)
    p.add_argument("--seeds", type=_positive("--seeds"), default=10, help="ensemble size L")
    p.add_argument("--students", default="kd,self_distill",
                   help="students to train too: a subset of kd,self_distill, or none")
    p.add_argument("--out", required=True, metavar="FILE", help="the .npz to write")
    p.add_argument("--force", action="store_true", help="overwrite an existing FILE")
    p.set_defaults(func=cmd_arrays)

    p = subs["dose"] = sub.add_parser(
        "dose", help="teacher dose-response: students distilled from teachers that know a "
                     "growing share of their missing views")
    _add_config_args(p)
    p.add_argument("--seeds", type=_positive("--seeds"), default=10, help="students (= L)")
    p.add_argument("--sizes", help="teacher ensemble sizes (default 2, 4, ..., L)")
    p.add_argument("--out", default=".", help="directory for dose.json")
    p.set_defaults(func=cmd_dose)

    for name, arguments, func, text in (
            ("sweep", _sweep_arguments, cmd_sweep,
             "run learners over a grid of config values (resumable)"),
            ("plot", _plot_arguments, cmd_plot, "draw a paper figure (PDF + PNG) from results"),
            ("bench", _bench_arguments, cmd_bench,
             "measure the training engine's speed (docs/performance.md)")):
        p = subs[name] = sub.add_parser(name, help=text)
        arguments(p)
        p.set_defaults(func=func)

    try:
        from .cifar import cli as cifar_cli
    except ImportError:
        cifar_cli = None
    if cifar_cli is not None:
        p = subs["cifar"] = sub.add_parser(
            "cifar", help="CIFAR WRN single / ensemble / KD / self-distill pipeline")
        cifar_cli.add_arguments(p)
        p.set_defaults(func=cifar_cli.run)
    parser.subcommands = subs
    return parser


def _diverged(e) -> str:
    """The divergence message with the likelier cause: non-finite at step 0 is the
    initialisation (model.sigma0), later the step size (train.lr)."""
    import re

    text = str(e).split("; lower train.lr")[0]
    step = re.search(r"at step (\d+)", text)
    if step and int(step.group(1)) == 0:
        return text + "; the loss is not finite at initialisation: lower model.sigma0"
    return text + "; lower train.lr, or model.sigma0 if the initial logits are already large"


def main(argv: list[str] | None = None, compile_cache: bool = False) -> int:
    """Run one command; the exit status (2: a user error, 3: training diverged, 130: Ctrl-C).
    With compile_cache (the `multiview` program), compiled programs persist on disk
    (`use_compile_cache`), except for `bench`, which measures compilation."""
    from .errors import TrainingDiverged

    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        parser.subcommands[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
    if compile_cache and args.command != "bench":
        use_compile_cache()
    import signal

    if signal.getsignal(signal.SIGINT) is _quit:     # the imports are done: see console()
        signal.signal(signal.SIGINT, _interrupt)
    try:
        try:
            return int(args.func(args) or 0)
        except Exception as e:
            if _raised_by_an_interrupt(e):
                raise KeyboardInterrupt from e
            raise
    except ConfigError as e:
        print(f"multiview {args.command}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"multiview {args.command}: error: {e.strerror or e}"
              + (f": {e.filename!r}" if e.filename else ""), file=sys.stderr)
        return 2
    except TrainingDiverged as e:
        print(f"multiview {args.command}: training diverged: {_diverged(e)}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print(f"multiview {args.command}: interrupted", file=sys.stderr)
        return 130


def _interrupt(signum, frame):
    """Ctrl-C while a command runs: KeyboardInterrupt, so that writers unwind. Not inside a
    garbage-collector callback or a __del__ (JAX registers a callback; Python reports an
    exception raised there as "Exception ignored" and goes on, and the run would finish as if
    never interrupted): there the signal is sent again 20 ms later, once that code returned."""
    import gc
    import threading

    callbacks = {getattr(cb, "__code__", None) for cb in gc.callbacks}
    f = frame
    while f is not None:
        if f.f_code in callbacks or f.f_code.co_name == "__del__":
            threading.Timer(0.02, os.kill, (os.getpid(), signum)).start()
            return
        f = f.f_back
    raise KeyboardInterrupt


def _raised_by_an_interrupt(e: BaseException) -> bool:
    """Whether `e` was raised while a KeyboardInterrupt unwound: cleanup code that the interrupt
    cut short can fail in turn (tqdm.write, interrupted while it created its lock, fails in its
    `finally` with AttributeError), and that error then replaces the interrupt."""
    todo, seen = [e], set()
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        if isinstance(e, KeyboardInterrupt):
            return True
        seen.add(id(e))
        todo += [e.__cause__, e.__context__]
    return False


def _quit(signum, frame):
    """Ctrl-C before the command runs (while numpy and jax import): leave at once."""
    print("\nmultiview: interrupted", file=sys.stderr, flush=True)
    os._exit(130)


def console(argv: list[str] | None = None) -> None:
    """The `multiview` program: main(), then exit. Ctrl-C while the modules import leaves at
    once; while a command runs it raises KeyboardInterrupt, so that writers remove their
    temporary files (finished ones were fsync'ed and renamed), and then leaves through
    os._exit: skipping interpreter shutdown avoids racing XLA's threads (a segfault)."""
    import signal

    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:    # not started as `cmd &`
        signal.signal(signal.SIGINT, _quit)
    try:
        rc = main(argv, compile_cache=True)
    except KeyboardInterrupt:
        print("multiview: interrupted", file=sys.stderr)
        rc = 130
    sys.stdout.flush()
    sys.stderr.flush()
    if rc == 130:
        os._exit(130)
    sys.exit(rc)


if __name__ == "__main__":
    console()

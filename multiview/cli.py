"""Command line: parse, validate, call one library function, print.

The subcommands are the rows of COMMANDS (name, help, its arguments); `multiview NAME` runs
`cmd_NAME`. Every output path is checked before any work starts, and an existing result is
not replaced without --force. How a command ends (exit statuses, signals, one-line errors) is
multiview/process.py's.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Callable

from .config import SEED_MAX, ConfigError, override, resolve
from .errors import need, split_items, subset
from .methods import METHOD_NAMES
from .provenance import invoked
from .runtime import compile_cache_dir, precision, use_compile_cache  # noqa: F401 (re-exported)


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors that name the (sub)command."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _add_config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", default="small", help="small (default) | deck | asymptotic | scaled | limit | paper | tiny")
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
    """An argparse type: the text as an integer within [lo, hi], checked by inputs.integer
    (the one check the Python API makes too)."""
    from .inputs import integer

    def parse(text):
        try:
            return integer(text, name, lo, hi, text=True)
        except ConfigError as e:        # argparse names the flag itself
            raise argparse.ArgumentTypeError(str(e).removeprefix(f"{name}: ")) from None
    return parse


def _positive(name):
    return _integer(name, 1)


def _log(msg: str) -> None:
    """A line on stderr that does not break the progress bars."""
    from .progress import write

    write(msg)


def _cfg(args, L: int = 0):
    """The resolved config (with --devices); refused when it does not fit in memory."""
    from .size import guard

    from .size import duration

    cfg = resolve(args.preset, args.config, args.set, grid=args.command in ("sweep", "search"))
    if getattr(args, "devices", 1) != 1:
        check_devices(args.devices)
        cfg = override(cfg, {"train.devices": args.devices})
    guard(cfg, L, args.force_size)
    slow = duration(cfg, L) if L else None
    if slow:
        print(f"multiview {args.command}: {slow}", file=sys.stderr, flush=True)
    return cfg


def check_devices(n: int) -> None:
    """--devices N needs N devices of the default backend."""
    import jax

    have = len(jax.devices())
    need(n <= have, "--devices", n, f"at most the {have} {jax.default_backend()} device(s) here")


def parse_methods(text: str, methods, flag: str = "--methods") -> list[str]:
    """--methods (--students): a comma-separated subset of `methods`, or 'all'
    (errors.subset, the one check of a choice of methods)."""
    return subset(text, list(methods), flag)


def cmd_check(args) -> int:
    from .check import format_table, run_check
    from .outputs import claim, out_dir
    from .results import write_json

    out = out_dir(args.out, "check.json")
    stages = _stages_dir(args)
    methods = parse_methods(args.methods, METHOD_NAMES)
    cfg = _cfg(args, args.seeds)
    with claim(out / "check.json", force=args.force), precision(cfg):
        result = run_check(cfg, args.seeds, args.seed, methods, progress=not args.no_progress,
                           log=None if args.no_progress else _log, stages=stages)
        path = write_json(result, out)
    print(format_table(result))
    print(f"\n{len(result['seeds'])} seeds, {result['run']['seconds']:.1f} s; wrote {path}")
    if args.strict and any(p["verdict"] == "fails" for p in result["predictions"]):
        return 1
    return 0


def cmd_data(args) -> int:
    import numpy as np

    from .data import make_problem, summary
    from .keys import data_key
    from .outputs import claim
    from .provenance import block
    from .results import dumps, probe_file, save_npz

    if args.npz:
        need(args.npz.endswith(".npz"), "--npz", args.npz, "a file name ending in .npz")
        probe_file(args.npz, "--npz", force=args.force)
    field = "data.N_test" if args.split == "test" else "data.N_train"
    cfg = _cfg(args)
    if args.n:
        cfg = override(cfg, {field: args.n})
    from .size import guard
    guard(cfg, 0, args.force_size, {field: "--n"} if args.n else None)
    print(f"data: generating views, {cfg.data.n_train} training and {cfg.data.N_test} test "
          f"samples (seed {args.seed}) ...", file=sys.stderr, flush=True)
    with claim(args.npz, "--npz", args.force), precision(cfg):
        # the data `check --seed S` trains and tests on: the same key and generator path
        problem = make_problem(data_key(args.seed), cfg.data)
        ds = problem.test if args.split == "test" else problem.train
        info = summary(ds, cfg.data)
        info["config"] = cfg.to_dict()["data"]
        print(dumps(info, indent=2))
        if args.npz:
            path = save_npz(args.npz, views=np.asarray(problem.views),
                            **{f: np.asarray(getattr(ds, f)) for f in ds._fields},
                            provenance=np.array(dumps(block())))
            print(f"wrote {path}", file=sys.stderr)
    return 0


TRAIN_FILES = ("train.json", "params.npz", "history.npz")     # a run of `train`


def cmd_train(args) -> int:
    import numpy as np

    from .outputs import claim, out_dir
    from .recipe import train_methods
    from .provenance import block
    from .results import dumps, save_npz, write_json

    out = out_dir(args.out)
    there = [n for n in TRAIN_FILES if (out / n).exists()]
    need(args.force or not there, "--out", args.out,
         f"a folder without a run (it holds {', '.join(there)}; give --force to overwrite it)")
    cfg = _cfg(args, args.seeds)
    with claim(out / "train.json", force=args.force):
        with precision(cfg):
            run = train_methods(cfg, args.seeds, args.seed, ["single"],
                                progress=not args.no_progress,
                                log=None if args.no_progress else _log)
            tr = run.stages["single"].trained
            # each .npz carries the provenance block as JSON text, as save_arrays writes it
            stamp = np.array(dumps(block()))
            save_npz(out / "params.npz", W=np.asarray(tr.params), provenance=stamp)
        save_npz(out / "history.npz", **tr.fit.history, provenance=stamp)
        write_json({"config": cfg.to_dict(), "seed": args.seed, "seeds": list(range(args.seeds)),
                    "steps_run": tr.fit.steps_run, "stopped_at": tr.fit.stopped_at.tolist(),
                    "final_train_acc": tr.fit.history["train_acc"][-1].tolist()},
                   out, "train.json")
    print(f"trained {args.seeds} members for {tr.fit.steps_run} steps; wrote {out}/params.npz, "
          f"history.npz, train.json")
    return 0


def cmd_arrays(args) -> int:
    from .outputs import claim
    from .results import probe_file, save_arrays
    from .runs import STUDENTS, view_arrays

    need(args.out.endswith(".npz"), "--out", args.out, "a file name ending in .npz")
    probe_file(args.out, "--out", force=args.force)
    students = [] if args.students == "none" else parse_methods(args.students, list(STUDENTS),
                                                                   "--students")
    cfg = _cfg(args, args.seeds)
    with claim(args.out, force=args.force):
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
    from .outputs import claim, out_dir
    from .results import write_json

    out = out_dir(args.out, "dose.json")
    sizes = None
    if args.sizes is not None:          # --sizes '' is an empty list, refused, not the default
        from .inputs import integer      # the check mv.dose(sizes=...) makes

        sizes = [integer(v, "--sizes", 1, args.seeds, text=True)
                 for v in split_items(args.sizes, "--sizes")]
    cfg = _cfg(args, args.seeds)
    with claim(out / "dose.json", force=args.force), precision(cfg):
        rec = run_dose(cfg, args.seeds, args.seed, sizes, progress=not args.no_progress,
                       log=None if args.no_progress else _log)
        path = write_json(rec, out, "dose.json")
    print(format_dose(rec))
    print(f"\n{rec['run']['seconds']:.1f} s; wrote {path}")
    return 0


def cmd_sweep(args) -> int:
    """`multiview sweep`: run or resume the grid; print one line per point (and each failed
    point); exit 3 when a point failed."""
    from .cluster import address_of
    from .outputs import out_dir
    from .size import guard
    from .sweep import check_grid_points, format_summary, grid_points, parse_grid, run_sweep

    out_dir(args.out)
    stages = _stages_dir(args)
    cfg = _cfg(args)            # checks --devices against the machine, cached points or not
    grid = parse_grid(args.grid, cfg, args.config)
    methods = parse_methods(args.methods, METHOD_NAMES)
    cluster = address_of(args.cluster, args.address)
    points = grid_points(cfg, grid)
    for point in points:
        guard(point.cfg, args.seeds * args.batch_points, args.force_size)
    check_grid_points(points)
    with precision(points[0].cfg):
        summary = run_sweep(cfg, grid, methods, args.seeds, args.seed, args.out,
                            batch_points=args.batch_points, progress=not args.no_progress,
                            cluster=cluster, stages=stages)
    print(format_summary(summary))
    r = summary["run"]
    print(f"\n{r['points']} points ({r['cached']} cached, {r['computed']} computed"
          f"{', %d failed' % r['failed'] if r['failed'] else ''}"
          f"{', %d corrupt recomputed' % len(r['recomputed_corrupt']) if r['recomputed_corrupt'] else ''}"
          f"), {r['seconds']:.1f} s; wrote {Path(args.out) / 'sweep.json'}")
    return 3 if r["failed"] else 0


def cmd_search(args) -> int:
    """`multiview search`: run or resume the search; print the best trials and their
    `multiview check` commands."""
    from .cluster import address_of
    from .results import probe_dir
    from .search import format_best, prepare, run_search

    probe_dir(args.out)
    need(args.config is not None, "--config", None, "a TOML/JSON file with a [search] table "
         "(see `multiview search --help`)")
    stages = _stages_dir(args)
    cfg = _cfg(args)
    job = prepare(cfg, args.config, args.seeds, args.base_seeds, args.seed, args.methods,
                  args.require, args.force_size, args.first)
    summary = run_search(**job, out=args.out, trials=args.trials, seed=args.seed,
                         storage=args.storage, name=args.study,
                         progress=not args.no_progress, log=_log,
                         cluster=address_of(args.cluster, args.address),
                         parallel=args.parallel or (4 if args.cluster else 1),
                         preset_name=args.preset, stages=stages)
    print(format_best(summary, args.best))
    r = summary["run"]
    print(f"\n{r['complete']} trials complete, {r['failed']} failed ({r['computed']} points "
          f"computed, {r['cached']} read back), {r['seconds']:.1f} s; wrote "
          f"{Path(args.out) / 'search.json'}")
    return 0


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
    _stages_argument(p, "where points computed one at a time keep their finished stages, "
                     "shared by every point and kept (runs that differ only in distill.* then "
                     "train their single models, twins and sums once); default: "
                     "OUT/stages/POINT, removed once the point is written. Either way an "
                     "interrupted point resumes from its last finished stage")
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


def _search_arguments(p: argparse.ArgumentParser) -> None:
    from .search import HELP

    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = HELP
    _add_config_args(p)
    p.add_argument("--out", required=True, help="directory of the points (seed-<b>/), the "
                   "optuna study (search.db) and search.json")
    _stages_argument(p, "a folder of finished stages every trial shares and keeps: trials "
                     "that differ only in distill.* train their single models, twins and sums "
                     "once per base seed; default: OUT/stages/POINT, removed once the point is "
                     "written. Either way an interrupted point resumes from its last finished "
                     "stage")
    p.add_argument("--trials", type=_positive("--trials"), default=20,
                   help="finish this many trials (a rerun continues to N; default 20)")
    p.add_argument("--seeds", type=_positive("--seeds"), default=5,
                   help="ensemble size L of each check (default 5)")
    p.add_argument("--base-seeds", type=_positive("--base-seeds"), default=3,
                   help="data draws per trial: base seeds SEED .. SEED+B-1 (default 3)")
    p.add_argument("--methods", default=None, help="comma-separated learners (default: what "
                   "the required predictions need)")
    p.add_argument("--require", default=None, metavar="ID,PATTERN,...",
                   help="the required predictions (default: the table's require)")
    p.add_argument("--first", default=None, metavar="ID,PATTERN,...",
                   help="required predictions ranked before the score (default: the table's "
                   "first, if any)")
    p.add_argument("--storage", metavar="URL", help="an optuna database URL that several "
                   "hosts share (default: sqlite in OUT/search.db)")
    p.add_argument("--study", default="search", help="the optuna study name (default search)")
    p.add_argument("--best", type=_positive("--best"), default=5,
                   help="best trials printed (default 5)")
    p.add_argument("--cluster", metavar="ray|ray://HOST:PORT",
                   help="compute the trials' points as Ray tasks (docs/cluster.md)")
    p.add_argument("--address", metavar="HOST:PORT",
                   help="with --cluster ray: the head of a running Ray cluster (or 'auto')")
    p.add_argument("--parallel", type=_positive("--parallel"), default=None,
                   help="trials proposed at a time (default 1; 4 with --cluster)")


def _plot_arguments(p: argparse.ArgumentParser) -> None:
    from .plots import KINDS, kinds_help

    p.add_argument("kind", choices=KINDS, help=kinds_help())
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


def _check_arguments(p: argparse.ArgumentParser) -> None:
    _add_config_args(p)
    p.add_argument("--seeds", type=_positive("--seeds"), default=10, help="ensemble size L")
    p.add_argument("--methods", default="all",
                   help="comma-separated learners, or 'all' (default): single, ensemble, kd, "
                        "kd_twin, kd_random, kd_smooth, kd_smooth_twin, kd_smooth_fixed, ..., "
                        "self_distill, self_distill_twin, ensemble_kd, sum_trained, kd_hard, "
                        "rf_*, ntk_*")
    p.add_argument("--out", default=".", help="directory for check.json (or the path of "
                   "the check.json itself)")
    _force_argument(p)
    _devices_argument(p, "shard ensemble members across N devices (jax.sharding)")
    _stages_argument(p, "a folder of finished stages: each stage is read back from it when "
                     "it is there and written to it once trained, so a stopped check resumes "
                     "from its last finished stage (default: none kept)")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 when a prediction fails (verdict 'fails': its 95%% interval "
                        "lies outside the band; 'inconclusive' and not evaluable do not count)")


def _stages_dir(args):
    """--stages checked before any work as --out is (None when not given)."""
    from .outputs import out_dir

    return None if args.stages is None else out_dir(args.stages, None, "--stages")


def _stages_argument(p: argparse.ArgumentParser, text: str) -> None:
    p.add_argument("--stages", metavar="DIR", default=None,
                   help=text + "; the numbers are those of a run without it "
                        "(docs/architecture.md, 'Finished stages')")


def _force_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--force", action="store_true",
                   help="write even while another process writes the same file (the last "
                        "one to finish wins)")


def _devices_argument(p: argparse.ArgumentParser, text: str) -> None:
    p.add_argument("--devices", type=_positive("--devices"), default=1, help=text)


def _data_arguments(p: argparse.ArgumentParser) -> None:
    _add_config_args(p)
    p.add_argument("--split", choices=("train", "test"), default="train")
    p.add_argument("--n", type=_positive("--n"), default=None,
                   help="number of samples (default: the config's N_train or N_test)")
    p.add_argument("--npz", help="also export arrays to this .npz file")
    p.add_argument("--force", action="store_true", help="overwrite an existing --npz file")


def _trained_arguments(p: argparse.ArgumentParser, out: str, metavar: str | None = None,
                       force: str = "overwrite an existing --out") -> None:
    """The arguments of the commands that train L single models and save them (train,
    arrays): the config, --seeds, the required --out and --force."""
    _add_config_args(p)
    p.add_argument("--seeds", type=_positive("--seeds"), default=10, help="ensemble size L")
    p.add_argument("--out", required=True, metavar=metavar, help=out)
    p.add_argument("--force", action="store_true", help=force)


def _train_arguments(p: argparse.ArgumentParser) -> None:
    _trained_arguments(p, "output directory (params.npz, history.npz, train.json)",
                       force="overwrite a run already in --out")
    _devices_argument(p, "shard members across N devices (jax.sharding)")


def _arrays_arguments(p: argparse.ArgumentParser) -> None:
    _trained_arguments(p, "the .npz to write", "FILE", "overwrite an existing FILE")
    p.add_argument("--students", default="kd,self_distill",
                   help="students to train too: a subset of kd,self_distill, or none")


def _dose_arguments(p: argparse.ArgumentParser) -> None:
    _add_config_args(p)
    p.add_argument("--seeds", type=_positive("--seeds"), default=10, help="students (= L)")
    p.add_argument("--sizes", help="teacher ensemble sizes (default 2, 4, ..., L)")
    p.add_argument("--out", default=".", help="directory for dose.json (or the path of "
                   "the dose.json itself)")
    _force_argument(p)


def _cifar_arguments(p: argparse.ArgumentParser) -> None:
    from .cifar import cli as cifar_cli

    cifar_cli.add_arguments(p)


def cmd_cifar(args) -> int:
    from .cifar import cli as cifar_cli

    return cifar_cli.run(args)


def _has_cifar() -> bool:
    try:
        from .cifar import cli  # noqa: F401
    except ImportError:
        return False
    return True


# the subcommands: name, help, its arguments; `multiview NAME` runs cmd_NAME
COMMANDS = (
    ("check", "run learners on one config and compare with the theorems", _check_arguments),
    ("data", "summary statistics of the data `check --seed S` uses", _data_arguments),
    ("train", "train L seeds; save parameters and history", _train_arguments),
    ("arrays", "train L single models (and students); save the arrays that `plot "
               "views|lottery|ensemble-size` draw", _arrays_arguments),
    ("dose", "teacher dose-response: students distilled from teachers that know a growing "
             "share of their missing views", _dose_arguments),
    ("sweep", "run learners over a grid of config values (resumable)", _sweep_arguments),
    ("search", "search config space for where the required predictions hold (optuna TPE; "
               "resumable)", _search_arguments),
    ("plot", "draw a paper figure (PDF + PNG) from results", _plot_arguments),
    ("bench", "measure the training engine's speed (docs/performance.md)", _bench_arguments),
    ("cifar", "CIFAR WRN single / ensemble / KD / self-distill pipeline", _cifar_arguments),
)


def build_parser() -> argparse.ArgumentParser:
    """The parser; its subcommands' parsers by name are its `subcommands`."""
    parser = Parser(prog="multiview", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    subs = {}
    for name, text, arguments in COMMANDS:
        if name == "cifar" and not _has_cifar():     # the CIFAR arm needs flax
            continue
        p = subs[name] = sub.add_parser(name, help=text)
        arguments(p)
    parser.subcommands = subs
    return parser


def main(argv: list[str] | None = None, compile_cache: bool = False) -> int:
    """Run one command; its exit status (multiview/process.py: 2 a user error, 3 training
    diverged, 128 + N a signal). With compile_cache (the `multiview` program), compiled
    programs persist on disk (`use_compile_cache`), except for `bench`, which measures
    compilation."""
    from . import process

    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        parser.subcommands[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
    if compile_cache and args.command != "bench":
        use_compile_cache()
    process.on_run()            # the imports are done: signals now unwind the command
    command = globals()[f"cmd_{args.command}"]
    with invoked(shlex.join(["multiview", *(sys.argv[1:] if argv is None else argv)])):
        return process.run(args.command, lambda: command(args))


def study_args(doc: str, *, seeds: int = 10, preset: str = "small", config: bool = True,
               options: Callable[[argparse.ArgumentParser], None] | None = None,
               argv: list[str] | None = None):
    """The command line of a study script in experiments/, parsed as the commands parse theirs:
    --seed (one base seed) and --seeds (L, default `seeds`); with `config`, the options every
    command takes (--preset, default `preset`; --config, --set, --no-progress, --force-size)
    resolved into a Config as `multiview check` resolves them (size-checked); `options(parser)`
    adds the script's own. -> (args, cfg), cfg None without `config`. A bad value is a one-line
    error (exit 2)."""
    p = Parser(prog=Path(sys.argv[0]).name, description=doc.split("\n\n")[0])
    if config:
        _add_config_args(p)
        p.set_defaults(preset=preset)
    else:
        p.add_argument("--seed", type=_integer("--seed", 0, SEED_MAX), default=0,
                       help="base seed of data and initialisations (0 .. 2^32-1)")
    p.add_argument("--seeds", type=_positive("--seeds"), default=seeds,
                   help=f"members per run, L (default {seeds})")
    if options:
        options(p)
    p.set_defaults(command="study")
    args = p.parse_args(argv)
    try:
        return args, _cfg(args, args.seeds) if config else None
    except ConfigError as e:
        p.error(str(e))


def console(argv: list[str] | None = None) -> None:
    """The `multiview` program: main() under process.console (signals, exit status)."""
    from . import process

    process.console(lambda: main(argv, compile_cache=True))


if __name__ == "__main__":
    console()

"""Search: where in config space do the theorems' predictions hold? (docs/search.md)

A `[search]` table names config fields with ranges or choices and the predictions that must
hold (`require`); optuna's TPE sampler proposes trials, and each trial is one `check` point per
base seed, stored as a sweep stores its points (OUT/seed-<b>/<key>.json, results.write_point),
so a search and a sweep of one study share them. A trial's score is the number of required
predictions that hold on every base seed; the fraction of (prediction, base seed) pairs that
hold breaks ties. optuna maximises score + fraction, which orders trials exactly as
(score, fraction) does: a trial one prediction short has fraction <= 1 - 1/(R B) < 1.
With `first` (some of the required predictions: the claims, say, before their controls), the
number of those held on every base seed F counts before the rest: optuna maximises
F (R + 1) + score + fraction, which orders trials as (F, score, fraction) does. Without it, a
trial where nothing gains can win on its controls alone (a control that says "no gain without
the teacher" holds wherever nothing gains).

The optuna study lives in OUT/search.db (SQLite) or a shared database (`storage`); it carries
the search's definition, and a search of another definition into the same folder or study is
refused before any work. An interrupted trial is discarded (FAIL, user attribute "discarded")
and proposed again by the next run with the same parameters, so its finished points are read
back, never recomputed; a trial whose training diverges is recorded as failed and the search
goes on. OUT/search.json (results.SPECS["search"]) lists every trial after each one ends.
"""

from __future__ import annotations

import fnmatch
import json
import math
import os
import socket
import sys
import time
import typing
from dataclasses import dataclass, fields as dc_fields
from pathlib import Path
from typing import Callable

from .config import SECTIONS, Config, ConfigError, override, preset
from .results import (canonical_methods, claim_sweep_dir, plain, point_key,
                      study, write_json, write_point)
from .sweep import _drop_stages, _get, cached_point, compute_points, point_stages, ray_compute

# fields a search may not vary: they change how a result is computed or measured, not what is
# trained (devices: the same numbers; engine: the same trajectory; dtype: one precision per
# process; learned_factor: the threshold at which a view counts as learned, i.e. the ruler)
NOT_SEARCHABLE = {
    "train.devices": "sharding over devices gives the same numbers",
    "train.engine": "the engines follow the same trajectory",
    "train.dtype": "one precision per search (the process computes in it)",
    "model.learned_factor": "it moves the threshold that measures the views, not the training",
}
STUDY = "search"                 # the default optuna study name
RANGE_KEYS = {"low", "high", "log"}


@dataclass(frozen=True)
class Field:
    """One searched field: a range [low, high] (int or float, log-uniform with log) or choices."""

    name: str
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    choices: tuple | None = None
    integer: bool = False

    def spec(self) -> dict:
        """The field as search.json writes it."""
        if self.choices is not None:
            return {"choices": list(self.choices)}
        return {"low": self.low, "high": self.high, "log": self.log,
                "type": "int" if self.integer else "float"}

    def distribution(self):
        """The optuna distribution of the field (choices as their JSON text)."""
        import optuna.distributions as d

        if self.choices is not None:
            return d.CategoricalDistribution([_choice(c) for c in self.choices])
        if self.integer:
            return d.IntDistribution(self.low, self.high, log=self.log)
        return d.FloatDistribution(self.low, self.high, log=self.log)


def _choice(v):
    """A choice as optuna stores it: scalars as they are, pairs as JSON text."""
    return json.dumps(v) if isinstance(v, (list, tuple)) else v


def _unchoice(v):
    return json.loads(v) if isinstance(v, str) and v.startswith("[") else v


@dataclass(frozen=True)
class Space:
    """The searched fields (in the file's order) and the required prediction patterns."""

    fields: tuple[Field, ...]
    require: tuple[str, ...]
    first: tuple[str, ...] = ()


# --- the [search] table -------------------------------------------------------------------

HELP = """\
the [search] table of the --config file (TOML; JSON: an object "search"):
  [search]
  require = ["T1.*", "T2.single"]                  # prediction ids or fnmatch patterns
  "model.varrho" = {low = 0.1, high = 3, log = true}   # a float range (log-uniform)
  "model.q" = {low = 3, high = 6}                  # an integer range (integer low and high)
  "distill.objective" = ["theorem", "logits"]      # a choice list (pairs: [[1, 2], [1, 3]])
the rest of the file is the base config, as for `check`. Patterns select the theorems'
predictions; a control (T3.teacher, T4.twin, ...) is required only when named by its exact id.
  first = ["T3.single"]                           # optional: required predictions that count
                                                  # first (the claims before their controls)
Not searchable: train.devices, train.engine, train.dtype, model.learned_factor.
--seed S: the base seeds S .. S+B-1 of every trial, and the seed of the TPE sampler.
A prediction holds on a base seed where its check.json entry says so: its "verdict" field
(holds / fails / inconclusive) where the file has one, else its plain "holds" (true / false /
null = inconclusive). Score: the required predictions that hold on every base seed; the
fraction of (prediction, base seed) pairs that hold breaks ties; optuna maximises score +
fraction. With `first`: the `first` predictions held on every base seed count before the
score (trials ordered by first, then score, then fraction), so that a trial with no gain
cannot win on controls that hold wherever nothing gains.
Trials: OUT/seed-<b>/<key>.json (sweep's point files), OUT/search.db, OUT/search.json."""


def read_space(path: str | Path) -> dict:
    """The `search` table of a --config file ({} when it has none)."""
    from .config import read_tree

    table = read_tree(path).get("search", {})
    if not isinstance(table, dict):
        raise ConfigError(f"search: in {str(path)!r} must be a table of SECTION.FIELD = range "
                          "or choices, and require = [...]")
    return table


def _flat(table: dict) -> dict:
    """TOML reads an unquoted model.q = {...} as model = {q = {...}}: back to "model.q"."""
    out = {}
    for k, v in table.items():
        if k in SECTIONS and isinstance(v, dict):
            out.update({f"{k}.{n}": w for n, w in v.items()})
        else:
            out[k] = v
    return out


def parse_space(table: dict, cfg: Config, L: int, require=None, first=None) -> Space:
    """Check a [search] table against the base config `cfg` before any work: each field known
    and searchable, a range with low < high (low > 0 with log; integers for an integer field),
    a non-empty list of distinct valid choices; `require` (the table's, unless given) a
    non-empty list of patterns each of which names a prediction of `theory.predictions(L)`;
    `first` (the table's, unless given; optional) patterns each naming a required one."""
    if not isinstance(table, dict):
        raise ConfigError(f"search: value {table!r} is not allowed; allowed: a table of "
                          "SECTION.FIELD = range or choices, and require = [...]")
    table = _flat(table)
    req = table.pop("require", None) if require is None else require
    table.pop("require", None)
    fst = table.pop("first", None) if first is None else first
    table.pop("first", None)
    fields = tuple(_field(key, spec, cfg) for key, spec in table.items())
    if not fields:
        raise ConfigError("search: value {} is not allowed; allowed: at least one field, e.g. "
                          "\"model.varrho\" = {low = 0.5, high = 3}")
    req = required_patterns(req, L)
    return Space(fields, tuple(req), tuple(first_patterns(fst, req, L)))


def _type(key: str):
    section, name = key.split(".", 1)
    return typing.get_type_hints(SECTIONS[section])[name]


def _field(key: str, spec, cfg: Config) -> Field:
    where = f"search.{key}"
    section, _, name = key.partition(".")
    if section not in SECTIONS or name not in [f.name for f in dc_fields(SECTIONS[section])]:
        raise ConfigError(f"{where}: unknown field; allowed: SECTION.FIELD with SECTION in "
                          f"{', '.join(SECTIONS)} (e.g. model.varrho)")
    if key in NOT_SEARCHABLE:
        raise ConfigError(f"{where}: not a searchable field ({NOT_SEARCHABLE[key]}); allowed: a "
                          "field that changes what is trained")
    kind = _type(key)
    if isinstance(spec, list):
        if not spec:
            raise ConfigError(f"{where}: value [] is not allowed; allowed: a non-empty list of "
                              "choices")
        typed = []
        for v in spec:
            t = _valid(cfg, key, v)
            if t in typed:
                raise ConfigError(f"{where}: value {v!r} is not allowed; allowed: distinct "
                                  f"choices ({t!r} is given twice)")
            typed.append(t)
        return Field(key, choices=tuple(typed))
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: value {spec!r} is not allowed; allowed: a range {{low = "
                          "..., high = ...[, log = true]}} or a list of choices")
    extra = set(spec) - RANGE_KEYS
    if extra or not {"low", "high"} <= set(spec):
        raise ConfigError(f"{where}: value {spec!r} is not allowed; allowed: a range with keys "
                          f"low, high and optionally log (unknown or missing: "
                          f"{', '.join(sorted(extra or {'low', 'high'} - set(spec)))})")
    if kind not in (int, float):
        raise ConfigError(f"{where}: a range is not allowed for this field (it is not a "
                          "number); allowed: a list of choices")
    low, high, log = spec["low"], spec["high"], spec.get("log", False)
    integer = kind is int
    for bound, v in (("low", low), ("high", high)):
        ok = isinstance(v, int) if integer else isinstance(v, (int, float))
        if isinstance(v, bool) or not ok or not math.isfinite(v):
            raise ConfigError(f"{where}.{bound}: value {v!r} is not allowed; allowed: "
                              + ("an integer" if integer else "a finite number"))
    if not isinstance(log, bool):
        raise ConfigError(f"{where}.log: value {log!r} is not allowed; allowed: true or false")
    if not low < high:
        raise ConfigError(f"{where}: values low={low!r}, high={high!r} are not allowed; "
                          "allowed: low < high")
    if log and low <= 0:
        raise ConfigError(f"{where}.low: value {low!r} is not allowed with log = true; allowed: "
                          "low > 0")
    _valid(cfg, key, low)
    _valid(cfg, key, high)
    return Field(key, low if integer else float(low), high if integer else float(high), log,
                 integer=integer)


def _valid(cfg: Config, key: str, v):
    """The typed value of `v` for field `key` (override's validation; its error names it)."""
    try:
        return _get(override(cfg, {key: v}), key)
    except ConfigError as e:
        raise ConfigError(f"search.{key}: {e}") from None


def required_patterns(require, L: int) -> list[str]:
    """`require`: a non-empty list of ids or patterns, each naming at least one prediction."""
    from .theory import predictions

    if isinstance(require, str):
        require = [r.strip() for r in require.split(",") if r.strip()]
    if not isinstance(require, (list, tuple)) or not require or \
            not all(isinstance(r, str) and r for r in require):
        raise ConfigError(f"search.require: value {require!r} is not allowed; allowed: a "
                          "non-empty list of prediction ids or patterns, e.g. [\"T1.*\"]")
    preds = predictions(L)
    for r in require:
        if not _matching(preds, [r]):
            raise ConfigError(f"search.require: pattern {r!r} names no prediction; allowed: "
                              f"ids or patterns of {', '.join(p.id for p in preds)} (a control "
                              "only by its exact id)")
    return list(require)


def first_patterns(first, require, L: int) -> list[str]:
    """`first`: None or [] (none), or a list of ids or patterns each naming at least one of the
    predictions `require` names."""
    if first is None:
        return []
    if isinstance(first, str):
        first = [r.strip() for r in first.split(",") if r.strip()]
    if not isinstance(first, (list, tuple)) or \
            not all(isinstance(r, str) and r for r in first):
        raise ConfigError(f"search.first: value {first!r} is not allowed; allowed: a list of "
                          "required prediction ids or patterns, e.g. [\"T3.single\"]")
    required = required_ids(require, L)
    for r in first:
        if not [i for i in required_ids([r], L) if i in required]:
            raise ConfigError(f"search.first: pattern {r!r} names no required prediction; "
                              f"allowed: ids or patterns of {', '.join(required)}")
    return list(first)


def first_ids(first, required: list[str], L: int) -> list[str]:
    """The ids of `required` that the `first` patterns name, in theory.predictions' order."""
    return [i for i in required_ids(first or [], L) if i in required]


def _matching(preds, patterns) -> list:
    """Predictions named by the patterns: a control only by its exact id."""
    return [p for p in preds
            if any(p.id == r or (not p.control and fnmatch.fnmatchcase(p.id, r))
                   for r in patterns)]


def required_ids(patterns, L: int) -> list[str]:
    """The prediction ids the patterns require, in theory.predictions' order."""
    from .theory import predictions

    return [p.id for p in _matching(predictions(L), patterns)]


def methods_needed(patterns, L: int) -> list[str]:
    """The methods the required predictions need (`needs`, and the first of `needs_any`);
    labels_alone is the students' baseline, trained with any student method."""
    from .methods import METHODS
    from .theory import predictions

    out = []
    for p in _matching(predictions(L), patterns):
        out += [n for n in p.needs if n in METHODS]
        if p.needs_any and not any(n in out for n in p.needs_any):
            out.append(p.needs_any[0])
    return canonical_methods(out)


def check_methods(methods, patterns, L: int) -> list[str]:
    """Refuse --methods that leave a required prediction unmeasured."""
    methods = canonical_methods(methods)
    need = methods_needed(patterns, L)
    missing = [m for m in need if m not in methods]
    if missing:
        raise ConfigError(f"--methods: value {','.join(methods)!r} is not allowed; allowed: "
                          f"methods that include {','.join(need)} (the required predictions "
                          f"need {','.join(missing)})")
    return methods


def prepare(cfg: Config, space, L: int, B: int, seed: int, methods=None, require=None,
            force_size: bool = False, first=None) -> dict:
    """What the command line and `mv.search` check before any work, as run_search's first
    arguments: the space (a [search] table, or the --config file holding one) parsed on the
    base config `cfg`, the methods (default: what the required predictions need; given ones
    must include them), L, the base seeds seed .. seed + B - 1, and the memory guard of a
    trial's config."""
    from .config import SEED_MAX
    from .errors import need, subset
    from .methods import METHOD_NAMES
    from .size import guard

    from . import inputs     # the validator every door shares (numpy integers accepted)

    L, B, seed = inputs.count(L, "seeds"), inputs.count(B, "base_seeds"), inputs.seed(seed)
    need(seed + B - 1 <= SEED_MAX, "seed", seed,
         f"0 <= seed and seed + base_seeds - 1 <= {SEED_MAX}")
    table = read_space(space) if isinstance(space, (str, Path)) else space
    sp = parse_space(table, cfg, L, require, first)
    if methods is None:
        methods = methods_needed(sp.require, L)
    else:
        methods = check_methods(subset(methods if isinstance(methods, str) else list(methods),
                                       METHOD_NAMES, "--methods"), sp.require, L)
    return {"cfg": cfg, "space": sp, "methods": methods, "L": L,
            "base_seeds": list(range(seed, seed + B)),
            "size_guard": lambda c: guard(c, L, force_size)}


# --- the study: its definition, storage and trials ----------------------------------------

def definition(cfg: Config, space: Space, methods, L: int, base_seeds: list[int],
               seed: int) -> dict:
    """What a search is (refused when a folder or study holds another): the space, the
    required patterns, methods, seeds, base seeds, sampler seed and the base config without the
    searched fields."""
    s = study(cfg, [f.name for f in space.fields], methods, L, base_seeds[0])
    first = {"first": list(space.first)} if space.first else {}   # absent: as before `first`
    return json.loads(json.dumps(plain({
        "space": {f.name: f.spec() for f in space.fields}, "require": list(space.require),
        **first, "methods": s["methods"], "seeds": L, "base_seeds": list(base_seeds),
        "seed": seed, "base": s["base"]})))


WORDS = {"space": "fields and ranges", "require": "required predictions",
         "first": "predictions counted first", "base": "base config",
         "base_seeds": "base seeds", "seed": "sampler seed"}


def _differences(a: dict, b: dict) -> str:
    """'its X and Y differ' for the parts of two definitions that differ."""
    parts = [WORDS.get(k, k) for k in {**a, **b} if a.get(k) != b.get(k)] or ["definition"]
    return f"its {' and '.join(parts)} differ" + ("s" if len(parts) == 1 else "")


def claim(out: Path, mine: dict, flag: str = "--out") -> None:
    """Refuse a folder whose search.json or point folders belong to another search or study."""
    path = out / "search.json"
    if path.exists():
        try:
            theirs = json.loads(path.read_text()).get("definition")
        except (OSError, ValueError, AttributeError):
            theirs = None
        if theirs is not None and theirs != mine:
            raise ConfigError(f"{flag}: value {str(out)!r} is not allowed: it holds another "
                              f"search ({_differences(mine, theirs)}); allowed: "
                              "another --out, or the same [search] table, require, first, base "
                              "config, methods, seeds, base seeds and seed")
    fields = list(mine["space"])
    for b in mine["base_seeds"]:
        folder = out / f"seed-{b}"
        if folder.is_dir():
            base = {s: dict(v) for s, v in mine["base"].items()}
            claim_sweep_dir(folder, {"fields": sorted(fields), "methods": mine["methods"],
                                     "seeds": mine["seeds"], "seed": b, "base": base}, flag)


def storage_url(out: Path, storage: str | None) -> str:
    """--storage, or the SQLite file OUT/search.db."""
    return storage or f"sqlite:///{(out / 'search.db').resolve()}"


def open_study(url: str, name: str, mine: dict, seed: int, flag: str = "--storage"):
    """The optuna study `name` at `url` (created with the definition, or loaded and checked
    against it); TPE seeded by `seed` and the number of trials already there, so a resumed
    search draws what it drew last time from the same history."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        st = optuna.create_study(storage=url, study_name=name, direction="maximize",
                                 load_if_exists=True)
    except Exception as e:      # sqlalchemy's errors: a URL no database answers at
        raise ConfigError(f"{flag}: value {url!r}: cannot open an optuna study there "
                          f"({type(e).__name__}: {str(e).splitlines()[0][:200]})") from None
    theirs = st.user_attrs.get("multiview")
    if theirs is None:
        if st.trials:
            raise ConfigError(f"{flag}: study {name!r} at {url!r} is not a multiview search; "
                              "allowed: another --study or --storage")
        st.set_user_attr("multiview", mine)
    elif theirs != mine:
        raise ConfigError(f"{flag}: study {name!r} at {url!r} is another search ("
                          f"{_differences(mine, theirs)}); allowed: another --out, "
                          "--storage or --study, or the same definition")
    st.sampler = optuna.samplers.TPESampler(seed=(seed * 1_000_003 + len(st.trials)) % 2**32)
    return st


def _alive(trial) -> bool:
    """Whether a RUNNING trial's process may still run it: another host's (unknown: yes), or a
    live process of this host."""
    host, pid = trial.user_attrs.get("host"), trial.user_attrs.get("pid")
    if host != socket.gethostname():
        return True
    if not isinstance(pid, int) or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover(st, log: Callable[[str], None]) -> int:
    """Discard the trials a dead process of this host left RUNNING (FAIL, "discarded") and
    propose every discarded trial again (enqueued with its parameters, once): its finished
    points are read back. Returns the number enqueued."""
    from optuna.trial import TrialState

    for t in st.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if not _alive(t):
            # a finished process's trial: optuna's public Trial handle needs the live study
            st._storage.set_trial_user_attr(t._trial_id, "discarded", "stale: its process ended")
            st.tell(t.number, state=TrialState.FAIL, skip_if_finished=True)
            log(f"search: trial {t.number} was left running by a process that ended; "
                "discarded, proposed again")
    trials = st.get_trials(deepcopy=False)
    replaced = {t.user_attrs.get("replaces") for t in trials}
    n = 0
    for t in trials:
        if t.state == TrialState.FAIL and "discarded" in t.user_attrs and t.number not in replaced:
            st.enqueue_trial(t.params, user_attrs={"replaces": t.number})
            n += 1
    return n


def _counted(st) -> int:
    """Trials that count towards --trials: finished (complete or failed, not discarded) and
    running in a live process."""
    from optuna.trial import TrialState

    n = 0
    for t in st.get_trials(deepcopy=False):
        if t.state == TrialState.COMPLETE or (t.state == TrialState.FAIL
                                              and "discarded" not in t.user_attrs):
            n += 1
        elif t.state == TrialState.RUNNING and _alive(t):
            n += 1
    return n


# --- one trial: its points, its score -----------------------------------------------------

def held(prediction: dict) -> str:
    """A prediction's state on one base seed: "holds", "fails" or "inconclusive", from its
    `verdict` where check.json has one, else its plain `holds` (null: inconclusive)."""
    verdict = prediction.get("verdict")
    if verdict in ("holds", "fails", "inconclusive"):
        return verdict
    return {True: "holds", False: "fails"}.get(prediction.get("holds"), "inconclusive")


def score(results: list[dict], required: list[str], first: list[str] = ()) -> dict:
    """The score of a trial from its check.json results (one per base seed): per required
    prediction its state on each base seed, `score` (held on every base seed), `fraction`
    (of prediction x base seed pairs held), `first` (of the ids `first`, those held on every
    base seed) and `value` = first (R + 1) + score + fraction (what optuna maximises; it orders
    trials as (first, score, fraction) does, since score + fraction < R + 1)."""
    states = {}
    for pid in required:
        row = []
        for res in results:
            p = next((q for q in res["predictions"] if q["id"] == pid), None)
            row.append("missing" if p is None else held(p))
        states[pid] = row
    s = sum(all(v == "holds" for v in row) for row in states.values())
    pairs = [v for row in states.values() for v in row]
    fraction = sum(v == "holds" for v in pairs) / len(pairs) if pairs else 0.0
    f = sum(all(v == "holds" for v in states[pid]) for pid in first)
    return {"predictions": states, "score": s, "fraction": fraction, "first": f,
            "value": f * (len(required) + 1) + s + fraction}


def trial_config(cfg: Config, params: dict) -> Config:
    """The base config with a trial's values (optuna's, choices decoded)."""
    return override(cfg, {k: _unchoice(v) for k, v in params.items()})


def point_file(out: Path, b: int, key: str) -> Path:
    return out / f"seed-{b}" / f"{key}.json"


def check_command(cfg: Config, L: int, seed: int, methods, preset_name: str = "small") -> str:
    """The `multiview check` command that computes this point: the preset, and every field
    that differs from it as --set (values as they read back exactly)."""
    base, mine = preset(preset_name).to_dict(), cfg.to_dict()
    sets = []
    for section, values in mine.items():
        for name, v in values.items():
            if v != base[section][name] and name != "devices":
                text = ",".join(repr(x) for x in v) if isinstance(v, (tuple, list)) else \
                    repr(v) if isinstance(v, float) else str(v)
                sets.append(f"--set {section}.{name}={text}")
    return " ".join(["multiview check"] + ([] if preset_name == "small" else
                                           [f"--preset {preset_name}"]) + [*sets, f"--seeds {L}", f"--seed {seed}",
                     f"--methods {','.join(canonical_methods(methods))}"])


@dataclass
class Trial:
    """A trial under way: its optuna trial, config, typed values, and its points' records."""

    trial: object
    cfg: Config | None
    values: dict
    records: dict          # base seed -> the point record
    error: str | None = None


# --- the search ---------------------------------------------------------------------------

def run_search(cfg: Config, space: Space, methods, L: int, base_seeds: list[int], out, *,
               trials: int, seed: int = 0, storage: str | None = None, name: str = STUDY,
               progress: bool = True, log: Callable[[str], None] | None = None,
               cluster: str | None = None, parallel: int = 1,
               size_guard: Callable[[Config], None] | None = None,
               preset_name: str = "small", stages: str | Path | None = None) -> dict:
    """Run (or resume) the search until `trials` trials are finished; return the summary, also
    written to OUT/search.json after every trial. Each trial is one `check` point per base
    seed (OUT/seed-<b>/<key>.json); points on disk are read back, not recomputed. cluster:
    the Ray address whose tasks compute the points (multiview/cluster.py), `parallel` trials
    at a time; None computes them here, one trial at a time. size_guard(cfg) refuses a trial's
    config that the machine cannot hold (a ConfigError: the trial fails). preset_name: the
    preset the printed `check` commands start from. stages: the folder of finished stages
    (results/stages.py) every point shares and keeps, so that trials which differ only in
    distill.* train their single models, twins and sums once per base seed; None: each point
    computed here keeps its own in OUT/stages/POINT_KEY, removed once the point is written (on
    Ray: none kept). Either way an interrupted point resumes from its last finished stage."""
    from optuna.trial import TrialState
    from .progress import bar as progress_bar

    log = log or (lambda msg: print(msg, file=sys.stderr))
    out = Path(out)
    methods = canonical_methods(methods)
    required = required_ids(space.require, L)
    first = first_ids(space.first, required, L)
    mine = definition(cfg, space, methods, L, base_seeds, seed)
    out.mkdir(parents=True, exist_ok=True)
    claim(out, mine)                    # another search's folder: refused before any work
    url = storage_url(out, storage)
    st = open_study(url, name, mine, seed)
    recover(st, log)
    dists = {f.name: f.distribution() for f in space.fields}
    counts = {"computed": 0, "cached": 0, "corrupt": []}
    t0 = time.perf_counter()

    def summary():
        return write_summary(out, st, cfg, mine, required, base_seeds, methods, L, url, name,
                             {**counts, "seconds": time.perf_counter() - t0}, preset_name)

    def start() -> Trial:
        tr = st.ask(dists)
        tr.set_user_attr("host", socket.gethostname())
        tr.set_user_attr("pid", os.getpid())
        try:
            c = trial_config(cfg, tr.params)
            if size_guard is not None:
                size_guard(c)
        except ConfigError as e:
            return Trial(tr, None, dict(tr.params), {}, f"invalid config: {e}")
        values = {f.name: _get(c, f.name) for f in space.fields}
        rec = {}
        for b in base_seeds:
            key = point_key(c, methods, L, b)
            corrupt: list[str] = []
            record = cached_point(point_file(out, b, key).parent, key, c, methods, log, corrupt)
            counts["corrupt"] += corrupt
            if record is not None:
                rec[b] = record
                counts["cached"] += 1
        return Trial(tr, c, values, rec)

    def finish(t: Trial) -> None:
        tr = t.trial
        if t.error is None and len(t.records) == len(base_seeds):
            results = [t.records[b]["result"] for b in base_seeds]
            sc = score(results, required, first)
            tr.set_user_attr("predictions", sc["predictions"])
            tr.set_user_attr("score", sc["score"])
            tr.set_user_attr("first", sc["first"])
            tr.set_user_attr("fraction", sc["fraction"])
            tr.set_user_attr("points", [t.records[b]["key"] for b in base_seeds])
            st.tell(tr, sc["value"])
        else:
            tr.set_user_attr("error", t.error or "incomplete")
            st.tell(tr, state=TrialState.FAIL)
            log(f"search: trial {tr.number} {t.values} failed: {t.error}")

    def store(t: Trial, b: int, result) -> None:
        if isinstance(result, str):
            t.error = t.error or f"base seed {b}: {result}"
            return
        key = point_key(t.cfg, methods, L, b)
        path = write_point(out / f"seed-{b}", key, t.values, methods, L, b, result)
        t.records[b] = json.loads(path.read_text())
        counts["computed"] += 1

    bar = progress_bar(total=trials, initial=min(_counted(st), trials), desc="search",
                       unit="trial", disable=not progress, dynamic_ncols=True)
    open_: list[Trial] = []
    try:
        while _counted(st) < trials:
            wave = max(1, min(parallel, trials - _counted(st)))
            open_ = []
            for _ in range(wave):
                open_.append(start())
            todo = [(t, b) for t in open_ if t.error is None for b in base_seeds
                    if b not in t.records]
            if cluster is None:
                for t, b in todo:
                    if t.error is not None:      # an earlier base seed diverged
                        continue
                    bar.set_postfix_str(f"trial {t.trial.number}, base seed {b}")
                    key = point_key(t.cfg, methods, L, b)
                    store(t, b, compute_points([t.cfg], L, b, methods, progress=progress,
                                               desc=f"trial {t.trial.number} seed {b}",
                                               stages=point_stages(out, key, stages))[0])
                    if stages is None:           # written, or diverged (deterministic)
                        _drop_stages(out, key)
            elif todo:                         # Ray only for points not on disk
                from .cluster import run_on_ray
                outcomes = run_on_ray(cluster, [[t.cfg] for t, _ in todo], L,
                                      [b for _, b in todo], methods, ray_compute(stages), log)
                try:
                    for n, results in outcomes:
                        store(todo[n][0], todo[n][1], results[0])
                finally:
                    outcomes.close()
            for t in open_:
                finish(t)
                bar.update(1)
            open_ = []
            summary()
    except BaseException:
        # an interrupt (or an error) with trials under way: discarded cleanly, proposed again
        # with the same parameters by the next run (their finished points are on disk)
        for t in open_:
            try:
                t.trial.set_user_attr("discarded", "interrupted")
                st.tell(t.trial, state=TrialState.FAIL, skip_if_finished=True)
            except Exception:       # the storage itself failed: recover() finds it RUNNING
                pass
        raise
    finally:
        bar.close()
    return summary()


def read_trials(st) -> list[dict]:
    """Every trial of the study as search.json lists it."""
    out = []
    for t in st.get_trials(deepcopy=False):
        state = t.state.name.lower()
        if state == "fail" and "discarded" in t.user_attrs:
            state = "discarded"
        done = state == "complete"       # a discarded trial may have been scored, not told
        out.append({"number": t.number, "state": state,
                    "params": {k: _unchoice(v) for k, v in t.params.items()},
                    "score": t.user_attrs.get("score") if done else None,
                    "fraction": t.user_attrs.get("fraction") if done else None,
                    "first": t.user_attrs.get("first", 0) if done else None,
                    "value": t.value if done else None,
                    "predictions": t.user_attrs.get("predictions", {}) if done else {},
                    "points": t.user_attrs.get("points", []) if done else [],
                    "error": t.user_attrs.get("error") or t.user_attrs.get("discarded")})
    return out


def best(trials: list[dict], n: int) -> list[dict]:
    """The n best complete trials: `first` (0 without it), then score, then fraction, then the
    earlier trial."""
    done = [t for t in trials if t["state"] == "complete"]
    return sorted(done, key=lambda t: (-(t.get("first") or 0), -t["score"], -t["fraction"],
                                       t["number"]))[:n]


def ranked(summary: dict, first=None) -> list[dict]:
    """The complete trials of a search.json ranked as a search with `first` (ids or patterns
    among its required predictions; default: the search's own) would rank them, from the
    states it recorded: no training. Each trial gains `first`, the count held on every base
    seed. How a finished search reads under another ranking (docs/search.md)."""
    L, required = summary["seeds"], summary["required"]
    if first is None:
        first = summary["definition"].get("first", [])
    ids = first_ids(first_patterns(first, required, L), required, L)
    out = []
    for t in summary["trials"]:
        if t["state"] == "complete":
            f = sum(all(v == "holds" for v in t["predictions"][i]) for i in ids)
            out.append({**t, "first": f})
    return best(out, len(out))


def write_summary(out: Path, st, cfg: Config, mine: dict, required: list[str], base_seeds: list[int],
                  methods, L: int, url: str, name: str, run: dict,
                  preset_name: str = "small") -> dict:
    """OUT/search.json: the definition and every trial (with its `check` commands)."""
    trials = read_trials(st)
    for t in trials:
        try:
            c = trial_config(cfg, t["params"])
            t["commands"] = [check_command(c, L, b, methods, preset_name) for b in base_seeds]
        except ConfigError:
            t["commands"] = []
    states = [t["state"] for t in trials]
    summary = {
        "format": "multiview.search/1", "definition": mine, "space": mine["space"],
        "require": mine["require"], "required": required,
        **({"first": first_ids(mine["first"], required, L)}
           if mine.get("first") else {}),
        "methods": list(methods),
        "seeds": L, "base_seeds": list(base_seeds), "seed": mine["seed"],
        "base_config": mine["base"], "study": name,
        "storage": url if url.startswith("sqlite") else url.split("://")[0] + "://...",
        "trials": trials, "best": [t["number"] for t in best(trials, 5)],
        "run": {**run, "complete": states.count("complete"), "failed": states.count("fail"),
                "discarded": states.count("discarded"), "running": states.count("running")},
    }
    write_json(summary, out, "search.json")
    return summary


# --- the printed table --------------------------------------------------------------------

def format_best(summary: dict, n: int = 5) -> str:
    """The n best trials: number, score, fraction held, the searched values; under each, the
    `multiview check` command of its first base seed."""
    fields = list(summary["space"])
    top = best(summary["trials"], n)
    R, F = len(summary["required"]), len(summary.get("first", []))
    w = {f: max(10, len(f) + 2) for f in fields}
    head = f"{'trial':>6}" + (f"{'first':>8}" if F else "") + f"{'score':>8}{'held':>7}" + \
        "".join(f"{f:>{w[f]}}" for f in fields)
    lines = [head, "-" * len(head)]
    for t in top:
        vals = "".join(f"{_fmt(t['params'].get(f)):>{w[f]}}" for f in fields)
        fst = f"{t.get('first') or 0:>5}/{F:<2}" if F else ""
        lines.append(f"{t['number']:>6}{fst}{t['score']:>5}/{R:<2}{t['fraction']:>7.2f}{vals}")
        if t.get("commands"):
            lines.append(f"       {t['commands'][0]}")
    if not top:
        lines.append("(no complete trial)")
    b = summary["base_seeds"]
    lines.append((f"(first: of {', '.join(summary['first'])}, those held on all {len(b)} "
                  "base seeds, ranked before the score; " if F else "(") +
                 f"score: required predictions held on all {len(b)} base seeds; held: "
                 f"fraction of prediction x base seed pairs; each command is for base seed "
                 f"{b[0]}" + (f", repeat with --seed {', '.join(map(str, b[1:]))}" if
                              len(b) > 1 else "") + ")")
    return "\n".join(lines)


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)

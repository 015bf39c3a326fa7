"""Result files: the one place that writes and reads them.

Writers are atomic (a temporary file in the target folder, fsync'ed, then renamed over the
target; the temporary file is removed on any exit, Ctrl-C included), JSON is strict (NaN and
infinities become null, `allow_nan=False`). Readers check what they read: a file of the wrong
kind is a ConfigError that says what the file is and what was expected. `probe_dir` /
`probe_file` check an output path before any work starts.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ConfigError, subset

# --- strict JSON ----------------------------------------------------------------------------


def plain(obj):
    """`obj` as plain JSON data: numpy arrays and scalars become lists and numbers, tuples
    lists, and every NaN or infinity None (strict JSON has no NaN)."""
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return plain(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if obj is None or isinstance(obj, str):
        return obj
    if hasattr(obj, "__array__"):          # a jax array
        return plain(np.asarray(obj))
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")


def dumps(obj, **kw) -> str:
    """Strict JSON text of `obj` (see `plain`)."""
    return json.dumps(plain(obj), allow_nan=False, **kw)


# --- atomic writes --------------------------------------------------------------------------

def _named(e: OSError, path: Path) -> OSError:
    """`e` with the file the user asked for as its filename (not the temporary one): a full
    disk reads "No space left on device: 'OUT/check.json'"."""
    return OSError(e.errno, e.strerror or str(e), str(path))


def _discard(tmps) -> None:
    for tmp in tmps:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass


@contextmanager
def atomic_files(paths, mode: str = "w"):
    """Open one temporary file beside each of `paths`; on success fsync them all, then rename
    them to `paths` (both files of a pair, or neither). On any exception (KeyboardInterrupt
    and the signals of `process` included) every temporary file is removed and the old files
    stay as they were; an OSError names the target file."""
    paths = [Path(p) for p in paths]
    tmps, files, current = [], [], paths[0]
    try:
        umask = os.umask(0)
        os.umask(umask)
        for p in paths:
            current = p
            p.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
            tmps.append(tmp)
            os.chmod(tmp, 0o666 & ~umask)        # mkstemp's 0600 -> what open() would give
            files.append(os.fdopen(fd, mode))
        current = paths[0] if len(paths) == 1 else None
        yield files
        for f, p in zip(files, paths):
            current = p
            f.flush()
            os.fsync(f.fileno())
            f.close()
        for tmp, p in zip(tmps, paths):
            current = p
            os.replace(tmp, p)
    except BaseException as e:
        for f in files:
            try:
                f.close()
            except OSError:
                pass
        _discard(tmps)
        if isinstance(e, OSError):
            if current is None:          # raised by the caller's writes: named by it, or all
                if e.filename in [str(p) for p in paths]:
                    raise
                current = Path(", ".join(map(str, paths)))
            raise _named(e, current) from None
        raise


@contextmanager
def atomic_file(path: str | Path, mode: str = "w"):
    """Open a temporary file beside `path`; on success fsync it and rename it to `path`. On
    any exception (KeyboardInterrupt included) the temporary file is removed."""
    with atomic_files([path], mode) as (f,):
        yield f


def write_together(contents: dict) -> list[Path]:
    """Write {path: bytes} atomically as one: every file, or (on any error) none of them."""
    paths = [Path(p) for p in contents]
    with atomic_files(paths, "wb") as files:
        for f, p, data in zip(files, paths, contents.values()):
            try:
                f.write(data)
                f.flush()
            except OSError as e:
                raise _named(e, p) from None
    return paths


def write_json(result: dict, out_dir: str | Path, name: str = "check.json") -> Path:
    """Write OUT_DIR/name as strict, indented JSON, atomically. A result of a known kind
    (check.json, train.json, ...: FILE_NAMES) gets its `format` key first when it has none."""
    path = Path(out_dir) / name
    kind = FILE_NAMES.get(name)
    if kind is not None and isinstance(result, dict) and "format" not in result:
        result = {"format": FORMATS[kind], **result}
    text = dumps(result, indent=2)
    with atomic_file(path) as f:
        f.write(text)
    return path


def save_npz(path: str | Path, **arrays) -> Path:
    """np.savez_compressed to exactly `path` (no suffix added), atomically."""
    path = Path(path)
    with atomic_file(path, "wb") as f:
        np.savez_compressed(f, **arrays)
    return path


# --- output paths, checked before the work ----------------------------------------------------

def _writable(folder: Path, flag: str, value) -> None:
    """Create and remove a probe file in the existing folder `folder`."""
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".probe.", suffix=".tmp")
        os.close(fd)
        os.unlink(tmp)
    except OSError as e:
        raise ConfigError(f"{flag}: value {str(value)!r} is not allowed; allowed: a writable "
                          f"location ({folder}: {e.strerror})") from None


def probe_dir(path: str | Path, flag: str = "--out") -> Path:
    """Check that `path` is, or can be created as, a writable directory (nothing is created)."""
    if not str(path).strip():      # Path('') is the current directory: never meant
        raise ConfigError(f"{flag}: value {str(path)!r} is not allowed; allowed: a directory "
                          f"path (give . for the current directory)")
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise ConfigError(f"{flag}: value {str(path)!r} is not allowed; allowed: a directory "
                          f"(it is an existing file)")
    probe = p
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise ConfigError(f"{flag}: value {str(path)!r} is not allowed; allowed: a directory "
                          f"path ({str(probe)!r} is a file)")
    _writable(probe, flag, path)
    return p


def probe_file(path: str | Path, flag: str, force: bool = True) -> Path:
    """Check that file `path` can be written: not a directory, a writable folder above it, and
    (unless `force`) not an existing file."""
    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"{flag}: value {str(path)!r} is not allowed; allowed: a file path "
                          f"(it is a directory)")
    if p.exists() and not force:
        raise ConfigError(f"{flag}: value {str(path)!r} is not allowed; allowed: a new file "
                          f"(it exists; give --force to overwrite it)")
    probe_dir(p.parent, flag)
    return p


# --- the kinds of result --------------------------------------------------------------------

# kind -> (what it is called, the command that writes it)
KINDS = {
    "check": ("check.json", "multiview check"),
    "sweep": ("sweep.json", "multiview sweep"),
    "point": ("sweep point file", "multiview sweep"),
    "dose": ("dose.json", "multiview dose"),
    "train": ("train.json", "multiview train"),
    "bench": ("bench.json", "multiview bench"),
    "cifar": ("cifar.json", "multiview cifar"),
    "stability": ("stability.json", "python experiments/make_figures.py --only stability"),
    "arrays": ("arrays .npz", "multiview arrays"),
    "params": ("params.npz", "multiview train"),
    "history": ("history.npz", "multiview train"),
    "data": ("data .npz", "multiview data --npz"),
    "search": ("search.json", "multiview search"),
}
# every result JSON names its kind in a top-level "format" key
FORMATS = {k: f"multiview.{'sweep.point' if k == 'point' else k}/1"
           for k in ("check", "sweep", "point", "dose", "train", "bench", "cifar", "stability",
                     "search")}
FILE_NAMES = {"check.json": "check", "sweep.json": "sweep", "dose.json": "dose",
              "train.json": "train", "bench.json": "bench", "cifar.json": "cifar",
              "stability.json": "stability", "search.json": "search"}
# files written before the "format" key: recognised by their fields
_OLD = (("check", lambda d: isinstance(d.get("methods"), dict)
         and isinstance(d.get("predictions"), list)),
        ("train", lambda d: "steps_run" in d and "final_train_acc" in d),
        ("bench", lambda d: "machine" in d and "train_step" in d),
        ("cifar", lambda d: "num_classes" in json.dumps(d.get("config", {}))))


def kind_of(tree) -> str | None:
    """The kind of a parsed result JSON (its "format" key, or for older files its fields);
    None when it is no result of ours."""
    if not isinstance(tree, dict):
        return None
    fmt = tree.get("format")
    if isinstance(fmt, str) and fmt.startswith("multiview."):
        name = fmt[len("multiview."):].split("/")[0]
        return "point" if name == "sweep.point" else name if name in KINDS else None
    for kind, test in _OLD:
        try:
            if test(tree):
                return kind
        except (TypeError, ValueError):
            pass
    return None


def _a(kind: str) -> str:
    name, made_by = KINDS[kind]
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name} of `{made_by}`"


def identify(tree) -> str:
    """What a parsed JSON result is, in words ('a train.json of `multiview train`')."""
    if isinstance(tree, dict):
        kind = kind_of(tree)
        return _a(kind) if kind else "a JSON object of no known result kind"
    return f"a JSON {type(tree).__name__}, not a result object"


# --- validation: what each kind must hold -----------------------------------------------------
# A spec is a type name ("num": a number or null, "int", "str", "bool?": true/false/null,
# "dict", "list", "any"), a dict of specs (a key ending in "?" is optional), {"*": spec} (any
# keys) or [spec] (a list of such items).

ACC = {q: "num" for q in ("train_acc", "test_acc", "test_acc_multi", "test_acc_single")}
METHOD = {**ACC, "std": ACC, "views": {"none": "num", "one": "num", "both": "num"},
          "per_model?": {"*": ["num"]}, "lam_over_varrho?": "num", "ci?": "any",
          "ci_kind?": "str"}
PREDICTION = {"id": "str", "method?": "str", "quantity?": "str", "measured": "num",
              "expected": ["num"], "holds": "bool?"}
CHECK = {"format?": "str", "config": "dict", "seed?": "int", "seeds": ["int"],
         "methods": {"*": METHOD}, "predictions": [PREDICTION], "diagnostics?": "dict",
         "run?": "dict"}
SUMMARY_POINT = {"grid": "dict", "key?": "str", "file?": "str", "methods": {"*": METHOD},
                 "labels_alone?": "any", "dark_knowledge?": "any",
                 "predictions": [{"id": "str", "measured": "num", "expected": ["num"],
                                  "holds": "bool?"}]}
SPECS = {
    "check": CHECK,
    "sweep": {"format": "str", "grid": {"*": "list"}, "methods?": ["str"], "seeds?": "int",
              "seed?": "int", "base_config?": "dict", "points": [SUMMARY_POINT],
              "failed?": "list", "run?": "dict"},
    "point": {"format": "str", "key": "str", "grid": "dict", "methods_run": ["str"],
              "L": "int", "seed": "int", "result": CHECK, "checksum": "str",
              "complete": "bool?"},
    "dose": {"format": "str", "config": {"distill": {"objective": "str"}, "*": "any"},
             "seed": "int", "L": "int",
             "teachers": [{"teacher": "str", "size": "int", "share_known": "num",
                           "share_gained": "num", "test_acc_single": "num", "std": "num",
                           "lam_over_varrho": "num"}],
             "labels_alone": {"test_acc_single": "num", "missing_pairs": "num"},
             "slope": "num", "student_steps?": "int", "run?": "dict"},
    "train": {"format?": "str", "config": "dict", "seed": "int", "seeds": ["int"],
              "steps_run": "int", "stopped_at": ["int"], "final_train_acc": ["num"]},
    "bench": {"format?": "str", "machine": "dict", "train_step": "dict"},
    "cifar": {"format?": "str", "config": "dict", "seeds": "list", "methods": "dict"},
    # runs.stability_of: the lottery under long training, per member at every chunk
    "stability": {"format": "str", "config": "dict", "seed": "int", "L": "int", "B": "num",
                  "factor": "num", "long_steps": "int", "member_fit_steps": ["int"],
                  "steps": ["int"], "both": [["num"]], "one": [["num"]],
                  "train_acc": [["num"]], "methods": {"*": "dict"}, "engine?": "str",
                  "seconds?": "num", "name?": "str"},
    # search.run_search: every trial, per required prediction its state on each base seed
    "search": {"format": "str", "definition": "dict", "space": {"*": "dict"},
               "require": ["str"], "required": ["str"], "methods": ["str"], "seeds": "int",
               "base_seeds": ["int"], "seed": "int", "base_config": "dict", "study?": "str",
               "storage?": "str", "best": ["int"], "run?": "dict",
               "trials": [{"number": "int", "state": "str", "params": "dict", "score": "num",
                           "fraction": "num", "value": "num", "predictions": {"*": ["str"]},
                           "points": ["str"], "error?": "any", "commands?": ["str"]}]},
}
_TYPES = {"num": "a number or null", "int": "an integer", "str": "a string",
          "bool?": "true, false or null", "dict": "an object", "list": "a list"}


class _Invalid(Exception):
    def __init__(self, where, value, expected):
        super().__init__(where, value, expected)
        self.where, self.value, self.expected = where, value, expected


def _describe(v) -> str:
    if v is None or isinstance(v, (dict, list)):
        return {type(None): "null", dict: "an object", list: "a list"}[type(v)]
    kind = ("the string" if isinstance(v, str) else "the boolean" if isinstance(v, bool)
            else "the number")
    return f"{kind} {json.dumps(v)[:40]}"


def _check(v, spec, where: str) -> None:
    if isinstance(spec, str):
        ok = {"num": lambda: v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)),
              "int": lambda: isinstance(v, int) and not isinstance(v, bool),
              "str": lambda: isinstance(v, str),
              "bool?": lambda: v is None or isinstance(v, bool),
              "dict": lambda: isinstance(v, dict), "list": lambda: isinstance(v, list),
              "any": lambda: True}[spec]()
        if not ok:
            raise _Invalid(where, v, _TYPES[spec])
    elif isinstance(spec, list):
        if not isinstance(v, list):
            raise _Invalid(where, v, "a list")
        for i, item in enumerate(v):
            _check(item, spec[0], f"{where}[{i}]")
    else:
        if not isinstance(v, dict):
            raise _Invalid(where, v, "an object")
        for key, sub in spec.items():
            if key == "*":
                continue
            name = key.rstrip("?")
            if name not in v:
                if not key.endswith("?"):
                    raise _Invalid(f"{where}.{name}".lstrip("."), None, "present (it is missing)")
                continue
            _check(v[name], sub, f"{where}.{name}".lstrip("."))
        if "*" in spec:
            for name, item in v.items():
                if name not in spec and name + "?" not in spec:
                    _check(item, spec["*"], f"{where}.{name}".lstrip("."))


def validate(kind: str, tree, where: str = "") -> None:
    """Raise ConfigError `WHERE: FIELD is VALUE; expected ...` unless `tree` holds what a
    result of `kind` must (SPECS, and the cross-checks of its kind)."""
    try:
        if kind in SPECS:
            _check(tree, SPECS[kind], "")
        if kind == "sweep":
            grid = tree["grid"]
            for i, p in enumerate(tree["points"]):
                for f, values in grid.items():
                    if p["grid"].get(f) not in values:
                        raise _Invalid(f"points[{i}].grid.{f}", p["grid"].get(f),
                                       f"one of the grid's values {values}")
        if kind in ("check", "point"):
            preds = (tree["result"] if kind == "point" else tree)["predictions"]
            for i, p in enumerate(preds):
                if len(p["expected"]) != 2:
                    raise _Invalid(f"predictions[{i}].expected", p["expected"], "[low, high]")
        if kind == "stability":
            for name in ("both", "one", "train_acc"):
                rows = tree[name]
                if len(rows) != len(tree["steps"]):
                    raise _Invalid(name, rows, f"one row per step ({len(tree['steps'])} rows)")
                for i, row in enumerate(rows):
                    if len(row) != tree["L"]:
                        raise _Invalid(f"{name}[{i}]", row, f"one value per member (L = {tree['L']})")
    except _Invalid as e:
        if e.expected.startswith("present"):
            what = f"has no field {e.where!r}"
        else:
            what = f"has {e.where} = {_describe(e.value)}; expected {e.expected}"
        name = KINDS[kind][0]
        raise ConfigError(f"{where}is not a valid {name}: it {what}") from None


# --- loading ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Loaded:
    """A result file read back: its kind (KINDS), path, validated content (a dict, or the
    arrays of an .npz) and `frame()`, the content as a table."""

    kind: str
    path: Path
    content: Any

    def frame(self):
        """The result as a table: a pandas DataFrame (a list of dicts without pandas). A check:
        one row per method; a sweep: one row per point x method, with the per-model values;
        a dose: one row per teacher; a train.json: one row per member."""
        rows = table_rows(self.kind, self.content)
        try:
            import pandas as pd
        except ImportError:
            return rows
        return pd.DataFrame(rows)


def _in_dir(folder: Path, kind: str | None, flag: str) -> Path:
    if kind is not None:
        name = KINDS[kind][0]
        if " " in name:                     # a description ("arrays .npz"): no fixed file name
            raise ConfigError(f"{flag}: {str(folder)!r} is a folder; expected {_a(kind)}")
        return folder / name
    for name in FILE_NAMES:
        if (folder / name).is_file():
            return folder / name
    raise ConfigError(f"{flag}: {str(folder)!r} holds no result file (one of "
                      f"{', '.join(FILE_NAMES)})")


def load(path: str | Path, kind: str | None = None, flag: str = "--in") -> Loaded:
    """Read and validate the result at `path` (a file, or a folder holding one); with `kind`,
    only a result of that kind is accepted. A missing, damaged, truncated or foreign file is
    one ConfigError naming the path and what is wrong."""
    p = Path(path)
    if p.is_dir():
        p = _in_dir(p, kind, flag)
    if not p.is_file():
        hint = f" (run `{KINDS[kind][1]}` first)" if kind else ""
        raise ConfigError(f"{flag}: {str(p)!r} not found{hint}")
    if p.suffix == ".npz" or kind in ("arrays", "params", "history", "data"):
        found, content = _read_npz(p, kind, flag)
    else:
        found, content = _read_json(p, kind, flag)
    return Loaded(found, p, content)


def _read_json(p: Path, kind: str | None, flag: str):
    expected = f"; expected {_a(kind)}" if kind else ""
    try:
        tree = json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{flag}: {str(p)!r} is not a JSON result ({e}){expected}") from None
    except OSError as e:
        raise ConfigError(f"{flag}: {str(p)!r} cannot be read ({e.strerror})") from None
    found = kind_of(tree)
    if found is None or (kind is not None and found != kind):
        raise ConfigError(f"{flag}: {str(p)!r} is {identify(tree)}"
                          + (expected or "; expected a result of multiview"))
    fmt = tree.get("format")
    if fmt is not None and fmt != FORMATS.get(found):
        raise ConfigError(f"{flag}: {str(p)!r} has format {fmt!r}; this multiview reads "
                          f"{FORMATS.get(found)!r} (a newer version wrote it?)")
    validate(found, tree, f"{flag}: {str(p)!r} ")
    return found, tree


ARRAYS_NEEDED = ("config", "single_lam", "single_lam0", "single_step", "single_test_logits",
                 "test_y", "test_single")


def _npz_kind(names: set) -> str | None:
    if all(k in names for k in ARRAYS_NEEDED):
        return "arrays"
    if names == {"W"}:
        return "params"
    if "loss" in names and "lam" in names:
        return "history"
    if "views" in names and "x" in names:
        return "data"
    return None


def _read_npz(p: Path, kind: str | None, flag: str):
    from .config import from_dict

    expected = ("; expected the arrays .npz of `multiview arrays`" if kind == "arrays" else
                f"; expected {_a(kind)}" if kind else "")
    try:
        with np.load(p, allow_pickle=False) as z:
            out = {k: z[k] for k in z.files}
    except Exception as e:       # zipfile, zlib, pickle refusal: all mean "not a whole .npz"
        head = p.read_bytes()[:4]
        what = ("a JSON file" if head[:1] in (b"{", b"[") else
                "a damaged or truncated .npz" if head.startswith(b"PK") else "not an .npz file")
        raise ConfigError(f"{flag}: {str(p)!r} is {what} ({type(e).__name__}){expected}") \
            from None
    found = _npz_kind(set(out))
    if kind is not None and found != kind:
        what = _a(found) if found else "an .npz of another kind"
        raise ConfigError(f"{flag}: {str(p)!r} is {what} (arrays: {', '.join(sorted(out))})"
                          f"{expected}")
    if found is None:
        raise ConfigError(f"{flag}: {str(p)!r} is an .npz of no known kind (arrays: "
                          f"{', '.join(sorted(out))})")
    if found == "arrays":
        try:
            out["config"] = from_dict(json.loads(str(out["config"])))
        except (ValueError, TypeError, AttributeError) as e:
            raise ConfigError(f"{flag}: {str(p)!r} has an unreadable config ({e}){expected}") \
                from None
    return found, out


def read_result(path: str | Path, name: str, made_by: str = "", flag: str = "--in") -> dict:
    """The validated JSON result `name` (check.json, sweep.json, ...) at `path` (the file, or
    a directory holding it): `load(path, kind).content`."""
    return load(path, FILE_NAMES[name], flag).content


def load_sweep(path: str | Path) -> dict:
    """Read a sweep summary (OUT/sweep.json or the directory holding it)."""
    return load(path, "sweep").content


# --- results as tables --------------------------------------------------------------------

def _method_row(name: str, m: dict) -> dict:
    row = {"method": name}
    for q in ACC:
        row[q] = m.get(q)
    for q in ACC:
        row[f"{q}_std"] = (m.get("std") or {}).get(q)
    for q, ci in (m.get("ci") or {}).items():
        lo, hi = ci if isinstance(ci, list) and len(ci) == 2 else (None, None)
        row[f"{q}_ci_lo"], row[f"{q}_ci_hi"] = lo, hi
    for v, share in (m.get("views") or {}).items():
        row[f"views_{v}"] = share
    row["lam_over_varrho"] = m.get("lam_over_varrho")
    for q, vals in (m.get("per_model") or {}).items():
        row[f"{q}_per_model"] = vals
    return row


def table_rows(kind: str, content) -> list[dict]:
    """The rows of `Loaded.frame()`."""
    if kind == "check":
        return [_method_row(n, m) for n, m in content["methods"].items()]
    if kind == "point":
        return [{**content["grid"], **_method_row(n, m)}
                for n, m in content["result"]["methods"].items()]
    if kind == "sweep":
        return [{**p["grid"], **_method_row(n, m)} for p in content["points"]
                for n, m in p["methods"].items()]
    if kind == "dose":
        objective = content["config"]["distill"]["objective"]
        return [{"seed": content["seed"], "objective": objective, **r}
                for r in content["teachers"]]
    if kind == "train":
        return [{"member": s, "stopped_at": a, "final_train_acc": b} for s, a, b in
                zip(content["seeds"], content["stopped_at"], content["final_train_acc"])]
    if kind == "search":           # one row per trial: its values, score, held per prediction
        return [{"trial": t["number"], "state": t["state"], **t["params"], "score": t["score"],
                 "fraction": t["fraction"], "value": t["value"],
                 **{f"held.{p}": states.count("holds") for p, states in t["predictions"].items()},
                 "error": t.get("error")} for t in content["trials"]]
    raise ConfigError(f"frame(): a {KINDS[kind][0]} is not a table; tables: check, sweep, "
                      f"sweep point, dose, train and search results")


# --- sweeps: one file per point, the summary the union of the points on disk ----------------

POINT_FORMAT = FORMATS["point"]
RESULT_FIELDS = ("train_acc", "test_acc", "test_acc_multi", "test_acc_single", "std", "views")
# besides RESULT_FIELDS, what sweep.json keeps of each method when the point has it
SUMMARY_EXTRA = ("per_model", "ci", "ci_kind", "lam_over_varrho")


def canonical_methods(methods) -> list[str]:
    """Methods (a list, or the text of --methods) in the table's order (methods.METHOD_NAMES),
    without repeats: the order given does not change a point's key."""
    from .methods import METHOD_NAMES

    return subset(methods, METHOD_NAMES, "--methods", everything=None)


def _canon(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=float)


def _identity_config(cfg) -> dict:
    """The config as it determines results: train.devices left out (sharding members across
    devices gives the same numbers, tests/test_devices.py), so a sweep resumed on another
    number of devices reuses the finished points."""
    return _without_devices(json.loads(json.dumps(cfg.to_dict(), default=float)))


def _without_devices(config: dict) -> dict:
    return {**config, "train": {k: v for k, v in config.get("train", {}).items() if k != "devices"}}


def point_key(cfg, methods, L: int, seed: int) -> str:
    """Hash of everything that determines a point's result: config, methods, seeds, seed."""
    ident = {"format": POINT_FORMAT, "config": _identity_config(cfg),
             "methods": canonical_methods(methods), "seeds": L, "seed": seed}
    return hashlib.sha256(_canon(ident).encode()).hexdigest()[:20]


def _checksum(record: dict) -> str:
    body = {k: v for k, v in record.items() if k not in ("checksum", "complete")}
    return hashlib.sha256(_canon(body).encode()).hexdigest()


def write_point(out: Path, key: str, values: dict, methods, L: int, seed: int,
                result: dict) -> Path:
    """Write one finished point atomically: grid values, result, checksum, complete marker."""
    record = {"format": POINT_FORMAT, "key": key, "grid": values,
              "methods_run": canonical_methods(methods), "L": L, "seed": seed,
              "result": {"format": FORMATS["check"], **result}}
    # the checksum covers the record as it reads back from JSON (tuples become lists, etc.)
    record = json.loads(dumps(record))
    record["checksum"] = _checksum(record)
    record["complete"] = True
    return write_json(record, out, f"{key}.json")


def load_point(path: Path, key: str, cfg, methods) -> tuple[dict | None, str | None]:
    """(record, None) for a complete, intact result file of this point; (None, why) otherwise."""
    try:
        record = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        return None, f"unreadable ({type(e).__name__}: {e})"
    if not isinstance(record, dict) or record.get("complete") is not True:
        return None, "no 'complete' marker (partial write?)"
    if record.get("key") != key or record.get("format") != POINT_FORMAT:
        return None, f"wrong key {record.get('key')!r} or format (expected {key})"
    if record.get("checksum") != _checksum(record):
        return None, "checksum mismatch (file edited or damaged)"
    result = record.get("result")
    if not isinstance(result, dict) or not isinstance(result.get("config"), dict) or \
            _canon(_without_devices(result["config"])) != _canon(_identity_config(cfg)):
        return None, "result config differs from the point's config"
    for m in canonical_methods(methods):
        entry = result.get("methods", {}).get(m)
        if not isinstance(entry, dict) or any(f not in entry for f in RESULT_FIELDS):
            return None, f"method {m!r} missing or incomplete"
    try:
        validate("point", record)
    except ConfigError as e:
        return None, str(e)
    return record, None


def summarise(points: list[dict]) -> list[dict]:
    """The per-point lines of sweep.json: grid values, per-method numbers (per-model values
    included), predictions."""
    out = []
    for rec in points:
        res = rec["result"]
        out.append({
            "grid": rec["grid"], "key": rec["key"], "file": f"{rec['key']}.json",
            "methods": {n: {k: m[k] for k in RESULT_FIELDS + SUMMARY_EXTRA if k in m}
                        for n, m in res["methods"].items()},
            "labels_alone": res.get("diagnostics", {}).get("labels_alone"),
            "dark_knowledge": res.get("diagnostics", {}).get("dark_knowledge"),
            "predictions": [{"id": p["id"], "measured": p["measured"], "expected": p["expected"],
                             "holds": p["holds"]} for p in res["predictions"]]})
    return out


def study(cfg, fields, methods, L: int, seed: int) -> dict:
    """What one sweep directory holds points of: the grid's fields, the methods, seeds, seed
    and the base config without the grid's fields. Slices of one grid (other values of the
    same fields) are the same study."""
    config = _identity_config(cfg)
    for f in fields:
        section, name = f.split(".", 1)
        config.get(section, {}).pop(name, None)
    return {"fields": sorted(fields), "methods": canonical_methods(methods), "seeds": L,
            "seed": seed, "base": config}


def _study_of(record: dict) -> dict | None:
    """The study of a point record on disk (None for a file of no study)."""
    try:
        config = _without_devices(json.loads(json.dumps(record["result"]["config"])))
        for f in record["grid"]:
            section, name = f.split(".", 1)
            config.get(section, {}).pop(name, None)
        return {"fields": sorted(record["grid"]), "methods": list(record["methods_run"]),
                "seeds": record["L"], "seed": record["seed"], "base": config}
    except (KeyError, TypeError, AttributeError, ValueError):
        return None


def _study_of_summary(out: Path) -> dict | None:
    """The study of OUT/sweep.json (None when there is none, or it is no sweep summary)."""
    try:
        tree = json.loads((Path(out) / "sweep.json").read_text())
        config = _without_devices(json.loads(json.dumps(tree["base_config"])))
        for f in tree["grid"]:
            section, name = f.split(".", 1)
            config.get(section, {}).pop(name, None)
        return {"fields": sorted(tree["grid"]), "methods": list(tree["methods"]),
                "seeds": tree["seeds"], "seed": tree["seed"], "base": config}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _point_records(out: Path) -> list[dict]:
    """Every intact point record in the folder `out` (others are left for their sweep)."""
    records = []
    for path in sorted(out.glob("*.json")):
        if path.name in FILE_NAMES:
            continue
        try:
            record = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(record, dict) and record.get("format") == POINT_FORMAT and \
                record.get("complete") is True and record.get("checksum") == _checksum(record):
            records.append(record)
    return records


def _words(s: dict) -> str:
    return (f"{' x '.join(s['fields']) or 'no field'} (methods {','.join(s['methods'])}; "
            f"{s['seeds']} seeds; seed {s['seed']})")


@contextmanager
def locked(folder: str | Path):
    """An exclusive lock on the folder (flock on its descriptor: nothing is left in it), held
    by one process at a time: sweeps into one --out write their summary in turn."""
    import fcntl

    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)            # releases the lock


def claim_sweep_dir(out: Path, mine: dict, flag: str = "--out") -> None:
    """Refuse a sweep directory that holds points of another study (another grid's fields,
    methods, seeds, seed or base config); slices of the same grid share it."""
    for theirs in [_study_of_summary(out)] + [_study_of(r) for r in _point_records(out)]:
        if theirs is not None and theirs != mine:
            same = theirs["fields"] == mine["fields"] and theirs["methods"] == mine["methods"] \
                and theirs["seeds"] == mine["seeds"] and theirs["seed"] == mine["seed"]
            base = " and another base config" if same else ""
            raise ConfigError(
                f"{flag}: value {str(out)!r} is not allowed: it holds a sweep over "
                f"{_words(theirs)}{base}; this sweep is over {_words(mine)}; allowed: another "
                f"--out, or the same fields, methods, seeds, seed and config (other values of "
                f"the fields: a slice of that grid)")


def _union(mine: list, others: list) -> list:
    extra = [v for v in others if v not in mine]
    if not extra:
        return mine
    values = mine + _unique(extra)
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return sorted(values)
    return values


def _unique(values: list) -> list:
    out = []
    for v in values:
        if v not in out:
            out.append(v)
    return out


def write_sweep_summary(out: Path, header: dict, mine: dict) -> dict:
    """Write OUT/sweep.json as the union of the point files of this study on disk (other
    processes' slices of the grid included), under the folder's lock so that sweeps finishing
    together do not lose each other's points. header: the summary without `grid`/`points`;
    its `grid` comes from this sweep's values widened by the points found."""
    out = Path(out)
    with locked(out):
        # a sweep of another study that started at the same moment wrote its summary first:
        # refused, its sweep.json kept (this sweep's point files stay on disk)
        claim_sweep_dir(out, mine)
        records = [r for r in _point_records(out) if _study_of(r) == mine]
        grid = {f: list(v) for f, v in header["grid"].items()}
        for f in grid:
            grid[f] = _union(grid[f], [r["grid"][f] for r in records])
        # points in grid order (the last field fastest)
        index = {f: {_canon(v): i for i, v in enumerate(vals)} for f, vals in grid.items()}
        records.sort(key=lambda r: tuple(index[f].get(_canon(r["grid"][f]), 0) for f in grid))
        summary = {**header, "grid": grid, "points": summarise(records)}
        write_json(summary, out, "sweep.json")
    return summary


# --- the arrays of runs.view_arrays -----------------------------------------------------------

def save_arrays(arrays: dict, path: str | Path) -> Path:
    """Write the arrays of `runs.view_arrays` to the .npz `path`, atomically."""
    return save_npz(path, **arrays)


def load_arrays(path: str | Path, flag: str = "--in") -> dict:
    """Read an .npz written by save_arrays (`multiview arrays`); `config` comes back as a
    Config. A missing file, or a file of another kind, is a ConfigError saying what it is."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{flag}: {str(p)!r} not found (write it with `multiview arrays "
                          f"--out {p}`)")
    return load(p, "arrays", flag).content

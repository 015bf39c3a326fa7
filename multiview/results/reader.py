"""Reading result files back: `load(path) -> Loaded(kind, path, content, frame())`, the one
reader, which recognises each file's kind and checks it against its SPECS (a file of the wrong
kind is a ConfigError that says what the file is and what was expected); results as tables
(`table_rows`); the arrays of runs.view_arrays."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from .io import save_npz
from .kinds import ACC, FILE_NAMES, FORMATS, KINDS, a_kind, identify, kind_of, validate


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
            raise ConfigError(f"{flag}: {str(folder)!r} is a folder; expected {a_kind(kind)}")
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
    if kind == "atlas":
        return Loaded("atlas", p, _read_atlas(p, flag))
    if kind == "ksweep":
        return Loaded("ksweep", p, _read_ksweep(p, flag))
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
    expected = f"; expected {a_kind(kind)}" if kind else ""
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


def _read_atlas(folder: Path, flag: str) -> dict:
    """The runs of an atlas folder, {"runs": {preset: [{seed, path, check}]}} by seed: every
    FOLDER/PRESET/seedS/check.json, each read and checked as a check.json."""
    if not folder.is_dir():
        raise ConfigError(f"{flag}: {str(folder)!r} is not a folder; expected {a_kind('atlas')}")
    runs: dict[str, list] = {}
    for path in sorted(folder.glob("*/seed*/check.json")):
        seed = path.parent.name[len("seed"):]
        if not seed.isdigit():
            continue
        check = load(path, "check", flag).content
        if check.get("seed", int(seed)) != int(seed):
            raise ConfigError(f"{flag}: {str(path)!r} has seed {check['seed']}; its folder says "
                              f"{seed} (move it to seed{check['seed']}/)")
        runs.setdefault(path.parent.parent.name, []).append(
            {"seed": int(seed), "path": str(path.relative_to(folder)), "check": check})
    return _runs_tree("atlas", runs, folder, flag, "PRESET/seedS/check.json")


def _runs_tree(kind: str, runs: dict, folder: Path, flag: str, layout: str) -> dict:
    """{"runs": {name: runs by seed}} of a folder of NAME/seedS/ runs, validated as `kind`;
    a folder without any is one ConfigError naming the expected `layout`."""
    if not runs:
        raise ConfigError(f"{flag}: {str(folder)!r} holds no {layout}; expected {a_kind(kind)}")
    tree = {"runs": {n: sorted(rs, key=lambda r: r["seed"]) for n, rs in sorted(runs.items())}}
    validate(kind, tree, f"{flag}: {str(folder)!r} ")
    return tree


def _read_ksweep(folder: Path, flag: str) -> dict:
    """The runs of a k-sweep folder, {"runs": {objective: [{seed, path, points}]}} by seed:
    every FOLDER/OBJECTIVE/seedS/ sweep directory's point files (its sweep.json is not needed),
    each read and checked as a point file, its base seed the folder's."""
    if not folder.is_dir():
        raise ConfigError(f"{flag}: {str(folder)!r} is not a folder; expected {a_kind('ksweep')}")
    runs: dict[str, list] = {}
    for sub in sorted(p for p in folder.glob("*/seed*") if p.is_dir()):
        seed = sub.name[len("seed"):]
        if not seed.isdigit():
            continue
        points = []
        for path in sorted(sub.glob("*.json")):
            if path.name == "sweep.json":
                continue
            point = load(path, "point", flag).content
            if point["seed"] != int(seed):
                raise ConfigError(f"{flag}: {str(path)!r} has base seed {point['seed']}; its "
                                  f"folder says {seed} (move it to seed{point['seed']}/)")
            points.append(point)
        if points:
            runs.setdefault(sub.parent.name, []).append(
                {"seed": int(seed), "path": str(sub.relative_to(folder)), "points": points})
    return _runs_tree("ksweep", runs, folder, flag, "OBJECTIVE/seedS/ sweep point files")


ARRAYS_NEEDED = ("config", "single_lam", "single_lam0", "single_step", "single_test_logits",
                 "test_y", "test_single")


def _npz_kind(names: set) -> str | None:
    if all(k in names for k in ARRAYS_NEEDED):
        return "arrays"
    if names - {"provenance"} == {"W"}:
        return "params"
    if "loss" in names and "lam" in names:
        return "history"
    if "views" in names and "x" in names:
        return "data"
    return None


def _read_npz(p: Path, kind: str | None, flag: str):
    from ..config import from_dict

    expected = ("; expected the arrays .npz of `multiview arrays`" if kind == "arrays" else
                f"; expected {a_kind(kind)}" if kind else "")
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
        what = a_kind(found) if found else "an .npz of another kind"
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


def lookup(record, path: str, sep: str = "/"):
    """The value at `path` ("methods/single/views/one") in a record of nested dicts, or None
    where a key on the way is missing (or a step is not a dict): how a study reads fields that
    a record may lack."""
    for key in path.split(sep):
        if not isinstance(record, dict):
            return None
        record = record.get(key)
    return record


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
                 "fraction": t["fraction"], "first": t.get("first"), "value": t["value"],
                 **{f"held.{p}": states.count("holds") for p, states in t["predictions"].items()},
                 "error": t.get("error")} for t in content["trials"]]
    if kind == "atlas":
        return [{"preset": preset, "seed": r["seed"], "id": p["id"], "theorem": p.get("theorem"),
                 "verdict": p.get("verdict"), "measured": p["measured"]}
                for preset, rs in content["runs"].items() for r in rs
                for p in r["check"]["predictions"]]
    if kind == "ksweep":           # one row per objective, base seed, k and method
        return [{"objective": o, "seed": r["seed"], **pt["grid"], **_method_row(n, m)}
                for o, rs in content["runs"].items() for r in rs for pt in r["points"]
                for n, m in pt["result"]["methods"].items()]
    raise ConfigError(f"frame(): a {KINDS[kind][0]} is not a table; tables: check, sweep, "
                      f"sweep point, dose, train, search, atlas and k-sweep results")



# --- the arrays of runs.view_arrays -----------------------------------------------------------

def save_arrays(arrays: dict, path: str | Path) -> Path:
    """Write the arrays of `runs.view_arrays` to the .npz `path`, atomically, with the
    provenance block as the JSON text `provenance`."""
    from ..provenance import block
    from .io import dumps

    return save_npz(path, **arrays, provenance=np.array(dumps(block())))


def load_arrays(path: str | Path, flag: str = "--in") -> dict:
    """Read an .npz written by save_arrays (`multiview arrays`); `config` comes back as a
    Config. A missing file, or a file of another kind, is a ConfigError saying what it is."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{flag}: {str(p)!r} not found (write it with `multiview arrays "
                          f"--out {p}`)")
    return load(p, "arrays", flag).content

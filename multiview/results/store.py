"""The sweep store: one file per finished point (`point_key`, `write_point`, `load_point`,
checksummed), and `sweep.json`, the union of one study's points on disk (`write_sweep_summary`,
under a lock on the folder; `claim_sweep_dir` refuses another study's folder). Its one client
is sweep.py."""

from __future__ import annotations

import hashlib
import json
import os
from contextlib import contextmanager
from pathlib import Path

from ..errors import ConfigError, subset
from .io import dumps, write_json
from .kinds import FILE_NAMES, FORMATS, validate


# --- sweeps: one file per point, the summary the union of the points on disk ----------------

POINT_FORMAT = FORMATS["point"]
RESULT_FIELDS = ("train_acc", "test_acc", "test_acc_multi", "test_acc_single", "std", "views")
# besides RESULT_FIELDS, what sweep.json keeps of each method when the point has it
SUMMARY_EXTRA = ("per_model", "ci", "ci_kind", "lam_over_varrho")


def canonical_methods(methods) -> list[str]:
    """Methods (a list, or the text of --methods) in the table's order (methods.METHOD_NAMES),
    without repeats: the order given does not change a point's key."""
    from ..methods import METHOD_NAMES

    return subset(methods, METHOD_NAMES, "--methods", everything=None)


def _canon(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=float)


def _identity_config(cfg) -> dict:
    """The config as it determines results: train.devices left out (sharding members across
    devices gives the same numbers, tests/test_devices.py), so a sweep resumed on another
    number of devices reuses the finished points."""
    return without_grid(cfg.to_dict(), ())


# fields added after sweeps were written, at the value with which they change no result: there
# they are left out of a point's identity, so points written before them are still found (the
# scale section is left out whole while its rule is "none": it then changes nothing)
IDENTITY_NEUTRAL = {("distill", "smooth_level"): 0.9}


def _without_devices(config: dict) -> dict:
    out = {**config, "train": {k: v for k, v in config.get("train", {}).items() if k != "devices"}}
    if (out.get("scale") or {}).get("rule", "none") == "none":
        out.pop("scale", None)
    for (section, name), neutral in IDENTITY_NEUTRAL.items():
        if (out.get(section) or {}).get(name) == neutral:
            out[section] = {k: v for k, v in out[section].items() if k != name}
    return out


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
    from ..provenance import block

    record = {"format": POINT_FORMAT, "key": key, "grid": values,
              "methods_run": canonical_methods(methods), "L": L, "seed": seed,
              "result": {"format": FORMATS["check"], **result}, "provenance": block()}
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
                             "holds": p["holds"], "verdict": p.get("verdict")}
                            for p in res["predictions"]]})
    return out


def without_grid(config: dict, fields) -> dict:
    """A config (as a dict) as it determines a study's points: a copy without train.devices
    (_without_devices) and without the grid's fields."""
    config = _without_devices(json.loads(json.dumps(config, default=float)))
    for f in fields:
        section, name = f.split(".", 1)
        config.get(section, {}).pop(name, None)
    return config


def _study_base(config: dict, fields) -> dict:
    """The base config of a study: without_grid, and under the scaling rule without the scaled
    fields that are not pinned (functions of the grid's k and q: slices over k are one study
    though their rescaled fields differ) and without scale.pinned (which the grid extends)."""
    fields = list(fields)
    scale = config.get("scale") or {}
    if scale.get("rule") == "paper":
        from ..scaling import SCALED_FIELDS
        pinned = set(scale.get("pinned", ())) - set(fields)
        fields += [f for f in SCALED_FIELDS if f not in pinned] + ["scale.pinned"]
    return without_grid(config, fields)


def _study(config: dict, fields, methods: list[str], L: int, seed: int) -> dict:
    return {"fields": sorted(fields), "methods": methods, "seeds": L, "seed": seed,
            "base": _study_base(config, fields)}


def study(cfg, fields, methods, L: int, seed: int) -> dict:
    """What one sweep directory holds points of: the grid's fields, the methods, seeds, seed
    and the base config without the grid's fields. Slices of one grid (other values of the
    same fields) are the same study."""
    return _study(cfg.to_dict(), fields, canonical_methods(methods), L, seed)


def _study_of(record: dict) -> dict | None:
    """The study of a point record on disk (None for a file of no study)."""
    try:
        return _study(record["result"]["config"], record["grid"], list(record["methods_run"]),
                      record["L"], record["seed"])
    except (KeyError, TypeError, AttributeError, ValueError):
        return None


def _study_of_summary(out: Path) -> dict | None:
    """The study of OUT/sweep.json (None when there is none, or it is no sweep summary)."""
    try:
        tree = json.loads((Path(out) / "sweep.json").read_text())
        return _study(tree["base_config"], tree["grid"], list(tree["methods"]), tree["seeds"],
                      tree["seed"])
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

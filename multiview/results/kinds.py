"""The kinds of result file: what each is called and which command writes it (`KINDS`), its
`format` key (`FORMATS`), its file name (`FILE_NAMES`), how a parsed file is recognised
(`kind_of`, `identify`), and what each kind must hold (`SPECS`, checked by `validate`)."""

from __future__ import annotations

import json

from ..errors import ConfigError


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
    # a folder of PRESET/seedS/check.json (base seeds per preset), read as one by results.load
    "atlas": ("atlas folder", "experiments/atlas_runs.sh"),
    # a folder of OBJECTIVE/seedS/ sweep directories over data.k (base seeds per objective),
    # read as one by results.load
    "ksweep": ("k-sweep folder", "experiments/theorems_vs_k.sh"),
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


def a_kind(kind: str) -> str:
    name, made_by = KINDS[kind]
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name} of `{made_by}`"


def identify(tree) -> str:
    """What a parsed JSON result is, in words ('a train.json of `multiview train`')."""
    if isinstance(tree, dict):
        kind = kind_of(tree)
        return a_kind(kind) if kind else "a JSON object of no known result kind"
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
               "require": ["str"], "required": ["str"], "first?": ["str"], "methods": ["str"],
               "seeds": "int",
               "base_seeds": ["int"], "seed": "int", "base_config": "dict", "study?": "str",
               "storage?": "str", "best": ["int"], "run?": "dict",
               "trials": [{"number": "int", "state": "str", "params": "dict", "score": "num",
                           "fraction": "num", "first?": "num", "value": "num",
                           "predictions": {"*": ["str"]},
                           "points": ["str"], "error?": "any", "commands?": ["str"]}]},
    # results.load's reading of an atlas folder (each check is checked as a check.json first)
    "atlas": {"runs": {"*": [{"seed": "int", "path": "str", "check": "dict"}]}},
    # results.load's reading of a k-sweep folder (each point is checked as a point file first)
    "ksweep": {"runs": {"*": [{"seed": "int", "path": "str", "points": ["dict"]}]}},
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
            if not tree["steps"]:
                raise _Invalid("steps", tree["steps"], "at least one step (nothing to draw)")
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

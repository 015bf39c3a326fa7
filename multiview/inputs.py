"""The arguments every door takes, checked once: the Python API (multiview/api.py) and the
command line (multiview/cli.py) call these with the parameter's name as the caller wrote it
(`seed` from Python, `--seed` from the shell), so the same bad value gives the same one-line
ConfigError from both.

numpy integers, floats and 1-D arrays are taken wherever a Python int, float or list is
(`errors.native`); a bool is never a number.
"""

from __future__ import annotations

import numbers
import os
from pathlib import Path

from .config import SEED_MAX, ascii_int
from .errors import need, native, subset


def integer(value, name: str, lo: int | None = None, hi: int | None = None,
            text: bool = False) -> int:
    """`value` (an int or a numpy integer; with `text`, the shell's text of one) as an int
    within [lo, hi]; ConfigError `NAME: value V is not allowed; allowed: an integer LO <= N <=
    HI`."""
    short = name.lstrip("-").replace("-", "_")
    bounds = (f"{lo} <= {short} <= {hi}" if lo is not None and hi is not None else
              f"{short} >= {lo}" if lo is not None else f"{short} <= {hi}" if hi is not None
              else "")
    allowed = f"an integer {bounds}".strip()
    value = native(value)
    try:
        if text and isinstance(value, str):
            v = ascii_int(value)
        else:
            need(isinstance(value, numbers.Integral) and not isinstance(value, bool), name,
                 value, allowed)
            v = int(value)
    except ValueError:
        need(False, name, value, allowed)
    need((lo is None or v >= lo) and (hi is None or v <= hi), name, value, allowed)
    return v


def seed(value, name: str = "seed") -> int:
    """A base seed: an integer 0 ... 2^32 - 1 (PRNGKey keeps 32 bits; larger seeds or negative
    ones would silently compute another seed's numbers)."""
    return integer(value, name, 0, SEED_MAX)


def count(value, name: str) -> int:
    """A positive count (--seeds, --batch-points, --devices)."""
    return integer(value, name, 1)


def choice(value, allowed, name: str, everything: str | None = "all") -> list[str]:
    """A choice of names (methods, students): a comma-separated text, or a list, tuple or 1-D
    array of names; `errors.subset` checks it."""
    value = native(value)
    need(isinstance(value, str) or (isinstance(value, (list, tuple)) and value
                                    and all(isinstance(v, str) for v in value)),
         name, value, f"a comma-separated text or a list of names out of {', '.join(allowed)}"
         + (f", or {everything!r}" if everything else ""))
    return subset(value if isinstance(value, str) else [v.strip() for v in value], allowed, name,
                  everything)


def path(value, name: str) -> Path:
    """A file or folder path: a non-empty str or os.PathLike."""
    need(isinstance(value, (str, os.PathLike)) and str(os.fspath(value)).strip() != "", name,
         value, "a path (a str or pathlib.Path)")
    return Path(value)


def texts(value, name: str, what: str) -> list[str]:
    """One text or a list of texts (`--fix F=V` given once or repeated): a str is one item,
    never its characters."""
    value = native(value)
    if isinstance(value, str):
        return [value]
    need(isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value), name,
         value, f"{what}, or a list of them")
    return list(value)


def values(value, name: str) -> list:
    """The values of a grid axis: a non-empty list, tuple or 1-D numpy array (as a list of
    Python values)."""
    value = native(value)
    need(isinstance(value, (list, tuple)) and len(value) > 0, name, value,
         "a non-empty list of values (a list, tuple or 1-D array)")
    return [native(v) for v in value]


def flag(value, name: str) -> bool:
    """A yes/no option (force, progress): a bool or a numpy bool."""
    value = native(value)
    need(isinstance(value, bool), name, value, "True or False")
    return value

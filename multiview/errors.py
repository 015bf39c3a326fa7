"""The one user-error type of both arms and the one validator that raises it.

Every message has the same shape: `WHERE: value VALUE is not allowed; allowed: WHAT`.
"""

from __future__ import annotations


class ConfigError(ValueError):
    """A user-caused error; the message names the parameter, the value and what is allowed."""


class TrainingDiverged(RuntimeError):
    """A loss or gradient became NaN/inf; the message names the step and member (exit 3)."""


def need(cond: bool, where: str, value, allowed: str) -> None:
    """Raise ConfigError `WHERE: value VALUE is not allowed; allowed: ALLOWED` unless `cond`."""
    if not cond:
        allowed = allowed if allowed.startswith("allowed") else f"allowed: {allowed}"
        raise ConfigError(f"{where}: value {value!r} is not allowed; {allowed}")


def split_items(text: str, where: str, sep: str = ",") -> list[str]:
    """The items of a `sep`-separated list, stripped; an empty item ('a,,b', a trailing ',')
    or an empty list is a ConfigError rather than dropped."""
    items = [t.strip() for t in str(text).split(sep)]
    need(all(items), where, text, f"a {sep!r}-separated list with no empty items")
    return items

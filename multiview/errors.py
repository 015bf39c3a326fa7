"""The one user-error type of both arms and the one validator that raises it.

Every message has the same shape: `WHERE: value VALUE is not allowed; allowed: WHAT`.
"""

from __future__ import annotations


class ConfigError(ValueError):
    """A user-caused error; the message names the parameter, the value and what is allowed."""


class TrainingDiverged(RuntimeError):
    """A loss or gradient became NaN/inf (exit 3). Its fields say where and why; every caller
    prints str(e), formatted from them, so `check`, `sweep` and `train` give one message.

    step, member: the first non-finite step and the member (0-based) it happened in;
    cause: "initialisation" (already non-finite at step 0: the initial weights' forward pass
    overflows or underflows) or "step size" (finite steps first, then non-finite);
    where: the training call (its progress-bar label); lr: the step size used, lr_name the
    setting that holds it (`train.lr`; the CIFAR arm's `--lr`).
    """

    CAUSES = {
        "initialisation": "the loss is not finite at the initial weights (the first forward "
                          "pass overflows or underflows): check model.sigma0 (the "
                          "initialisation scale) and model.varrho (the smoothed ReLU divides "
                          "by varrho^(q-1))",
        "step size": "the loss was finite and then diverged: the step size {lr_name} = {lr} "
                     "is too large for this problem",
    }

    def __init__(self, step: int, member: int, cause: str, where: str = "train",
                 lr: float | None = None, lr_name: str = "train.lr"):
        assert cause in self.CAUSES, cause
        self.step, self.member, self.cause, self.where, self.lr = step, member, cause, where, lr
        self.lr_name = lr_name
        super().__init__(step, member, cause, where, lr, lr_name)

    def __str__(self) -> str:
        why = self.CAUSES[self.cause].format(lr=self.lr, lr_name=self.lr_name)
        return (f"{self.where}: non-finite loss or gradient at step {self.step} "
                f"(member {self.member}); {why}")

    def __reduce__(self):          # Ray and multiprocessing send it between processes
        return (type(self), (self.step, self.member, self.cause, self.where, self.lr,
                             self.lr_name))


def native(value):
    """A numpy scalar or array as the Python value it holds (np.int64(4) -> 4, np.float32(0.25)
    -> 0.25, a 1-D array -> a list); anything else unchanged. Every door takes numpy values
    wherever it takes Python ones (numpy is not imported here)."""
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return value.tolist()
    return value


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


def subset(chosen, allowed, where: str, everything: str | None = "all") -> list[str]:
    """The one validator of a choice of names (--methods, --students, the CIFAR arm's
    methods): `chosen`, a comma-separated text or a list, as a non-empty subset of `allowed`
    in `allowed`'s order without repeats; the text `everything` ('all') means all of them."""
    items = split_items(chosen, where) if isinstance(chosen, str) else list(chosen)
    if everything is not None and items == [everything]:
        return list(allowed)
    text = chosen if isinstance(chosen, str) else ",".join(map(str, items))
    need(bool(items) and all(m in allowed for m in items), where, text,
         f"a comma-separated subset of {', '.join(allowed)}"
         + (f", or {everything!r}" if everything is not None else ""))
    return [m for m in allowed if m in items]

"""Progress output fit for a terminal, a log file and a notebook.

`bar(...)` takes tqdm's arguments and returns: a tqdm bar when stderr is a terminal; a tqdm
notebook widget in a Jupyter kernel that has ipywidgets (the `dev` extra installs it); and
otherwise (stderr redirected to a file or a pipe, a kernel without ipywidgets) `Lines`, which
writes plain lines, no cursor codes: one when the bar starts and one when it first moves (the
work is under way), then at most one every INTERVAL seconds, and one at the end of a bar that
ran INTERVAL or longer. `write(msg)` prints a
line without breaking a bar.
"""

from __future__ import annotations

import sys
import time

INTERVAL = 5.0          # seconds between two progress lines in a log


def _kernel() -> bool:
    """Whether this runs in a Jupyter kernel."""
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    return type(shell).__name__ == "ZMQInteractiveShell"


def _widgets() -> bool:
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


def mode() -> str:
    """"tty", "notebook" or "lines" (module docstring)."""
    if _kernel():
        return "notebook" if _widgets() else "lines"
    isatty = getattr(sys.stderr, "isatty", None)
    return "tty" if isatty is not None and isatty() else "lines"


class Lines:
    """A progress bar for logs: the tqdm calls the package makes (update, set_postfix,
    set_postfix_str, refresh, close), shown as plain lines `DESC: N/TOTAL UNIT [12 s] post`:
    at the start, at the first update, then at most every INTERVAL seconds, and at close when
    the bar ran INTERVAL or longer."""

    def __init__(self, total=None, desc: str = "", disable: bool = False, unit: str = "it",
                 initial: int = 0, **_):
        self.total, self.desc, self.disable, self.unit, self.n = total, desc, disable, unit, initial
        self.postfix, self.bar_format, self.closed = "", None, False
        self.t0 = self.last = time.monotonic()
        self.moved = False
        if not disable:
            self._show()

    def _show(self) -> None:
        total = "" if self.total is None else f"/{self.total}"
        post = f" {self.postfix}" if self.postfix else ""
        sys.stderr.write(f"{self.desc}: {self.n}{total} {self.unit} "
                         f"[{time.monotonic() - self.t0:.0f} s]{post}\n")
        sys.stderr.flush()
        self.last = time.monotonic()

    def update(self, n: int = 1) -> None:
        self.n += n
        if not self.disable and (not self.moved or time.monotonic() - self.last >= INTERVAL):
            self._show()
        self.moved = True

    def set_postfix(self, **kw) -> None:
        self.postfix = ", ".join(f"{k}={v}" for k, v in kw.items())

    def set_postfix_str(self, text: str) -> None:
        self.postfix = text

    def refresh(self) -> None:
        pass

    def close(self) -> None:
        if not self.disable and not self.closed and time.monotonic() - self.t0 >= INTERVAL:
            self._show()
        self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def bar(**kw):
    """A progress bar with tqdm's keyword arguments (module docstring)."""
    if kw.get("disable"):
        return Lines(**kw)
    how = mode()
    if how == "lines":
        return Lines(**kw)
    if how == "notebook":
        from tqdm.notebook import tqdm
    else:
        from tqdm import tqdm
    if how == "tty":
        kw.setdefault("file", sys.stderr)
    return tqdm(**kw)


def write(msg: str) -> None:
    """A line on stderr that does not break a terminal's progress bars."""
    if mode() == "tty":
        from tqdm import tqdm

        tqdm.write(msg, file=sys.stderr)
    else:
        print(msg, file=sys.stderr, flush=True)

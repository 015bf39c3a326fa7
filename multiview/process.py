"""The `multiview` process: how a command ends (exit statuses, one-line errors) and signals.

Exit statuses:
  0    done
  1    `check --strict`: a prediction does not hold
  2    a user error: one line naming the parameter or file (config, flag, file, full disk)
  3    training diverged (`sweep`: a point failed)
  130  SIGINT (Ctrl-C), 143 SIGTERM (`kill`, SLURM, Ray), 129 SIGHUP (the terminal closed):
       128 + the signal's number, the shell's convention, so a scheduler sees which signal
       ended the run. Each is handled as Ctrl-C is: the writers unwind (their temporary files
       are removed, finished files were fsync'ed and renamed), one line "interrupted" is
       printed, and the process leaves through os._exit (no interpreter shutdown racing XLA's
       threads, which can segfault).

Nothing here imports numpy or jax: `multiview --help` stays fast.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Callable

from .errors import ConfigError, TrainingDiverged

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """One of SIGNALS while a command runs, raised where the program is (like Ctrl-C's
    KeyboardInterrupt) so that `with` blocks and `finally`s unwind."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(signum)
        self.signum = signum


def status_of(interrupt: BaseException) -> int:
    """The exit status of an interrupt: 128 + its signal (130 for a plain Ctrl-C)."""
    return 128 + getattr(interrupt, "signum", signal.SIGINT)


def _said(signum: int) -> str:
    return "" if signum == signal.SIGINT else f" ({signal.Signals(signum).name})"


def _quit(signum, frame):
    """A signal before the command runs (while numpy and jax import): leave at once."""
    print(f"\nmultiview: interrupted{_said(signum)}", file=sys.stderr, flush=True)
    os._exit(128 + signum)


# Where a signal must not raise: the import machinery (an exception inside a C extension's
# module initialisation aborts the process: measured, `terminate called after throwing an
# instance of 'nanobind::python_error'` while jax imported), a garbage-collector callback or a
# __del__ (Python reports an exception raised there as "Exception ignored" and goes on).
_IMPORTING = ("<frozen importlib._bootstrap>", "<frozen importlib._bootstrap_external>")

# The signal raised as Interrupted that no `run` has caught yet (this process's signal state,
# as the handlers themselves are): set by `_interrupt`, cleared where `run` catches it. Still
# set when a command's body returns, the interrupt was swallowed on its way up (a bare
# `except:`, a weakref callback), and the command ends as interrupted all the same.
_raised: list[int] = []


def _again(signum: int) -> None:
    """Send `signum` to this process again 20 ms from now, once the code it landed in returned."""
    import threading

    threading.Timer(0.02, os.kill, (os.getpid(), signum)).start()


def _interrupt(signum, frame):
    """A signal while a command runs: Interrupted, so that writers unwind. Not while a module
    imports, nor inside a garbage-collector callback or a __del__ (see _IMPORTING): there the
    signal is sent again 20 ms later, until the program is out of that code."""
    import gc

    callbacks = {getattr(cb, "__code__", None) for cb in gc.callbacks}
    f = frame
    while f is not None:
        code = f.f_code
        if code in callbacks or code.co_name == "__del__" or code.co_filename in _IMPORTING:
            _again(signum)
            return
        f = f.f_back
    _raised[:] = [signum]
    raise Interrupted(signum)


def _unraisable(hook):
    """sys.unraisablehook for a command: an interrupt Python could not raise (it landed in a
    weakref callback, a finaliser: "Exception ignored in ...") is sent again; anything else
    goes to `hook`, the one before."""
    def unraisable(u):
        if isinstance(u.exc_value, KeyboardInterrupt):
            _again(getattr(u.exc_value, "signum", signal.SIGINT))
        else:
            hook(u)
    unraisable.multiview = True
    return unraisable


def on_start() -> None:
    """At program start: SIGNALS leave at once (`_quit`), except a signal the parent ignores
    (a shell's background job ignores SIGINT, `nohup` SIGHUP): it stays ignored."""
    for sig in SIGNALS:
        if signal.getsignal(sig) is not signal.SIG_IGN:
            signal.signal(sig, _quit)


def on_run() -> None:
    """The command starts: SIGNALS that `on_start` took now raise Interrupted (`_interrupt`),
    and an interrupt Python swallows as unraisable is sent again (`_unraisable`)."""
    for sig in SIGNALS:
        if signal.getsignal(sig) is _quit:
            signal.signal(sig, _interrupt)
    if not getattr(sys.unraisablehook, "multiview", False):
        sys.unraisablehook = _unraisable(sys.unraisablehook)


def interrupt_behind(e: BaseException | None) -> BaseException | None:
    """The KeyboardInterrupt `e` was raised while unwinding from, if any: cleanup code that
    the interrupt cut short can fail in turn (tqdm.write, interrupted while it created its
    lock, fails in its `finally` with AttributeError), and that error replaces the interrupt."""
    todo, seen = [e], set()
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        if isinstance(e, KeyboardInterrupt):
            return e
        seen.add(id(e))
        todo += [e.__cause__, e.__context__]
    return None


def run(command: str, body: Callable[[], int]) -> int:
    """Run a command's body; its exit status, with one line on stderr for each way it can
    fail that the user can act on (module docstring)."""
    prefix = f"multiview {command}"
    _raised.clear()
    try:
        try:
            rc = int(body() or 0)
            if _raised:                  # interrupted, and the interrupt swallowed on its way
                raise Interrupted(_raised[0])
            return rc
        except Exception as e:
            behind = interrupt_behind(e)
            if behind is not None:
                raise Interrupted(getattr(behind, "signum", signal.SIGINT)) from e
            raise
    except ConfigError as e:
        print(f"{prefix}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"{prefix}: error: {e.strerror or e}"
              + (f": {e.filename!r}" if e.filename else ""), file=sys.stderr)
        return 2
    except TrainingDiverged as e:
        print(f"{prefix}: training diverged: {e}", file=sys.stderr)
        return 3
    except KeyboardInterrupt as e:
        _raised.clear()
        print(f"{prefix}: interrupted{_said(getattr(e, 'signum', signal.SIGINT))}",
              file=sys.stderr)
        return status_of(e)


def console(main: Callable[[], int]) -> None:
    """The `multiview` program: `on_start`, main(), then exit; after an interrupt through
    os._exit (module docstring)."""
    on_start()
    try:
        rc = main()
    except KeyboardInterrupt as e:
        print(f"multiview: interrupted{_said(getattr(e, 'signum', signal.SIGINT))}",
              file=sys.stderr)
        rc = status_of(e)
    sys.stdout.flush()
    sys.stderr.flush()
    if rc >= 128:
        os._exit(rc)
    sys.exit(rc)

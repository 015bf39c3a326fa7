"""Output paths, checked and claimed before any work.

`out_dir` refuses an output that cannot hold the result (a file where the folder is wanted, a
folder where the result file goes, a symlink loop) before anything is computed. `claim` holds
an exclusive lock on one output file while a command computes it, so that a second process
aimed at the same file is refused at once (exit 2, naming it) instead of computing and then
silently replacing the first one's result; with --force both run and the last one to finish
wins (the writers are atomic). `claim_study` does the same for a sweep folder: the first sweep
records its study there (OUT/.study) before it computes, and a sweep of another study is
refused before any work.
"""

from __future__ import annotations

import errno
import json
import os
from contextlib import contextmanager
from pathlib import Path

from .errors import ConfigError, need

STUDY_FILE = ".study"          # not *.json: no result file


def _loop(p: Path) -> bool:
    """Whether `p` or a folder above it is a symlink loop (or a link chain too deep)."""
    try:
        os.stat(p)
    except OSError as e:
        return e.errno == errno.ELOOP
    return False


def out_dir(path, name: str | None = None, flag: str = "--out") -> Path:
    """The folder a command writes its file `name` (check.json, dose.json) into, checked
    before any work: --out names the folder, or the file itself when its last part is `name`
    (`--out o/check.json` writes o/check.json). Refused: an existing file where the folder is
    wanted, an existing folder (or anything but a file) where the file goes, a symlink loop,
    a folder that cannot be written (results.probe_dir). Nothing is created."""
    from .results import probe_dir

    need(str(path).strip() != "", flag, str(path), "a directory path (give . for the current "
         "directory)")
    p = Path(path)
    for q in (p, *p.parents):
        need(not _loop(q), flag, str(path), f"a path without a symlink loop ({str(q)!r} is one)")
    if name is not None and p.name == name:
        need(not p.exists() or p.is_file(), flag, str(path),
             f"a folder, or the path of a {name} file ({str(p)!r} exists and is no file)")
        p = p.parent if str(p.parent) else Path(".")
    folder = probe_dir(p, flag)
    if name is not None:
        target = folder / name
        need(not target.exists() or target.is_file(), flag, str(path),
             f"a folder whose {name} is a file or absent ({str(target)!r} is a folder)")
    return folder


def _holder(lock: Path) -> str:
    try:
        pid = lock.read_text().strip()
    except OSError:
        pid = ""
    return f"process {pid}" if pid.isdigit() else "another process"


@contextmanager
def claim(path, flag: str = "--out", force: bool = False):
    """Hold an exclusive lock on the output file `path` while the block runs (flock on
    FOLDER/.NAME.lock, created for it and removed after; the folder is created). Another
    holder: ConfigError naming `path` and its process. `force` (or path None): no lock."""
    import fcntl

    if path is None or force:
        yield
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = path.parent / f".{path.name}.lock"
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ConfigError(
                f"{flag}: value {str(path)!r} is not allowed now; allowed: an output no other "
                f"process is writing ({_holder(lock)} is computing it; wait for it, or give "
                "--force to write anyway: the last one to finish wins)") from None
        try:
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:                  # not a lock file its holder removed while we opened it
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        try:
            os.unlink(lock)
        except FileNotFoundError:
            pass
        os.close(fd)              # releases the lock


def claim_study(out: Path, mine: dict, flag: str = "--out") -> None:
    """Claim the sweep folder `out` for the study `mine` (results.study) before any work:
    under the folder's lock, refuse it when it holds another study's points or summary
    (results.claim_sweep_dir) or another sweep's claim (OUT/.study, written by the first
    sweep of a study before it computes); otherwise record the claim. A refused sweep leaves
    nothing behind."""
    from .results import claim_sweep_dir, locked, write_json

    out = Path(out)
    marker = out / STUDY_FILE
    with locked(out):
        claim_sweep_dir(out, mine, flag)
        try:
            theirs = json.loads(marker.read_text())
        except (OSError, ValueError):
            theirs = None
        if isinstance(theirs, dict) and theirs.get("study") not in (None, mine):
            s = theirs["study"]
            raise ConfigError(
                f"{flag}: value {str(out)!r} is not allowed: a sweep over "
                f"{' x '.join(s.get('fields', [])) or 'no field'} (methods "
                f"{','.join(s.get('methods', []))}; {s.get('seeds')} seeds; seed {s.get('seed')})"
                f" claimed it ({marker}); allowed: another {flag}, or the same fields, methods, "
                "seeds, seed and config (other values of the fields: a slice of that grid)")
        if theirs is None:
            write_json({"study": mine}, out, STUDY_FILE)

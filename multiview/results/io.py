"""Writing result files: strict JSON (NaN and infinities become null, `allow_nan=False`),
atomic writers (a temporary file in the target folder, fsync'ed, then renamed over the target;
the temporary file is removed on any exit, Ctrl-C included), and the probes that check an
output path before any work starts (`probe_dir`, `probe_file`)."""

from __future__ import annotations

import json
import math
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from .kinds import FILE_NAMES, FORMATS


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
    (check.json, train.json, ...: FILE_NAMES) gets its `format` key first and its
    `provenance` block (multiview/provenance.py) last when it has none."""
    path = Path(out_dir) / name
    kind = FILE_NAMES.get(name)
    if kind is not None and isinstance(result, dict) and "format" not in result:
        result = {"format": FORMATS[kind], **result}
    if kind is not None and isinstance(result, dict) and "provenance" not in result:
        from ..provenance import block     # where the result came from (metadata)

        result = {**result, "provenance": block()}
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

"""Result files: the one place that writes and reads them.

Writers are atomic (a temporary file in the target folder, fsync'ed, then renamed over the
target; the temporary file is removed on any exit, Ctrl-C included), JSON is strict (NaN and
infinities become null, `allow_nan=False`). Readers check what they read: a file of the wrong
kind is a ConfigError that says what the file is and what was expected. `probe_dir` /
`probe_file` check an output path before any work starts.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .errors import ConfigError

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

@contextmanager
def atomic_file(path: str | Path, mode: str = "w"):
    """Open a temporary file beside `path`; on success fsync it and rename it to `path`. On
    any exception (KeyboardInterrupt included) the temporary file is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)            # mkstemp's 0600 -> what open() would give
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_json(result: dict, out_dir: str | Path, name: str = "check.json") -> Path:
    """Write OUT_DIR/name as strict, indented JSON, atomically."""
    path = Path(out_dir) / name
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


# --- readers ----------------------------------------------------------------------------------

# (kind, the command that writes it, a test on the parsed JSON)
KINDS = (
    ("check.json", "multiview check",
     lambda d: isinstance(d.get("methods"), dict) and isinstance(d.get("predictions"), list)),
    ("sweep.json", "multiview sweep",
     lambda d: str(d.get("format", "")).startswith("multiview.sweep/")),
    ("sweep point file", "multiview sweep",
     lambda d: str(d.get("format", "")).startswith("multiview.sweep.point/")),
    ("dose.json", "multiview dose",
     lambda d: str(d.get("format", "")).startswith("multiview.dose/")),
    ("train.json", "multiview train", lambda d: "steps_run" in d and "final_train_acc" in d),
    ("bench.json", "multiview bench", lambda d: "machine" in d and "train_step" in d),
    ("cifar.json", "multiview cifar", lambda d: "num_classes" in json.dumps(d.get("config", {}))),
)


def identify(tree) -> str:
    """What a parsed JSON result is, in words ('a train.json of `multiview train`')."""
    if isinstance(tree, dict):
        for kind, made_by, test in KINDS:
            try:
                if test(tree):
                    return f"a {kind} of `{made_by}`"
            except (TypeError, ValueError):
                pass
        return "a JSON object of no known result kind"
    return f"a JSON {type(tree).__name__}, not a result object"


def read_result(path: str | Path, name: str, made_by: str, flag: str = "--in") -> dict:
    """The JSON result `name` (check.json, sweep.json) at `path` (the file, or a directory
    holding it); a missing, unparsable or wrong-kind file is a ConfigError naming it."""
    p = Path(path)
    if p.is_dir():
        p = p / name
    if not p.is_file():
        raise ConfigError(f"{flag}: {str(p)!r} not found (run `{made_by}` first)")
    try:
        tree = json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{flag}: {str(p)!r} is not a JSON result ({e}); expected a {name} "
                          f"of `{made_by}`") from None
    kind = next(k for k in KINDS if k[0] == name)
    ok = isinstance(tree, dict)
    try:
        ok = ok and kind[2](tree)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ConfigError(f"{flag}: {str(p)!r} is {identify(tree)}; expected a {name} of "
                          f"`{made_by}`")
    return tree


# --- the arrays of runs.view_arrays -----------------------------------------------------------

ARRAYS_NEEDED = ("config", "single_lam", "single_lam0", "single_step", "single_test_logits",
                 "test_y", "test_single")


def save_arrays(arrays: dict, path: str | Path) -> Path:
    """Write the arrays of `runs.view_arrays` to the .npz `path`, atomically."""
    return save_npz(path, **arrays)


def load_arrays(path: str | Path, flag: str = "--in") -> dict:
    """Read an .npz written by save_arrays (`multiview arrays`); `config` comes back as a
    Config. A missing file, or a file of another kind, is a ConfigError saying what it is."""
    from .config import from_dict

    p = Path(path)
    expected = "expected the arrays .npz of `multiview arrays`"
    if not p.is_file():
        raise ConfigError(f"{flag}: {str(p)!r} not found (write it with `multiview arrays "
                          f"--out {p}`)")
    try:
        with np.load(p, allow_pickle=False) as z:
            out = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError) as e:
        what = "a JSON file" if p.read_bytes()[:1] in (b"{", b"[") else "not an .npz file"
        raise ConfigError(f"{flag}: {str(p)!r} is {what} ({type(e).__name__}); {expected}") \
            from None
    missing = [k for k in ARRAYS_NEEDED if k not in out]
    if missing:
        what = ("a params.npz of `multiview train`" if set(out) == {"W"} else
                "a history.npz of `multiview train`" if "loss" in out and "lam" in out else
                "an .npz of another kind")
        raise ConfigError(f"{flag}: {str(p)!r} is {what} (arrays: {', '.join(sorted(out))}); "
                          f"{expected}")
    try:
        out["config"] = from_dict(json.loads(str(out["config"])))
    except (ValueError, TypeError, AttributeError) as e:
        raise ConfigError(f"{flag}: {str(p)!r} has an unreadable config ({e}); {expected}") \
            from None
    return out

"""Per-epoch checkpoints: msgpack files written through `results.atomic_file` (a unique
temporary file, fsync, rename; removed on any exit, Ctrl-C and SIGTERM included)."""

from __future__ import annotations

from pathlib import Path

from flax import serialization

from multiview.results import atomic_file


class CheckpointError(ValueError):
    """A checkpoint that cannot be used for this run (other config, unreadable)."""


def save(path: Path, state, epoch: int, fingerprint: str) -> None:
    """Write {epoch, fingerprint, state} to path; a crash leaves the old file intact."""
    raw = serialization.msgpack_serialize(
        {"epoch": epoch, "fingerprint": fingerprint, "state": serialization.to_state_dict(state)})
    with atomic_file(path, "wb") as f:
        f.write(raw)


def load(path: Path, template, fingerprint: str):
    """(epochs done, state shaped like template), or (0, template) when there is no file."""
    path = Path(path)
    if not path.is_file():
        return 0, template
    try:
        saved = serialization.msgpack_restore(path.read_bytes())
        epoch, found = int(saved["epoch"]), saved["fingerprint"]
        state = serialization.from_state_dict(template, saved["state"])
    except Exception as err:  # any decoding failure means the same thing to the user
        raise CheckpointError(f"checkpoint {path} is unreadable ({type(err).__name__}); "
                              "delete it to start that stage afresh") from None
    if found != fingerprint:
        raise CheckpointError(f"checkpoint {path} belongs to a different configuration; "
                              "use another --out or delete it")
    return epoch, state

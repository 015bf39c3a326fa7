"""CIFAR-10 / CIFAR-100 python archives: find, read (tarball or extracted folder), write.

The formats are the official ones: `cifar-10-python.tar.gz` holds `cifar-10-batches-py/`
with `data_batch_1..5`, `test_batch`, `batches.meta`; `cifar-100-python.tar.gz` holds
`cifar-100-python/` with `train`, `test`, `meta`. Each batch is a pickled dict with
b'data' (uint8 [n, 3072], channel-major rows) and b'labels' / b'fine_labels'. Nothing is
downloaded; anything missing or malformed raises CifarDataError with one line to show.
"""

from __future__ import annotations

import io
import os
import pickle
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ENV_VAR = "MULTIVIEW_CIFAR_DIR"


@dataclass(frozen=True)
class Layout:
    """Where a data set's pieces live inside its archive."""

    tarball: str
    folder: str
    train: tuple[str, ...]
    test: tuple[str, ...]
    meta: str
    label_key: bytes
    num_classes: int


LAYOUTS = {
    "cifar10": Layout("cifar-10-python.tar.gz", "cifar-10-batches-py",
                      tuple(f"data_batch_{i}" for i in range(1, 6)), ("test_batch",),
                      "batches.meta", b"labels", 10),
    "cifar100": Layout("cifar-100-python.tar.gz", "cifar-100-python", ("train",), ("test",),
                       "meta", b"fine_labels", 100),
}


class CifarDataError(Exception):
    """The data set is missing, truncated or malformed (message: one line, what and where)."""


@dataclass(frozen=True)
class CifarArrays:
    """A loaded data set: uint8 NHWC images, int32 labels, and where they came from."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    num_classes: int
    source: str

    def channel_stats(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-channel mean and std of the training images, in [0, 1] units."""
        x = self.train_images.reshape(-1, 3).astype(np.float64) / 255.0
        return x.mean(0).astype(np.float32), np.maximum(x.std(0), 1e-3).astype(np.float32)


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickler that only rebuilds dicts, lists and numpy arrays (no arbitrary globals)."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
        ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
    }

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"unexpected object {module}.{name} in pickle")
        return super().find_class(module, name)


def _unpickle(raw: bytes) -> dict:
    return _ArrayUnpickler(io.BytesIO(raw), encoding="bytes").load()


def data_dir_from(data_dir: str | os.PathLike | None) -> Path:
    """The directory to search: the argument, else $MULTIVIEW_CIFAR_DIR."""
    chosen = data_dir if data_dir not in (None, "") else os.environ.get(ENV_VAR, "")
    if not chosen:
        raise CifarDataError(f"no CIFAR data directory: pass --data-dir DIR or set {ENV_VAR}")
    return Path(chosen)


def _read_files(dataset: str, root: Path, names: list[str]) -> tuple[str, dict]:
    """(where, {name: bytes}) from the extracted folder if present, else the tarball.

    Names absent from the source are absent from the dict; a tarball is read in one pass.
    """
    lay = LAYOUTS[dataset]
    for folder in (root / lay.folder, root):
        if any((folder / name).is_file() for name in names):
            return str(folder), {n: (folder / n).read_bytes() for n in names
                                 if (folder / n).is_file()}
    tarball = root / lay.tarball
    if not tarball.is_file():
        raise CifarDataError(
            f"{dataset} not found: looked for {root / lay.folder}/ and {tarball} "
            f"(nothing is downloaded; pass --data-dir or set {ENV_VAR})")
    wanted = {f"{lay.folder}/{n}": n for n in names}
    files = {}
    try:
        with tarfile.open(tarball, "r:gz") as tar:
            for member in tar:
                if member.name in wanted and member.isfile():
                    files[wanted[member.name]] = tar.extractfile(member).read()
    except (OSError, EOFError, tarfile.TarError, zlib.error) as err:
        raise CifarDataError(f"{dataset}: {tarball} is truncated or malformed "
                             f"({type(err).__name__}: {err})") from None
    return str(tarball), files


def _decode(batch, label_key: bytes, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(batch, dict):
        raise ValueError("batch is not a dict")
    get = lambda key: batch[key] if key in batch else batch[key.decode()]
    data = np.asarray(get(b"data"))
    labels = np.asarray(get(label_key), dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise ValueError(f"data has dtype {data.dtype} shape {data.shape}, want uint8 [n, 3072]")
    if labels.shape != (data.shape[0],):
        raise ValueError(f"{labels.shape[0] if labels.ndim else 0} labels for {data.shape[0]} images")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels outside [0, {num_classes})")
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels.astype(np.int32)


def load(dataset: str, data_dir: str | os.PathLike | None = None) -> CifarArrays:
    """Read a CIFAR archive (tarball or extracted folder) into uint8 NHWC arrays."""
    if dataset not in LAYOUTS:
        raise CifarDataError(f"unknown dataset {dataset!r}; allowed: {', '.join(LAYOUTS)}")
    lay = LAYOUTS[dataset]
    where, files = _read_files(dataset, data_dir_from(data_dir), [*lay.train, *lay.test])
    parts = {}
    for split, names in (("train", lay.train), ("test", lay.test)):
        images, labels = [], []
        for name in names:
            if name not in files:
                raise CifarDataError(f"{dataset}: {name} is missing from {where}")
            try:
                x, y = _decode(_unpickle(files[name]), lay.label_key, lay.num_classes)
            except (EOFError, pickle.UnpicklingError, ValueError, KeyError, TypeError,
                    AttributeError, IndexError, OSError) as err:
                raise CifarDataError(f"{dataset}: {name} in {where} is truncated or malformed "
                                     f"({type(err).__name__}: {err})") from None
            images.append(x)
            labels.append(y)
        parts[split] = np.concatenate(images), np.concatenate(labels)
    if len(parts["train"][1]) == 0 or len(parts["test"][1]) == 0:
        raise CifarDataError(f"{dataset}: {where} holds no training or no test images")
    return CifarArrays(*parts["train"], *parts["test"], lay.num_classes, where)


def _batch_bytes(images: np.ndarray, labels: np.ndarray, label_key: bytes) -> bytes:
    rows = np.ascontiguousarray(images.transpose(0, 3, 1, 2)).reshape(len(images), 3072)
    batch = {b"data": rows.astype(np.uint8), label_key: [int(v) for v in labels]}
    if label_key == b"fine_labels":
        batch[b"coarse_labels"] = [int(v) // 5 for v in labels]
    return pickle.dumps(batch, protocol=2)


def write_archive(dataset: str, out_dir: str | os.PathLike, train_images, train_labels,
                  test_images, test_labels, tarball: bool = True) -> Path:
    """Write uint8 NHWC [n, 32, 32, 3] images in the official layout; returns the path.

    CIFAR-10's training images are split into 5 batches, as in the original archive.
    """
    lay = LAYOUTS[dataset]
    files = {}
    chunks = np.array_split(np.arange(len(train_labels)), len(lay.train))
    for name, idx in zip(lay.train, chunks):
        files[name] = _batch_bytes(train_images[idx], train_labels[idx], lay.label_key)
    files[lay.test[0]] = _batch_bytes(test_images, test_labels, lay.label_key)
    names = [str(i).encode() for i in range(lay.num_classes)]
    meta_key = b"label_names" if dataset == "cifar10" else b"fine_label_names"
    files[lay.meta] = pickle.dumps({meta_key: names}, protocol=2)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if not tarball:
        (out / lay.folder).mkdir(exist_ok=True)
        for name, raw in files.items():
            (out / lay.folder / name).write_bytes(raw)
        return out / lay.folder
    with tarfile.open(out / lay.tarball, "w:gz") as tar:
        for name, raw in files.items():
            info = tarfile.TarInfo(f"{lay.folder}/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return out / lay.tarball

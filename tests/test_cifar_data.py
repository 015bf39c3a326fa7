"""CIFAR archives: reading the official layouts (tarball and folder, both data sets), and
one-line exit-2 errors when data are missing, truncated or malformed."""

import datetime
import io
import pickle
import tarfile

import numpy as np
import pytest

from multiview.cifar import cli, data


def random_split(rng, n, classes):
    return (rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8),
            rng.integers(0, classes, n).astype(np.int32))


@pytest.mark.parametrize("dataset,classes", [("cifar10", 10), ("cifar100", 100)])
@pytest.mark.parametrize("tarball", [True, False])
def test_written_archive_loads_back_identically(tmp_path, dataset, classes, tarball):
    rng = np.random.default_rng(0)
    (xtr, ytr), (xte, yte) = random_split(rng, 12, classes), random_split(rng, 5, classes)
    data.write_archive(dataset, tmp_path, xtr, ytr, xte, yte, tarball=tarball)
    loaded = data.load(dataset, tmp_path)
    np.testing.assert_array_equal(loaded.train_images, xtr)
    np.testing.assert_array_equal(loaded.train_labels, ytr)
    np.testing.assert_array_equal(loaded.test_images, xte)
    np.testing.assert_array_equal(loaded.test_labels, yte)
    assert loaded.num_classes == classes
    assert loaded.source.endswith(".tar.gz" if tarball else data.LAYOUTS[dataset].folder)


def test_loader_reads_channel_major_rows_of_the_official_format(tmp_path):
    # Built by hand, not with write_archive: a row is 1024 R, then 1024 G, then 1024 B
    # values, each a 32x32 image in row-major order.
    row = np.concatenate([np.full(1024, 10), np.arange(1024) % 256, np.full(1024, 30)])
    batch = {b"batch_label": b"x", b"data": row[None].astype(np.uint8), b"labels": [4],
             b"filenames": [b"a.png"]}
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    loaded = data.load("cifar10", tmp_path)
    img = loaded.train_images[0]
    assert loaded.train_images.shape == (5, 32, 32, 3) and loaded.train_labels[0] == 4
    assert (img[..., 0] == 10).all() and (img[..., 2] == 30).all()
    assert img[0, 5, 1] == 5 and img[1, 0, 1] == 32  # pixel (row, col) = row * 32 + col


def test_data_dir_comes_from_environment_when_not_given(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    data.write_archive("cifar10", tmp_path, *random_split(rng, 5, 10), *random_split(rng, 2, 10))
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path))
    assert len(data.load("cifar10").train_labels) == 5


def run_cli(tmp_path, capsys, dataset, data_dir):
    status = cli.main(["--dataset", dataset, "--data-dir", str(data_dir), "--arch", "fast-4",
                       "--epochs", "1", "--seeds", "1", "--out", str(tmp_path / "out"),
                       "--no-progress"])
    err = capsys.readouterr().err.strip()
    return status, err


def test_missing_data_exits_2_naming_where_it_looked(tmp_path, capsys):
    status, err = run_cli(tmp_path, capsys, "cifar100", tmp_path)
    assert status == 2 and len(err.splitlines()) == 1
    assert "cifar-100-python.tar.gz" in err and str(tmp_path) in err and "Traceback" not in err


def test_missing_data_dir_and_env_var_exits_2(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    status = cli.main(["--epochs", "1", "--out", str(tmp_path), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert status == 2 and data.ENV_VAR in err and len(err.splitlines()) == 1


def test_truncated_tarball_exits_2(tmp_path, capsys):
    rng = np.random.default_rng(2)
    path = data.write_archive("cifar10", tmp_path, *random_split(rng, 50, 10),
                              *random_split(rng, 10, 10))
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    status, err = run_cli(tmp_path, capsys, "cifar10", tmp_path)
    assert status == 2 and len(err.splitlines()) == 1
    assert "truncated" in err and path.name in err


def test_truncated_batch_file_exits_2_naming_the_file(tmp_path, capsys):
    rng = np.random.default_rng(3)
    folder = data.write_archive("cifar100", tmp_path, *random_split(rng, 8, 100),
                                *random_split(rng, 4, 100), tarball=False)
    raw = (folder / "test").read_bytes()
    (folder / "test").write_bytes(raw[:100])
    status, err = run_cli(tmp_path, capsys, "cifar100", tmp_path)
    assert status == 2 and "test" in err and "truncated" in err and len(err.splitlines()) == 1


def test_missing_batch_in_folder_is_named(tmp_path):
    rng = np.random.default_rng(4)
    folder = data.write_archive("cifar10", tmp_path, *random_split(rng, 10, 10),
                                *random_split(rng, 2, 10), tarball=False)
    (folder / "data_batch_3").unlink()
    with pytest.raises(data.CifarDataError, match="data_batch_3 is missing"):
        data.load("cifar10", tmp_path)


@pytest.mark.parametrize("batch,why", [
    ({b"data": np.zeros((2, 3000), np.uint8), b"labels": [0, 1]}, "shape"),
    ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}, "labels for 2 images"),
    ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}, "labels outside"),
    ({b"labels": [0, 1]}, "KeyError"),
])
def test_malformed_batches_are_rejected_with_reason(tmp_path, batch, why):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    good = {b"data": np.zeros((1, 3072), np.uint8), b"labels": [0]}
    for i in range(1, 6):
        (folder / f"data_batch_{i}").write_bytes(pickle.dumps(good))
    (folder / "test_batch").write_bytes(pickle.dumps(batch))
    with pytest.raises(data.CifarDataError, match=why):
        data.load("cifar10", tmp_path)


def test_pickles_with_arbitrary_objects_are_refused(tmp_path):
    # The loader only rebuilds numpy arrays, so a crafted archive cannot run code.
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    evil = pickle.dumps({b"data": datetime.date(2020, 1, 1), b"labels": []})
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (folder / name).write_bytes(evil)
    with pytest.raises(data.CifarDataError, match="unexpected object"):
        data.load("cifar10", tmp_path)


def test_tarball_without_expected_members_names_the_missing_one(tmp_path):
    with tarfile.open(tmp_path / "cifar-10-python.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo("cifar-10-batches-py/readme")
        tar.addfile(info, io.BytesIO(b""))
    with pytest.raises(data.CifarDataError, match="data_batch_1 is missing"):
        data.load("cifar10", tmp_path)

"""Result files: strict JSON, atomic writes that leave nothing behind, readers that say what a
wrong file is, and the size guard."""

import json

import numpy as np
import pytest

from multiview import size
from multiview.config import ConfigError, override
from multiview.results import atomic_file, dumps, read_result, write_json


def test_json_is_strict_nan_and_inf_become_null(tmp_path):
    path = write_json({"a": float("nan"), "b": [1.0, float("inf")], "c": np.float32(0.5),
                       "d": np.arange(2), "e": (1, 2)}, tmp_path, "r.json")
    assert json.loads(path.read_text()) == {"a": None, "b": [1.0, None], "c": 0.5,
                                            "d": [0, 1], "e": [1, 2]}
    assert "NaN" not in dumps({"x": float("nan")})


def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path):
    write_json({"v": 1}, tmp_path, "r.json")
    with pytest.raises(KeyboardInterrupt):
        with atomic_file(tmp_path / "r.json") as f:
            f.write('{"v": 2')
            raise KeyboardInterrupt
    assert json.loads((tmp_path / "r.json").read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


@pytest.mark.parametrize("tree,what", [
    ({"steps_run": 3, "final_train_acc": [1.0]}, "train.json"),
    ({"machine": {}, "train_step": {}}, "bench.json"),
    ({"format": "multiview.sweep/1"}, "sweep.json"),
    ([1, 2], "JSON list"),
])
def test_a_result_of_the_wrong_kind_is_named(tmp_path, tree, what):
    (tmp_path / "check.json").write_text(json.dumps(tree))
    with pytest.raises(ConfigError) as e:
        read_result(tmp_path, "check.json", "multiview check")
    assert what in str(e.value) and "expected a check.json" in str(e.value)


def test_size_guard_refuses_beyond_the_machine_and_can_be_overridden(tiny, monkeypatch):
    big = override(tiny, {"data.N_test": 10**9})
    with pytest.raises(ConfigError, match="data.N_test"):
        size.guard(big, 2)
    assert size.guard(big, 2, force=True) > size.available()[0]
    monkeypatch.setenv(size.FORCE_ENV, "1")
    assert size.guard(big, 2) > size.available()[0]
    # the tests' runs: the process itself (size.PROCESS_BYTES) and well under 100 MB of arrays
    assert size.guard(tiny, 2) - size.PROCESS_BYTES < 10**8


# --- results.load: every kind, validated; frame() -------------------------------------------

from multiview import theory  # noqa: E402
from multiview.results import (FORMATS, claim_sweep_dir, load, point_key, study,  # noqa: E402
                               without_grid, write_point, write_sweep_summary, write_together)


def _method(acc):
    vals = {"train_acc": 1.0, "test_acc": acc, "test_acc_multi": 0.99, "test_acc_single": 0.6}
    return vals | {"std": {q: 0.0 for q in vals}, "views": {"none": 0.0, "one": 1.0, "both": 0.0},
                   "per_model": {q: [v, v] for q, v in vals.items()}}


def check_result(config, acc=0.9):
    methods = {"single": _method(acc), "ensemble": _method(acc + 0.05)}
    return {"config": config, "seed": 0, "seeds": [0, 1], "methods": methods,
            "predictions": theory.check(methods, 2)}


def test_every_result_json_names_its_kind_and_loads_back(tmp_path, tiny):
    path = write_json(check_result(tiny.to_dict()), tmp_path)
    on_disk = json.loads(path.read_text())
    assert next(iter(on_disk)) == "format" and on_disk["format"] == FORMATS["check"]
    got = load(tmp_path)                             # a folder: the result file in it
    assert (got.kind, got.path) == ("check", path)
    assert got.content["methods"]["single"]["test_acc"] == 0.9
    # an older file, without "format", is still read
    del on_disk["format"]
    path.write_text(json.dumps(on_disk))
    assert load(path, "check").kind == "check"


@pytest.mark.parametrize("damage,names", [
    (lambda d: d["methods"]["single"].pop("test_acc"), "methods.single.test_acc"),
    (lambda d: d.pop("seeds"), "seeds"),
    (lambda d: d["methods"]["ensemble"].__setitem__("test_acc_single", "0.6"),
     "methods.ensemble.test_acc_single = the string"),
    (lambda d: d["predictions"][0].__setitem__("holds", "yes"), "predictions[0].holds"),
    (lambda d: d["methods"]["single"]["std"].__setitem__("test_acc", [1]), "std.test_acc"),
    (lambda d: d.__setitem__("format", "multiview.check/9"), "multiview.check/9"),
])
def test_a_damaged_check_json_is_one_error_naming_the_file_and_the_field(tmp_path, tiny, damage,
                                                                         names):
    tree = check_result(tiny.to_dict())
    damage(tree)
    (tmp_path / "check.json").write_text(json.dumps(tree))
    with pytest.raises(ConfigError) as e:
        load(tmp_path / "check.json")
    msg = str(e.value)
    assert str(tmp_path / "check.json") in msg and names in msg and "\n" not in msg


def test_a_truncated_npz_is_named_not_a_traceback(tmp_path):
    np.savez(tmp_path / "a.npz", W=np.zeros((50, 50)))
    raw = (tmp_path / "a.npz").read_bytes()
    (tmp_path / "a.npz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ConfigError, match="damaged or truncated"):
        load(tmp_path / "a.npz")
    with pytest.raises(ConfigError, match="a.npz.*multiview arrays"):
        load(tmp_path / "a.npz", "arrays")
    with pytest.raises(ConfigError, match="is a folder; expected an arrays .npz"):
        load(tmp_path, "arrays")


def _point(out, tiny, mu, acc, methods=("single", "ensemble"), L=2):
    from multiview.config import override
    cfg = override(tiny, {"data.mu": mu})
    key = point_key(cfg, methods, L, 0)
    write_point(out, key, {"data.mu": mu}, methods, L, 0, check_result(cfg.to_dict(), acc))
    return cfg


def _header(tiny, values, methods=("single", "ensemble")):
    return {"format": FORMATS["sweep"], "grid": {"data.mu": values},
            "base_config": tiny.to_dict(), "methods": list(methods), "seeds": 2, "seed": 0,
            "failed": [], "run": {"points": len(values)}}


def test_sweep_json_is_the_union_of_the_slices_on_disk_and_keeps_per_model(tmp_path, tiny):
    mine = study(tiny, ["data.mu"], ["single", "ensemble"], 2, 0)
    _point(tmp_path, tiny, 0.3, 0.7)                 # another process's slice
    _point(tmp_path, tiny, 0.1, 0.8)
    summary = write_sweep_summary(tmp_path, _header(tiny, [0.1]), mine)
    assert summary["grid"] == {"data.mu": [0.1, 0.3]}
    assert [p["grid"]["data.mu"] for p in summary["points"]] == [0.1, 0.3]
    got = load(tmp_path)
    # the file is the summary and where it came from (metadata)
    assert "provenance" in got.content
    content = {k: v for k, v in got.content.items() if k != "provenance"}
    assert got.kind == "sweep" and content == json.loads(json.dumps(summary))
    pytest.importorskip("pandas")
    rows = got.frame()
    assert len(rows) == 4                            # 2 points x 2 methods
    row = rows[(rows["data.mu"] == 0.3) & (rows["method"] == "single")].iloc[0]
    assert row["test_acc"] == 0.7 and row["test_acc_per_model"] == [0.7, 0.7]
    assert row["test_acc_std"] == 0.0


def test_config_minus_grid_drops_the_grid_fields_and_devices_and_copies(tiny):
    # one function builds "the config minus the grid" for a study, a point file and a summary
    config = override(tiny, {"train.devices": 2}).to_dict()
    base = without_grid(config, ["data.mu", "model.q"])
    assert "mu" not in base["data"] and "q" not in base["model"] and "devices" not in base["train"]
    assert base["data"]["k"] == tiny.data.k and config["data"]["mu"] == tiny.data.mu  # a copy
    assert study(tiny, ["data.mu"], ["single"], 2, 0)["base"] == without_grid(
        tiny.to_dict(), ["data.mu"])


def test_a_sweep_dir_of_another_study_is_refused_naming_both_grids(tmp_path, tiny):
    _point(tmp_path, tiny, 0.1, 0.8)
    claim_sweep_dir(tmp_path, study(tiny, ["data.mu"], ["single", "ensemble"], 2, 0))  # a slice
    for other in (study(tiny, ["model.sigma0"], ["single", "ensemble"], 2, 0),
                  study(tiny, ["data.mu"], ["single"], 2, 0),
                  study(tiny, ["data.mu"], ["single", "ensemble"], 3, 0)):
        with pytest.raises(ConfigError) as e:
            claim_sweep_dir(tmp_path, other)
        assert str(tmp_path) in str(e.value) and "data.mu" in str(e.value)
    # a summary alone (every point failed, or another sweep's summary written first) counts too
    alone = tmp_path / "alone"
    write_json({**_header(tiny, [0.1]), "points": []}, alone, "sweep.json")
    claim_sweep_dir(alone, study(tiny, ["data.mu"], ["single", "ensemble"], 2, 0))
    with pytest.raises(ConfigError, match="model.sigma0"):
        claim_sweep_dir(alone, study(tiny, ["model.sigma0"], ["single", "ensemble"], 2, 0))


def test_frame_of_a_check_and_without_pandas_a_list_of_dicts(tmp_path, tiny, monkeypatch):
    write_json(check_result(tiny.to_dict()), tmp_path)
    pytest.importorskip("pandas")
    frame = load(tmp_path).frame()
    assert list(frame["method"]) == ["single", "ensemble"]
    assert frame.set_index("method").loc["ensemble", "test_acc"] == pytest.approx(0.95)
    monkeypatch.setitem(__import__("sys").modules, "pandas", None)
    rows = load(tmp_path).frame()
    assert isinstance(rows, list) and rows[0]["method"] == "single"
    assert rows[0]["train_acc_per_model"] == [1.0, 1.0]


def test_frame_of_a_dose_one_row_per_teacher(tmp_path, tiny):
    teachers = [{"teacher": t, "size": s, "share_known": 0.5, "share_gained": 0.4,
                 "test_acc_single": 0.6, "std": 0.01, "lam_over_varrho": None}
                for t, s in (("twin", 0), ("single", 1), ("ens-2", 2))]
    write_json({"config": tiny.to_dict(), "seed": 0, "L": 2, "teachers": teachers,
                "labels_alone": {"test_acc_single": 0.5, "missing_pairs": 0.3}, "slope": None},
               tmp_path, "dose.json")
    got = load(tmp_path / "dose.json")
    assert got.kind == "dose" and got.content["format"] == FORMATS["dose"]
    pytest.importorskip("pandas")
    frame = got.frame()
    assert list(frame["teacher"]) == ["twin", "single", "ens-2"]
    assert set(frame["objective"]) == {tiny.distill.objective}


def test_a_pair_of_files_is_written_together_or_not_at_all(tmp_path, monkeypatch):
    import errno
    import os

    from multiview import results
    a, b = tmp_path / "f.pdf", tmp_path / "f.png"
    write_together({a: b"old pdf", b: b"old png"})
    real = os.fsync
    calls = []

    def full(fd):                                    # the second file meets a full disk
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd)
    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError) as e:
        write_together({a: b"new pdf", b: b"new png"})
    assert e.value.errno == errno.ENOSPC and e.value.filename == str(b)   # the file is named
    assert (a.read_bytes(), b.read_bytes()) == (b"old pdf", b"old png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.pdf", "f.png"]
    # a full disk while the second file is written: that file is named
    monkeypatch.setattr(os, "fsync", real)
    with pytest.raises(OSError) as e:
        with results.atomic_files([a, b], "wb") as files:
            files[0].write(b"x")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert e.value.filename == f"{a}, {b}"            # unknown which: both are named
    assert (a.read_bytes(), b.read_bytes()) == (b"old pdf", b"old png")

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
    assert size.guard(tiny, 2) < 10**8        # the tests' runs: well under 100 MB

"""End to end: `multiview cifar` on a tiny real-image (digits) archive writes cifar.json
with every method; --describe reports parameter counts; bad options exit 2."""

import json

import jax
import numpy as np
import pytest

from multiview.cifar import cli, pipeline
from multiview.cifar.config import METHODS
from multiview.cifar.digits import digits_images, write_digits_archive


def test_digits_are_real_32x32_rgb_images():
    xtr, ytr, xte, yte = digits_images()
    assert xtr.shape == (1500, 32, 32, 3) and xte.shape == (297, 32, 32, 3)
    assert xtr.dtype == np.uint8 and xtr.max() == 255 and set(ytr) == set(range(10))
    assert (xtr[:, :4] == 0).all() and (xtr[..., 0] == xtr[..., 2]).all()  # padded, grey


def test_pipeline_end_to_end_on_tiny_digits_archive(tmp_path, capsys):
    write_digits_archive(tmp_path / "data", limit=64)
    out = tmp_path / "out"
    status = cli.main(["--data-dir", str(tmp_path / "data"), "--arch", "fast-4",
                       "--epochs", "1", "--seeds", "2", "--batch-size", "16",
                       "--out", str(out), "--no-progress"])
    printed = capsys.readouterr().out
    assert status == 0
    result = json.loads((out / "cifar.json").read_text())
    assert set(result["methods"]) == set(METHODS)
    assert result["seeds"] == [0, 1] and result["config"]["arch"] == "fast-4"
    assert result["data"]["n_train"] == 64 and result["data"]["n_test"] == 64
    for name, m in result["methods"].items():
        assert 0 <= m["train_acc"] <= 1 and 0 <= m["test_acc"] <= 1
        assert set(m["std"]) == {"train_acc", "test_acc"}
    assert result["methods"]["single"]["n_models"] == 2
    assert len(result["methods"]["kd"]["per_model"]["test_acc"]) == 2
    assert result["methods"]["ensemble"]["n_models"] == 1
    assert result["paper"] is None and "ours test" in printed
    assert (out / "checkpoints" / "single.msgpack").is_file()


def test_stages_follow_method_dependencies():
    assert pipeline.stages_for(["ensemble"]) == ["single"]
    assert pipeline.stages_for(["ensemble_kd"]) == ["single", "kd"]
    assert pipeline.stages_for(["sum_trained", "self_distill"]) == ["single", "self_distill",
                                                                    "sum"]


def test_cifar_methods_are_the_method_tables_names():
    """The CIFAR arm shares the synthetic arm's vocabulary: its methods are the table's methods
    read off the stages it trains (none left out), those methods need exactly those stages,
    and the members' keys are the table streams' (keys.seed_keys)."""
    from multiview import methods as table
    from multiview.cifar.config import METHODS, STAGES
    from multiview.keys import STREAMS, seed_keys

    assert set(METHODS) == {m for m, (stage, _) in table.METHODS.items() if stage in STAGES}
    assert set(pipeline.stages_for(METHODS)) == set(STAGES)
    assert "kd_twin" not in METHODS and "ntk_single" not in METHODS
    key = jax.random.fold_in(jax.random.PRNGKey(5), STREAMS["student"])
    np.testing.assert_array_equal(seed_keys([4, 5], "student")[1], key)


def test_describe_prints_parameter_count_json(capsys):
    assert cli.main(["--arch", "wrn-28-2", "--describe"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["params"] == 1_467_610 and info["arch"] == "wrn-28-2"
    assert info["forward_flops_per_image"] > 2e8


@pytest.mark.parametrize("args,field", [
    (["--arch", "wrn-40-4"], "--arch"),
    (["--methods", "single,bagging"], "--methods"),
    (["--epochs", "0"], "--epochs"),
    (["--kd-alpha", "1.5"], "--kd-alpha"),
    (["--arch", "nope", "--describe"], "nope"),
])
def test_invalid_options_exit_2_naming_the_field(tmp_path, capsys, args, field):
    status = cli.main([*args, "--data-dir", str(tmp_path), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert status == 2 and field in err and len(err.splitlines()) == 1

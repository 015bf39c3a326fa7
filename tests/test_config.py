"""Configuration: presets, overrides, and every validation error path."""

import json

import pytest

from multiview.config import (Config, ConfigError, from_dict, load_file, override, parse_set,
                              preset, resolve)


def test_presets_resolve_and_validate():
    for name in ("small", "deck", "paper"):
        cfg = preset(name)
        assert isinstance(cfg, Config)
    assert preset("deck").data.k == 2 and preset("deck").data.mu == 0.2


def test_config_round_trips_through_its_dict():
    cfg = override(preset("small"), {"data.mu": "0.2", "model.q": "5", "data.z_own": "1,1.5"})
    assert from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


def test_set_overrides_are_typed():
    cfg = override(preset("small"), parse_set(["data.k=7", "data.mu=0.25", "train.optimizer=adam"]))
    assert cfg.data.k == 7 and isinstance(cfg.data.k, int)
    assert cfg.data.mu == 0.25 and cfg.train.optimizer == "adam"


def test_file_overrides_json_and_toml(tmp_path):
    j = tmp_path / "o.json"
    j.write_text(json.dumps({"data": {"mu": 0.3, "k": 4}, "model": {"m": 3}}))
    t = tmp_path / "o.toml"
    t.write_text("[data]\nmu = 0.3\nk = 4\n[model]\nm = 3\n")
    assert resolve("small", str(j)) == resolve("small", str(t))
    assert resolve("small", str(j)).model.m == 3
    # --set wins over the file
    assert resolve("small", str(j), ["data.mu=0.1"]).data.mu == 0.1


@pytest.mark.parametrize("key,value,needle", [
    ("data.mu", "1.5", "data.mu"),
    ("data.mu", "-0.1", "0 <= mu <= 1"),
    ("model.q", "2", "3 <= q"),
    ("data.d", "5", "d >= 2k"),
    ("data.P", "3", "too few patches"),
    ("data.k", "1", "k >= 2"),
    ("data.k", "abc", "wrong type"),
    ("model.m", "2.5", "wrong type"),
    ("model.m", "0", ">= 1"),
    ("data.views", "random", "orthonormal"),
    ("train.optimizer", "lbfgs", "gd"),
    ("train.lr", "0", "0 < lr"),
    ("train.lr", "nan", "finite"),
    ("model.varrho", "-1", "0 < varrho"),
    ("data.z_own", "2,1", "lo <= hi"),
    ("data.z_own", "1", "pair of floats"),
    ("data.s", "9", "s <= k"),
    ("train.stop", "never", "train_acc"),
    ("data.nope", "1", "unknown field"),
    ("nope.k", "1", "unknown section"),
])
def test_invalid_values_name_field_value_and_allowed(key, value, needle):
    with pytest.raises(ConfigError) as e:
        override(preset("small"), {key: value})
    msg = str(e.value)
    assert key.split(".")[0] in msg and needle in msg


def test_bad_set_syntax_and_unknown_preset_and_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="SECTION.FIELD=VALUE"):
        parse_set(["data.mu"])
    with pytest.raises(ConfigError, match="preset"):
        preset("huge")
    with pytest.raises(ConfigError, match="not found"):
        load_file(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="cannot parse"):
        load_file(bad)
    sec = tmp_path / "sec.json"
    sec.write_text(json.dumps({"optim": {"lr": 1}}))
    with pytest.raises(ConfigError, match="unknown section"):
        load_file(sec)

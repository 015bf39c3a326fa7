"""scaling.paper_scales and the `scaled` preset: the paper's formulas in k, explicit overrides
win, a later change of k (a sweep's grid) rescales what was not set, and rule "none" changes
nothing."""

import math

import pytest

from multiview.config import Config, from_dict, override, preset, resolve
from multiview.errors import ConfigError
from multiview.scaling import ScaleConfig, paper_scales


@pytest.mark.parametrize("k,q", [(5, 4), (12, 4), (20, 3), (8, 6)])
def test_the_rule_gives_the_papers_formulas(k, q):
    s = paper_scales(k, q, ScaleConfig(varrho_c=2.0, varrho_pow=1.5, lr_c=0.5, lr_pow=1.0,
                                       eta_ratio_c=3.0, eta_ratio_pow=0.5, steps_c=10.0,
                                       steps_pow=2.0))
    assert s["model.sigma0"] ** (q - 2) == pytest.approx(1 / k)        # σ0^(q−2) = 1/k
    assert s["distill.tau"] == pytest.approx(1 / math.log(k) ** 2)     # τ = 1/log²k
    assert s["model.varrho"] == pytest.approx(2.0 / math.log(k) ** 1.5)
    assert s["train.lr"] == pytest.approx(0.5 / k)
    assert s["distill.eta_ratio"] == pytest.approx(3.0 * math.sqrt(k))
    assert s["train.steps"] == s["distill.steps"] == math.ceil(10.0 * k ** 2 / (0.5 / k))
    assert (s["data.N_train"], s["data.P"]) == (40 * k, 2 * k)


def test_the_scaled_preset_follows_k_and_explicit_settings_win():
    cfg = resolve("scaled", sets=["data.k=12", "model.varrho=0.5"])
    want = paper_scales(12, cfg.model.q, cfg.scale)
    assert cfg.model.varrho == 0.5                                      # --set wins
    assert cfg.model.sigma0 == pytest.approx(want["model.sigma0"])
    assert cfg.distill.tau == pytest.approx(want["distill.tau"])
    assert (cfg.data.N_train, cfg.data.P, cfg.train.steps) == \
        (480, 24, want["train.steps"])
    # a sweep's grid sets k later: what was not set explicitly follows, varrho stays pinned
    cfg8 = override(cfg, {"data.k": 8})
    assert cfg8.model.varrho == 0.5
    assert cfg8.model.sigma0 == pytest.approx(8 ** -0.5) and cfg8.data.N_train == 320
    # a scaling constant is a field: --set scale.varrho_c rescales ϱ
    cfg = resolve("scaled", sets=["scale.varrho_c=3", "data.k=5"])
    assert cfg.model.varrho == pytest.approx(3 / math.log(5))
    # check.json's config rebuilds the same config
    assert from_dict(cfg8.to_dict()) == cfg8


def test_rule_none_leaves_every_preset_as_it_was():
    small = preset("small")
    assert small.scale.rule == "none" and small.model.varrho == 3.0 and small.data.N_train == 0
    assert override(small, {"data.k": 8}).model.sigma0 == small.model.sigma0
    assert preset("small") == Config()
    # the rule applies to any preset when switched on
    on = override(preset("small"), {"scale.rule": "paper", "data.k": 6})
    assert on.distill.tau == pytest.approx(1 / math.log(6) ** 2)


@pytest.mark.parametrize("field,value", [("scale.rule", "poly"), ("scale.varrho_c", "0"),
                                         ("scale.steps_pow", "-1"), ("scale.pinned", "model.nope")])
def test_bad_scale_fields_are_refused_naming_the_field(field, value):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        resolve("scaled", sets=[f"{field}={value}"])


def test_new_fields_at_their_neutral_values_keep_old_sweep_points_found():
    """A sweep point written before the scale section and distill.smooth_level existed has the
    identity of today's config with them at their neutral values; other values change it."""
    import json

    from multiview.results.store import _identity_config, _without_devices, point_key

    cfg = preset("small")
    old = json.loads(json.dumps(cfg.to_dict()))            # as a point file holds it
    del old["scale"]
    del old["distill"]["smooth_level"]
    assert _without_devices(old) == _identity_config(cfg)
    key = point_key(cfg, ["single"], 4, 0)
    assert point_key(override(cfg, {"distill.smooth_level": 0.8}), ["single"], 4, 0) != key
    assert point_key(override(cfg, {"scale.rule": "paper"}), ["single"], 4, 0) != key


def test_sigma0_c_scales_the_init_and_k_slices_of_a_sweep_are_one_study():
    """σ0 = sigma0_c·k^(−1/(q−2)); and a sweep directory over data.k under the rule holds one
    study: the rescaled fields are functions of k, not another base config, while a field
    pinned by --set still tells two studies apart."""
    from multiview.results.store import study
    a = resolve("scaled", sets=["scale.sigma0_c=0.02", "data.k=5"])
    assert a.model.sigma0 == pytest.approx(0.02 * 5 ** (-1 / (a.model.q - 2)))
    b = resolve("scaled", sets=["scale.sigma0_c=0.02", "data.k=8"])
    assert a.model.varrho != b.model.varrho and a.data.N_train != b.data.N_train
    assert study(a, ["data.k"], ["single"], 3, 0) == study(b, ["data.k"], ["single"], 3, 0)
    c = resolve("scaled", sets=["scale.sigma0_c=0.02", "data.k=8", "model.varrho=0.5"])
    assert study(c, ["data.k"], ["single"], 3, 0) != study(b, ["data.k"], ["single"], 3, 0)


def test_a_sweep_over_k_under_the_rule_resumes_its_points_and_slices_share_its_folder(tmp_path):
    """Slices of a grid over data.k under the scaling rule (one k at a time, as
    experiments/theorems_vs_k.sh runs them) share one folder, and a rerun reads every finished
    point back instead of training it again (their rescaled fields are part of each point's
    identity, not of the study's)."""
    from multiview.sweep import run_sweep
    base = resolve("scaled", sets=["data.d=40", "data.N_test=60", "model.m=2",
                                   "scale.steps_c=4", "train.chunk=10"])
    run = lambda k: run_sweep(base, {"data.k": [k]}, ["single"], 2, 0, tmp_path,  # noqa: E731
                              progress=False, log=lambda m: None)
    assert run(3)["run"]["computed"] == 1
    assert run(4)["run"]["computed"] == 1                     # another slice, same folder
    again = run(3)
    assert again["run"]["cached"] == 1 and again["run"]["computed"] == 0
    assert not list(tmp_path.glob("*.corrupt"))

"""The atlas figure: its numbers (analysis.atlas) on hand-made check.json records, counted by
hand, and the figure drawn from a hand-made atlas folder (seconds, no training)."""

import json

import pytest

from multiview import analysis, plots
from multiview.config import ConfigError
from multiview.plots.atlas import cell_text
from multiview.results import load


def pred(pid, verdict, theorem="Theorem 1", control=False):
    """A check.json prediction record with the fields the atlas reads."""
    return {"id": pid, "theorem": theorem, "control": control, "measured": 0.5,
            "expected": [0.0, 1.0], "holds": verdict is not None, "verdict": verdict}


def check(seed, *preds, L=3):
    return {"format": "multiview.check/1", "config": {}, "seed": seed, "seeds": list(range(L)),
            "methods": {}, "predictions": list(preds)}


# preset "deck": 3 base seeds; preset "small": 2. T3.teacher is a control of Theorem 3, T3.random
# is run on small's seed 1 only, F.rf.ensemble on no seed of deck.
RUNS = {
    "deck": [{"seed": s, "check": check(s, *p)} for s, p in enumerate([
        [pred("T1.train", "holds"), pred("T3.teacher", "fails", "Theorem 3", True),
         pred("T1.single", "holds")],
        [pred("T1.train", "holds"), pred("T3.teacher", "inconclusive", "Theorem 3", True),
         pred("T1.single", "fails")],
        [pred("T1.train", "fails"), pred("T3.teacher", "holds", "Theorem 3", True),
         pred("T1.single", None)]])],
    "small": [{"seed": s, "check": check(s, *p, L=10)} for s, p in enumerate([
        [pred("T1.train", "holds"), pred("F.rf.ensemble", "holds", "Fixed features"),
         pred("T3.single", "holds", "Theorem 3")],
        [pred("T1.train", "holds"), pred("F.rf.ensemble", "inconclusive", "Fixed features"),
         pred("T3.single", "holds", "Theorem 3"),
         pred("T3.random", "holds", "Theorem 3", True)]])],
}


def test_atlas_counts_each_presets_verdicts_over_its_base_seeds():
    a = analysis.atlas(RUNS)
    assert a["columns"] == ["small", "deck"]              # config.PRESETS' order
    ids = [r["id"] for r in a["rows"]]
    # by theorem in theory's order (1, 3, fixed features), claims before controls, each in
    # theory.predictions' order (T3.teacher is listed before T3.random)
    assert ids == ["T1.train", "T1.single", "T3.single", "T3.teacher", "T3.random",
                   "F.rf.ensemble"]
    cell = {(r["id"], c): a["cells"][i][j] for i, r in enumerate(a["rows"])
            for j, c in enumerate(a["columns"])}
    # by hand: deck T1.train holds on seeds 0, 1 and fails on 2
    assert cell["T1.train", "deck"] == {"holds": 2, "inconclusive": 0, "fails": 1, "n": 3,
                                        "seeds": 3, "share": 2 / 3}
    # T1.single: holds, fails, not evaluable -> 1 of the 2 seeds with a verdict
    assert cell["T1.single", "deck"] == {"holds": 1, "inconclusive": 0, "fails": 1, "n": 2,
                                         "seeds": 3, "share": 0.5}
    assert cell["T3.teacher", "deck"]["inconclusive"] == 1
    assert cell["T3.teacher", "deck"]["share"] == pytest.approx(1 / 3)
    # small ran T3.random on seed 1 only: 1 of 1, the other seed n/a
    assert cell["T3.random", "small"] == {"holds": 1, "inconclusive": 0, "fails": 0, "n": 1,
                                          "seeds": 2, "share": 1.0}
    # not recorded on a preset at all: n/a
    assert cell["F.rf.ensemble", "deck"] is None and cell["T1.single", "small"] is None
    assert a["members"] == {"small": [10], "deck": [3]}
    assert a["seeds"] == {"small": [0, 1], "deck": [0, 1, 2]}


def test_cell_text_gives_the_count_then_the_inconclusive_and_na_seeds():
    assert cell_text(None) == "n/a"
    assert cell_text(analysis.atlas_cell(["holds", "holds", "fails"])) == "2/3"
    assert cell_text(analysis.atlas_cell(["holds", "inconclusive", None])) == "1/2 · 1 inc. · 1 n/a"
    assert analysis.atlas_cell([None, None]) is None


def write_folder(root, runs):
    for preset, rs in runs.items():
        for r in rs:
            d = root / preset / f"seed{r['seed']}"
            d.mkdir(parents=True)
            (d / "check.json").write_text(json.dumps(r["check"]))


def test_the_atlas_folder_loads_and_draws(tmp_path):
    write_folder(tmp_path / "runs", RUNS)
    loaded = load(tmp_path / "runs", "atlas")
    assert {p: [r["seed"] for r in rs] for p, rs in loaded.content["runs"].items()} == \
        {"deck": [0, 1, 2], "small": [0, 1]}
    assert len(loaded.frame()) == 9 + 7                     # one row per seed x prediction
    paths = plots.plot("atlas", tmp_path / "runs", out=tmp_path / "fig")
    assert sorted(p.name for p in paths) == ["atlas.pdf", "atlas.png"]
    assert all(p.stat().st_size > 1000 for p in paths)


def test_an_atlas_folder_without_runs_or_with_a_misfiled_seed_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="holds no PRESET/seedS/check.json"):
        load(tmp_path / "empty", "atlas")
    write_folder(tmp_path / "bad", {"small": [{"seed": 1, "check": check(0)}]})
    with pytest.raises(ConfigError, match="has seed 0; its folder says 1"):
        load(tmp_path / "bad", "atlas")

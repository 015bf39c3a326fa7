"""Finished stages on disk (multiview/results/stages.py): a run read back from them gives the
numbers of a run without them; runs that differ only in distill.* share the stages that never
read a teacher and train their students anew; a damaged file is trained again; a sweep point
stopped mid-way resumes from its last finished stage and removes its own stages once written."""

import json
from pathlib import Path

import pytest

from multiview import recipe
from multiview.check import run_check
from multiview.cli import main
from multiview.config import override
from multiview.methods import STAGES
from multiview.results import dumps
from multiview.results.stages import SUFFIX, reads_distill
from multiview.sweep import run_sweep

METHODS = ["single", "single_long", "ensemble", "kd", "kd_twin", "self_distill", "kd_smooth",
           "sum_trained"]
# the stages of METHODS that read no teacher, under check.json's names
LABEL_STAGES = {"single", "single_long", "labels_alone", "sum_trained"}


def _numbers(result: dict) -> dict:
    """A check record without its `run` block (times, the stages read back) and the format a
    point file's copy adds."""
    return json.loads(dumps({k: v for k, v in result.items() if k not in ("run", "format")}))


def _files(folder: Path) -> list[Path]:
    return sorted(Path(folder).glob(f"*{SUFFIX}"))


def test_only_stages_that_learn_from_a_teacher_read_the_distill_section():
    for name, stage in STAGES.items():
        taught = stage.teacher is not None or stage.learner == "student"
        assert reads_distill(name) == taught, name
    # single_long reads no teacher, but its key still covers single's (its needs)
    assert not reads_distill("single_long") and reads_distill("twin")


def test_a_run_read_back_from_its_stages_gives_the_numbers_of_a_run_without_them(tiny,
                                                                                   tmp_path):
    plain = run_check(tiny, 3, 0, METHODS, progress=False)
    first = run_check(tiny, 3, 0, METHODS, progress=False, stages=tmp_path)
    again = run_check(tiny, 3, 0, METHODS, progress=False, stages=tmp_path)
    assert "stages_read_back" not in first["run"]
    assert set(again["run"]["stages_read_back"]) == set(first["run"]["stage_seconds"])
    assert _numbers(plain) == _numbers(first) == _numbers(again)
    assert len(_files(tmp_path)) == len(first["run"]["stage_seconds"])


def test_runs_that_differ_in_distill_share_the_label_stages_and_train_their_students(tiny,
                                                                                      tmp_path):
    run_check(tiny, 3, 0, METHODS, progress=False, stages=tmp_path)
    hinton = override(tiny, {"distill.objective": "hinton", "distill.alpha": 0.7})
    shared = run_check(hinton, 3, 0, METHODS, progress=False, stages=tmp_path)
    assert set(shared["run"]["stages_read_back"]) == LABEL_STAGES
    assert _numbers(shared) == _numbers(run_check(hinton, 3, 0, METHODS, progress=False))
    # another base seed, member count or data field reads nothing back
    for cfg, L, seed in [(tiny, 3, 1), (tiny, 2, 0), (override(tiny, {"data.mu": 0.3}), 3, 0)]:
        other = run_check(cfg, L, seed, ["single"], progress=False, stages=tmp_path)
        assert "stages_read_back" not in other["run"], (L, seed)


def test_a_damaged_stage_file_is_moved_aside_and_trained_again(tiny, tmp_path):
    first = run_check(tiny, 2, 0, ["single", "ensemble"], progress=False, stages=tmp_path)
    (path,) = _files(tmp_path)
    path.write_bytes(b"not a pickle")
    said = []
    again = run_check(tiny, 2, 0, ["single", "ensemble"], progress=False, stages=tmp_path,
                      log=said.append)
    assert "stages_read_back" not in again["run"] and _numbers(again) == _numbers(first)
    assert any("is not a stage of this run" in line for line in said), said
    assert path.with_name(path.name + ".corrupt").exists() and path.exists()


def test_a_sweep_point_stopped_mid_way_resumes_from_its_last_finished_stage(tiny, tmp_path,
                                                                              monkeypatch):
    student = recipe.LEARNERS["student"]

    def stop(s):
        raise KeyboardInterrupt

    methods = ["single", "ensemble", "kd"]
    out = tmp_path / "sweep"
    monkeypatch.setitem(recipe.LEARNERS, "student", student._replace(train=stop))
    with pytest.raises(KeyboardInterrupt):
        run_sweep(tiny, {"data.mu": [0.2]}, methods, 2, 0, out, progress=False)
    (point,) = (out / "stages").iterdir()
    assert len(_files(point)) == 2                 # single and labels_alone finished
    monkeypatch.setitem(recipe.LEARNERS, "student", student)
    run_sweep(tiny, {"data.mu": [0.2]}, methods, 2, 0, out, progress=False)
    (record,) = [json.loads(p.read_text()) for p in out.glob("*.json") if p.name != "sweep.json"]
    assert set(record["result"]["run"]["stages_read_back"]) == {"single", "labels_alone"}
    assert not (out / "stages").exists()           # a written point keeps no stages
    fresh = run_check(override(tiny, {"data.mu": 0.2}), 2, 0, methods, progress=False)
    assert _numbers(record["result"]) == _numbers(fresh)


def test_sweep_stages_shares_one_kept_folder_between_sweeps(tiny, tmp_path, capsys):
    shared = tmp_path / "stages"
    base = ["sweep", "--preset", "tiny", "--grid", "data.mu=0.2", "--seeds", "2",
            "--methods", "single,ensemble,kd", "--no-progress", "--stages", str(shared)]
    assert main(base + ["--out", str(tmp_path / "a")]) == 0
    kept = _files(shared)
    assert len(kept) == 3                          # single, labels_alone, kd
    assert main(base + ["--out", str(tmp_path / "b"), "--set", "distill.objective=hinton"]) == 0
    (record,) = [json.loads(p.read_text()) for p in (tmp_path / "b").glob("*.json")
                 if p.name != "sweep.json"]
    assert set(record["result"]["run"]["stages_read_back"]) == {"single", "labels_alone"}
    assert len(_files(shared)) == 4                # the hinton students added
    capsys.readouterr()
    (tmp_path / "file").write_text("x")
    assert main(["check", "--preset", "tiny", "--seeds", "2", "--methods", "single",
                 "--out", str(tmp_path / "c"), "--stages", str(tmp_path / "file")]) == 2
    assert "--stages" in capsys.readouterr().err


def test_search_trials_that_differ_in_distill_share_the_label_stages(tiny, tmp_path):
    """With `stages`, a search over distill.* trains the single models and twins on labels once
    per base seed: the second trial reads them back and gives the numbers of a fresh check.
    Without it, every point's own stages are removed once the point is written."""
    import multiview as mv

    cfg = override(tiny, {"distill.objective": "hinton"})
    space = {"require": ["T2.single"], "distill.alpha": {"low": 0.5, "high": 1.0}}
    run = dict(trials=2, seeds=2, base_seeds=1, methods=["single", "ensemble", "kd"])
    shared = tmp_path / "stages"
    mv.search(cfg, space, out=tmp_path / "kept", stages=shared, **run)
    records = [json.loads(p.read_text()) for p in (tmp_path / "kept").glob("seed-0/*.json")]
    assert len(records) == 2
    read = [set(r["result"]["run"].get("stages_read_back", ())) for r in records]
    assert sorted(read, key=len) == [set(), {"single", "labels_alone"}]
    assert len(_files(shared)) == 4               # single, labels_alone and two kd's
    second = records[read.index({"single", "labels_alone"})]
    fresh = run_check(override(cfg, second["grid"]), 2, 0, ["single", "ensemble", "kd"],
                      progress=False)
    assert _numbers(second["result"]) == _numbers(fresh)
    mv.search(cfg, space, out=tmp_path / "own", **run)
    assert not (tmp_path / "own" / "stages").exists()

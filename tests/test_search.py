"""`multiview search`: the [search] table, the score, resume after SIGTERM, refusals, output."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import multiview as mv
from multiview import cli
from multiview import search as search_mod
from multiview.config import ConfigError
from multiview.search import held, methods_needed, parse_space, score

from .conftest import tiny_sets

# T1.single and T2.single need single and ensemble only: the cheapest pair of learners
SPACE = {"require": ["T1.single", "T2.single"],
         "model.sigma0": {"low": 0.03, "high": 0.09, "log": True},
         "data.mu": {"low": 0.1, "high": 0.4}}
RUN = dict(trials=5, seeds=2, base_seeds=2, seed=0)


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    """A 5-trial search over 2 fields of `tiny` (L = 2, base seeds 0 and 1)."""
    out = tmp_path_factory.mktemp("search")
    summary = mv.search(mv.configure("tiny"), SPACE, out=out, **RUN)
    return out, summary


def _points(out):
    return {p: p.stat().st_mtime_ns for p in out.glob("seed-*/*.json")}


def test_five_trials_over_two_fields_each_a_check_point_per_base_seed(searched):
    out, summary = searched
    trials = summary["trials"]
    assert [t["state"] for t in trials] == ["complete"] * 5
    assert summary["methods"] == ["single", "ensemble"]          # what the predictions need
    for t in trials:
        assert 0.03 <= t["params"]["model.sigma0"] <= 0.09
        assert 0.1 <= t["params"]["data.mu"] <= 0.4
        assert len(t["points"]) == 2
        for b, key in zip((0, 1), t["points"]):                  # sweep's point files
            rec = json.loads((out / f"seed-{b}" / f"{key}.json").read_text())
            assert rec["seed"] == b and rec["grid"] == t["params"] and rec["complete"]
    assert len(_points(out)) == 10
    loaded = mv.load(out)
    assert loaded.kind == "search"
    frame = loaded.frame()
    assert len(frame) == 5 and {"model.sigma0", "data.mu", "score", "held.T1.single"} <= \
        set(frame.columns)


def test_score_recomputed_by_hand_from_the_check_results(searched):
    out, summary = searched
    for t in summary["trials"]:
        results = [json.loads((out / f"seed-{b}" / f"{k}.json").read_text())["result"]
                   for b, k in zip((0, 1), t["points"])]
        # held: the CI verdict where check.json has one (today's), else the point estimate
        held = {pid: [next(p["verdict"] == "holds" if "verdict" in p else p["holds"] is True
                           for p in r["predictions"] if p["id"] == pid)
                      for r in results] for pid in ("T1.single", "T2.single")}
        by_hand = sum(all(row) for row in held.values())
        pairs = [v for row in held.values() for v in row]
        assert t["score"] == by_hand
        assert t["fraction"] == pytest.approx(sum(pairs) / 4)
        assert t["value"] == pytest.approx(by_hand + t["fraction"])
    ranked = [t["number"] for t in sorted(summary["trials"],
                                          key=lambda t: (-t["score"], -t["fraction"],
                                                         t["number"]))]
    assert summary["best"] == ranked[:5]


def test_printed_command_reproduces_the_trials_point(searched, tmp_path):
    out, summary = searched
    t = summary["trials"][summary["best"][0]]
    argv = t["commands"][0].split()[1:] + ["--out", str(tmp_path), "--no-progress"]
    assert cli.main(argv) == 0
    mine = json.loads((tmp_path / "check.json").read_text())
    point = json.loads((out / "seed-0" / f"{t['points'][0]}.json").read_text())["result"]
    assert mine["config"] == point["config"]
    assert [p["measured"] for p in mine["predictions"]] == \
        [p["measured"] for p in point["predictions"]]


def test_another_space_into_the_same_folder_is_refused_before_any_work(searched, monkeypatch):
    out, _ = searched
    before = (out / "search.json").read_text(), _points(out)
    monkeypatch.setattr(search_mod, "compute_points", lambda *a, **k: pytest.fail("trained"))
    other = {**SPACE, "data.mu": {"low": 0.1, "high": 0.5}}
    with pytest.raises(ConfigError, match="fields and ranges differs"):
        mv.search(mv.configure("tiny"), other, out=out, **RUN)
    with pytest.raises(ConfigError, match="base config differs"):
        mv.search(mv.configure("tiny", {"data.rho": 0.1}), SPACE, out=out, **RUN)
    assert ((out / "search.json").read_text(), _points(out)) == before


def test_resume_after_sigterm_recomputes_nothing(tmp_path):
    """A search killed by SIGTERM while a trial runs exits 143; the rerun reads every point on
    disk back (their files untouched) and computes only the rest, up to --trials."""
    cfg = tmp_path / "space.toml"
    cfg.write_text('[search]\nrequire = ["T1.single", "T2.single"]\n'
                   '"model.sigma0" = {low = 0.03, high = 0.09, log = true}\n'
                   '"data.mu" = {low = 0.1, high = 0.4}\n')
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "multiview", "search", *tiny_sets(), "--config", str(cfg),
            "--out", str(out), "--trials", "4", "--seeds", "2", "--base-seeds", "2",
            "--no-progress"]
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not list(out.glob("seed-0/*.json")) and time.monotonic() < deadline:
        time.sleep(0.02)                 # the first trial's first point is written
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err.decode()
    assert b"interrupted (SIGTERM)" in err
    before = _points(out)
    assert before
    summary = mv.search(mv.configure("tiny"), cfg, out=out, trials=4, seeds=2, base_seeds=2)
    assert [p for p, t in before.items() if _points(out)[p] != t] == []   # files untouched
    states = [t["state"] for t in summary["trials"]]
    assert states.count("complete") == 4
    assert summary["run"]["computed"] == 8 - len(before)
    # a discarded trial is proposed again with its parameters: its points are read back
    for t in summary["trials"]:
        if t["state"] == "discarded":
            again = [u for u in summary["trials"] if u["params"] == t["params"]
                     and u["state"] == "complete"]
            assert len(again) == 1


def test_a_diverging_trial_is_recorded_as_failed_and_the_search_goes_on(tmp_path,
                                                                        monkeypatch):
    real = search_mod.compute_points
    calls = []

    def diverge_first(cfgs, *a, **k):
        calls.append(1)
        if len(calls) == 1:
            return ["training diverged: loss is nan at step 3"]
        return real(cfgs, *a, **k)
    monkeypatch.setattr(search_mod, "compute_points", diverge_first)
    summary = mv.search(mv.configure("tiny"), SPACE, out=tmp_path, trials=2, seeds=2,
                        base_seeds=1)
    first, second = summary["trials"]
    assert first["state"] == "fail" and "diverged" in first["error"]
    assert second["state"] == "complete" and summary["best"] == [1]


@pytest.mark.parametrize("field, spec, words", [
    ("model.nope", {"low": 1, "high": 2}, "search.model.nope: unknown field"),
    ("data.mu", {"low": 0.3, "high": 0.3}, "search.data.mu: values low=0.3, high=0.3"),
    ("model.sigma0", {"low": 0.0, "high": 0.1, "log": True},
     "search.model.sigma0.low: value 0.0 is not allowed with log = true"),
    ("distill.objective", [], "search.distill.objective: value [] is not allowed"),
    ("train.devices", [1, 2], "search.train.devices: not a searchable field"),
    ("model.learned_factor", {"low": 0.5, "high": 1.0},
     "search.model.learned_factor: not a searchable field"),
    ("distill.objective", {"low": 0, "high": 1}, "search.distill.objective: a range is not"),
    ("model.q", {"low": 3.5, "high": 6}, "search.model.q.low: value 3.5"),
    ("model.q", {"low": 3, "high": 40}, "search.model.q: model.q: value 40"),
    ("data.mu", {"low": 0.1, "high": 0.2, "step": 1}, "search.data.mu: value"),
])
def test_bad_spaces_are_one_line_naming_the_field(tiny, tmp_path, field, spec, words):
    with pytest.raises(ConfigError) as e:
        parse_space({"require": ["T1.*"], field: spec}, tiny, 2)
    assert words in str(e.value) and "\n" not in str(e.value)
    # the same through the command line, before any work: exit 2 and one line
    cfg = tmp_path / "bad.json"
    cfg.write_text(json.dumps({"search": {"require": ["T1.*"], field: spec}}))
    assert cli.main(["search", *tiny_sets(), "--config", str(cfg), "--out",
                     str(tmp_path / "o"), "--trials", "1"]) == 2
    assert not (tmp_path / "o" / "search.db").exists()


def test_require_names_predictions_and_controls_only_by_exact_id(tiny):
    with pytest.raises(ConfigError, match="search.require: pattern 'T9.*' names no prediction"):
        parse_space({"require": ["T9.*"], "data.mu": [0.1, 0.2]}, tiny, 2)
    assert methods_needed(["T1.single"], 2) == ["single"]
    # a pattern leaves the controls out (T3.teacher, T3.random, ...); their exact id names them
    assert methods_needed(["T3.*"], 2) == ["single", "ensemble", "kd", "ensemble_kd", "kd_hard"]
    assert "kd_twin" in methods_needed(["T3.teacher"], 2)
    with pytest.raises(ConfigError, match="--methods: .* need kd_twin"):
        search_mod.check_methods(["single", "kd"], ["T3.teacher"], 2)


def test_a_verdict_field_decides_where_present_else_the_plain_holds():
    assert held({"holds": True}) == "holds" and held({"holds": None}) == "inconclusive"
    assert held({"holds": True, "verdict": "inconclusive"}) == "inconclusive"
    assert held({"holds": False, "verdict": "holds"}) == "holds"


def test_the_objective_orders_trials_by_score_then_fraction():
    """score + fraction: one more prediction held on every base seed beats any fraction."""
    def res(*holds):
        return {"predictions": [{"id": f"P{i}", "holds": h} for i, h in enumerate(holds)]}
    ids = ["P0", "P1", "P2"]
    one = score([res(True, False, False)] * 3, ids)              # score 1, fraction 1/3
    none = score([res(True, True, True)] * 2 + [res(False, False, False)], ids)  # 0, 2/3
    assert (one["score"], none["score"]) == (1, 0) and none["fraction"] > one["fraction"]
    assert one["value"] > none["value"]


def test_first_ranks_its_predictions_before_the_score():
    """A trial where nothing gains holds the no-gain controls; with `first` naming the claim,
    the trial that holds the claim ranks above it whatever the controls say."""
    def res(*holds):
        return {"predictions": [{"id": f"P{i}", "holds": h} for i, h in enumerate(holds)]}
    ids = ["P0", "P1", "P2"]                       # P0 the claim, P1 and P2 its controls
    claim = score([res(True, False, False)] * 2, ids, ["P0"])          # first 1, score 1
    controls = score([res(False, True, True)] * 2, ids, ["P0"])        # first 0, score 2
    assert (claim["first"], controls["first"]) == (1, 0)
    assert claim["value"] > controls["value"]
    assert claim["value"] == pytest.approx(1 * 4 + 1 + claim["fraction"])
    # without `first`, the controls win: the ranking this option exists to change
    assert score([res(False, True, True)] * 2, ids)["value"] > \
        score([res(True, False, False)] * 2, ids)["value"]
    trials = [{"number": 0, "state": "complete", "score": 2, "fraction": 2 / 3, "first": 0},
              {"number": 1, "state": "complete", "score": 1, "fraction": 1 / 3, "first": 1}]
    assert [t["number"] for t in search_mod.best(trials, 2)] == [1, 0]
    for t in trials:
        t.pop("first")                              # a search.json from before `first`
    assert [t["number"] for t in search_mod.best(trials, 2)] == [0, 1]


def test_first_names_required_predictions_only(tiny, tmp_path):
    space = parse_space({"require": ["T1.*", "T3.teacher"], "first": ["T1.single"],
                         "data.mu": [0.1, 0.2]}, tiny, 2)
    assert space.first == ("T1.single",)
    assert parse_space({"require": ["T1.*"], "data.mu": [0.1, 0.2]}, tiny, 2).first == ()
    for first, words in [(["T2.single"], "'T2.single' names no required prediction"),
                         (["T3.*"], "'T3.*' names no required prediction"),  # controls: exact
                         ("T1.single", None), (3, "value 3 is not allowed")]:
        table = {"require": ["T1.*", "T3.teacher"], "first": first, "data.mu": [0.1, 0.2]}
        if words is None:                  # a comma-separated string, as --first gives it
            assert parse_space(table, tiny, 2).first == ("T1.single",)
            continue
        with pytest.raises(ConfigError, match="search.first: ") as e:
            parse_space(table, tiny, 2)
        assert words in str(e.value) and "\n" not in str(e.value)
    assert parse_space({"require": ["T1.*", "T3.teacher"], "first": ["T3.teacher"],
                        "data.mu": [0.1, 0.2]}, tiny, 2).first == ("T3.teacher",)
    cfg = tmp_path / "space.json"
    cfg.write_text(json.dumps({"search": {"require": ["T1.*"], "data.mu": [0.1, 0.2]}}))
    assert cli.main(["search", *tiny_sets(), "--config", str(cfg), "--first", "T2.single",
                     "--out", str(tmp_path / "o"), "--trials", "1"]) == 2
    assert not (tmp_path / "o" / "search.db").exists()


def test_a_search_with_first_scores_and_ranks_by_it(tmp_path):
    summary = mv.search(mv.configure("tiny"), {**SPACE, "first": ["T2.*"]}, out=tmp_path,
                        trials=3, seeds=2, base_seeds=1, seed=0)
    assert summary["definition"]["first"] == ["T2.*"] and summary["first"] == ["T2.single"]
    R = len(summary["required"])
    for t in summary["trials"]:
        f = int(t["predictions"]["T2.single"] == ["holds"])
        assert t["first"] == f
        assert t["value"] == pytest.approx(f * (R + 1) + t["score"] + t["fraction"])
    ranked = sorted(summary["trials"], key=lambda t: (-t["first"], -t["score"],
                                                      -t["fraction"], t["number"]))
    assert summary["best"] == [t["number"] for t in ranked]
    assert "first" in mv.load(tmp_path).frame().columns


def test_a_finished_search_reranked_under_first_without_training(searched):
    _, summary = searched
    assert [t["number"] for t in search_mod.ranked(summary)][:5] == summary["best"]
    again = search_mod.ranked(summary, ["T2.single"])
    holds = {t["number"]: int(t["predictions"]["T2.single"] == ["holds", "holds"])
             for t in summary["trials"]}
    assert [t["first"] for t in again] == [holds[t["number"]] for t in again]
    assert [t["first"] for t in again] == sorted((t["first"] for t in again), reverse=True)
    with pytest.raises(ConfigError, match="search.first: pattern 'T3.single'"):
        search_mod.ranked(summary, ["T3.single"])


def test_first_added_to_a_searchs_folder_is_refused_and_the_table_shows_it(searched,
                                                                             monkeypatch):
    out, summary = searched
    monkeypatch.setattr(search_mod, "compute_points", lambda *a, **k: pytest.fail("trained"))
    with pytest.raises(ConfigError, match="predictions counted first differs"):
        mv.search(mv.configure("tiny"), {**SPACE, "first": ["T2.single"]}, out=out, **RUN)
    assert "first" not in summary["definition"] and "first" not in summary
    text = search_mod.format_best(summary)
    assert "first" not in text.split("\n")[0]
    shown = {**summary, "first": ["T2.single"],
             "trials": [{**t, "first": int(t["number"] == 4)} for t in summary["trials"]]}
    lines = search_mod.format_best(shown).split("\n")
    assert lines[0].split()[:3] == ["trial", "first", "score"]
    assert lines[2].split()[:2] == ["4", "1/1"]             # the one trial holding it, first
    assert "(first: of T2.single, those held on all 2 base seeds" in lines[-1]


def test_help_documents_the_table_format():
    text = cli.build_parser().subcommands["search"].format_help()
    assert "[search]" in text and "low = 0.1, high = 3, log = true" in text
    assert "require = " in text and "verdict" in text


def test_the_figure_marks_the_best_trial(searched, tmp_path):
    out, summary = searched
    from multiview.plots.search import prepare

    numbers = prepare(mv.load(out).content)
    assert [p["field"] for p in numbers["panels"]] == ["model.sigma0", "data.mu"]
    top = summary["trials"][summary["best"][0]]
    assert numbers["panels"][1]["best"] == (top["params"]["data.mu"], top["fraction"])
    assert len(numbers["panels"][0]["x"]) == 5
    paths = mv.plot("search", out, tmp_path)
    assert sorted(p.name for p in paths) == ["search.pdf", "search.png"]


def test_a_sweep_at_a_trials_values_reads_the_searchs_point(searched):
    """The search's points are sweep points: a sweep of base seed 0 over the searched fields
    at a trial's values, into OUT/seed-0, computes nothing."""
    from multiview.sweep import run_sweep

    out, summary = searched
    t = summary["trials"][0]
    grid = {f: [v] for f, v in t["params"].items()}
    swept = run_sweep(mv.configure("tiny"), grid, ["single", "ensemble"], 2, 0, out / "seed-0",
                      progress=False, log=lambda m: None)
    assert (swept["run"]["cached"], swept["run"]["computed"]) == (1, 0)
    # sweep.json is the union of the study's points on disk: every trial's base seed 0
    assert sorted(p["key"] for p in swept["points"]) == \
        sorted(u["points"][0] for u in summary["trials"])


def test_a_trial_left_running_by_a_dead_process_is_discarded_and_proposed_again(tmp_path):
    """SIGKILL leaves no chance to unwind: the trial stays RUNNING in the study. The next run
    on this host sees its process gone, discards it and runs its values again."""
    import socket

    import optuna

    mv.search(mv.configure("tiny"), SPACE, out=tmp_path, trials=1, seeds=2, base_seeds=1)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    st = optuna.load_study(study_name="search", storage=f"sqlite:///{tmp_path / 'search.db'}")
    space = parse_space(SPACE, mv.configure("tiny"), 2)
    killed = st.ask({f.name: f.distribution() for f in space.fields})
    killed.set_user_attr("host", socket.gethostname())
    killed.set_user_attr("pid", dead.pid)
    summary = mv.search(mv.configure("tiny"), SPACE, out=tmp_path, trials=2, seeds=2,
                        base_seeds=1)
    states = {t["number"]: (t["state"], t["error"]) for t in summary["trials"]}
    assert states[killed.number] == ("discarded", "stale: its process ended")
    again = [t for t in summary["trials"] if t["params"] == killed.params]
    assert [t["state"] for t in again] == ["discarded", "complete"]
    assert summary["run"]["complete"] == 2


@pytest.mark.parametrize("kw, name", [({"seed": -1}, "seed"), ({"seed": 2**40}, "seed"),
                                      ({"seeds": 0}, "seeds"), ({"trials": 1.5}, "trials"),
                                      ({"base_seeds": 0}, "base_seeds"),
                                      ({"cluster": "foo"}, "cluster"), ({"out": None}, "out")])
def test_api_door_refuses_bad_arguments_in_one_line_naming_them(tmp_path, kw, name):
    """mv.search checks its arguments with the validator every door shares, before any work:
    one ConfigError naming the argument as the caller wrote it, and nothing written."""
    space = {"require": ["T2.*"], "data.mu": {"low": 0.1, "high": 0.3}}
    args = {"out": tmp_path / "s", "trials": 1, "seeds": 2, "base_seeds": 1} | kw
    with pytest.raises(ConfigError) as e:
        mv.search(mv.configure("tiny"), space, **args)
    assert str(e.value).startswith(f"{name}: ") and "\n" not in str(e.value)
    assert not (tmp_path / "s").exists()


def test_numpy_integers_are_taken_as_integers():
    """numpy integers are accepted wherever a Python int is (the base seeds they give)."""
    from multiview.search import prepare

    space = {"require": ["T2.*"], "data.mu": {"low": 0.1, "high": 0.3}}
    job = prepare(mv.configure("tiny"), space, np.int64(2), np.int32(2), np.uint32(5))
    assert job["L"] == 2 and job["base_seeds"] == [5, 6]

"""What the study scripts of experiments/ read from the library: one way to parse their command
line (cli.study_args), one accessor of nested record fields (results.lookup), one "do these
predictions hold" (theory.held), and the study config files, which must stay valid configs."""

from pathlib import Path

import pytest

from multiview import theory
from multiview.cli import study_args
from multiview.config import resolve
from multiview.results import lookup
from multiview.sweep import grid_file, grid_points, parse_grid

STUDIES = sorted((Path(__file__).resolve().parents[1] / "experiments" / "studies").glob("*.toml"))


def test_study_args_resolve_the_config_as_the_commands_do():
    argv = ["--preset", "tiny", "--set", "data.mu=0.2", "--seed", "7", "--seeds", "3"]
    args, cfg = study_args("doc", seeds=5, preset="small", argv=argv)
    assert cfg == resolve("tiny", None, ["data.mu=0.2"])
    assert (args.seed, args.seeds) == (7, 3)
    args, cfg = study_args("doc", seeds=5, preset="tiny", argv=[])
    assert cfg == resolve("tiny") and (args.seed, args.seeds) == (0, 5)     # the defaults


def test_study_args_without_a_config_and_with_own_options():
    args, cfg = study_args("doc", config=False, argv=["--seed", "2", "--only", "x"],
                           options=lambda p: p.add_argument("--only", default=""))
    assert cfg is None and (args.seed, args.only) == (2, "x")


@pytest.mark.parametrize("argv, needle", [
    (["--preset", "tiny", "--set", "data.k=1"], "data.k"),
    (["--seeds", "0"], "--seeds"),
    (["--seed", "-1"], "--seed"),
])
def test_study_args_refuse_bad_input_in_one_line(argv, needle, capsys):
    with pytest.raises(SystemExit) as e:
        study_args("doc", argv=argv)
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and needle in err and "\n" not in err


def test_lookup_reads_a_path_and_gives_none_where_it_is_missing():
    rec = {"methods": {"single": {"views": {"one": 0.8}, "train_acc": 1.0}}, "x": 3}
    assert lookup(rec, "methods/single/views/one") == 0.8
    assert lookup(rec, "methods.single.train_acc", sep=".") == 1.0
    assert lookup(rec, "methods/kd/views/one") is None           # a missing key on the way
    assert lookup(rec, "x/y") is None                            # a step that is not a dict
    assert lookup(None, "x") is None


def test_held_is_true_only_when_every_prediction_holds():
    rec = {"predictions": [{"id": "a", "holds": True}, {"id": "b", "holds": False},
                           {"id": "c", "holds": None}, {"id": "d", "holds": True}]}
    assert theory.held(rec, ("a", "d")) is True
    assert theory.held(rec, ("a", "b")) is False
    assert theory.held(rec, ("a", "c")) is None                  # not evaluable
    assert theory.held(rec, ("a", "zz")) is None                 # not in the record
    assert theory.held({}, ("a",)) is None


def test_the_study_configs_are_valid_sweep_configs():
    assert STUDIES, "experiments/studies/ holds the studies' config files"
    for path in STUDIES:
        cfg = resolve("small", str(path), [], grid=True)
        if grid_file(path):                       # its grid is valid on its settings
            assert grid_points(cfg, parse_grid([], cfg, path)), path


def test_the_candidate_file_is_the_study_s_command_line_settings():
    # study 12 first gave these as --set on the command line; the file must be the same config
    sets = ["data.mu_train=0", "data.sigma_p=0.01", "model.varrho=0.5", "model.sigma0=0.015",
            "train.lr=1.0", "train.stop=none", "train.steps=4000", "distill.steps=4000",
            "distill.objective=logits", "distill.alpha=1"]
    path = next(p for p in STUDIES if p.name == "asymptotic-candidate.toml")
    assert resolve("small", str(path), []) == resolve("small", None, sets)
    screen = next(p for p in STUDIES if p.name == "asymptotic-screen2.toml")
    cfg = resolve("small", str(screen), [], grid=True)
    (point,) = grid_points(cfg, parse_grid([], cfg, screen))
    assert point.cfg == resolve("small", None, sets + ["model.m=4", "model.q=5",
                                                       "model.sigma0=0.026"])

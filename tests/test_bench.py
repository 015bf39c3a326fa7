"""The bench: schema of a quick run, FLOP count vs XLA, and the PyTorch reference as an
independent slow path that reproduces the package's training trajectory. No timed assertions."""

import json
import math

import numpy as np
import pytest

from multiview import bench
from multiview.cli import build_parser, cmd_bench
from multiview.config import override
from multiview.learners import label_loss, view_monitor
from multiview.train import fit


def _positive(v):
    return isinstance(v, float) and math.isfinite(v) and v > 0


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """One quick bench for the module's tests: (result, its directory)."""
    out = tmp_path_factory.mktemp("bench")
    return bench.run_bench(out, quick=True, progress=False), out


def test_quick_bench_writes_every_field_of_the_schema(quick):
    r, tmp_path = quick
    # the file is the result with its kind's "format" key (results.FORMATS) and where it came
    # from (the provenance block, metadata)
    on_disk = json.loads((tmp_path / "bench.json").read_text())
    assert on_disk.pop("provenance")["command"]
    assert on_disk == json.loads(json.dumps(r)) | {"format": "multiview.bench/1"}
    assert "matmul roofline" in (tmp_path / "bench.txt").read_text()
    assert isinstance(r["machine"], dict) and r["machine"]["backend"]
    assert _positive(r["matmul_gflops"])
    assert set(r["train_step"]) == {"L1", "L10", "L100"}
    for v in r["train_step"].values():
        for key in ("seconds", "gflops", "fraction_of_matmul"):
            assert _positive(v[key]), (key, v)
    for key in ("vmap_vs_loop", "data_samples_per_s", "peak_memory_mb"):
        assert _positive(r[key]), key
    assert isinstance(r["compile_s"], float) and r["compile_s"] >= 0
    if r["vs_reference"] is None:
        assert r["vs_reference_detail"]["reason"] and r["vs_reference_vmap"] is None
    else:
        assert _positive(r["vs_reference"]) and _positive(r["vs_reference_vmap"])
        # the references trained the same models: same losses up to float32 rounding
        assert r["vs_reference_detail"]["loss_max_rel_diff"] < 1e-4
        assert r["vs_reference_detail"]["loss_vmap_max_rel_diff"] < 1e-4
    ks = r["k_scaling"]
    assert len(ks["k"]) == len(ks["seconds"]) >= 2 and all(_positive(s) for s in ks["seconds"])
    assert isinstance(ks["exponent"], float) and math.isfinite(ks["exponent"])
    # the second run with other seeds reuses the compiled chunk
    assert r["recompiles_across_seeds"] == 0
    assert [row["d"] for row in r["d_scaling"]] == list(bench.QUICK["d_list"])
    for row in r["d_scaling"]:
        assert _positive(row["direct_s"]) and _positive(row["patch_s"]), row
    text = (tmp_path / "bench.txt").read_text()
    assert "patch ms/step" in text and "n/ax" not in text
    # the d = ∞ engine beside them, and direct against limit across k
    assert all(_positive(row["limit_s"]) for row in r["d_scaling"])
    e = r["k_engines"]
    assert e["k"] == list(bench.QUICK["engines_k"])
    assert all(_positive(v) for v in e["direct_s"] + e["limit_s"])
    assert "limit ms/step" in text


def test_summary_prints_missing_ratios_as_n_a_and_the_device_once(quick):
    """Without torch: 'n/a', never 'n/ax faster'; a CPU is named once, not 'cpu cpu'."""
    r = json.loads(json.dumps(quick[0]))
    r["machine"].update(backend="cpu", device="cpu")
    r.update(vs_reference=None, vs_reference_vmap=None, vmap_vs_loop=None,
             vs_reference_detail={"ratio": None, "ratio_vmap": None, "reason": "no torch"})
    text = bench.format_summary(r)
    assert "n/ax" not in text and "cpu cpu" not in text
    assert "vs PyTorch eager loop (per model): n/a (no torch)" in text


def test_analytic_flops_agree_with_xla_cost_analysis(tiny):
    cfg = override(tiny, {"train.stop": "none"})
    _, W0, shared = bench._setup(cfg, 4, gaussian=True)
    xla = bench.xla_step_flops(cfg, W0, shared)
    if xla is None:
        pytest.skip("this backend gives no cost analysis")
    # XLA also counts the elementwise work (smoothed ReLU, softmax): a little above the matmuls
    assert 1.0 <= xla / bench.step_flops(cfg, 4) < 1.5


def test_bench_subcommand_is_wired_into_the_cli(tmp_path):
    args = build_parser().parse_args(["bench", "--quick", "--out", str(tmp_path),
                                      "--throughput", "2,3"])
    # `multiview NAME` runs cmd_NAME (cli.COMMANDS)
    assert args.command == "bench" and cmd_bench.__name__ == "cmd_bench"
    assert args.quick and args.throughput == (2, 3)


@pytest.mark.parametrize("trainer", ["train_seeds", "train_seeds_vmap"])
def test_torch_reference_follows_the_same_loss_trajectory(tiny, trainer):
    pytest.importorskip("torch", reason="torch not installed: pip install torch==2.13.0 (CPU)")
    import torch

    ref, why = bench._load_reference()
    assert ref is not None, why
    cfg = override(tiny, {"train.stop": "none", "train.steps": 60})
    # same data and initial weights, exported from JAX
    problem, W0, shared = bench._setup(cfg, 3)
    res = fit(label_loss(cfg.model.q), W0, shared, None, cfg.train, monitor=view_monitor,
              progress=False)
    x, views = (torch.tensor(np.asarray(a)) for a in (problem.train.x, problem.views))
    y = torch.tensor(np.asarray(problem.train.y), dtype=torch.int64)
    runs = getattr(ref, trainer)([torch.tensor(np.asarray(w)) for w in W0], x, y, views,
                           q=cfg.model.q, varrho=cfg.model.varrho, lr=cfg.train.lr,
                           steps=cfg.train.steps, stop=False)
    h = res.history
    loss = np.stack([r["loss"] for _, r in runs], axis=1)
    assert np.all(h["loss"][-1] < 0.8 * h["loss"][0]), "the trajectory should move"
    # float32 both sides, different summation orders: the per-step relative difference is
    # ~1e-7 and grows to ~1e-6 over 60 steps (measured); a wrong formula (smoothed-ReLU
    # piece, reduction, step) is off by >= 1e-2. 1e-4 leaves two orders of margin each way.
    np.testing.assert_allclose(loss, h["loss"], rtol=1e-4)
    # accuracies are counts / n: identical counts, up to the rounding of the mean
    acc = np.stack([r["train_acc"] for _, r in runs], axis=1)
    np.testing.assert_allclose(acc, h["train_acc"], atol=1e-6)
    lam = np.stack([r["lam"] for _, r in runs], axis=1)
    np.testing.assert_allclose(lam, h["lam"], rtol=1e-4, atol=1e-5)
    W = np.stack([w.numpy() for w, _ in runs])
    np.testing.assert_allclose(W, np.asarray(res.params), rtol=1e-4, atol=1e-6)

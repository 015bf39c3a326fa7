"""Speed of the training engine, measured in one run on one machine (docs/performance.md).

`run_bench` measures the machine's float32 matmul rate (the roofline), the training step of the
`small` preset for L = 1, 10, 100 members, vmap against a Python loop of the single-member
trainer, the PyTorch references (multiview/bench_torch.py: an eager loop over seeds and a
torch.func.vmap over seeds), compile time, data
generation rate, peak memory and how the step time grows with k; it writes DIR/bench.json and
DIR/bench.txt.

FLOPs are counted analytically per member and step as 4·N·P·d·k·m: the forward matmul
(2·N·P·d·k·m) plus the weight gradient (2·N·P·d·k·m); the data are not trained, so there is
no input gradient, and elementwise work (smoothed ReLU, softmax, Φ/Λ monitor, update) is left
out. XLA's own count (`cost_analysis`) of the jitted loss-and-gradient is recorded beside it.
Timings are the best of several repeats (other processes share the CPU); the roofline is
re-measured between the timed blocks and its best value is used, so fractions are conservative.
"""

from __future__ import annotations

import dataclasses
import math
import os
import platform
import resource
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np

from .config import Config, override, preset
from .data import generate, make_problem, make_views
from .learners import init_members, label_loss, shared_inputs, view_monitor
from .results import atomic_file, write_json
from .train import fit

# sizes of the full and the --quick bench: steps per timed block and repeats
FULL = dict(matmul_n=2048, steps={1: 200, 10: 100, 100: 20}, reps={1: 5, 10: 5, 100: 3},
            loop_steps=100, ref_steps=50, ref_seeds=10, k_list=(5, 10, 20, 40), k_steps=3,
            d_list=(1_000, 3_000, 10_000, 30_000, 100_000), d_steps=20,
            engines_k=(5, 10, 20, 30), engines_steps=20, engines_limit_steps=100)
# one step count everywhere: every timed block reuses the same compiled chunks
QUICK = dict(matmul_n=256, steps={1: 10, 10: 10, 100: 10}, reps={1: 2, 10: 2, 100: 2},
             loop_steps=10, ref_steps=10, ref_seeds=10, k_list=(2, 4), k_steps=10,
             d_list=(40, 400), d_steps=10, engines_k=(2, 4), engines_steps=10,
             engines_limit_steps=10)


def step_flops(cfg: Config, L: int) -> float:
    """Matmul FLOPs of one training step of L members: forward + weight gradient, 4·N·P·d·k·m·L."""
    D = cfg.data
    return 4.0 * D.n_train * D.n_patches * D.d * D.k * cfg.model.m * L


def _block(tree):
    return jax.block_until_ready(tree)


def _best(fn, reps: int) -> float:
    """Fastest of `reps` timed calls of fn (already warm)."""
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        _block(fn())
        ts.append(time.perf_counter() - t)
    return min(ts)


class Roofline:
    """Float32 matmul rate of square n×n matrices, re-measured between the timed blocks."""

    def __init__(self, n: int):
        self.n = n
        rng = np.random.default_rng(0)
        self.a, self.b = (jnp.asarray(rng.standard_normal((n, n), np.float32)) for _ in range(2))
        self.mm = jax.jit(lambda a, b: a @ b)
        _block(self.mm(self.a, self.b))
        self.samples: list[float] = []

    def measure(self, reps: int = 5) -> float:
        g = 2.0 * self.n**3 / _best(lambda: self.mm(self.a, self.b), reps) / 1e9
        self.samples.append(g)
        return g

    @property
    def best(self) -> float:
        return max(self.samples)


def bench_config(quick: bool, sets: dict | None = None) -> Config:
    """The `small` preset (or `tiny` with quick=True), stopping rule off, then `sets`."""
    return override(preset("tiny" if quick else "small"), {"train.stop": "none", **(sets or {})})


def _setup(cfg: Config, L: int, seed: int = 0, gaussian: bool = False):
    """Problem, L initial weights and the shared training inputs. gaussian=True: inputs and
    weights of the right shapes drawn by numpy (nothing to compile; for timing only)."""
    if not gaussian:
        problem = make_problem(jax.random.PRNGKey(seed), cfg.data)
        keys = jax.random.split(jax.random.PRNGKey(seed + 1), L)
        return problem, init_members(keys, cfg), shared_inputs(cfg, problem)
    D, M = cfg.data, cfg.model
    rng = np.random.default_rng(seed)
    x = D.sigma_p * rng.standard_normal((D.n_train, D.n_patches, D.d), np.float32)
    y = rng.integers(0, D.k, D.n_train).astype(np.int32)
    views = rng.standard_normal((D.k, 2, D.d), np.float32) / np.float32(math.sqrt(D.d))
    problem = SimpleNamespace(views=jnp.asarray(views),
                              train=SimpleNamespace(x=jnp.asarray(x), y=jnp.asarray(y)))
    W0 = M.sigma0 * rng.standard_normal((L, D.k, M.m, D.d), np.float32)
    return problem, jnp.asarray(W0), shared_inputs(cfg, problem)


def _fitter(cfg: Config, shared: dict, steps: int):
    """fit() of `steps` steps in one compiled chunk; returns a function of the initial weights."""
    tc = dataclasses.replace(cfg.train, stop="none", steps=steps, chunk=steps)
    loss = label_loss(cfg.model.q)
    return lambda W0: fit(loss, W0, shared, None, tc, monitor=view_monitor, progress=False).params


def xla_step_flops(cfg: Config, W0, shared) -> float | None:
    """XLA's FLOP count of the jitted loss-and-gradient of all members (one step)."""
    loss = label_loss(cfg.model.q)
    step = jax.jit(jax.vmap(jax.value_and_grad(loss, has_aux=True), in_axes=(0, None, None)))
    try:
        cost = step.lower(W0, shared, {}).compile().cost_analysis()
    except Exception:  # noqa: BLE001 -- cost analysis is best-effort, backend-dependent
        return None
    if isinstance(cost, list):
        cost = cost[0] if cost else {}
    flops = (cost or {}).get("flops")
    return float(flops) if flops else None


def train_step(cfg: Config, roof: Roofline, Ls, steps: dict, reps: dict, log,
               gaussian: bool = False) -> tuple[dict, dict]:
    """Seconds per step, GFLOP/s and fraction of the roofline for each L; compile times."""
    out, compile_s = {}, {}
    problem, W_all, shared = _setup(cfg, max(Ls), gaussian=gaussian)
    for L in Ls:
        W0 = W_all[:L]
        run = _fitter(cfg, shared, steps[L])
        t = time.perf_counter()
        _block(run(W0))
        first = time.perf_counter() - t
        roof.measure()
        sec = _best(lambda: run(W0), reps[L]) / steps[L]
        roof.measure()
        compile_s[L] = max(first - sec * steps[L], 0.0)
        flops = step_flops(cfg, L)
        xla = xla_step_flops(cfg, W0, shared)
        out[f"L{L}"] = {"seconds": sec, "gflops": flops / sec / 1e9,
                        "fraction_of_matmul": None, "flops_per_step": flops,
                        "xla_flops_per_step": xla, "steps_timed": steps[L]}
        log(f"train step L={L}: {sec * 1e3:.2f} ms, {flops / sec / 1e9:.1f} GFLOP/s "
            f"(XLA counts {xla / flops if xla else float('nan'):.3f}x the analytic FLOPs)")
    return out, compile_s


def recompiles_across_seeds(cfg: Config, steps: int, gaussian: bool = False) -> int | None:
    """How many new compilations a second run with other seeds (same shapes) triggers."""
    from . import train

    chunk = getattr(train, "_run_chunk", None)
    if chunk is None or not hasattr(chunk, "_cache_size"):
        return None
    problem, W0, shared = _setup(cfg, 10, gaussian=gaussian)
    run = _fitter(cfg, shared, steps)
    _block(run(W0))
    before = chunk._cache_size()
    W1 = init_members(jax.random.split(jax.random.PRNGKey(123), 10), cfg)
    _block(run(W1))
    return int(chunk._cache_size() - before)


def vmap_vs_loop(cfg: Config, steps: int, reps: int, L: int = 10, gaussian: bool = False) -> dict:
    """Time of L members under vmap vs a Python loop over the compiled single-member trainer."""
    problem, W0, shared = _setup(cfg, L, gaussian=gaussian)
    run = _fitter(cfg, shared, steps)
    _block(run(W0))
    _block(run(W0[:1]))
    t_vmap = _best(lambda: run(W0), reps)
    t_loop = _best(lambda: [run(W0[i:i + 1]) for i in range(L)], reps)
    return {"L": L, "steps": steps, "vmap_s": t_vmap, "loop_s": t_loop, "ratio": t_loop / t_vmap}


def _load_reference():
    """The PyTorch reference module (multiview.bench_torch), or (None, reason)."""
    try:
        from . import bench_torch
    except ImportError as e:
        return None, f"torch is not importable ({e}); pip install torch==2.13.0 (CPU wheel)"
    return bench_torch, None


def vs_reference(cfg: Config, steps: int, seeds: int, log, gaussian: bool = False) -> dict:
    """Per trained model time of the PyTorch references over this package (vmap): the eager
    loop over seeds (`ratio`) and torch.func.vmap over seeds (`ratio_vmap`).

    Same data, initial weights (exported from JAX), config and number of steps, stopping rule
    off. Each reference runs with torch's default thread count and with one thread; the ratios
    use the faster of the two (on a shared 2-core machine torch's default thread pool can be
    many times slower than one thread).
    """
    ref, why = _load_reference()
    if ref is None:
        return {"ratio": None, "ratio_vmap": None, "reason": why}
    import torch

    problem, W0, shared = _setup(cfg, seeds, gaussian=gaussian)
    run = _fitter(cfg, shared, steps)
    _block(run(W0))
    t_pkg = _best(lambda: run(W0), 3)
    tc = dataclasses.replace(cfg.train, stop="none", steps=steps, chunk=steps)
    pkg_loss = fit(label_loss(cfg.model.q), W0, shared, None, tc, monitor=view_monitor,
                   progress=False).history["loss"]
    x, y, views = (torch.tensor(np.asarray(a), dtype=dt) for a, dt in
                   ((problem.train.x, torch.float32), (problem.train.y, torch.int64),
                    (problem.views, torch.float32)))
    W0s = [torch.tensor(w, dtype=torch.float32) for w in np.asarray(W0)]
    kw = dict(q=cfg.model.q, varrho=cfg.model.varrho, lr=cfg.train.lr, steps=steps, stop=False)
    default_threads = torch.get_num_threads()
    device = "cuda" if jax.default_backend() == "gpu" and torch.cuda.is_available() else "cpu"
    if device == "cuda":
        x, y, views, W0s = x.cuda(), y.cuda(), views.cuda(), [w.cuda() for w in W0s]
    out = {"seeds": seeds, "steps": steps, "device": device, "package_s_per_model": t_pkg / seeds,
           "reference_default_threads": default_threads}
    for name, train in (("", ref.train_seeds), ("_vmap", ref.train_seeds_vmap)):
        times, diff = {}, None
        for threads in dict.fromkeys((default_threads, 1)):
            torch.set_num_threads(threads)
            try:
                train(W0s[:2], x, y, views, **dict(kw, steps=2))             # warm up
                t = time.perf_counter()
                runs = train(W0s, x, y, views, **kw)
                times[threads] = time.perf_counter() - t
            finally:
                torch.set_num_threads(default_threads)
            ref_loss = np.stack([h["loss"] for _, h in runs], axis=1)
            diff = float(np.max(np.abs(ref_loss - pkg_loss) / np.abs(pkg_loss)))
            log(f"reference{name} ({threads} thread{'s' * (threads > 1)}): "
                f"{times[threads] / seeds / steps * 1e3:.2f} ms per model-step")
        out.update({f"ratio{name}": min(times.values()) / t_pkg,
                    f"reference{name}_s_per_model": {str(k): v / seeds for k, v in times.items()},
                    f"ratio{name}_default_threads": times[default_threads] / t_pkg,
                    f"loss{name}_max_rel_diff": diff})
    return out


def data_rate(cfg: Config, reps: int = 3) -> float:
    """Samples per second of the (jitted, on-device) generator, warm, for a test set of N_test."""
    views = make_views(jax.random.PRNGKey(0), cfg.data)
    n = cfg.data.N_test
    gen = lambda: generate(jax.random.PRNGKey(1), cfg.data, views, n, cfg.data.mu).x  # noqa: E731
    _block(gen())
    return n / _best(gen, reps)


def k_scaling(quick: bool, k_list, steps: int, L: int = 10) -> dict:
    """Step time of L members for k in k_list, other sizes fixed (P = 2·max k); log-log slope."""
    P = 2 * max(k_list)
    secs = []
    for k in k_list:
        cfg = bench_config(quick, {"data.k": k, "data.P": P, "data.N_train": 40 if quick else 200})
        _, W0, shared = _setup(cfg, L, gaussian=True)
        run = _fitter(cfg, shared, steps)
        _block(run(W0))
        secs.append(_best(lambda: run(W0), 2) / steps)
    slope = float(np.polyfit(np.log(k_list), np.log(secs), 1)[0])
    return {"k": list(k_list), "seconds": secs, "exponent": slope, "L": L, "P": P,
            "note": "other sizes fixed: d, m, N_train and P = 2*max(k)"}


def d_scaling(quick: bool, d_list, steps: int, L: int = 10, log=lambda msg: None) -> list[dict]:
    """Seconds per training step of L members under the direct and the patch engine
    (multiview/patch.py) for each d, other sizes those of `small` (`tiny` with quick=True).

    The patch engine's one-off work (G = X Xᵀ, H0 = W0 Xᵀ before training, W = W0 + C X after)
    is timed apart as `patch_setup_s`. The direct engine runs max(2, steps·1000/d) steps per
    timed block (its step grows with d)."""
    from .patch import patch_inputs, patch_logits, patch_monitor, weights
    from .learners import make_loss

    out = []
    for d in d_list:
        cfg = bench_config(quick, {"data.d": d, "data.sigma_p": 0.1 * math.sqrt(1000 / d)})
        _, W0, shared = _setup(cfg, L, gaussian=True)
        n_direct = max(2, steps * (40 if quick else 1000) // d)
        run = _fitter(cfg, shared, n_direct)
        _block(run(W0))
        direct = _best(lambda: run(W0), 2) / n_direct
        t = time.perf_counter()
        G, Xv, H0, A0 = _block(patch_inputs(W0, shared["x"], shared["views"]))
        setup = time.perf_counter() - t
        space = {key: v for key, v in shared.items() if key != "x"} | {"G": G, "Xv": Xv}
        C0 = jnp.zeros(W0.shape[:3] + (G.shape[0],), W0.dtype)
        tc = dataclasses.replace(cfg.train, stop="none", steps=steps, chunk=steps)
        loss = make_loss(patch_logits(cfg.model.q), "labels")
        patch = lambda: fit(loss, C0, space, {"H0": H0, "A0": A0}, tc,  # noqa: E731
                            monitor=patch_monitor, progress=False).params
        C = _block(patch())
        per_step = _best(patch, 3) / steps
        t = time.perf_counter()
        _block(weights(W0, C, shared["x"]))
        setup += time.perf_counter() - t
        out.append({"d": d, "direct_s": direct, "patch_s": per_step, "patch_setup_s": setup,
                    "direct_steps_timed": n_direct, "patch_steps_timed": steps})
        log(f"d = {d}: direct {direct * 1e3:.2f} ms/step, patch {per_step * 1e3:.2f} ms/step "
            f"({direct / per_step:.1f}x), patch setup {setup:.2f} s")
        del W0, shared, G, H0, C
    # the d = ∞ engine, the same for every d (its noise norm is the rows' sigma_p·sqrt(d))
    lim = limit_step(bench_config(quick), steps, L)
    log(f"d = inf: limit {lim * 1e3:.2f} ms/step")
    for row in out:
        row["limit_s"] = lim
    return out


def limit_step(cfg: Config, steps: int, L: int = 10, reps: int = 2) -> float:
    """Seconds per training step of L members under the d = ∞ engine (multiview/limit.py) on
    `cfg`'s sizes with data.d = inf (its step does not depend on what d stood for)."""
    from .learners import make_loss
    from .limit import fit_limit, limit_logits

    cfg = override(cfg, {"data.d": "inf", "train.engine": "auto"})
    problem = make_problem(jax.random.PRNGKey(0), cfg.data)
    W0 = init_members(jax.random.split(jax.random.PRNGKey(1), L), cfg)
    shared = shared_inputs(cfg, problem)
    tc = dataclasses.replace(cfg.train, stop="none", steps=steps, chunk=steps)
    loss = make_loss(limit_logits(cfg.model.q), "labels")
    run = lambda: fit_limit(loss, W0, shared, None, tc, progress=False).params  # noqa: E731
    _block(run())
    return _best(run, reps) / steps


def k_engines(quick: bool, k_list, steps: int, L: int = 10, log=lambda msg: None,
              limit_steps: int | None = None) -> dict:
    """Seconds per step of L members under the direct engine (d of `small`) and the d = ∞
    engine for each k, with P = 2k and N_train = 40k (`tiny`'s N_train and d with quick=True).
    The direct engine runs steps // k steps a timed call (≥ 0.4 s a step at k ≥ 20, so a call's
    own overhead is a few per cent), the limit engine `limit_steps` (default `steps`): a call's
    overhead (the state's permutation, the history) is then spread over as many steps as the
    step's own time needs to dominate it."""
    limit_steps = steps if limit_steps is None else limit_steps
    direct, limit = [], []
    for k in k_list:
        sets = {"data.k": k, "data.P": 2 * k, "data.N_train": 0 if not quick else 10 * k,
                "data.N_test": 200}
        cfg = bench_config(quick, sets)
        _, W0, shared = _setup(cfg, L, gaussian=True)
        n = max(1, steps // k) if not quick else steps
        run = _fitter(cfg, shared, n)
        _block(run(W0))
        direct.append(_best(lambda: run(W0), 2) / n)
        del W0, shared
        limit.append(limit_step(cfg, limit_steps, L))
        log(f"k = {k}: direct {direct[-1] * 1e3:.1f} ms/step, limit {limit[-1] * 1e3:.2f} "
            f"ms/step ({direct[-1] / limit[-1]:.1f}x)")
    return {"k": list(k_list), "direct_s": direct, "limit_s": limit, "L": L,
            "limit_steps": limit_steps,
            "note": "P = 2k, N_train = 40k (quick: 10k), d of the preset for the direct engine"}


def peak_memory_mb() -> float:
    """Peak device memory on an accelerator, else the process's peak resident set size."""
    dev = jax.devices()[0]
    if dev.platform != "cpu":
        stats = dev.memory_stats() or {}
        if "peak_bytes_in_use" in stats:
            return stats["peak_bytes_in_use"] / 2**20
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 if sys.platform != "darwin" else kb / 2**20


def machine_info() -> dict:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import torch
        torch_version = torch.__version__
    except ImportError:
        torch_version = None
    dev = jax.devices()[0]
    return {"cpu": cpu, "cpu_count": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "jax": jax.__version__,
            "backend": jax.default_backend(), "device": dev.device_kind,
            "device_count": jax.device_count(), "torch": torch_version,
            "date": time.strftime("%Y-%m-%d %H:%M:%S"),
            "loadavg_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None}


def sweep_throughput(L: int, quick: bool = False) -> dict:
    """Trained models per second: L members of the `small` preset under vmap, trained with the
    preset's own stopping rule (100% train accuracy); compile excluded (warm-up chunk first)."""
    cfg = preset("tiny" if quick else "small")
    _, W0, shared = _setup(cfg, L)
    loss = label_loss(cfg.model.q)
    warm = dataclasses.replace(cfg.train, steps=cfg.train.chunk)
    _block(fit(loss, W0, shared, None, warm, monitor=view_monitor, progress=False).params)
    t = time.perf_counter()
    res = fit(loss, W0, shared, None, cfg.train, monitor=view_monitor, progress=False)
    _block(res.params)
    sec = time.perf_counter() - t
    return {"L": L, "seconds": sec, "steps_run": res.steps_run, "models_per_s": L / sec,
            "all_stopped": bool((res.stopped_at >= 0).all())}


def run_bench(out_dir, quick: bool = False, progress: bool = True,
              throughput: tuple[int, ...] = ()) -> dict:
    """Measure everything, write OUT/bench.json and OUT/bench.txt, return the result dict."""
    S = QUICK if quick else FULL
    t_start = time.perf_counter()

    def log(msg):
        if progress:
            print(f"bench [{time.perf_counter() - t_start:6.1f} s] {msg}", file=sys.stderr, flush=True)

    result: dict = {"machine": machine_info(), "quick": quick}
    if jax.default_backend() == "gpu" and not quick:
        S = dict(S, matmul_n=8192)
    roof = Roofline(S["matmul_n"])
    log(f"matmul {S['matmul_n']}x{S['matmul_n']}: {roof.measure():.1f} GFLOP/s")
    cfg = bench_config(quick)
    result["config"] = cfg.to_dict()
    # --quick times on Gaussian inputs of the same shapes (saves compiling the generator twice)
    steps, compile_s = train_step(cfg, roof, (1, 10, 100), S["steps"], S["reps"], log, quick)
    result["train_step"] = steps
    result["compile_s"] = compile_s[10]
    result["compile_s_by_L"] = {f"L{L}": v for L, v in compile_s.items()}
    result["recompiles_across_seeds"] = recompiles_across_seeds(cfg, S["steps"][10], quick)
    vl = vmap_vs_loop(cfg, S["loop_steps"], 3, gaussian=quick)
    result["vmap_vs_loop"] = vl["ratio"]
    result["vmap_vs_loop_detail"] = vl
    log(f"vmap vs loop (L=10): {vl['ratio']:.2f}x")
    roof.measure()
    ref = vs_reference(cfg, S["ref_steps"], S["ref_seeds"], log, quick)
    result["vs_reference"] = ref["ratio"]
    result["vs_reference_vmap"] = ref["ratio_vmap"]
    result["vs_reference_detail"] = ref
    log(f"vs reference: {ref['ratio']:.2f}x (eager loop), {ref['ratio_vmap']:.2f}x "
        f"(torch.func.vmap)" if ref["ratio"] else f"vs reference: n/a ({ref['reason']})")
    result["data_samples_per_s"] = data_rate(cfg)
    log(f"data: {result['data_samples_per_s']:.0f} samples/s")
    roof.measure()
    result["k_scaling"] = k_scaling(quick, S["k_list"], S["k_steps"])
    log(f"k scaling exponent {result['k_scaling']['exponent']:.2f}")
    result["d_scaling"] = d_scaling(quick, S["d_list"], S["d_steps"], log=log)
    result["k_engines"] = k_engines(quick, S["engines_k"], S["engines_steps"], log=log,
                                    limit_steps=S["engines_limit_steps"])
    for L in throughput:
        result.setdefault("throughput", {})[f"L{L}"] = tp = sweep_throughput(L, quick)
        log(f"throughput L={L}: {tp['models_per_s']:.2f} trained models/s ({tp['steps_run']} steps)")
    roof.measure()
    result["matmul_gflops"] = roof.best
    result["matmul_gflops_samples"] = roof.samples
    for v in result["train_step"].values():
        v["fraction_of_matmul"] = v["gflops"] / roof.best
    result["peak_memory_mb"] = peak_memory_mb()
    result["machine"]["loadavg_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    result["seconds"] = time.perf_counter() - t_start
    out = Path(out_dir)
    write_json(result, out, "bench.json")
    with atomic_file(out / "bench.txt") as f:
        f.write(format_summary(result) + "\n")
    return result


def _fmt(v, spec=".2f"):
    return "n/a" if v is None or (isinstance(v, float) and not math.isfinite(v)) else format(v, spec)


def _times(v, what: str = "faster") -> str:
    """'6.22x faster' ('6.22x' with what=''), or 'n/a' where the ratio was not measured."""
    text = _fmt(v)
    return text if text == "n/a" else f"{text}x {what}".rstrip()


def format_summary(r: dict) -> str:
    """Readable summary of a bench result."""
    m = r["machine"]
    device = m["backend"] if m["device"].lower() == m["backend"].lower() else \
        f"{m['backend']} {m['device']}"
    lines = [f"machine: {m['cpu']} ({m['cpu_count']} cores), {device}, "
             f"jax {m['jax']}, torch {m['torch']}{'  [quick]' if r.get('quick') else ''}",
             f"matmul roofline: {r['matmul_gflops']:.1f} GFLOP/s (best of "
             f"{len(r['matmul_gflops_samples'])} measurements, min "
             f"{min(r['matmul_gflops_samples']):.1f})", "",
             f"{'members':>8}{'ms/step':>10}{'GFLOP/s':>10}{'of matmul':>11}{'XLA/analytic':>14}"]
    for name, v in r["train_step"].items():
        xla = v["xla_flops_per_step"] / v["flops_per_step"] if v["xla_flops_per_step"] else None
        lines.append(f"{name[1:]:>8}{v['seconds'] * 1e3:>10.2f}{v['gflops']:>10.1f}"
                     f"{v['fraction_of_matmul']:>11.2f}{_fmt(xla, '.3f'):>14}")
    ref = r["vs_reference_detail"]
    lines += ["",
              f"vmap vs Python loop (L=10):     {_times(r['vmap_vs_loop'], 'faster under vmap')}",
              f"vs PyTorch eager loop (per model): {_times(r['vs_reference'])}"
              + (f" (torch {ref['reference_default_threads']} threads: "
                 f"{_times(ref['ratio_default_threads'], '')})" if ref.get("ratio") else
                 f" ({ref.get('reason')})"),
              f"vs PyTorch torch.func.vmap (per model): {_times(r.get('vs_reference_vmap'))}"
              + (f" (torch {ref['reference_default_threads']} threads: "
                 f"{_times(ref['ratio_vmap_default_threads'], '')})" if ref.get("ratio_vmap") else ""),
              f"compile (L=10 chunk):           {r['compile_s']:.2f} s; recompiles across seeds: "
              f"{r['recompiles_across_seeds']}",
              f"data generation:                {r['data_samples_per_s']:.0f} samples/s",
              f"peak memory:                    {r['peak_memory_mb']:.0f} MB",
              f"step time vs k {r['k_scaling']['k']}: "
              + ", ".join(f"{s * 1e3:.1f}" for s in r["k_scaling"]["seconds"])
              + f" ms; log-log exponent {r['k_scaling']['exponent']:.2f}"]
    if r.get("d_scaling"):
        lines += ["", f"{'d':>8}{'direct ms/step':>16}{'patch ms/step':>15}{'patch faster':>14}"
                  f"{'limit ms/step':>15}"]
        for row in r["d_scaling"]:
            lines.append(f"{row['d']:>8}{row['direct_s'] * 1e3:>16.2f}{row['patch_s'] * 1e3:>15.2f}"
                         f"{_times(row['direct_s'] / row['patch_s'], ''):>14}"
                         f"{_fmt(row.get('limit_s', 0) * 1e3):>15}")
    if r.get("k_engines"):
        e = r["k_engines"]
        lines += ["", f"{'k':>8}{'direct ms/step':>16}{'limit ms/step':>15}{'limit faster':>14}"]
        for k, a, b in zip(e["k"], e["direct_s"], e["limit_s"]):
            lines.append(f"{k:>8}{a * 1e3:>16.2f}{b * 1e3:>15.2f}{_times(a / b, ''):>14}")
    for name, tp in r.get("throughput", {}).items():
        lines.append(f"sweep throughput {name}: {tp['models_per_s']:.2f} trained models/s "
                     f"({tp['steps_run']} steps, {tp['seconds']:.1f} s)")
    lines.append(f"bench took {r['seconds']:.0f} s")
    return "\n".join(lines)



"""Run the learners on one configuration, compare with the theorems, report (SPEC section 6)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from . import theory
from .config import Config
from .data import Dataset, make_problem
from .learners import logits_of, train_single
from .metrics import slice_accuracies, views_fractions, views_learned

METHODS = ("single", "ensemble")


def member_keys(seed: int, L: int):
    """Data key and the L members' init keys of a run with base seed `seed`."""
    base = jax.random.PRNGKey(seed)
    data_key = jax.random.fold_in(base, 0)
    init = jax.random.fold_in(base, 1)
    return data_key, jax.vmap(lambda i: jax.random.fold_in(init, i))(jnp.arange(L))


def _record(train_logits, test_logits, train: Dataset, test: Dataset, view_counts) -> dict:
    """Accuracies (mean and std over the leading model axis) and views learned."""
    tr = slice_accuracies(train_logits, train)
    te = slice_accuracies(test_logits, test)
    values = {"train_acc": tr["acc"], "test_acc": te["acc"], "test_acc_multi": te["multi"],
              "test_acc_single": te["single"]}
    out = {name: float(np.mean(v)) for name, v in values.items()}
    out["std"] = {name: float(np.std(v)) for name, v in values.items()}
    out["per_model"] = {name: np.atleast_1d(v).tolist() for name, v in values.items()}
    out["views"] = views_fractions(view_counts)
    return out


def run_check(cfg: Config, L: int, seed: int = 0, methods=METHODS, progress: bool = True) -> dict:
    """Train what `methods` need and return the SPEC section 6 result dict."""
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"--methods: unknown {', '.join(unknown)}; allowed: {', '.join(METHODS)}")
    t0 = time.perf_counter()
    data_key, keys = member_keys(seed, L)
    problem = make_problem(data_key, cfg.data)
    threshold = cfg.model.learned_factor * cfg.model.varrho
    single = train_single(keys, cfg, problem, progress=progress, desc=f"single ×{L}")
    tr_logits = logits_of(single.params, problem.train.x, cfg)
    te_logits = logits_of(single.params, problem.test.x, cfg)
    counts = views_learned(single.fit.history["lam"][-1], threshold)          # [L, k]
    results = {}
    if "single" in methods:
        results["single"] = _record(tr_logits, te_logits, problem.train, problem.test, counts)
    if "ensemble" in methods:
        # a view counts as learned by the ensemble when any member learned it
        lam_any = single.fit.history["lam"][-1].max(0)
        results["ensemble"] = _record(tr_logits.mean(0), te_logits.mean(0), problem.train,
                                      problem.test, views_learned(lam_any, threshold)[None])
    preds = theory.check(results, L)
    return {
        "config": cfg.to_dict(),
        "seed": seed,
        "seeds": list(range(L)),
        "methods": results,
        "predictions": preds,
        "run": {"seconds": time.perf_counter() - t0, "steps_run": single.fit.steps_run,
                "stopped_at": single.fit.stopped_at.tolist(), "backend": jax.default_backend(),
                "devices": 1},
    }


def write_json(result: dict, out_dir: str | Path, name: str = "check.json") -> Path:
    """Write atomically (temp file + rename) so an interrupted run leaves no partial file."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    tmp = path.with_suffix(path.suffix + f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(result, indent=2, default=float))
    os.replace(tmp, path)
    return path


def format_table(result: dict) -> str:
    """Readable terminal table: per method accuracies and views; then predictions."""
    lines = []
    head = f"{'method':<14}{'train':>8}{'test':>8}{'multi':>8}{'single':>8}{'± single':>10}" \
           f"{'views none/one/both':>22}"
    lines += [head, "-" * len(head)]
    for name, m in result["methods"].items():
        v = m["views"]
        lines.append(f"{name:<14}{m['train_acc']:>8.3f}{m['test_acc']:>8.3f}"
                     f"{m['test_acc_multi']:>8.3f}{m['test_acc_single']:>8.3f}"
                     f"{m['std']['test_acc_single']:>10.3f}"
                     f"{v['none']:>8.2f}{v['one']:>7.2f}{v['both']:>7.2f}")
    lines.append("")
    head = f"{'prediction':<12}{'source':<11}{'method':<13}{'quantity':<26}{'measured':>9}" \
           f"{'expected':>15}  holds"
    lines += [head, "-" * len(head)]
    for p in result["predictions"]:
        lo, hi = p["expected"]
        lines.append(f"{p['id']:<12}{p['source']:<11}{p['method']:<13}{p['quantity']:<26}"
                     f"{p['measured']:>9.3f}{f'[{lo:.2f}, {hi:.2f}]':>15}  "
                     f"{'yes' if p['holds'] else 'NO'}")
    return "\n".join(lines)

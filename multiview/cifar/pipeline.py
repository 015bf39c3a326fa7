"""Single / ensemble / KD / self-distill / ensemble-of-KD / sum-trained on CIFAR (docs/model.md section 3, docs/cifar.md).

Stages, each one call of the training engine with L = len(seeds) members:
  single        L models on labels
  kd            L fresh students, teacher = mean of the single models' logits (frozen)
  self_distill  L fresh students, student i taught by single model i
  sum_trained   one model whose logits are the sum of L networks, trained on labels
`ensemble` and `ensemble_kd` average the logits of `single` and `kd`. Teacher logits are
computed once, in eval mode, on the un-augmented training images (ours).
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Callable

import jax.numpy as jnp
import numpy as np

from multiview import methods as table
from multiview.cifar import config as config_mod
from multiview.cifar.config import CifarConfig
from multiview.cifar.data import CifarArrays
from multiview.cifar.losses import HintonKD, label_objective
from multiview.cifar.models import SumOfModels, build, resolve_arch
from multiview.cifar.paper_tables import paper_row
from multiview.cifar.train import DeviceData, Trainer, steps_per_epoch
from multiview.keys import seed_keys
from multiview.metrics import std_over_models


def stages_for(methods) -> list[str]:
    """Training stages the requested methods need, in run order: the synthetic arm's method
    table (multiview/methods.py) is the one vocabulary, its names and dependency rule."""
    stages = table.stages_for(methods)
    assert set(stages) <= set(config_mod.STAGES), stages   # config.validate admits only these
    return stages


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    return float((logits.argmax(-1) == labels).mean())


def summarize(train_logits: np.ndarray, test_logits: np.ndarray, data: CifarArrays) -> dict:
    """Method entry from per-model logits [n_models, N, C]: mean accuracies, std over models
    (metrics.std_over_models, as the synthetic arm: ddof = 1, 0 for one model) and the
    per-model values."""
    per = {"train_acc": [accuracy(l, data.train_labels) for l in train_logits],
           "test_acc": [accuracy(l, data.test_labels) for l in test_logits]}
    n = len(train_logits)
    return {
        "train_acc": float(np.mean(per["train_acc"])),
        "test_acc": float(np.mean(per["test_acc"])),
        "std": {k: std_over_models(v) for k, v in per.items()},
        "n_models": n,
        "per_model": per,
    }


def fingerprint(cfg: CifarConfig, data: CifarArrays, stage: str) -> str:
    """Identifies what a stage's checkpoint was trained on (config, data, stage)."""
    fields = config_mod.to_dict(cfg)
    for key in ("methods", "sequential", "eval_batch_size"):
        fields.pop(key)
    fields["data"] = [len(data.train_labels), len(data.test_labels),
                      hashlib.sha256(data.train_labels.tobytes()).hexdigest()[:16]]
    fields["stage"] = stage
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:32]


def run(cfg: CifarConfig, data: CifarArrays, ckpt_dir: Path | None = None,
        progress: Callable[[str, int], Callable[[dict], None]] | None = None) -> dict:
    """Run every stage the methods need; returns the results (config, seeds, methods, paper).

    progress(stage, total_epochs) -> on_epoch callback, e.g. a tqdm bar's update.
    """
    config_mod.validate(cfg)
    t = cfg.train
    if steps_per_epoch(t, len(data.train_labels)) == 0:
        config_mod.need(False, "--batch-size", t.batch_size,
                        f"at most the {len(data.train_labels)} training images")
    config_mod.need(data.num_classes == cfg.num_classes, "--dataset", cfg.dataset,
                    f"the data found have {data.num_classes} classes")
    arch = resolve_arch(cfg.arch)
    model = build(arch, cfg.num_classes, jnp.bfloat16 if t.bf16 else jnp.float32)
    mean, std = data.channel_stats()
    device = DeviceData(jnp.asarray(data.train_images), jnp.asarray(data.train_labels),
                        jnp.asarray(mean), jnp.asarray(std))
    seeds = cfg.seed_list
    L = len(seeds)

    trainer = Trainer(model, t, len(data.train_labels))
    timing: dict[str, float] = {}
    logits = {}

    def train_stage(stage, engine, keys, objective, teacher=None):
        start = time.perf_counter()
        members = len(keys) if cfg.sequential else 1
        callback = progress(stage, t.epochs * members) if progress else None
        ckpt = None if ckpt_dir is None else Path(ckpt_dir) / f"{stage}.msgpack"
        state = engine.fit(keys, device, objective, teacher, sequential=cfg.sequential,
                            ckpt=ckpt, fingerprint=fingerprint(cfg, data, stage),
                            on_epoch=callback, desc=stage)
        logits[stage] = tuple(engine.predict(state, images, mean, std, cfg.eval_batch_size)
                              for images in (data.train_images, data.test_images))
        timing[stage] = time.perf_counter() - start

    kd_objective = HintonKD(t.kd_temperature, t.kd_alpha)
    for name in stages_for(cfg.methods):
        stage = table.STAGES[name]
        # member i: seed seeds[i], the table's stream of the stage (kd and self-distillation
        # students share their initialisations, as in the synthetic arm)
        keys = seed_keys(seeds, stage.stream)
        engine = trainer
        if stage.wide:  # sum: one member, the sum of L networks (method sum_trained)
            engine, keys = Trainer(SumOfModels(model, L), t, len(data.train_labels)), keys[:1]
        if stage.teacher is None:
            train_stage(name, engine, keys, label_objective)
            continue
        # the teacher through the table's rule (methods.TEACHERS): kd from the ensemble's
        # averaged logits, self_distill student i from single model i
        target = table.teacher_target(stage, logits[stage.teacher[0]][0], data.train_labels)
        assert target.labels is None, name     # hard-label students: not a stage of this arm
        teacher = jnp.asarray(target.logits)
        if not target.per_member:              # the engine reads one teacher per member
            teacher = jnp.broadcast_to(teacher, (len(keys), *teacher.shape))
        train_stage(name, engine, keys, kd_objective, teacher)

    methods = {}
    for name in cfg.methods:
        stage, how = table.METHODS[name]
        if how == "mean":               # ensemble, ensemble_kd: the members' averaged logits
            averaged = tuple(l.mean(axis=0, keepdims=True) for l in logits[stage])
            methods[name] = summarize(*averaged, data) | {"members": L}
        else:
            methods[name] = summarize(*logits[stage], data)
            if stage == "sum":
                methods[name]["members"] = L
    return {
        "config": config_mod.to_dict(cfg),
        "data": {"dataset": cfg.dataset, "source": data.source,
                 "n_train": int(len(data.train_labels)), "n_test": int(len(data.test_labels)),
                 "num_classes": data.num_classes},
        # as check.json: the base seed and the members (member i trains from seed + i here)
        "seed": cfg.seed,
        "seeds": list(range(L)),
        "methods": methods,
        "paper": paper_row(arch.name, cfg.dataset),
        "timing_s": timing,
    }

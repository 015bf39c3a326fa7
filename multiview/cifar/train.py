"""The one CIFAR training engine: a jitted SGD step of every member at once, under vmap.

A "member" is one network with its own PRNG key (init, data order, augmentation). Single
models, KD students and self-distilled students differ only in the objective and the
teacher logits; an ensemble is the member step under jax.vmap over keys; `sequential`
trains the same members one after another with the same compiled function.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from multiview.cifar import checkpoint
from multiview.cifar.augment import crop_flip, normalize
from multiview.cifar.config import CifarTrainConfig
from multiview.cifar.models import IMAGE_SHAPE
from multiview.errors import TrainingDiverged


class TrainState(NamedTuple):
    """Everything that changes during training (leading member axis when stacked)."""

    params: Any
    batch_stats: Any
    opt_state: Any


class DeviceData(NamedTuple):
    """Training images (uint8 NHWC) and labels on device, with the normalisation."""

    images: jax.Array
    labels: jax.Array
    mean: jax.Array
    std: jax.Array


def make_optimizer(cfg: CifarTrainConfig, steps_per_epoch: int) -> optax.GradientTransformation:
    """SGD (Nesterov) + coupled weight decay; cosine decay to 0, or x0.2 at 30/60/80% of epochs."""
    total = cfg.epochs * steps_per_epoch
    if cfg.schedule == "cosine":
        lr = optax.cosine_decay_schedule(cfg.lr, total)
    else:
        bounds = {round(cfg.epochs * f) * steps_per_epoch for f in (0.3, 0.6, 0.8)} - {0}
        lr = optax.piecewise_constant_schedule(cfg.lr, {b: 0.2 for b in sorted(bounds)})
    return optax.chain(optax.add_decayed_weights(cfg.weight_decay),
                       optax.sgd(lr, cfg.momentum, nesterov=cfg.nesterov))


def init_state(model, tx, key) -> TrainState:
    """Fresh variables and optimizer state for one member (init key = fold_in(key, 0))."""
    x = jnp.zeros((1, *IMAGE_SHAPE), jnp.float32)
    # Non-partitionable threefry: same determinism, and XLA:CPU compiles the init of a
    # network 5-8x faster (measured: the partitionable form unrolls per-element hashes).
    with jax.threefry_partitionable(False):
        variables = model.init(jax.random.fold_in(key, 0), x, train=False)
    return TrainState(variables["params"], variables.get("batch_stats", {}),
                      tx.init(variables["params"]))


def epoch_order(key, epoch, n: int, steps: int, batch_size: int):
    """Example indices [steps, batch] of one member's epoch: a permutation drawn from
    fold_in(fold_in(key, 1), epoch), last partial batch dropped."""
    perm_key = jax.random.fold_in(jax.random.fold_in(key, 1), epoch)
    order = jax.random.permutation(perm_key, n)[: steps * batch_size]
    return order.reshape(steps, batch_size)


def member_step(model, tx, objective, cfg: CifarTrainConfig, state: TrainState, key, epoch, step,
                idx, data: DeviceData, teacher):
    """One SGD step of one member on the examples idx (augmentation key from key, epoch, step)."""
    dtype = jnp.bfloat16 if cfg.bf16 else jnp.float32
    x = data.images[idx]
    if cfg.augment:
        aug_key = jax.random.fold_in(jax.random.fold_in(jax.random.fold_in(key, 2), epoch), step)
        x = crop_flip(aug_key, x, cfg.pad, cfg.pad_mode)
    x = normalize(x, data.mean, data.std, dtype)
    y = data.labels[idx]
    t = None if teacher is None else teacher[idx]

    def loss_fn(params):
        logits, updates = model.apply({"params": params, "batch_stats": state.batch_stats},
                                      x, train=True, mutable=["batch_stats"])
        logits = logits.astype(jnp.float32)
        return objective(logits, y, t), (updates["batch_stats"], logits)

    (loss, (batch_stats, logits)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    acc = (logits.argmax(-1) == y).mean()
    return TrainState(params, batch_stats, opt_state), {"loss": loss, "acc": acc}


def steps_per_epoch(cfg: CifarTrainConfig, n_train: int) -> int:
    """Full batches per epoch (the last partial batch is dropped)."""
    return n_train // cfg.batch_size


def eval_logits(model, bf16: bool, params, batch_stats, images_u8, mean, std):
    """Eval-mode float32 logits of one member on un-augmented uint8 images."""
    x = normalize(images_u8, mean, std, jnp.bfloat16 if bf16 else jnp.float32)
    return model.apply({"params": params, "batch_stats": batch_stats}, x,
                       train=False).astype(jnp.float32)


class Trainer:
    """The compiled functions for one network, recipe and training-set size, reused by every
    stage (single, KD, self-distill) so each compiles once. All members move in lockstep.

    A Python loop over jitted steps, not lax.scan: XLA:CPU runs convolutions inside a
    while loop about 10x slower (measured), and on GPU dispatch is asynchronous anyway.
    """

    def __init__(self, model, cfg: CifarTrainConfig, n_train: int):
        self.model, self.cfg, self.n_train = model, cfg, n_train
        self.steps = steps_per_epoch(cfg, n_train)
        self.tx = make_optimizer(cfg, self.steps)
        self.init = jax.jit(jax.vmap(partial(init_state, model, self.tx)))
        self.order = jax.jit(jax.vmap(partial(epoch_order, n=n_train, steps=self.steps,
                                              batch_size=cfg.batch_size), in_axes=(0, None)))
        self.logits = jax.jit(jax.vmap(partial(eval_logits, model, cfg.bf16),
                                       in_axes=(0, 0, None, None, None)))
        self._step_fns = {}

    def step_fn(self, objective, with_teacher: bool):
        """jit(vmap(member_step)) for an objective; teacher logits are per member."""
        key = (objective, with_teacher)
        if key not in self._step_fns:
            self._step_fns[key] = jax.jit(
                jax.vmap(partial(member_step, self.model, self.tx, objective, self.cfg),
                         in_axes=(0, 0, None, None, 0, None, 0 if with_teacher else None)),
                donate_argnums=0)
        return self._step_fns[key]

    def fit(self, keys, data: DeviceData, objective, teacher=None, *, sequential=False,
            ckpt: Path | None = None, fingerprint: str = "",
            on_epoch: Callable[[dict], None] | None = None, desc: str = "cifar") -> TrainState:
        """Train one member per key; returns their stacked TrainState.

        teacher: None or logits [members, N, C] (member i distils from teacher[i]).
        With ckpt the state is saved after every epoch and a rerun resumes from it
        (sequential runs keep one file per member). on_epoch(metrics) after each epoch.
        A non-finite loss raises TrainingDiverged naming the step and member (checked once
        an epoch, before its checkpoint is written).
        """
        assert int(data.labels.shape[0]) == self.n_train
        step_fn = self.step_fn(objective, teacher is not None)
        groups = [slice(i, i + 1) for i in range(len(keys))] if sequential else [slice(None)]
        initial = self.init(keys)  # all members at once: one compilation whatever the mode
        states = []
        for g, members in enumerate(groups):
            group_keys = keys[members]
            group_teacher = None if teacher is None else teacher[members]
            path = ckpt
            if ckpt is not None and sequential:
                path = ckpt.with_name(f"{ckpt.stem}.m{g}{ckpt.suffix}")
            state = jax.tree.map(lambda a: a[members], initial)
            start = 0
            if path is not None:
                start, state = checkpoint.load(path, state, fingerprint)
            for epoch in range(start, self.cfg.epochs):
                order = self.order(group_keys, epoch)
                sums = {"loss": 0.0, "acc": 0.0}
                losses = []
                for i in range(self.steps):
                    state, metrics = step_fn(state, group_keys, epoch, i, order[:, i], data,
                                             group_teacher)
                    sums = {k: sums[k] + metrics[k] for k in sums}
                    losses.append(metrics["loss"])
                self._check_finite(losses, epoch, g if sequential else 0, desc)
                if path is not None:
                    checkpoint.save(path, state, epoch + 1, fingerprint)
                if on_epoch is not None:
                    on_epoch({k: float(v.mean()) / self.steps for k, v in sums.items()})
            states.append(state)
        return jax.tree.map(lambda *xs: jnp.concatenate(xs), *states)

    def _check_finite(self, losses: list, epoch: int, first_member: int, desc: str) -> None:
        """TrainingDiverged at the first non-finite loss of the epoch (losses: [members] per step)."""
        finite = np.isfinite(np.asarray(jnp.stack(losses)))
        if not finite.all():
            i, m = np.argwhere(~finite)[0]
            # a WRN from its standard initialisation: a non-finite loss is the step size's
            raise TrainingDiverged(epoch * self.steps + int(i), first_member + int(m),
                                   "step size", desc, self.cfg.lr, "--lr")

    def predict(self, state: TrainState, images: np.ndarray, mean, std,
                batch_size: int = 500) -> np.ndarray:
        """Eval-mode logits of every member: float32 [members, N, C] (no augmentation)."""
        size = min(batch_size, len(images))
        out = []
        for start in range(0, len(images), size):
            chunk = images[start:start + size]
            pad = size - len(chunk)
            if pad:  # keep one compiled shape
                chunk = np.concatenate([chunk, np.zeros((pad, *chunk.shape[1:]), chunk.dtype)])
            logits = self.logits(state.params, state.batch_stats, chunk, mean, std)
            out.append(np.asarray(logits)[:, : size - pad])
        return np.concatenate(out, axis=1)

"""The one training engine: full-batch steps of a loss, L members at once under vmap.

Every learner (single, KD, self-distill, sum, random features, NTK) calls `fit` with its own
loss function; there is no second training loop. A chunk of steps is one compiled
`lax.scan`; between chunks the engine updates the progress bar, checks for non-finite values
and stops when every member has met the stopping rule (stopped members are frozen).
"""

from __future__ import annotations

import functools
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .config import ConfigError, TrainConfig


class TrainingDiverged(RuntimeError):
    """A loss or gradient became NaN/inf; the message names the step and member."""


class FitResult(NamedTuple):
    params: object              # pytree, leading member axis L
    history: dict               # name -> np.ndarray [steps_run, L, ...]
    stopped_at: np.ndarray      # [L] step at which each member met the stopping rule (-1: never)
    steps_run: int
    snapshots: list             # [(step, params)] after each chunk, when asked for


def optimizer(name: str, lr: float, momentum: float) -> optax.GradientTransformation:
    """Plain gradient descent (the theory's learner) or an optax alternative."""
    if name == "gd":
        return optax.sgd(lr)
    if name == "momentum":
        return optax.sgd(lr, momentum=momentum)
    if name == "adam":
        return optax.adam(lr)
    raise ValueError(f"train.optimizer: unknown value {name!r}")


def _where_tree(mask, new, old):
    def pick(a, b):
        m = mask.reshape(mask.shape + (1,) * (a.ndim - 1))
        return jnp.where(m, b, a)
    return jax.tree_util.tree_map(pick, new, old)


@functools.partial(jax.jit, static_argnames=("loss_fn", "monitor", "opt_spec", "n_steps",
                                             "stop", "stop_value"), donate_argnums=(0, 1))
def _run_chunk(params, opt_state, done, stopped_at, step0, shared, member, *, loss_fn, monitor,
               opt_spec, n_steps, stop, stop_value):
    opt = optimizer(*opt_spec)
    grad_fn = jax.vmap(jax.value_and_grad(loss_fn, has_aux=True), in_axes=(0, None, 0))

    def body(carry, t):
        params, opt_state, done, stopped_at = carry
        (loss, acc), grads = grad_fn(params, shared, member)
        if stop == "train_acc":
            met = acc >= stop_value
        elif stop == "loss":
            met = loss <= stop_value
        else:
            met = jnp.zeros_like(done)
        newly = met & ~done
        stopped_at = jnp.where(newly, t, stopped_at)
        done = done | met
        updates, new_opt = jax.vmap(opt.update)(grads, opt_state, params)
        new_params = optax.apply_updates(params, updates)
        finite = jnp.isfinite(loss) & jnp.stack(
            [jnp.all(jnp.isfinite(g), axis=tuple(range(1, g.ndim)))
             for g in jax.tree_util.tree_leaves(grads)]).all(0)
        params = _where_tree(done, new_params, params)
        opt_state = _where_tree(done, new_opt, opt_state)
        log = {"loss": loss, "train_acc": acc, "finite": finite}
        if monitor is not None:
            log.update(jax.vmap(monitor, in_axes=(0, None))(params, shared))
        return (params, opt_state, done, stopped_at), log

    carry, logs = jax.lax.scan(body, (params, opt_state, done, stopped_at),
                               step0 + jnp.arange(n_steps, dtype=jnp.int32))
    return carry, logs


def fit(loss_fn: Callable, params, shared: dict, member: dict | None, tc: TrainConfig, *,
        monitor: Callable | None = None, progress: bool = True, desc: str = "train",
        snapshots: bool = False) -> FitResult:
    """Train L members (leading axis of `params`) by full-batch steps of `loss_fn`.

    loss_fn(p, shared, member_slice) -> (loss, train_accuracy); `shared` is the same for every
    member, `member` has a leading L axis (or is None). loss_fn and monitor must be module-level
    functions (they are static under jit, so the same learner never recompiles).
    monitor(p, shared) -> dict of arrays logged every step. With snapshots=True the parameters
    after every chunk are kept (for the dynamics probes).
    """
    from tqdm.auto import tqdm

    member = {} if member is None else member
    L = jax.tree_util.tree_leaves(params)[0].shape[0]
    if tc.devices > 1:
        params, member, shared = _shard_members(params, member, shared, tc.devices)
    Lp = jax.tree_util.tree_leaves(params)[0].shape[0]
    opt_spec = (tc.optimizer, float(tc.lr), float(tc.momentum))
    opt = optimizer(*opt_spec)
    opt_state = jax.vmap(opt.init)(params)
    params = jax.tree_util.tree_map(jnp.array, params)   # our own buffers: donated below
    done = jnp.zeros((Lp,), bool)
    stopped_at = jnp.full((Lp,), -1, jnp.int32)
    if tc.devices > 1:
        done, stopped_at = _shard_members((done, stopped_at), {}, {}, tc.devices)[0]
    logs: list[dict] = []
    snaps: list = [(0, jax.device_get(params))] if snapshots else []
    step = 0
    bar = tqdm(total=tc.steps, desc=desc, disable=not progress, leave=False, unit="step")
    try:
        while step < tc.steps:
            n = min(tc.chunk, tc.steps - step)
            (params, opt_state, done, stopped_at), chunk_log = _run_chunk(
                params, opt_state, done, stopped_at, jnp.int32(step), shared, member,
                loss_fn=loss_fn, monitor=monitor, opt_spec=opt_spec, n_steps=n,
                stop=tc.stop, stop_value=float(tc.stop_value))
            chunk_log = jax.device_get(chunk_log)
            finite = chunk_log.pop("finite")
            if not finite.all():
                t, i = np.argwhere(~finite)[0]
                raise TrainingDiverged(
                    f"{desc}: non-finite loss or gradient at step {step + int(t)} (member {int(i)}); "
                    f"lower train.lr (now {tc.lr}) or check the data scale")
            logs.append(chunk_log)
            step += n
            if snapshots:
                snaps.append((step, jax.device_get(params)))
            d = np.asarray(done)
            bar.update(n)
            bar.set_postfix(loss=f"{chunk_log['loss'][-1].mean():.3g}",
                            acc=f"{chunk_log['train_acc'][-1].mean():.3f}", done=f"{d.sum()}/{L}")
            if tc.stop != "none" and d.all():
                break
    finally:
        bar.close()
    history = {key: np.concatenate([c[key] for c in logs])[:, :L] for key in logs[0]} if logs else {}
    if Lp != L:   # drop the padding members
        params = jax.tree_util.tree_map(lambda a: a[:L], params)
        snaps = [(t, jax.tree_util.tree_map(lambda a: a[:L], p)) for t, p in snaps]
    return FitResult(params, history, np.asarray(stopped_at)[:L], step, snaps)


def _shard_members(params, member, shared, devices: int):
    """Place the member axis across `devices` devices (padding it to a multiple by repeating
    the last member); `shared` is replicated. Members are independent, so the sharded program
    computes the same numbers as the one-device one."""
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    avail = jax.devices()
    if len(avail) < devices:
        raise ConfigError(f"--devices: value {devices} is not allowed; {len(avail)} "
                         f"{jax.default_backend()} device(s) available")
    mesh = Mesh(np.array(avail[:devices]), ("members",))
    L = jax.tree_util.tree_leaves(params)[0].shape[0]
    pad = (-L) % devices

    def place(a):
        if pad:
            a = jnp.concatenate([a, jnp.repeat(a[-1:], pad, axis=0)], axis=0)
        spec = PartitionSpec("members", *([None] * (a.ndim - 1)))
        return jax.device_put(a, NamedSharding(mesh, spec))

    replicated = NamedSharding(mesh, PartitionSpec())
    return (jax.tree_util.tree_map(place, params), jax.tree_util.tree_map(place, member),
            jax.tree_util.tree_map(lambda a: jax.device_put(a, replicated), shared))

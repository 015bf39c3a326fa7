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
from .errors import TrainingDiverged


class FitResult(NamedTuple):
    params: object              # pytree, leading member axis L
    history: dict               # name -> np.ndarray [steps_run, L, ...]
    stopped_at: np.ndarray      # [L] step at which each member met the stopping rule (-1: never)
    steps_run: int
    snapshots: list             # [(step, params)] after each chunk, when asked for
    engine: str = "direct"      # "direct" (W itself), "patch" (multiview/patch.py) or "limit"
                                # (multiview/limit.py)


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
            log.update(jax.vmap(monitor, in_axes=(0, None, 0))(params, shared, member))
        return (params, opt_state, done, stopped_at), log

    carry, logs = jax.lax.scan(body, (params, opt_state, done, stopped_at),
                               step0 + jnp.arange(n_steps, dtype=jnp.int32))
    return carry, logs


# what `fit` keeps of the parameters over training: nothing, every chunk, step 0, the last two
SNAPSHOT_MODES = (False, True, "first", "last2")


def fit(loss_fn: Callable, params, shared: dict, member: dict | None, tc: TrainConfig, *,
        monitor: Callable | None = None, progress: bool = True, desc: str = "train",
        snapshots: bool | str = False, compact: bool = True) -> FitResult:
    """Train L members (leading axis of `params`) by full-batch steps of `loss_fn`.

    loss_fn(p, shared, member_slice) -> (loss, train_accuracy); `shared` is the same for every
    member, `member` has a leading L axis (or is None). loss_fn and monitor must be module-level
    functions (they are static under jit, so the same learner never recompiles).
    monitor(p, shared, member_slice) -> dict of arrays logged every step. With snapshots=True the parameters
    at step 0 and after every chunk are kept (for the dynamics probes); "first": at step 0 only
    (an untrained teacher's logits); "last2": the last two of them only (the ratchet's per-step
    change). The last two modes hold one or two copies of the parameters, not one per chunk.

    With compact=True, members that have met the stopping rule leave the batch between chunks
    (`_batch`): a stopped member is frozen, so its remaining history rows repeat its last one and
    the results are those of compact=False, member by member.
    """
    from .progress import bar as progress_bar

    assert snapshots in SNAPSHOT_MODES, snapshots
    member = {} if member is None else member
    L = jax.tree_util.tree_leaves(params)[0].shape[0]
    place = _placement(tc.devices)
    shared = place(shared, replicate=True)
    opt_spec = (tc.optimizer, float(tc.lr), float(tc.momentum))
    opt = optimizer(*opt_spec)
    # our own buffers (params are donated to the chunks)
    state = (jax.tree_util.tree_map(jnp.array, params), jax.vmap(opt.init)(params),
             jnp.zeros((L,), bool), jnp.full((L,), -1, jnp.int32))
    batch = last = None
    logs: list[dict] = []
    snaps: list = [(0, jax.device_get(params))] if snapshots else []
    step = 0
    bar = progress_bar(total=tc.steps, desc=desc, disable=not progress, unit="step",
               bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/<={total_fmt} steps "
                          "[{elapsed}<{remaining}{postfix}]")
    try:
        while step < tc.steps:
            n = min(tc.chunk, tc.steps - step)
            new = _batch(np.asarray(state[2]), batch, tc.devices, compact)
            if new is not batch:
                batch, sub_member = new, place(_take(member, new.idx, L))
            real, k = batch.real, len(batch.real)
            carry, chunk_log = _run_chunk(
                *place(_take(state, batch.idx, L)), jnp.int32(step), shared, sub_member,
                loss_fn=loss_fn, monitor=monitor, opt_spec=opt_spec, n_steps=n,
                stop=tc.stop, stop_value=float(tc.stop_value))
            chunk_log = {key: v[:, :k] for key, v in jax.device_get(chunk_log).items()}
            finite = chunk_log.pop("finite")
            if not finite.all():
                t, i = np.argwhere(~finite)[0]
                at = step + int(t)
                raise TrainingDiverged(at, int(real[i]), "initialisation" if at == 0 else
                                       "step size", desc, tc.lr)
            state = _put(state, real, carry, L)
            last, rows = _rows(chunk_log, real, last, L)
            logs.append(rows)
            step += n
            if snapshots and snapshots != "first":
                snaps.append((step, jax.device_get(state[0])))
                if snapshots == "last2":
                    del snaps[:-2]
            d = np.asarray(state[2])
            bar.update(n)
            bar.set_postfix(loss=f"{rows['loss'][-1].mean():.3g}",
                            acc=f"{rows['train_acc'][-1].mean():.3f}", done=f"{d.sum()}/{L}",
                            batch=len(batch.idx))
            if tc.stop != "none" and d.all():
                break
        # the run's length is known now: the bar ends full and stays on screen
        bar.total, bar.bar_format = step, "{desc}: {n_fmt} steps [{elapsed}{postfix}]"
        bar.refresh()
    finally:
        bar.close()
    history = {key: np.concatenate([c[key] for c in logs]) for key in logs[0]} if logs else {}
    return FitResult(state[0], history, np.asarray(state[3]), step, snaps)


def steps_until(stopped_at, tc: TrainConfig) -> int:
    """The steps_run of `fit` for members with these stopping steps: the end of the chunk in
    which the last of them met the stopping rule (train.steps when one never did)."""
    stopped = np.asarray(stopped_at)
    if tc.stop == "none" or (stopped < 0).any():
        return int(tc.steps)
    return min(int(tc.steps), (int(stopped.max()) // tc.chunk + 1) * tc.chunk)


class _Batch(NamedTuple):
    real: np.ndarray    # the members in the batch, each once
    idx: np.ndarray     # real followed by padding (copies of a member whose results are dropped)


# a new batch size compiles a new chunk program: on a 2-core CPU about what 2-3 chunks of 10
# members of the `small` preset cost (measured), so the batch shrinks only to a quarter of its
# size or less
SHRINK = 4


def _batch(done: np.ndarray, current: _Batch | None, devices: int, compact: bool) -> _Batch:
    """The members of the next chunk. The batch size is a power of two times `devices` (or L
    rounded up to `devices`); it shrinks, when the members still training fit in a quarter of
    it or less, to the smallest such size, so at most ~log4(L) shapes compile. Padding is a
    finished member, which is frozen."""
    L = len(done)
    full = -(-L // devices) * devices
    live = np.flatnonzero(~done)
    size = devices
    while size < len(live):
        size *= 2
    if current is not None and (not compact or SHRINK * size > len(current.idx)):
        return current
    size = min(size, full) if compact else full
    real = live if size < L else np.arange(L)
    fill = np.flatnonzero(done)[0] if len(real) < L else L - 1
    return _Batch(real, np.concatenate([real, np.full(size - len(real), fill)]))


def _take(tree, idx: np.ndarray, L: int):
    """The rows idx of every leaf (the leaves themselves when idx is 0..L-1)."""
    if len(idx) == L and np.array_equal(idx, np.arange(L)):
        return tree
    return jax.tree_util.tree_map(lambda a: a[idx], tree)


def _put(state, real: np.ndarray, carry, L: int):
    """state with rows `real` replaced by the first len(real) rows of carry."""
    if len(real) == L and len(jax.tree_util.tree_leaves(carry)[0]) == L:
        return carry
    return jax.tree_util.tree_map(lambda a, c: a.at[real].set(c[:len(real)]), state, carry)


def _rows(chunk_log: dict, real: np.ndarray, last: dict | None, L: int):
    """The chunk's history of all L members: the logged columns of the members in the batch,
    the last row repeated for the others (they stopped, so their rows no longer change)."""
    if len(real) == L:
        rows = chunk_log
    else:
        n = len(next(iter(chunk_log.values())))
        rows = {key: np.repeat(last[key][None], n, axis=0) for key in chunk_log}
        for key, v in chunk_log.items():
            rows[key][:, real] = v
    return {key: v[-1] for key, v in rows.items()}, rows


def _placement(devices: int) -> Callable:
    """place(tree, replicate=False): with devices > 1, the member axis (a multiple of
    `devices` long) split across `devices` devices, or the arrays replicated; the identity
    with one device. Members are independent, so the sharded program computes the same numbers
    as the one-device one."""
    if devices == 1:
        return lambda tree, replicate=False: tree
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    avail = jax.devices()
    if len(avail) < devices:
        raise ConfigError(f"--devices: value {devices} is not allowed; {len(avail)} "
                         f"{jax.default_backend()} device(s) available")
    mesh = Mesh(np.array(avail[:devices]), ("members",))

    def place(tree, replicate=False):
        def one(a):
            spec = PartitionSpec() if replicate else PartitionSpec("members",
                                                                    *([None] * (a.ndim - 1)))
            return jax.device_put(a, NamedSharding(mesh, spec))
        return jax.tree_util.tree_map(one, tree)
    return place

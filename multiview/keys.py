"""The named PRNG streams of a run: every command derives its keys here.

Member l of stream s in a run with base seed S is initialised from
fold_in(fold_in(PRNGKey(S), STREAMS[s]), l); the data (views, training and test sets) come
from stream "data". Adding a stream never changes the keys of an existing one. The CIFAR arm,
whose members are seeds of their own, takes one key per seed of the same streams (`seed_keys`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

STREAMS = {"data": 0, "single": 1, "student": 2, "sum": 3, "rf": 4, "rf_sum": 5, "rf_kd": 6,
           "ntk": 7, "ntk_sum": 8, "ntk_kd": 9, "peer": 10, "dose": 11, "shuffle": 12,
           # d = ∞: a member's frozen coordinates along the test patches' noise, drawn from
           # fold_in(its init key, 13) (model.init_params)
           "limit_test": 13}


def data_key(seed: int) -> jax.Array:
    """The key of the data of the run with base seed `seed` (views, train and test sets)."""
    return jax.random.fold_in(jax.random.PRNGKey(seed), STREAMS["data"])


def stream_keys(seed: int, stream: str, n: int) -> jax.Array:
    """n member keys of one named stream of the run with base seed `seed`."""
    base = jax.random.fold_in(jax.random.PRNGKey(seed), STREAMS[stream])
    return jax.vmap(lambda i: jax.random.fold_in(base, i))(jnp.arange(n))


def seed_keys(seeds, stream: str) -> jax.Array:
    """One key of `stream` per base seed: member i of a run whose members are seeds of their
    own (the CIFAR arm: seeds S, S+1, ...) is initialised from fold_in(PRNGKey(seeds[i]),
    STREAMS[stream])."""
    return jnp.stack([jax.random.fold_in(jax.random.PRNGKey(s), STREAMS[stream]) for s in seeds])


def member_keys(seed: int, L: int):
    """Data key and the L single members' init keys of a run with base seed `seed`."""
    return data_key(seed), stream_keys(seed, "single", L)


def stream_rng(seed: int, stream: str):
    """A numpy Generator of one named stream of the run with base seed `seed` (for host-side
    randomness such as a permutation of the training points), seeded by the stream's key."""
    base = jax.random.fold_in(jax.random.PRNGKey(seed), STREAMS[stream])
    return np.random.default_rng(np.asarray(jax.random.key_data(base)).astype(np.uint32).tolist())

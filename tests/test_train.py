"""The training engine: vmap members equal solo runs, determinism, descent, divergence."""

import numpy as np
import pytest

from multiview import train
from multiview.keys import member_keys
from multiview.config import override
from multiview.data import make_problem
from multiview.learners import (init_members, label_loss, shared_inputs, train_single,
                                view_monitor)
from multiview.train import TrainingDiverged


def _setup(cfg, L=3, seed=0):
    data_key, keys = member_keys(seed, L)
    return keys, make_problem(data_key, cfg.data)


def test_vmap_members_equal_individually_trained_ones(tiny):
    cfg = override(tiny, {"train.stop": "none"})
    keys, problem = _setup(cfg)
    together = train_single(keys, cfg, problem, progress=False)
    for i in range(3):
        alone = train_single(keys[i:i + 1], cfg, problem, progress=False)
        # float32, 60 steps: the vmapped and solo programs may fuse differently; 1e-4 relative
        np.testing.assert_allclose(together.params[i], alone.params[0], rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(together.fit.history["loss"][:, i],
                                   alone.fit.history["loss"][:, 0], rtol=1e-4)


def test_same_key_same_numbers(tiny):
    keys, problem = _setup(tiny)
    a = train_single(keys, tiny, problem, progress=False)
    b = train_single(keys, tiny, problem, progress=False)
    assert np.array_equal(a.params, b.params)
    assert np.array_equal(a.fit.history["loss"], b.fit.history["loss"])


def test_gradient_descent_reduces_the_loss(tiny):
    cfg = override(tiny, {"train.stop": "none", "train.steps": 200})
    keys, problem = _setup(cfg)
    loss = train_single(keys, cfg, problem, progress=False).fit.history["loss"]
    assert np.all(loss[-1] < 0.5 * loss[0])


def test_members_stop_and_freeze_when_they_meet_the_stopping_rule(tiny):
    # a threshold every member of the tiny config passes early (some members of it stall
    # below 100% train accuracy, which is not what this test is about)
    cfg = override(tiny, {"train.steps": 400, "train.stop_value": 0.7})
    keys, problem = _setup(cfg)
    tr = train_single(keys, cfg, problem, progress=False)
    h = tr.fit.history
    for i, s in enumerate(tr.fit.stopped_at):
        assert s >= 0, "every tiny member should reach 70% train accuracy"
        assert h["train_acc"][s, i] >= 0.7 and (s == 0 or h["train_acc"][s - 1, i] < 0.7)
        # frozen after stopping: Λ no longer changes
        np.testing.assert_array_equal(h["lam"][s, i], h["lam"][-1, i])


def test_history_has_phi_and_lam_per_class_and_view(tiny):
    keys, problem = _setup(tiny)
    h = train_single(keys, tiny, problem, progress=False).fit.history
    T = h["loss"].shape[0]
    assert h["phi"].shape == (T, 3, 3, 2) and h["lam"].shape == (T, 3, 3, 2)
    assert np.all(h["phi"] >= h["lam"]) and np.all(h["lam"] >= 0)


def test_nan_during_training_stops_with_an_error_naming_the_step(tiny):
    # patch noise of scale 1e37 overflows float32 in the first forward pass (a step size or an
    # init scale that large is refused by validation: train.lr <= 1e4, model.sigma0 <= 1e3)
    cfg = override(tiny, {"data.sigma_p": 1e37, "train.stop": "none", "train.steps": 40,
                          "train.chunk": 10})
    keys, problem = _setup(cfg)
    with pytest.raises(TrainingDiverged, match=r"at step 0 \(member \d\).*model.sigma0") as e:
        train_single(keys, cfg, problem, progress=False)
    assert (e.value.step, e.value.cause) == (0, "initialisation")   # fields, not only words


@pytest.mark.parametrize("optimizer,lr", [("gd", 2.0), ("momentum", 0.3), ("adam", 0.02)])
def test_compaction_gives_the_results_of_no_compaction_member_by_member(tiny, monkeypatch,
                                                                        optimizer, lr):
    # mu_train = 0: members stop at staggered steps, so stopped members leave the batch while
    # others train on; optax state (momentum, adam moments) must follow each member
    cfg = override(tiny, {"train.steps": 400, "train.chunk": 5, "data.mu_train": 0.0,
                          "train.optimizer": optimizer, "train.lr": lr})
    keys, problem = _setup(cfg, L=6)
    monkeypatch.setattr(train, "SHRINK", 1)     # shrink as soon as a smaller size fits
    sizes = []
    real_chunk = train._run_chunk
    monkeypatch.setattr(train, "_run_chunk",
                        lambda *a, **kw: sizes.append(a[0].shape[0]) or real_chunk(*a, **kw))
    W0 = init_members(keys, cfg)
    runs = [train.fit(label_loss(cfg.model.q), W0, shared_inputs(cfg, problem), None, cfg.train,
                      monitor=view_monitor, progress=False, compact=compact)
            for compact in (True, False)]
    assert min(sizes[:len(sizes) // 2]) < 6, "members should have left the batch"
    a, b = runs
    assert np.array_equal(a.stopped_at, b.stopped_at) and a.steps_run == b.steps_run
    # float32: a smaller batch may run the matmuls in another blocking order; like the
    # vmap-vs-solo test above, 1e-4 relative (a mixed-up member would differ by far more)
    np.testing.assert_allclose(a.params, b.params, rtol=1e-4, atol=1e-6)
    assert a.history.keys() == b.history.keys()
    for name in b.history:
        np.testing.assert_allclose(a.history[name], b.history[name], rtol=1e-4, atol=1e-6)


def test_the_batch_shrinks_to_a_power_of_two_padded_with_a_finished_member():
    done = np.array([True, False, True, False, False, True, True, True, True, True])
    batch = train._batch(done, None, devices=1, compact=True)
    assert list(batch.real) == [1, 3, 4] and len(batch.idx) == 4 and done[batch.idx[3]]
    assert len(train._batch(done, None, devices=1, compact=False).idx) == 10
    sharded = train._batch(done, None, devices=4, compact=True)
    assert len(sharded.idx) == 4 and list(sharded.real) == [1, 3, 4]
    none_done = train._batch(np.zeros(6, bool), None, devices=4, compact=True)
    assert list(none_done.real) == list(range(6)) and len(none_done.idx) == 8


def test_the_batch_shrinks_only_to_a_quarter_or_less_of_its_size():
    # each new size compiles a new program: 10 -> 4 (3 left) is not worth one, 10 -> 2 is
    full = train._batch(np.zeros(10, bool), None, devices=1, compact=True)
    three_left = np.arange(10) < 7           # done: members 0..6
    assert train._batch(three_left, full, devices=1, compact=True) is full
    two_left = np.arange(10) < 8
    assert list(train._batch(two_left, full, devices=1, compact=True).idx) == [8, 9]
    assert train._batch(two_left, full, devices=1, compact=False) is full

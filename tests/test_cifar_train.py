"""Training engine: vmapped members equal members trained alone (each with its own
teacher); a resumed run equals an uninterrupted one; checkpoints refuse another config.

Every test uses the same trainer, objective and member count, so the module compiles the
step only twice (2 members under vmap, 1 member alone)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from multiview.cifar import checkpoint, models
from multiview.cifar.config import CifarTrainConfig
from multiview.cifar.losses import HintonKD
from multiview.cifar.train import DeviceData, Trainer
from multiview.keys import seed_keys

N = 48
KD = HintonKD(2.0, 0.5)


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (N, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, N).astype(np.int32)
    data = DeviceData(jnp.asarray(images), jnp.asarray(labels), jnp.full(3, 0.5),
                      jnp.full(3, 0.25))
    teacher = jnp.asarray(rng.normal(size=(2, N, 10)) * 3, jnp.float32)
    trainer = Trainer(models.build("fast-4", 10), CifarTrainConfig(epochs=2, batch_size=16,
                                                              lr=0.05), N)
    return trainer, data, teacher, images


def assert_states_close(a, b, atol):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=0, atol=atol)


def test_vmap_members_equal_individual_runs(setup):
    trainer, data, teacher, _ = setup
    keys = seed_keys([0, 1], "single")
    together = trainer.fit(keys, data, KD, teacher)
    alone = trainer.fit(keys, data, KD, teacher, sequential=True)  # one member at a time
    assert_states_close(together, alone, atol=1e-5)
    kernel = together.params["Dense_0"]["kernel"]
    assert not np.allclose(kernel[0], kernel[1])  # members differ (init, data order)
    # each member distils from its own teacher: swapping the teachers changes the members
    swapped = trainer.fit(keys, data, KD, teacher[::-1])
    assert not np.allclose(swapped.params["Dense_0"]["kernel"][0], kernel[0], atol=1e-4)


class Interrupt(Exception):
    pass


def test_resume_after_interruption_equals_uninterrupted_run(setup, tmp_path):
    trainer, data, teacher, _ = setup
    keys = seed_keys([3, 4], "single")
    straight = trainer.fit(keys, data, KD, teacher)

    def stop(metrics):
        raise Interrupt

    ckpt = tmp_path / "single.msgpack"
    with pytest.raises(Interrupt):
        trainer.fit(keys, data, KD, teacher, ckpt=ckpt, fingerprint="f", on_epoch=stop)
    epoch, _ = checkpoint.load(ckpt, straight, "f")
    assert epoch == 1
    epochs_run = []
    resumed = trainer.fit(keys, data, KD, teacher, ckpt=ckpt, fingerprint="f",
                          on_epoch=epochs_run.append)
    assert len(epochs_run) == 1  # only the second epoch was trained again
    assert_states_close(resumed, straight, atol=1e-6)


def test_checkpoint_of_another_configuration_is_refused(setup, tmp_path):
    trainer, _, _, _ = setup
    state = trainer.init(seed_keys([0, 1], "single"))
    checkpoint.save(tmp_path / "c.msgpack", state, 1, "config-a")
    with pytest.raises(checkpoint.CheckpointError, match="different configuration"):
        checkpoint.load(tmp_path / "c.msgpack", state, "config-b")
    (tmp_path / "c.msgpack").write_bytes(b"\x00garbage")
    with pytest.raises(checkpoint.CheckpointError, match="unreadable"):
        checkpoint.load(tmp_path / "c.msgpack", state, "config-a")


def test_predict_gives_eval_logits_per_member_in_padded_chunks(setup):
    trainer, data, _, images = setup
    state = trainer.init(seed_keys([0, 1], "single"))
    chunked = trainer.predict(state, images[:7], data.mean, data.std, batch_size=4)
    assert chunked.shape == (2, 7, 10)
    whole = trainer.predict(state, images[:8], data.mean, data.std, batch_size=8)
    np.testing.assert_allclose(chunked, whole[:, :7], rtol=1e-5, atol=1e-5)
    assert not np.allclose(chunked[0], chunked[1])


def test_a_non_finite_loss_raises_training_diverged_naming_step_and_member(setup):
    from multiview.errors import TrainingDiverged

    trainer, data, teacher, _ = setup
    bad = teacher.at[1].set(jnp.nan)                  # member 1's loss is nan from its first step
    with pytest.raises(TrainingDiverged, match=r"kd: non-finite loss .* at step 0 \(member 1\)"):
        trainer.fit(seed_keys([0, 1], "student"), data, KD, bad, desc="kd")

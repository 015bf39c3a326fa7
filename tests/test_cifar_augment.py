"""The CIFAR arm's augmentation (its losses are tests/test_losses.py's)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from multiview.cifar import augment


@pytest.mark.parametrize("pad_mode", ["reflect", "zero"])
def test_crop_flip_returns_shifted_or_mirrored_windows_of_the_padded_image(pad_mode):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (16, 8, 8, 3)).astype(np.uint8)
    out = np.asarray(augment.crop_flip(jax.random.PRNGKey(0), jnp.asarray(x), 2, pad_mode))
    mode = "reflect" if pad_mode == "reflect" else "constant"
    padded = np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)), mode=mode)
    flips = 0
    for img, src in zip(out, padded):
        windows = [src[i:i + 8, j:j + 8] for i in range(5) for j in range(5)]
        plain = any((img == w).all() for w in windows)
        mirrored = any((img[:, ::-1] == w).all() for w in windows)
        assert plain or mirrored
        flips += mirrored and not plain
    assert 0 < flips < 16  # some images flipped, not all

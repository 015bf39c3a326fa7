"""Augmentation and normalisation in JAX, on device: pad + random crop, horizontal flip."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def crop_flip(key, images, pad: int = 4, pad_mode: str = "reflect"):
    """Pad each image by `pad` pixels (reflect or zero), take a random crop of the original
    size, and flip it horizontally with probability 1/2. images: [B, H, W, C]."""
    b, h, w, c = images.shape
    crop_key, flip_key = jax.random.split(key)
    if pad > 0:
        mode = "reflect" if pad_mode == "reflect" else "constant"
        padded = jnp.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode=mode)
        offsets = jax.random.randint(crop_key, (b, 2), 0, 2 * pad + 1)
        crop = lambda img, o: jax.lax.dynamic_slice(img, (o[0], o[1], 0), (h, w, c))
        images = jax.vmap(crop)(padded, offsets)
    flip = jax.random.bernoulli(flip_key, 0.5, (b, 1, 1, 1))
    return jnp.where(flip, images[:, :, ::-1], images)


def normalize(images_u8, mean, std, dtype=jnp.float32):
    """uint8 [0, 255] -> (x / 255 - mean) / std per channel, in the compute dtype."""
    x = images_u8.astype(jnp.float32) / 255.0
    return ((x - mean) / std).astype(dtype)

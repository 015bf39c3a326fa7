"""Real images in CIFAR-10 format: scikit-learn's 8x8 digits (1,797 images, 10 classes).

Each digit is scaled from [0, 16] to [0, 255], upsampled 3x (nearest) to 24x24, zero-padded
by 4 pixels to 32x32 and copied to 3 channels; a seeded shuffle splits train / test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from multiview.cifar.data import write_archive


def digits_images(seed: int = 0, n_test: int = 297):
    """(train_images, train_labels, test_images, test_labels): uint8 [n, 32, 32, 3]."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)
    x = x.repeat(3, axis=1).repeat(3, axis=2)
    x = np.pad(x, ((0, 0), (4, 4), (4, 4)))
    x = np.repeat(x[..., None], 3, axis=-1)
    y = digits.target.astype(np.int32)
    order = np.random.default_rng(seed).permutation(len(y))
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


def write_digits_archive(out_dir, seed: int = 0, n_test: int = 297, limit: int | None = None,
                         tarball: bool = True) -> Path:
    """Write the digits as `cifar-10-python.tar.gz` (or its extracted folder) in out_dir.

    limit keeps only the first `limit` training and test images (tiny archives for tests).
    """
    xtr, ytr, xte, yte = digits_images(seed, n_test)
    if limit is not None:
        xtr, ytr, xte, yte = xtr[:limit], ytr[:limit], xte[:limit], yte[:limit]
    return write_archive("cifar10", out_dir, xtr, ytr, xte, yte, tarball=tarball)

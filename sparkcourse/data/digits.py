"""Handwritten digits (8x8 images) as the tuning workshop's data.

The 1,797 images ship with scikit-learn (`sklearn.datasets.load_digits`), so nothing downloads.
Bigger scales add jittered copies: each copy shifts the image by at most one pixel and adds a
little noise, the classic way to augment digit images, so the label stays right.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

PIXELS = [f"px{i:02d}" for i in range(64)]
MAX_INK = 16  # pixel values run from 0 to 16


@dataclass(frozen=True)
class DigitsSplit:
    X_train: np.ndarray  # pixel values scaled to 0..1
    X_valid: np.ndarray
    y_train: np.ndarray
    y_valid: np.ndarray


def load_digits_split(train_size: int = 900, seed: int = 42) -> DigitsSplit:
    """The images as a stratified train/validation split, pixels scaled to 0..1."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    parts = train_test_split(X / MAX_INK, y, train_size=train_size, random_state=seed, stratify=y)
    return DigitsSplit(*parts)


def _shift(images: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Images (n, 8, 8) moved by (dy, dx) pixels, with blank pixels coming in at the edges."""
    moved = np.roll(images, (dy, dx), axis=(1, 2))
    if dy:
        moved[:, slice(0, dy) if dy > 0 else slice(dy, None), :] = 0
    if dx:
        moved[:, :, slice(0, dx) if dx > 0 else slice(dx, None)] = 0
    return moved


def digits_frame(copies: int = 1, seed: int = 42) -> pd.DataFrame:
    """The images as a table (one column per pixel, 0..16, and `label`), with `copies - 1`
    jittered copies after the originals."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(seed)
    images = X.reshape(-1, 8, 8)
    blocks = [images]
    for _ in range(copies - 1):
        dy, dx = rng.integers(-1, 2, size=2)
        noisy = _shift(images, int(dy), int(dx)) + rng.normal(0, 1, images.shape)
        blocks.append(np.clip(np.rint(noisy), 0, MAX_INK))
    frame = pd.DataFrame(np.concatenate(blocks).reshape(-1, 64), columns=PIXELS)
    frame["label"] = np.tile(y, copies)
    return frame

"""Synthetic labelled images for the ``image-classifier`` example: five texture and shape classes.

Every image is two random colours laid out by a class pattern (stripes, a checkerboard, a disc
or blocky noise) with random scale, phase, tilt and position, plus pixel noise. Images are
float32 arrays of shape ``(3, size, size)`` with values in [0, 1]; equal seeds give equal images.
"""

from __future__ import annotations

from typing import Any

import numpy as np

CLASS_NAMES = ("horizontal_stripes", "vertical_stripes", "checkerboard", "disc", "noise")
IMAGE_SIZE = 128

ImageBatch = np.ndarray[Any, np.dtype[np.float32]]
Labels = np.ndarray[Any, np.dtype[np.int64]]
_Mask = np.ndarray[Any, np.dtype[np.float64]]


def synthetic_images(count: int, seed: int, size: int = IMAGE_SIZE) -> tuple[ImageBatch, Labels]:
    """``count`` images of shape ``(3, size, size)`` and their class indices into CLASS_NAMES.

    Classes take turns, so any ``count`` that is a multiple of five is exactly balanced.
    """
    rng = np.random.default_rng(seed)
    labels = np.arange(count, dtype=np.int64) % len(CLASS_NAMES)
    images = np.empty((count, 3, size, size), dtype=np.float32)
    for index, label in enumerate(labels.tolist()):
        images[index] = _render(int(label), size, rng)
    return images, labels


def _render(label: int, size: int, rng: np.random.Generator) -> ImageBatch:
    mask = _PATTERNS[label](size, rng)
    background, foreground = _colour_pair(rng)
    image = background[:, None, None] * (1.0 - mask) + foreground[:, None, None] * mask
    image += rng.normal(0.0, rng.uniform(0.01, 0.08), image.shape)
    return np.clip(image, 0.0, 1.0).astype(np.float32)


def _colour_pair(rng: np.random.Generator) -> tuple[_Mask, _Mask]:
    """Two RGB colours whose brightness differs enough for the pattern to show."""
    while True:
        first, second = rng.uniform(0.0, 1.0, 3), rng.uniform(0.0, 1.0, 3)
        if abs(first.mean() - second.mean()) > 0.25:
            return first, second


def _grid(size: int) -> tuple[_Mask, _Mask]:
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float64)
    return rows, cols


def _stripes(size: int, rng: np.random.Generator, angle: float) -> _Mask:
    rows, cols = _grid(size)
    tilt = np.deg2rad(angle + rng.uniform(-12.0, 12.0))
    across = rows * np.cos(tilt) + cols * np.sin(tilt)
    period = rng.uniform(8.0, 28.0)
    wave = np.sin(2.0 * np.pi * across / period + rng.uniform(0.0, 2.0 * np.pi))
    return np.asarray(wave > rng.uniform(-0.3, 0.3), dtype=np.float64)


def _horizontal(size: int, rng: np.random.Generator) -> _Mask:
    return _stripes(size, rng, 0.0)


def _vertical(size: int, rng: np.random.Generator) -> _Mask:
    return _stripes(size, rng, 90.0)


def _checkerboard(size: int, rng: np.random.Generator) -> _Mask:
    rows, cols = _grid(size)
    cell = rng.uniform(8.0, 28.0)
    row_cell = np.floor((rows + rng.uniform(0, cell)) / cell)
    col_cell = np.floor((cols + rng.uniform(0, cell)) / cell)
    return np.asarray((row_cell + col_cell) % 2, dtype=np.float64)


def _disc(size: int, rng: np.random.Generator) -> _Mask:
    rows, cols = _grid(size)
    radius = rng.uniform(0.15, 0.4) * size
    centre_row, centre_col = rng.uniform(radius * 0.6, size - radius * 0.6, 2)
    return np.asarray(np.hypot(rows - centre_row, cols - centre_col) < radius, dtype=np.float64)


def _noise(size: int, rng: np.random.Generator) -> _Mask:
    block = int(rng.integers(1, 5))
    cells = -(-size // block)
    coarse = (rng.random((cells, cells)) < rng.uniform(0.3, 0.7)).astype(np.float64)
    return np.asarray(np.kron(coarse, np.ones((block, block)))[:size, :size], dtype=np.float64)


_PATTERNS = (_horizontal, _vertical, _checkerboard, _disc, _noise)

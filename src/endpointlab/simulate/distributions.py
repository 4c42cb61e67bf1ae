"""Service-time and cold-start distributions the simulator draws from, in seconds.

``Empirical`` resamples measured values (with replacement, seeded): what a bench run recorded,
not a fitted guess. ``Exponential`` and ``Constant`` exist for queueing-theory checks and
what-ifs. Draws come in numpy batches turned into Python floats, so the event loops index a
plain list instead of calling numpy per request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

BATCH = 65536


class Distribution(Protocol):
    """Something that draws ``n`` non-negative durations (s) from a generator."""

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray: ...

    @property
    def mean(self) -> float: ...


@dataclass(frozen=True)
class Empirical:
    """Measured values, resampled uniformly with replacement."""

    values: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.values:
            raise ValueError("an empirical distribution needs at least one value")
        if min(self.values) < 0:
            raise ValueError("durations cannot be negative")

    @classmethod
    def of(cls, values: Sequence[float]) -> Empirical:
        return cls(tuple(float(v) for v in values))

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.asarray(self.values)[rng.integers(0, len(self.values), n)]

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))


@dataclass(frozen=True)
class Exponential:
    mean_s: float

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.exponential(self.mean_s, n)

    @property
    def mean(self) -> float:
        return self.mean_s


@dataclass(frozen=True)
class Constant:
    value_s: float

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.full(n, self.value_s)

    @property
    def mean(self) -> float:
        return self.value_s


@dataclass
class Stream:
    """Buffered draws from one distribution: ``next()`` is a list index, refilled per batch."""

    distribution: Distribution
    rng: np.random.Generator
    _buffer: list[float] = field(default_factory=list)
    _at: int = 0

    def next(self) -> float:
        if self._at >= len(self._buffer):
            self._buffer = self.distribution.draw(self.rng, BATCH).tolist()
            self._at = 0
        value = self._buffer[self._at]
        self._at += 1
        return value

    def batch(self) -> list[float]:
        """The rest of the current batch (a fresh one if spent); the caller owns the list."""
        if self._at >= len(self._buffer):
            self._buffer = self.distribution.draw(self.rng, BATCH).tolist()
            self._at = 0
        rest = self._buffer[self._at :]
        self._at = len(self._buffer)
        return rest


def seeded_streams(
    seed: int, service: Distribution, cold: Distribution
) -> tuple[np.random.Generator, Stream, Stream]:
    """One run's independent random streams: arrivals, service times, cold starts."""
    arrivals, services, colds = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)
    )
    return arrivals, Stream(service, services), Stream(cold, colds)

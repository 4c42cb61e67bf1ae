"""Traffic for the simulator: open-loop phases, a closed loop, or a trace, as arrival times.

Phases follow the load engine's rule (``loadgen.shapes``): a phase's rate runs linearly from its
start rate to its end rate; arrival k falls where the expected count reaches k (constant) or the
k-th event of a unit Poisson process (Poisson), here inverted for a whole batch at once with
numpy. A trace is either request timestamps or a rate per minute (Poisson within each minute).
Arrivals come in sorted numpy chunks so a month of traffic never sits in memory at once.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

CHUNK = 1 << 18
PIECE = 4096  # arrival times an event loop holds as Python floats at once


class TrafficError(ValueError):
    """Traffic the simulator cannot run; the message is one line for the user."""


@dataclass(frozen=True)
class Phase:
    """An open-loop stretch whose rate (requests/s) runs linearly from start to end."""

    name: str
    duration_s: float
    start_rate: float
    end_rate: float

    def __post_init__(self) -> None:
        if not self.duration_s > 0 or math.isinf(self.duration_s):
            raise TrafficError(f"phase {self.name!r}: the duration must be positive")
        if self.start_rate < 0 or self.end_rate < 0:
            raise TrafficError(f"phase {self.name!r}: rates cannot be negative")

    @property
    def expected(self) -> float:
        return (self.start_rate + self.end_rate) * self.duration_s / 2

    def offsets(self, counts: np.ndarray) -> np.ndarray:
        """When the expected number of arrivals since the phase began reaches each count."""
        r0, d = self.start_rate, self.duration_s
        slope = (self.end_rate - r0) / d
        if abs(slope) < 1e-12:
            return counts / r0
        return (np.sqrt(np.maximum(0.0, r0 * r0 + 2 * slope * counts)) - r0) / slope


@dataclass(frozen=True)
class OpenTraffic:
    """Open-loop phases in sequence; ``poisson`` draws arrivals, else they are evenly spaced."""

    phases: tuple[Phase, ...]
    poisson: bool = True

    def __post_init__(self) -> None:
        if not self.phases:
            raise TrafficError("traffic needs at least one phase")

    @property
    def duration_s(self) -> float:
        return sum(p.duration_s for p in self.phases)

    @property
    def boundaries(self) -> list[tuple[str, float, float]]:
        """(name, start, end) of each phase."""
        out, begin = [], 0.0
        for phase in self.phases:
            out.append((phase.name, begin, begin + phase.duration_s))
            begin += phase.duration_s
        return out

    def chunks(self, rng: np.random.Generator) -> Iterator[np.ndarray]:
        begin = 0.0
        for phase in self.phases:
            total = phase.expected
            count = 0.0
            while total > 0:
                left = total - count
                size = int(min(CHUNK, left + 6 * math.sqrt(left) + 16))
                if self.poisson:
                    counts = count + np.cumsum(rng.exponential(1.0, size))
                else:
                    counts = count + np.arange(size, dtype=np.float64)
                inside = counts[counts <= total] if counts[-1] > total else counts
                if len(inside):
                    offsets = phase.offsets(inside)
                    offsets = offsets[offsets < phase.duration_s]
                    if len(offsets):
                        yield begin + offsets
                if counts[-1] > total:
                    break
                count = float(counts[-1]) + (0.0 if self.poisson else 1.0)
            begin += phase.duration_s


# The shortest cycle of a closed-loop client (answer plus think time): no call over a network
# returns in less. It keeps a loop whose answers would take no time at all (a throttle with no
# retry and no measured client overhead, a zero service time) from never advancing the clock.
MIN_CYCLE_S = 0.001


@dataclass(frozen=True)
class ClosedTraffic:
    """``clients`` each sending the next request ``think_s`` after the last one ended (at least
    MIN_CYCLE_S after it was sent)."""

    clients: int
    duration_s: float
    think_s: float = 0.0

    def __post_init__(self) -> None:
        if self.clients < 1 or not self.duration_s > 0 or self.think_s < 0:
            raise TrafficError("a closed loop needs clients >= 1, a duration and think >= 0")

    @property
    def boundaries(self) -> list[tuple[str, float, float]]:
        return [("", 0.0, self.duration_s)]

    def chunks(self, rng: np.random.Generator) -> Iterator[np.ndarray]:
        yield np.zeros(self.clients)


@dataclass(frozen=True)
class TraceTraffic:
    """Recorded request times (s from the start), sorted."""

    times: tuple[float, ...]
    duration_s: float

    @classmethod
    def of(cls, times: Sequence[float]) -> TraceTraffic:
        ordered = np.sort(np.asarray(times, dtype=np.float64))
        if not len(ordered):
            raise TrafficError("the trace has no requests")
        ordered = ordered - ordered[0]
        return cls(tuple(ordered.tolist()), float(ordered[-1]) + 1e-9)

    @property
    def boundaries(self) -> list[tuple[str, float, float]]:
        return [("", 0.0, self.duration_s)]

    def chunks(self, rng: np.random.Generator) -> Iterator[np.ndarray]:
        times = np.asarray(self.times)
        for start in range(0, len(times), CHUNK):
            yield times[start : start + CHUNK]


def per_minute(rates: Sequence[float], poisson: bool = True) -> OpenTraffic:
    """Traffic from requests per minute, minute by minute (e.g. 43,200 values for a month)."""
    if not rates:
        raise TrafficError("the trace has no minutes")
    phases = tuple(Phase(f"minute-{i}", 60.0, r / 60.0, r / 60.0) for i, r in enumerate(rates))
    return OpenTraffic(phases, poisson)


Traffic = OpenTraffic | ClosedTraffic | TraceTraffic


def pieces(chunks: Iterator[np.ndarray]) -> Iterator[list[float]]:
    """Arrival times as short lists for an event loop: a short list, and the rows the loop
    buffers while it works through one, stay in the CPU's cache."""
    for chunk in chunks:
        for start in range(0, len(chunk), PIECE):
            yield chunk[start : start + PIECE].tolist()

"""What a simulation produced: one compact row per logical request, plus capacity over time.

Rows are typed arrays (a month of requests costs 14 bytes each, not a Python object), kept
exactly: percentiles computed from them are exact. ``info`` packs the attempts (bits 0-3), the
throttled attempts (4-7), a cold start (8) and the outcome code (9-11).
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

import numpy as np

OK, THROTTLED, DEADLINE, MODEL_ERROR, EXPIRED = 0, 1, 2, 3, 4
ERROR_CODES = {
    THROTTLED: "ThrottlingException",
    DEADLINE: "DeadlineExceeded",
    MODEL_ERROR: "ModelError",
    EXPIRED: "ExpiredRequest",
}
COLD_BIT = 1 << 8
OUTCOME_SHIFT = 9
BUFFERED = 4096  # rows a closed loop (one chunk of arrivals) buffers at most


def info(attempts: int, throttled: int, cold: bool, outcome: int) -> int:
    return min(attempts, 15) | min(throttled, 15) << 4 | cold << 8 | outcome << OUTCOME_SHIFT


@dataclass
class Recorder:
    """Rows in arrival order of their final outcome; ``capacity`` as (time, instances) steps."""

    at: array[float] = field(default_factory=lambda: array("d"))  # intended send time, s
    latency_ms: array[float] = field(default_factory=lambda: array("f"))
    info: array[int] = field(default_factory=lambda: array("H"))
    cold_ms: array[float] = field(default_factory=lambda: array("f"))  # one per cold row
    capacity: list[tuple[float, int]] = field(default_factory=list)
    compute_s: float = 0.0  # time instances spent serving requests (serverless billing)
    served: int = 0  # requests admitted to an instance (serverless)
    reclaimed: int = 0
    end_s: float = 0.0

    def take(self, at: list[float], latency_ms: list[float], info: list[int]) -> None:
        """Move rows a hot loop buffered in plain lists (cheaper to append to) into the arrays."""
        self.at.fromlist(at)
        self.latency_ms.fromlist(latency_ms)
        self.info.fromlist(info)
        at.clear()
        latency_ms.clear()
        info.clear()

    def arrays(self) -> Rows:
        return Rows(
            np.frombuffer(self.at, dtype=np.float64) if len(self.at) else np.zeros(0),
            np.frombuffer(self.latency_ms, dtype=np.float32).astype(np.float64),
            np.frombuffer(self.info, dtype=np.uint16),
        )

    def instance_seconds(self, end: float) -> float:
        """The integral of the instance count up to ``end``."""
        total = 0.0
        for (t0, n), (t1, _) in zip(self.capacity, [*self.capacity[1:], (end, 0)], strict=True):
            total += n * (min(t1, end) - min(t0, end))
        return total


@dataclass(frozen=True)
class Rows:
    """The rows as numpy arrays; the packed fields unpacked once."""

    at: np.ndarray
    latency_ms: np.ndarray
    info: np.ndarray
    outcome: np.ndarray = field(init=False)
    attempts: np.ndarray = field(init=False)
    throttled_attempts: np.ndarray = field(init=False)
    cold: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        info = self.info
        object.__setattr__(self, "outcome", (info >> OUTCOME_SHIFT).astype(np.int8))
        object.__setattr__(self, "attempts", (info & 15).astype(np.int8))
        object.__setattr__(self, "throttled_attempts", ((info >> 4) & 15).astype(np.int8))
        object.__setattr__(self, "cold", (info & COLD_BIT) != 0)

"""Exact summaries of a run from its raw records: counts, errors by code, percentiles.

Percentiles interpolate linearly between the two nearest of all sorted samples (numpy's default
"linear" method); nothing is bucketed and the tail is never dropped.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from endpointlab.results.records import RequestRecord

PERCENTILES = (50.0, 90.0, 99.0, 99.9)


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0-100) of already sorted values, interpolated linearly."""
    if not sorted_values:
        return math.nan
    if not 0.0 <= p <= 100.0:
        raise ValueError(f"percentile {p} is outside 0-100")
    rank = (len(sorted_values) - 1) * p / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(sorted_values) - 1)
    fraction = rank - low
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * fraction


@dataclass(frozen=True)
class Summary:
    """What a run amounts to. Latency percentiles are over successful requests, in ms, measured
    from each request's intended send time; throughput is successes per second of the run."""

    requests: int
    successes: int
    throttled_requests: int
    throttled_attempts: int
    attempts: int
    errors: dict[str, int]
    cold_starts: int
    duration_s: float
    latency_ms: dict[str, float] = field(default_factory=dict)

    @property
    def throughput(self) -> float:
        return self.successes / self.duration_s if self.duration_s > 0 else 0.0


def summarize(records: Sequence[RequestRecord]) -> Summary:
    """Summarise ``records``; the run lasts from the first intended send to the last answer."""
    latencies = sorted(r.latency_ms for r in records if r.ok)
    if records:
        start = min(r.intended_at for r in records)
        end = max(r.sent_at + r.elapsed_time for r in records)
        duration = max(0.0, end - start)
    else:
        duration = 0.0
    quantiles = {f"p{p:g}": percentile(latencies, p) for p in PERCENTILES}
    quantiles["max"] = latencies[-1] if latencies else math.nan
    return Summary(
        requests=len(records),
        successes=sum(1 for r in records if r.ok),
        throttled_requests=sum(1 for r in records if r.throttled),
        throttled_attempts=sum(r.throttled_attempts for r in records),
        attempts=sum(r.attempts for r in records),
        errors=dict(Counter(r.error_code for r in records if not r.ok).most_common()),
        cold_starts=sum(1 for r in records if r.cold_start),
        duration_s=duration,
        latency_ms=quantiles,
    )

"""Running totals of every metric since the emulator started, for Prometheus.

Prometheus wants cumulative counters, histograms and current gauges rather than CloudWatch's
per-period statistics, so each flushed sample also adds to its metric's count, sum, latest
value and (for time units) histogram buckets in seconds. Updated from the flush thread.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from endpointlab.emulator.metrics.catalogue import SECONDS_PER_UNIT, MetricKey
from endpointlab.emulator.metrics.statistics import Sample

# Upper bounds (seconds) of the latency histograms: models answer in well under a millisecond
# up to the 60 s invocation timeout; serverless cold starts take seconds.
BUCKETS_S = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
)  # fmt: skip


@dataclass
class SeriesTotal:
    """One metric and unit: observations, their sum, the latest values and histogram counts."""

    key: MetricKey
    unit: str
    count: float = 0.0
    total: float = 0.0
    latest_ts: int = -1
    latest: list[tuple[float, float]] = field(default_factory=list)  # (value, count) then
    buckets: list[float] | None = None  # per-bucket counts (not cumulative), last is +Inf

    @property
    def latest_mean(self) -> float:
        """The mean of the observations of the latest second (0 before any)."""
        count = sum(c for _, c in self.latest)
        return sum(v * c for v, c in self.latest) / count if count else 0.0

    def cumulative_buckets(self) -> list[tuple[str, float]]:
        """``[(le, cumulative count)]`` ending with ``+Inf``, as Prometheus histograms have."""
        out: list[tuple[str, float]] = []
        running = 0.0
        counts = self.buckets or [0.0] * (len(BUCKETS_S) + 1)
        for bound, count in zip((*map(str, BUCKETS_S), "+Inf"), counts, strict=True):
            running += count
            out.append((bound, running))
        return out


class Totals:
    """The ``SeriesTotal`` of every (metric, unit) seen, safe to read while being added to."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._series: dict[tuple[MetricKey, str], SeriesTotal] = {}

    def add(self, rows: Iterable[tuple[MetricKey, Sample]]) -> None:
        with self._lock:
            for key, sample in rows:
                entry = self._series.get((key, sample.unit))
                if entry is None:
                    entry = self._series[(key, sample.unit)] = SeriesTotal(key, sample.unit)
                    if sample.unit in SECONDS_PER_UNIT:
                        entry.buckets = [0.0] * (len(BUCKETS_S) + 1)
                _add(entry, sample)

    def snapshot(self) -> list[SeriesTotal]:
        """Copies of every total, sorted by metric."""
        with self._lock:
            copies = [
                SeriesTotal(
                    e.key,
                    e.unit,
                    e.count,
                    e.total,
                    e.latest_ts,
                    list(e.latest),
                    None if e.buckets is None else list(e.buckets),
                )
                for e in self._series.values()
            ]
        return sorted(copies, key=lambda e: (e.key.namespace, e.key.name, e.key.dimensions))


def _add(entry: SeriesTotal, sample: Sample) -> None:
    entry.count += sample.count
    entry.total += sample.total
    if sample.value is None:  # a statistic set: its mean stands for its observations
        observed = (sample.total / sample.count if sample.count else 0.0, sample.count)
    else:
        observed = (sample.value, sample.count)
    if sample.timestamp > entry.latest_ts:
        entry.latest_ts, entry.latest = sample.timestamp, [observed]
    elif sample.timestamp == entry.latest_ts:
        entry.latest.append(observed)
    if entry.buckets is not None and sample.value is not None:
        seconds = sample.value * SECONDS_PER_UNIT[sample.unit]
        entry.buckets[bisect.bisect_left(BUCKETS_S, seconds)] += sample.count

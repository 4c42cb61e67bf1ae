"""Periods as CloudWatch cuts them: rounded start times, buckets and per-period statistics.

Pure functions over samples. The start time rounds down by its age (to the second's multiple
of a sub-minute period; otherwise to the minute when under 15 days old, 5 minutes under 63
days, else the hour); each period starts at ``start + k * period`` and ends before the next,
and the end time is exclusive.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from endpointlab.emulator.metrics.statistics import (
    BASIC_STATISTICS,
    Sample,
    Statistic,
    compute,
    summarize,
)

DAY_S = 86_400
HIGH_RESOLUTION_PERIODS = (1, 5, 10, 20, 30)


def valid_period(period: int) -> bool:
    """1, 5, 10, 20, 30 (high resolution) or a multiple of 60 seconds."""
    return period in HIGH_RESOLUTION_PERIODS or (period > 0 and period % 60 == 0)


def rounded_start(start: float, now: float, period: int) -> int:
    """StartTime rounded down as CloudWatch rounds it."""
    if period < 60:
        step = period
    else:
        age = now - start
        step = 60 if age < 15 * DAY_S else 300 if age < 63 * DAY_S else 3600
    return math.floor(start / step) * step


def requested_datapoints(start: float, end: float, period: int) -> int:
    """How many periods the window ``start .. end`` as requested spans (what the
    1,440-datapoint limit counts), a partial period counting as one.

    CloudWatch counts the window as sent, not from the rounded start: ``now - 1 day .. now``
    at Period 1 is 86,400 datapoints on AWS (cloud-custodian issues 6964, 7683), whatever the
    fraction of a second ``now`` falls on. Times are compared in milliseconds (the precision
    the SDKs send) so that float noise cannot add a period."""
    span_ms = round(end * 1000) - round(start * 1000)
    return max(0, -(-span_ms // (period * 1000)))


def buckets(samples: Sequence[Sample], start: int, period: int) -> dict[int, list[Sample]]:
    """Samples grouped by the start of their period."""
    out: dict[int, list[Sample]] = {}
    for sample in samples:
        slot = start + (sample.timestamp - start) // period * period
        out.setdefault(slot, []).append(sample)
    return out


@dataclass(frozen=True)
class Datapoint:
    """One period of one unit: its start, unit and the requested statistics."""

    timestamp: int
    unit: str
    values: dict[str, float]  # statistic text -> value (absent when unavailable)


def datapoints(
    samples: Sequence[Sample], start: int, period: int, statistics: Sequence[Statistic]
) -> list[Datapoint]:
    """GetMetricStatistics: one datapoint per period and unit that has samples, in time order."""
    by_unit: dict[tuple[int, str], list[Sample]] = {}
    for slot, group in buckets(samples, start, period).items():
        for sample in group:
            by_unit.setdefault((slot, sample.unit), []).append(sample)
    out = []
    for (slot, unit), group in sorted(by_unit.items()):
        summary = summarize(group)
        values: dict[str, float] = {}
        for statistic in statistics:
            basic = statistic.kind in BASIC_STATISTICS
            value = summary.basic(statistic.kind) if basic else compute(statistic, group)
            if value is not None:
                values[statistic.text] = value
        out.append(Datapoint(slot, unit, values))
    return out


def series(
    samples: Sequence[Sample], start: int, period: int, statistic: Statistic
) -> dict[int, float]:
    """GetMetricData: ``{period start: value}`` of one statistic (all units together)."""
    out: dict[int, float] = {}
    for slot, group in sorted(buckets(samples, start, period).items()):
        value = compute(statistic, group)
        if value is not None:
            out[slot] = value
    return out

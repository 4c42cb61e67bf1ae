"""CloudWatch statistics over raw samples, exactly: pure functions, no clock, no IO.

A ``Sample`` is ``count`` observations of one value (PutMetricData Values/Counts, or one
invocation) or a statistic set (value None). SampleCount/Sum/Minimum/Maximum/Average come from
every sample; percentiles (``p99``, ``p99.9``: the smallest value with at least p% of the
observations at or below it, i.e. nearest rank), trimmed and winsorized means and percentile
ranks need raw values and are None when a period holds a statistic set.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import accumulate

BASIC_STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
_NUMBER = r"\d+(?:\.\d{1,10})?"
_PERCENTILE = re.compile(rf"[pP]({_NUMBER})")
_SHORT_TRIM = re.compile(rf"(tm|wm|tc|ts)({_NUMBER})", re.IGNORECASE)
_RANGE = re.compile(
    rf"(TM|WM|TC|TS|PR)\(\s*(-?{_NUMBER}%?)?\s*:\s*(-?{_NUMBER}%?)?\s*\)", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class Sample:
    """``count`` observations of ``value`` at one second, or a statistic set (value None)."""

    timestamp: int
    unit: str
    value: float | None
    count: float
    total: float
    minimum: float
    maximum: float

    @classmethod
    def of(cls, timestamp: int, value: float, count: float = 1.0, unit: str = "None") -> Sample:
        return cls(timestamp, unit, value, count, value * count, value, value)


@dataclass(frozen=True, slots=True)
class Statistic:
    """A parsed statistic: a basic one, a percentile, or a ranged one (TM/WM/TC/TS/PR).

    ``low``/``high`` are bounds (None: open); ``percent`` says whether they are percentages
    of the observations (ranks) or absolute values.
    """

    text: str
    kind: str  # SampleCount | Average | Sum | Minimum | Maximum | p | TM | WM | TC | TS | PR
    low: Fraction | None = None
    high: Fraction | None = None
    percent: bool = True

    @property
    def is_percentile(self) -> bool:
        return self.kind == "p"


def parse_statistic(text: str) -> Statistic | None:
    """The statistic named by ``text`` (``Average``, ``p99.9``, ``tm90``, ``TM(10%:90%)``,
    ``IQM``, ``PR(:300)``...), or None if CloudWatch would not accept it."""
    if text in BASIC_STATISTICS:
        return Statistic(text, text)
    if text.upper() == "IQM":
        return Statistic(text, "TM", Fraction(25), Fraction(75))
    match = _PERCENTILE.fullmatch(text)
    if match:
        rank = Fraction(match.group(1))
        return Statistic(text, "p", high=rank) if rank <= 100 else None
    match = _SHORT_TRIM.fullmatch(text)
    if match:
        high = Fraction(match.group(2))
        return Statistic(text, match.group(1).upper(), None, high) if high <= 100 else None
    match = _RANGE.fullmatch(text)
    if match:
        return _ranged(text, match.group(1).upper(), match.group(2), match.group(3))
    return None


def _ranged(text: str, kind: str, low: str | None, high: str | None) -> Statistic | None:
    bounds = [b for b in (low, high) if b]
    percent = bool(bounds) and all(b.endswith("%") for b in bounds)
    if not bounds or (not percent and any(b.endswith("%") for b in bounds)):
        return None  # no bound at all, or percentages mixed with values
    if kind == "PR" and percent:
        return None  # a percentile rank is bounded by values
    lo = Fraction(low.rstrip("%")) if low else None
    hi = Fraction(high.rstrip("%")) if high else None
    if percent and any(b is not None and not 0 <= b <= 100 for b in (lo, hi)):
        return None
    if lo is not None and hi is not None and lo > hi:
        return None
    return Statistic(text, kind, lo, hi, percent)


@dataclass(frozen=True, slots=True)
class Summary:
    """SampleCount, Sum, Minimum and Maximum of a period; Average derives from them."""

    sample_count: float
    total: float
    minimum: float
    maximum: float

    @property
    def average(self) -> float:
        return self.total / self.sample_count

    def basic(self, name: str) -> float:
        """The basic statistic ``name`` (one of ``BASIC_STATISTICS``)."""
        return {
            "SampleCount": self.sample_count,
            "Average": self.average,
            "Sum": self.total,
            "Minimum": self.minimum,
            "Maximum": self.maximum,
        }[name]


def summarize(samples: Sequence[Sample]) -> Summary:
    """The basic statistics of a non-empty period (Sum correctly rounded with ``math.fsum``)."""
    return Summary(
        sample_count=math.fsum(s.count for s in samples),
        total=math.fsum(s.total for s in samples),
        minimum=min(s.minimum for s in samples),
        maximum=max(s.maximum for s in samples),
    )


class _Ranked:
    """A period's raw observations sorted by value, with cumulative counts."""

    def __init__(self, samples: Sequence[Sample]) -> None:
        pairs = sorted((s.value, s.count) for s in samples if s.value is not None)
        self.values = [v for v, _ in pairs]
        self.counts = [c for _, c in pairs]
        self.cumulative = list(accumulate(self.counts))
        self.total = self.cumulative[-1] if self.cumulative else 0.0

    def at_rank(self, fraction: Fraction) -> float:
        """The smallest value with at least ``fraction`` of the observations at or below it."""
        target = fraction * Fraction(self.total)
        index = bisect_left(self.cumulative, target)  # float vs Fraction compares exactly
        return self.values[min(index, len(self.values) - 1)]

    def weights_between(self, low: Fraction, high: Fraction) -> list[tuple[float, float]]:
        """``(value, weight)`` of the observations ranked in (low, high] (fractions of total);
        a sample straddling a bound contributes the part inside."""
        lo, hi = low * Fraction(self.total), high * Fraction(self.total)
        out: list[tuple[float, float]] = []
        start = Fraction(0)
        for value, end in zip(self.values, self.cumulative, strict=True):
            inside = min(Fraction(end), hi) - max(start, lo)
            if inside > 0:
                out.append((value, float(inside)))
            start = Fraction(end)
        return out


def compute(statistic: Statistic, samples: Sequence[Sample]) -> float | None:
    """The value of ``statistic`` over one period's samples, or None when it has none."""
    if not samples:
        return None
    if statistic.kind in BASIC_STATISTICS:
        return summarize(samples).basic(statistic.kind)
    if any(s.value is None for s in samples):
        return None  # raw values are needed beyond the basic statistics
    ranked = _Ranked(samples)
    if ranked.total <= 0:
        return None
    if statistic.kind == "p":
        if ranked.values[0] < 0:
            return None  # CloudWatch has no percentiles for metrics with negative values
        assert statistic.high is not None
        return ranked.at_rank(statistic.high / 100)
    if statistic.kind == "PR":
        return _percentile_rank(statistic, ranked)
    if statistic.percent:
        return _by_rank(statistic, ranked)
    return _by_value(statistic, ranked)


def _percentile_rank(statistic: Statistic, ranked: _Ranked) -> float:
    """Percent of observations in (low, high]: exclusive below, inclusive above."""
    inside = math.fsum(
        c for v, c in zip(ranked.values, ranked.counts, strict=True) if _within(statistic, v)
    )
    return 100.0 * inside / ranked.total


def _within(statistic: Statistic, value: float) -> bool:
    low_ok = statistic.low is None or value > statistic.low
    return low_ok and (statistic.high is None or value <= statistic.high)


def _by_rank(statistic: Statistic, ranked: _Ranked) -> float | None:
    low = (statistic.low or Fraction(0)) / 100
    high = (statistic.high if statistic.high is not None else Fraction(100)) / 100
    kept = ranked.weights_between(low, high)
    if not kept:
        return 0.0 if statistic.kind in ("TC", "TS") else None
    if statistic.kind == "WM":
        # Observations outside the bounds count as the nearest kept value (winsorizing).
        floor, ceiling = kept[0][0], kept[-1][0]
        pairs = zip(ranked.values, ranked.counts, strict=True)
        return math.fsum(min(max(v, floor), ceiling) * c for v, c in pairs) / ranked.total
    return _trimmed(statistic.kind, kept)


def _by_value(statistic: Statistic, ranked: _Ranked) -> float | None:
    pairs = zip(ranked.values, ranked.counts, strict=True)
    if statistic.kind == "WM":
        low = -math.inf if statistic.low is None else float(statistic.low)
        high = math.inf if statistic.high is None else float(statistic.high)
        return math.fsum(min(max(v, low), high) * c for v, c in pairs) / ranked.total
    return _trimmed(statistic.kind, [(v, c) for v, c in pairs if _within(statistic, v)])


def _trimmed(kind: str, kept: Sequence[tuple[float, float]]) -> float | None:
    count = math.fsum(c for _, c in kept)
    if kind == "TC":
        return count
    total = math.fsum(v * c for v, c in kept)
    if kind == "TS":
        return total
    return total / count if count > 0 else None

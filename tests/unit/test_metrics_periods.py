"""Periods as CloudWatch cuts them (emulator/metrics/periods.py): start-time rounding by age,
period buckets aligned on the rounded start, one datapoint per period and unit."""

from __future__ import annotations

import pytest

from endpointlab.emulator.metrics.periods import (
    datapoints,
    requested_datapoints,
    rounded_start,
    series,
    valid_period,
)
from endpointlab.emulator.metrics.statistics import Sample, parse_statistic

NOW = 1_800_000_000.0
DAY = 86_400


@pytest.mark.parametrize(
    ("start", "period", "expected"),
    [
        (NOW - 754, 60, NOW - 754 - (NOW - 754) % 60),  # recent: the minute
        (NOW - 20 * DAY - 7, 60, (NOW - 20 * DAY - 7) // 300 * 300),  # 15-63 days: 5 minutes
        (NOW - 70 * DAY - 7, 300, (NOW - 70 * DAY - 7) // 3600 * 3600),  # older: the hour
        (NOW - 23, 10, (NOW - 23) // 10 * 10),  # high resolution: a multiple of the period
        (NOW - 23.5, 1, NOW - 24),
    ],
)
def test_start_time_rounds_down_by_age(start: float, period: int, expected: float) -> None:
    assert rounded_start(start, NOW, period) == expected


@pytest.mark.parametrize(
    ("period", "ok"),
    [(1, True), (5, True), (20, True), (60, True), (120, True), (7, False), (90, False)],
)
def test_valid_periods(period: int, ok: bool) -> None:
    assert valid_period(period) is ok


def test_requested_datapoints_counts_partial_periods() -> None:
    assert requested_datapoints(0, 3600, 60) == 60
    assert requested_datapoints(0, 3601, 60) == 61


@pytest.mark.parametrize("end", [NOW, NOW + 0.123, NOW + 17.001, 1_765_100_000.987])
def test_a_day_is_86400_seconds_whatever_second_it_ends_on(end: float) -> None:
    assert requested_datapoints(end - DAY, end, 1) == 86_400
    assert requested_datapoints(end - DAY, end, 60) == 1_440
    assert requested_datapoints(end - DAY - 0.001, end, 60) == 1_441


def test_datapoints_per_period_and_unit_in_time_order() -> None:
    samples = [
        Sample.of(1000, 1.0, unit="Count"),
        Sample.of(1059, 3.0, unit="Count"),
        Sample.of(1060, 5.0, unit="Count"),
        Sample.of(1061, 7.0, unit="Seconds"),
    ]
    stats = [parse_statistic("Sum"), parse_statistic("p50")]
    points = datapoints(samples, 1000, 60, stats)  # type: ignore[arg-type]
    assert [(p.timestamp, p.unit, p.values) for p in points] == [
        (1000, "Count", {"Sum": 4.0, "p50": 1.0}),
        (1060, "Count", {"Sum": 5.0, "p50": 5.0}),
        (1060, "Seconds", {"Sum": 7.0, "p50": 7.0}),
    ]


def test_series_merges_units_and_skips_empty_periods() -> None:
    samples = [Sample.of(1000, 2.0), Sample.of(1010, 4.0, unit="Count"), Sample.of(1200, 1.0)]
    average = parse_statistic("Average")
    assert series(samples, 1000, 60, average) == {1000: 3.0, 1180: 1.0}  # type: ignore[arg-type]

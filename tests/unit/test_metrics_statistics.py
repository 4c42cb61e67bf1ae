"""CloudWatch statistics over raw samples (emulator/metrics/statistics.py), checked against numpy
on the same observations: basic statistics, nearest-rank percentiles, trimmed and winsorized
means, percentile ranks, and what is unavailable for statistic sets and negative values."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from endpointlab.emulator.metrics.statistics import Sample, compute, parse_statistic, summarize

values = st.lists(
    st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=300,
)
percentiles = st.sampled_from(["p0", "p1", "p10", "p50", "p90", "p95", "p99", "p99.9", "p100"])


def samples_of(observed: list[float], counts: list[int] | None = None) -> list[Sample]:
    counts = counts or [1] * len(observed)
    return [Sample.of(0, v, float(c)) for v, c in zip(observed, counts, strict=True)]


def stat(text: str) -> float | None:
    return compute(parse_statistic(text), SAMPLES)  # type: ignore[arg-type]


SAMPLES = samples_of([float(v) for v in range(1, 11)])


@settings(max_examples=200, deadline=None)
@given(values)
def test_basic_statistics_equal_numpy(observed: list[float]) -> None:
    summary = summarize(samples_of(observed))
    array = np.array(observed)
    assert summary.sample_count == len(observed)
    assert summary.total == pytest.approx(array.sum(), rel=1e-12, abs=1e-9)
    assert summary.average == pytest.approx(array.mean(), rel=1e-12, abs=1e-9)
    assert summary.minimum == array.min()
    assert summary.maximum == array.max()


@settings(max_examples=300, deadline=None)
@given(values, percentiles)
def test_percentiles_are_numpy_inverted_cdf(observed: list[float], text: str) -> None:
    """p(q) is the smallest observation with at least q% of them at or below it."""
    q = float(text[1:])
    expected = np.percentile(np.array(observed), q, method="inverted_cdf")
    assert compute(parse_statistic(text), samples_of(observed)) == expected  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 50), st.integers(1, 5)), min_size=1, max_size=60),
    percentiles,
)
def test_counts_weigh_like_repeated_values(pairs: list[tuple[int, int]], text: str) -> None:
    observed = [float(v) for v, _ in pairs]
    counts = [c for _, c in pairs]
    expanded = np.repeat(np.array(observed), counts)
    weighted = samples_of(observed, counts)
    assert (
        compute(parse_statistic(text), weighted)
        == np.percentile(  # type: ignore[arg-type]
            expanded, float(text[1:]), method="inverted_cdf"
        )
    )
    summary = summarize(weighted)
    assert summary.sample_count == expanded.size
    assert summary.average == pytest.approx(expanded.mean(), rel=1e-12)


def test_percentiles_of_one_to_ten_by_nearest_rank() -> None:
    assert stat("p50") == 5.0
    assert stat("p90") == 9.0
    assert stat("p91") == 10.0
    assert stat("p0") == 1.0
    assert stat("p100") == 10.0
    assert stat("p99.9") == 10.0


def test_decimal_percentiles_are_exact_at_rank_boundaries() -> None:
    """99.9% of 1000 observations is exactly rank 999 (no float rounding up to 1000)."""
    thousand = samples_of([float(v) for v in range(1, 1001)])
    assert compute(parse_statistic("p99.9"), thousand) == 999.0  # type: ignore[arg-type]
    assert compute(parse_statistic("p0.1"), thousand) == 1.0  # type: ignore[arg-type]


def test_trimmed_statistics_over_one_to_ten() -> None:
    assert stat("tm90") == pytest.approx(np.mean(range(1, 10)))  # the top 10% removed
    assert stat("TM(10%:90%)") == pytest.approx(np.mean(range(2, 10)))
    # The middle 50% of ten observations: ranks (2.5, 7.5], so 3 and 8 count half each.
    assert stat("IQM") == pytest.approx((0.5 * 3 + 4 + 5 + 6 + 7 + 0.5 * 8) / 5)
    assert stat("tc90") == 9.0
    assert stat("ts90") == 45.0
    assert stat("TM(2:8)") == pytest.approx(np.mean(range(3, 9)))  # (2, 8]: exclusive below
    assert stat("TC(:3)") == 3.0
    assert stat("PR(:3)") == 30.0
    assert stat("PR(2:5)") == 30.0


def test_winsorized_means_clamp_to_the_kept_range() -> None:
    assert stat("WM(10%:90%)") == pytest.approx(np.mean([2, 2, 3, 4, 5, 6, 7, 8, 9, 9]))
    assert stat("WM(3:8)") == pytest.approx(np.mean(np.clip(range(1, 11), 3, 8)))
    assert stat("wm90") == pytest.approx(np.mean([1, 2, 3, 4, 5, 6, 7, 8, 9, 9]))


def test_statistic_sets_have_basic_statistics_but_no_percentiles() -> None:
    statistic_set = Sample(0, "None", None, count=4, total=10.0, minimum=1.0, maximum=4.0)
    mixed = [statistic_set, Sample.of(0, 6.0)]
    assert compute(parse_statistic("Average"), mixed) == 16.0 / 5  # type: ignore[arg-type]
    assert compute(parse_statistic("Maximum"), mixed) == 6.0  # type: ignore[arg-type]
    assert compute(parse_statistic("p50"), mixed) is None  # type: ignore[arg-type]
    assert compute(parse_statistic("tm90"), mixed) is None  # type: ignore[arg-type]


def test_percentiles_are_unavailable_with_negative_values() -> None:
    negative = samples_of([-1.0, 2.0, 3.0])
    assert compute(parse_statistic("p50"), negative) is None  # type: ignore[arg-type]
    assert compute(parse_statistic("Minimum"), negative) == -1.0  # type: ignore[arg-type]


def test_no_samples_no_value() -> None:
    assert compute(parse_statistic("Sum"), []) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "kind", "low", "high", "percent"),
    [
        ("Average", "Average", None, None, True),
        ("p99", "p", None, Fraction(99), True),
        ("p99.9", "p", None, Fraction("99.9"), True),
        ("P50", "p", None, Fraction(50), True),
        ("tm95", "TM", None, Fraction(95), True),
        ("TM(2%:98%)", "TM", Fraction(2), Fraction(98), True),
        ("TM(150:1000)", "TM", Fraction(150), Fraction(1000), False),
        ("IQM", "TM", Fraction(25), Fraction(75), True),
        ("wm98", "WM", None, Fraction(98), True),
        ("PR(:300)", "PR", None, Fraction(300), False),
        ("TC(10%:)", "TC", Fraction(10), None, True),
    ],
)
def test_statistic_syntax(
    text: str, kind: str, low: Fraction | None, high: Fraction | None, percent: bool
) -> None:
    parsed = parse_statistic(text)
    assert parsed is not None
    assert (parsed.kind, parsed.low, parsed.high, parsed.percent) == (kind, low, high, percent)


@pytest.mark.parametrize(
    "text",
    ["average", "p101", "p", "p9x", "TM(:)", "TM(10%:200)", "PR(10%:90%)", "TM(90%:10%)", "x"],
)
def test_invalid_statistics_are_refused(text: str) -> None:
    assert parse_statistic(text) is None

"""analysis.summary on synthetic records whose answers are known."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from endpointlab.analysis.summary import (
    bootstrap_interval,
    latency_stats,
    server_samples,
    summarise_phase,
    timeline,
)
from tests.unit.analysis_records import record

T0 = 1_700_000_000.0


def test_percentiles_are_exact_over_every_success() -> None:
    records = [record(T0 + i, float(i + 1)) for i in range(100)]
    summary = summarise_phase("steady", records)
    stats = summary.latency
    assert stats.count == 100
    assert (stats.min, stats.max, stats.mean) == (1.0, 100.0, 50.5)
    assert stats.p50 == pytest.approx(50.5)
    assert stats.p90 == pytest.approx(90.1)
    assert stats.p99 == pytest.approx(99.01)
    assert stats.p99_9 == pytest.approx(99.901)
    assert summary.cold_latency is None
    assert summary.warm_latency == stats


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.01, 1e5, allow_nan=False), min_size=1, max_size=300))
def test_percentiles_match_numpy_linear(latencies: list[float]) -> None:
    stats = latency_stats(latencies)
    for field, p in (("p50", 50), ("p90", 90), ("p95", 95), ("p99", 99), ("p99_9", 99.9)):
        expected = float(np.percentile(latencies, p, method="linear"))
        assert getattr(stats, field) == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_throttles_count_as_requests_and_as_attempts() -> None:
    records = [
        record(T0, 10.0),
        # throttled three times, then answered: a success with throttled attempts
        record(T0 + 0.1, 40.0, attempts=4, throttled_attempts=3),
        record(
            T0 + 0.2,
            5.0,
            error_code="ThrottlingException",
            throttled=True,
            attempts=5,
            throttled_attempts=5,
        ),
        record(
            T0 + 0.3,
            5.0,
            error_code="ThrottlingException",
            throttled=True,
            attempts=5,
            throttled_attempts=5,
        ),
        record(T0 + 0.4, 7.0, error_code="ModelError"),
    ]
    summary = summarise_phase("burst", records, shape="burst 5", clients=5)
    assert summary.requests == 5
    assert summary.successes == 2
    assert summary.throttled_requests == 2
    assert summary.throttled_attempts == 13
    assert summary.attempts == 16
    assert summary.errors == {"ThrottlingException": 2, "ModelError": 1}
    assert summary.error_rate == pytest.approx(3 / 5)
    assert summary.latency.count == 2
    assert (summary.shape, summary.clients) == ("burst 5", 5)


def test_cold_starts_are_split_from_warm_latencies() -> None:
    records = [
        record(T0, 1000.0, cold_start_ms=900.0),
        record(T0 + 1, 1200.0, cold_start_ms=1100.0),
        record(T0 + 2, 10.0),
        record(T0 + 3, 20.0),
        record(T0 + 4, 30.0),
        record(T0 + 5, 3000.0, cold_start_ms=2900.0, error_code="ModelError"),
    ]
    summary = summarise_phase("stability", records)
    assert summary.cold_starts == 3
    assert summary.latency.count == 5
    assert summary.cold_latency is not None
    assert (summary.cold_latency.count, summary.cold_latency.mean) == (2, 1100.0)
    assert summary.warm_latency is not None
    assert (summary.warm_latency.count, summary.warm_latency.p50) == (3, 20.0)
    # the endpoint's own cold-start durations, failed requests' included
    assert summary.server["ColdStart"].count == 3
    assert summary.server["ColdStart"].mean == pytest.approx(1633.3333333)


def test_duration_and_throughput_run_from_first_intended_send_to_last_answer() -> None:
    # 10 successes, intended once a second; the last is answered 0.5 s after its send
    records = [record(T0 + i, 500.0) for i in range(10)]
    summary = summarise_phase("open", records, rate_per_s=1.0)
    assert summary.started_at == T0
    assert summary.duration_s == pytest.approx(9.5)
    assert summary.throughput_per_s == pytest.approx(10 / 9.5)
    assert summary.throughput_per_min == pytest.approx(600 / 9.5)


def test_latency_counts_from_the_intended_send() -> None:
    late = record(T0 + 0.2, 300.0, intended_at=T0)  # waited 200 ms for a client
    summary = summarise_phase("open", [late])
    assert summary.latency.max == 300.0
    assert summary.duration_s == pytest.approx(0.3)


def test_server_samples_are_summarised_by_metric() -> None:
    summary = summarise_phase(
        "p", [record(T0, 5.0)], server={"ModelLatency": [1.0, 2.0, 3.0], "OverheadLatency": []}
    )
    assert summary.server["ModelLatency"].p50 == 2.0
    assert summary.server["OverheadLatency"].count == 0


def test_cloudwatch_latencies_become_server_samples_in_ms() -> None:
    metrics = {
        "ModelLatency:Average": [(T0, 1500.0), (T0 + 60, 2500.0)],
        "ModelSetupTime": [(T0, 900_000.0)],
        "Invocations:Sum": [(T0, 40.0)],
        "OverheadLatency:Average": [],
    }
    samples = server_samples(metrics)
    assert samples == {"ModelLatency": [1.5, 2.5], "ModelSetupTime": [900.0]}
    summary = summarise_phase("p", [record(T0, 5.0)], server=samples)
    assert summary.server["ModelLatency"].mean == 2.0


def test_no_records_give_an_empty_summary() -> None:
    summary = summarise_phase("idle", [])
    assert (summary.requests, summary.successes, summary.duration_s) == (0, 0, 0.0)
    assert summary.latency.count == 0 and summary.latency.p99 is None
    assert summary.error_rate == 0.0 and summary.throughput_per_s == 0.0
    assert summary.latency_ci == {}


def test_all_failed_gives_no_latency_but_a_full_error_rate() -> None:
    records = [record(T0, 5.0, error_code="ServiceUnavailable") for _ in range(4)]
    summary = summarise_phase("down", records)
    assert summary.error_rate == 1.0
    assert summary.latency.count == 0
    assert summary.latency_ci == {}


def test_bootstrap_intervals_bracket_the_estimate_and_are_seeded() -> None:
    rng = np.random.default_rng(7)
    latencies = rng.lognormal(3.0, 0.5, size=2000)
    records = [record(T0 + i * 0.01, float(v)) for i, v in enumerate(latencies)]
    one = summarise_phase("p", records, seed=1)
    assert one == summarise_phase("p", records, seed=1)
    assert summarise_phase("p", records, seed=2).latency_ci != one.latency_ci
    for key in ("p50", "p99"):
        interval = one.latency_ci[key]
        estimate = getattr(one.latency, key)
        assert interval.low < estimate < interval.high
        assert interval.confidence == 0.95
    # p99 of 2000 samples is far less certain than p50
    width = {k: one.latency_ci[k].high - one.latency_ci[k].low for k in ("p50", "p99")}
    assert width["p99"] > 2 * width["p50"]


@pytest.mark.parametrize("p", [50.0, 99.0])
def test_bootstrap_matches_resampling_with_replacement(p: float) -> None:
    rng = np.random.default_rng(3)
    values = np.sort(rng.exponential(10.0, size=300))
    resamples = rng.choice(values, size=(3000, values.size), replace=True)
    naive = np.percentile(np.percentile(resamples, p, axis=1), [2.5, 97.5])
    interval = bootstrap_interval(list(values), p, seed=5, resamples=3000)
    assert interval is not None
    spread = naive[1] - naive[0]
    assert interval.low == pytest.approx(naive[0], abs=0.15 * spread)
    assert interval.high == pytest.approx(naive[1], abs=0.15 * spread)


def test_bootstrap_needs_two_values() -> None:
    assert bootstrap_interval([], 50.0) is None
    assert bootstrap_interval([4.0], 99.0) is None
    interval = bootstrap_interval([4.0, 4.0, 4.0], 99.0)
    assert interval is not None and (interval.low, interval.high) == (4.0, 4.0)


def test_timeline_buckets_what_happened_each_second() -> None:
    records = [
        record(T0 + 0.5, 1000.0),  # in flight 0.5-1.5, answered in second 1
        record(T0 + 0.25, 500.0, cold_start_ms=400.0),  # answered in second 0
        record(T0 + 2.1, 100.0, error_code="ThrottlingException", throttled=True),
        record(T0 + 2.2, 100.0, error_code="ModelError"),
    ]
    points = timeline(records, T0)
    assert [p.t for p in points] == [0.0, 1.0, 2.0]
    assert points[0].in_flight == pytest.approx(0.5 + 0.5)
    assert points[1].in_flight == pytest.approx(0.5)
    assert points[2].in_flight == pytest.approx(0.2)
    assert [p.completed for p in points] == [1, 1, 0]
    assert [p.cold_starts for p in points] == [1, 0, 0]
    assert [p.throttles for p in points] == [0, 0, 1]
    assert [p.errors for p in points] == [0, 0, 1]
    assert points[0].p99_ms == 500.0 and points[1].p99_ms == 1000.0 and points[2].p99_ms is None
    assert all(p.instances is None and p.backlog is None for p in points)


def test_timeline_step_and_empty_input() -> None:
    assert timeline([], T0) == []
    points = timeline([record(T0 + 4.5, 100.0)], T0, step_s=2.0)
    assert [p.t for p in points] == [0.0, 2.0, 4.0]
    assert points[2].in_flight == pytest.approx(0.05)
    with pytest.raises(ValueError, match="step_s"):
        timeline([], T0, step_s=0)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(0, 20, allow_nan=False),
            st.floats(0.1, 5000, allow_nan=False),
            st.sampled_from(["", "ThrottlingException", "ModelError"]),
        ),
        min_size=1,
        max_size=60,
    ),
    st.sampled_from([0.5, 1.0, 3.0]),
)
def test_timeline_accounts_for_every_request(
    spec: list[tuple[float, float, str]], step: float
) -> None:
    records = [
        record(T0 + at, ms, error_code=code, throttled=code == "ThrottlingException")
        for at, ms, code in spec
    ]
    points = timeline(records, T0, step_s=step)
    summary = summarise_phase("x", records)
    assert sum(p.completed for p in points) == summary.successes
    assert sum(p.throttles for p in points) == summary.throttled_requests
    assert sum(p.errors for p in points) == summary.requests - summary.successes - sum(
        p.throttles for p in points
    )
    busy = math.fsum(r.elapsed_time for r in records)
    assert math.fsum((p.in_flight or 0.0) * step for p in points) == pytest.approx(busy, abs=1e-6)

"""analysis.queueing: the async queue/processing split from synthetic CloudWatch datapoints
(GetMetricStatistics' shape) with known answers, and what the recommendation says of it."""

from __future__ import annotations

from typing import Any

import pytest

from endpointlab.analysis.queueing import async_split, describe, server_times
from endpointlab.analysis.recommend import recommend
from endpointlab.results.run_result import Cost, Objective
from tests.unit.analysis_records import configuration


def point(unit: str, count: int, mean: float, top: float, *pcts: float) -> dict[str, Any]:
    found: dict[str, Any] = {
        "Timestamp": "2026-12-07T19:00:00Z", "Unit": unit, "SampleCount": float(count),
        "Average": mean, "Maximum": top,
    }  # fmt: skip
    if pcts:
        found["ExtendedStatistics"] = dict(zip(("p50", "p90", "p99"), pcts, strict=True))
    return found


# 40 requests: 30 ms median in the queue, 130 ms received to finished; ModelLatency in µs.
ONE_PERIOD = {
    "TimeInBacklog": [point("Milliseconds", 40, 45.0, 400.0, 30.0, 120.0, 390.0)],
    "TotalProcessingTime": [point("Milliseconds", 40, 145.0, 510.0, 130.0, 230.0, 500.0)],
    "ModelLatency": [point("Microseconds", 40, 90_000.0, 99_000.0, 88_000.0, 95_000.0, 98_000.0)],
}


def test_one_period_gives_every_figure_and_the_mean_processing_time() -> None:
    split = async_split(ONE_PERIOD, answered=40)
    queue, total, model = split.queue, split.total, split.model
    assert (queue.samples, queue.mean, queue.max, queue.periods) == (40, 45.0, 400.0, 1)
    assert (queue.p50, queue.p90, queue.p99) == (30.0, 120.0, 390.0)
    assert (total.p50, total.p90, total.p99) == (130.0, 230.0, 500.0)
    assert model is not None and (model.p50, model.max) == (88.0, 99.0)  # µs -> ms
    assert split.processing_mean == pytest.approx(100.0)  # 145 - 45: means subtract
    assert split.findings == []
    line = describe(split)
    assert "server per request (CloudWatch): queue p50/p90/p99 30/120/390 ms" in line
    assert "received to finished 130/230/500 ms, processing mean 100 ms" in line
    assert line.endswith("40 samples for 40 answered")


def test_several_periods_add_counts_weigh_means_and_drop_percentiles() -> None:
    times, findings = server_times(
        "TimeInBacklog",
        [
            point("Milliseconds", 30, 10.0, 50.0, 8.0, 20.0, 45.0),
            point("Seconds", 10, 0.05, 0.2, 0.04, 0.1, 0.19),  # 50 ms mean, 200 ms max
            point("Count", 5, 1.0, 1.0),  # not a time: left out
        ],
    )
    assert (times.samples, times.periods) == (40, 2)
    assert times.mean == pytest.approx((30 * 10.0 + 10 * 50.0) / 40)
    assert times.max == pytest.approx(200.0)
    assert (times.p50, times.p90, times.p99) == (None, None, None)
    assert findings == [
        "TimeInBacklog: a datapoint in unit 'Count' left out",
        "TimeInBacklog: percentiles of 2 CloudWatch periods cannot be combined",
    ]
    empty, none_found = server_times("TotalProcessingTime", [])
    assert (empty.samples, empty.mean, empty.p50, none_found) == (0, None, None, [])


def test_sample_counts_that_differ_from_the_answers_are_findings() -> None:
    short = {**ONE_PERIOD, "TotalProcessingTime": [point("Milliseconds", 38, 140.0, 500.0)]}
    split = async_split(short, answered=40, lost=0)
    assert split.processing_mean is None  # the two means cover different requests
    assert split.findings == [
        "TimeInBacklog counts 40 requests and TotalProcessingTime 38: the processing time "
        "(their difference) is left out",
        "TotalProcessingTime has 38 samples but the client found 40 answers (CloudWatch may "
        "not have them all yet: on AWS a minute or more late)",
    ]
    more = async_split(ONE_PERIOD, answered=37, lost=3).findings
    assert more[0] == (
        "TimeInBacklog has 40 samples but the client found 37 answers (3 lost to the caller's "
        "deadline may have finished after it)"
    )


def test_the_recommendation_says_where_an_async_configurations_time_went() -> None:
    objective = Objective(percentile=99, latency_ms=60_000.0)
    chosen = configuration("async-q", "async", {"InstanceType": "ml.c5.large"}, [900.0] * 20)
    queued = async_split(
        {
            "TimeInBacklog": [point("Milliseconds", 20, 600.0, 900.0)],
            "TotalProcessingTime": [point("Milliseconds", 20, 800.0, 1000.0)],
        },
        answered=20,
    )
    cost = Cost(per_million_usd=5.0)
    answer = recommend(
        [chosen.model_copy(update={"async_split": queued, "cost": cost})], objective, None
    )
    assert answer.chosen == "async-q"
    assert (
        "async-q's requests spent 75% of their time queued: 600 ms waiting and 200 ms "
        "processing on average (the server's per-request TimeInBacklog and TotalProcessingTime)"
    ) in answer.reasons
    assert any(c.startswith("queueing dominates async-q's latency") for c in answer.would_change)
    busy = async_split(ONE_PERIOD, answered=40)  # 45 of 145 ms queued
    answer = recommend(
        [chosen.model_copy(update={"async_split": busy, "cost": cost})], objective, None
    )
    assert any(c.startswith("processing dominates async-q's") for c in answer.would_change)
    plain = recommend([chosen.model_copy(update={"cost": cost})], objective, None)
    assert not any("queued" in reason for reason in plain.reasons)
    # Nothing meets a tighter objective: the closest one's split says what would help.
    missed = recommend(
        [chosen.model_copy(update={"async_split": queued, "cost": cost})],
        Objective(percentile=99, latency_ms=500.0),
        None,
    )
    assert missed.chosen is None
    assert any(r.startswith("async-q's requests spent 75% of their time") for r in missed.reasons)
    assert any(c.startswith("queueing dominates async-q's") for c in missed.would_change)

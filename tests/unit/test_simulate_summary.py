"""Long projections are summarised on arrays; those figures equal what ``analysis`` makes of
the same requests as records (the path short projections take)."""

from __future__ import annotations

import pytest

from endpointlab.analysis.summary import timeline
from endpointlab.simulate import OpenTraffic, Phase, simulate_serverless
from endpointlab.simulate.distributions import Empirical, Exponential
from endpointlab.simulate.retries import RetryConfig
from endpointlab.simulate.specs import ClientSpec, ServerlessSpec
from endpointlab.simulate.summary import (
    records_of,
    summaries_from_records,
    summaries_from_rows,
    timeline_from_rows,
)


def test_array_summaries_equal_the_analysis_of_records() -> None:
    traffic = OpenTraffic((Phase("calm", 120, 5, 5), Phase("rush", 60, 5, 60)))
    spec = ServerlessSpec(max_concurrency=4, keep_warm_s=20)
    client = ClientSpec(RetryConfig("standard"), deadline_s=1.5)
    rec = simulate_serverless(
        spec, traffic, Exponential(0.08), Empirical.of([0.5, 1.2]), client, seed=4
    )
    records = records_of(rec, traffic.boundaries)
    by_records = summaries_from_records(records, traffic.boundaries, "s", seed=0)
    by_rows = summaries_from_rows(rec, rec.arrays(), traffic.boundaries, "s")
    total = by_rows[1]
    assert total.throttled_requests and total.cold_starts and "DeadlineExceeded" in total.errors
    for expected, found in zip([*by_records[0], by_records[1]], [*by_rows[0], total], strict=True):
        want = expected.model_dump(exclude={"latency_ci"})
        got = found.model_dump(exclude={"latency_ci"})
        assert got == _approx(want)
    from_records = timeline(records, 0.0, 0.5)  # some requests span 3+ intervals
    from_rows = timeline_from_rows(rec.arrays(), 0.5)
    assert [p.model_dump() for p in from_rows] == [_approx(p.model_dump()) for p in from_records]


def _approx(value: object) -> object:
    if isinstance(value, dict):
        return {k: _approx(v) for k, v in value.items()}
    if isinstance(value, float):
        return pytest.approx(value, rel=1e-9, abs=1e-9)
    return value

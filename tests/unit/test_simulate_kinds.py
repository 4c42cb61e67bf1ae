"""Each kind's rules in the simulator, on small hand-checkable traffic: cold starts, keep-warm,
provisioned concurrency, throttles and retries, deadlines, routing, autoscaling, async queues."""

from __future__ import annotations

import math

import numpy as np
import pytest

from endpointlab.loadgen import shapes
from endpointlab.results.records import RequestRecord
from endpointlab.simulate import (
    ClosedTraffic,
    OpenTraffic,
    Phase,
    TraceTraffic,
    simulate_async,
    simulate_realtime,
    simulate_serverless,
)
from endpointlab.simulate.arrivals import MIN_CYCLE_S
from endpointlab.simulate.distributions import Constant, Empirical, Exponential
from endpointlab.simulate.inputs import inputs_from
from endpointlab.simulate.outcome import (
    DEADLINE,
    EXPIRED,
    MODEL_ERROR,
    OK,
    OUTCOME_SHIFT,
    THROTTLED,
    Recorder,
)
from endpointlab.simulate.retries import RetryConfig
from endpointlab.simulate.scaling import TargetTracking
from endpointlab.simulate.specs import AsyncSpec, ClientSpec, RealtimeSpec, ServerlessSpec

NO_RETRIES = ClientSpec(RetryConfig("none"))


def by_arrival(rec: Recorder) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rows = rec.arrays()
    order = np.argsort(rows.at, kind="stable")
    return rows.at[order], rows.latency_ms[order] / 1000.0, rows.outcome[order], rows.cold[order]


def test_cold_starts_keep_warm_and_reclaim_follow_the_emulator() -> None:
    trace = TraceTraffic.of([0.0, 1.0, 5.0, 400.0])
    spec = ServerlessSpec(max_concurrency=5, keep_warm_s=300.0)
    rec = simulate_serverless(spec, trace, Constant(0.1), Constant(2.0), NO_RETRIES)
    _, latency, outcome, cold = by_arrival(rec)
    # 0: cold. 1: the first instance is still busy, so a second cold start. 5: warm.
    # 400: every instance has been idle more than 300 s, so reclaimed: cold again.
    assert cold.tolist() == [True, True, False, True]
    assert latency.tolist() == pytest.approx([2.1, 2.1, 0.1, 2.1])
    assert (outcome == OK).all()
    assert rec.reclaimed == 2


def test_provisioned_concurrency_serves_first_and_spills_over_cold() -> None:
    trace = TraceTraffic.of([0.0, 0.0, 5.0])
    spec = ServerlessSpec(max_concurrency=5, provisioned_concurrency=1)
    rec = simulate_serverless(spec, trace, Constant(1.0), Constant(3.0), NO_RETRIES)
    _, latency, _, cold = by_arrival(rec)
    assert cold.tolist() == [False, True, False]
    assert sorted(latency.tolist()) == pytest.approx([1.0, 1.0, 4.0])


def test_beyond_max_concurrency_requests_are_throttled_then_retried() -> None:
    trace = TraceTraffic.of([0.0, 0.1])
    spec = ServerlessSpec(max_concurrency=1, provisioned_concurrency=1)
    alone = simulate_serverless(spec, trace, Constant(1.0), Constant(0.0), NO_RETRIES)
    assert by_arrival(alone)[2].tolist() == [OK, THROTTLED]
    retried = simulate_serverless(spec, trace, Constant(1.0), Constant(0.0), ClientSpec(), seed=3)
    rows = retried.arrays()
    assert (rows.outcome == OK).all()  # legacy's 5 attempts outlast the 1 s request
    assert rows.attempts.max() > 1 and rows.throttled_attempts.max() >= 1
    hurried = ClientSpec(RetryConfig("legacy"), deadline_s=0.5)
    late = simulate_serverless(spec, trace, Constant(1.0), Constant(0.0), hurried, seed=3)
    assert by_arrival(late)[2].tolist() == [DEADLINE, DEADLINE]


def test_a_request_over_the_invocation_timeout_is_a_model_error() -> None:
    trace = TraceTraffic.of([0.0])
    rec = simulate_realtime(RealtimeSpec(), trace, Constant(90.0), Constant(0.0))
    _, latency, outcome, _ = by_arrival(rec)
    assert outcome.tolist() == [MODEL_ERROR] and latency.tolist() == pytest.approx([60.0])


def test_realtime_routes_to_the_least_busy_instance_and_queues() -> None:
    trace = TraceTraffic.of([0.0, 0.0, 0.0, 0.0, 0.0])
    rec = simulate_realtime(RealtimeSpec(instances=2, workers=1), trace, Constant(1.0), Constant(0))
    assert sorted(by_arrival(rec)[1].tolist()) == pytest.approx([1, 1, 2, 2, 3])


def test_realtime_autoscaling_scales_out_after_its_alarm_and_back_in() -> None:
    ramp = OpenTraffic((Phase("up", 1800, 2, 40), Phase("down", 3600, 40, 2)))
    policy = TargetTracking(target=600, min_capacity=1, max_capacity=8)
    spec = RealtimeSpec(1, 2, scaling=policy, provisioning_s=60.0)
    rec = simulate_realtime(spec, ramp, Exponential(0.04), Constant(10.0), seed=1)
    first_out = next(t for t, n in rec.capacity if n > 1)
    assert first_out >= 3 * 60  # three periods over the target before the first scale-out
    peak = max(n for _, n in rec.capacity)
    assert 3 <= peak <= 8
    assert rec.capacity[-1][1] < peak  # scaled back in as the traffic fell
    assert (rec.arrays().outcome == OK).all()


def test_async_scales_from_zero_queues_and_expires() -> None:
    trace = TraceTraffic.of([0.0, 1.0, 2.0])
    policy = TargetTracking(target=5, min_capacity=0, max_capacity=2)
    spec = AsyncSpec(0, 1, scaling=policy, provisioning_s=30.0)
    rec = simulate_async(spec, trace, Constant(1.0), Constant(0.0))
    _, latency, outcome, _ = by_arrival(rec)
    assert (outcome == OK).all()
    # A backlog without capacity for two periods starts one instance (ready 30 s later).
    assert latency[0] == pytest.approx(120 + 30 + 1.0)
    assert latency.tolist() == sorted(latency.tolist())
    stranded = simulate_async(AsyncSpec(0, 1, ttl_s=60.0), trace, Constant(1.0), Constant(0.0))
    assert (stranded.arrays().outcome == EXPIRED).all()


def test_runs_are_reproducible_from_their_seed() -> None:
    traffic = OpenTraffic((Phase("", 60, 50, 50),))
    spec = ServerlessSpec(max_concurrency=3, keep_warm_s=5)
    service, cold = Empirical.of([0.02, 0.05, 0.3]), Empirical.of([1.0, 2.0])

    def run(seed: int) -> tuple[list[float], list[float]]:
        rows = simulate_serverless(spec, traffic, service, cold, ClientSpec(), seed).arrays()
        return rows.at.tolist(), rows.latency_ms.tolist()

    assert run(5) == run(5)
    assert run(5) != run(6)


def test_constant_arrivals_follow_the_load_engines_schedule() -> None:
    loop = shapes.OpenLoop((shapes.Phase("a", 10, 3, 30), shapes.Phase("b", 5, 20, 20)))
    expected = [send.at for send in shapes.schedule(loop)]
    traffic = OpenTraffic((Phase("a", 10, 3, 30), Phase("b", 5, 20, 20)), poisson=False)
    produced = np.concatenate(list(traffic.chunks(np.random.default_rng(0))))
    assert produced.tolist() == pytest.approx(expected)


def test_poisson_arrivals_have_the_expected_count() -> None:
    traffic = OpenTraffic((Phase("", 1000, 0, 200),))
    count = sum(len(c) for c in traffic.chunks(np.random.default_rng(1)))
    assert abs(count - 100_000) < 4 * math.sqrt(100_000)


def test_the_most_recently_used_instance_is_reused_so_others_age_out() -> None:
    sequential = [10.0 * k for k in range(1, 100)]
    trace = TraceTraffic.of([0.0, 0.0, 0.0, *sequential, 1000.0, 1000.0, 1000.0])
    spec = ServerlessSpec(max_concurrency=5, keep_warm_s=300.0)
    rec = simulate_serverless(spec, trace, Constant(1.0), Constant(1.0), NO_RETRIES)
    cold = by_arrival(rec)[3]
    # One instance served the sequential requests; the two others were reclaimed meanwhile.
    assert cold[:3].all() and not cold[3:-3].any()
    assert sorted(cold[-3:].tolist()) == [False, True, True]


def test_an_instance_queue_is_first_in_first_out() -> None:
    trace = TraceTraffic.of([0.0, 0.1, 0.2])
    rec = simulate_realtime(RealtimeSpec(1, 1), trace, Constant(1.0), Constant(0.0))
    assert by_arrival(rec)[1].tolist() == pytest.approx([1.0, 1.9, 2.8])


def test_client_side_overhead_holds_no_worker() -> None:
    trace = TraceTraffic.of([0.0, 0.0])
    rec = simulate_realtime(RealtimeSpec(1, 1), trace, Constant(1.0), Constant(0.0), None, 0, 0.5)
    # The second request waits for the worker's 1 s, not for the first client's 1.5 s.
    assert sorted(by_arrival(rec)[1].tolist()) == pytest.approx([1.5, 2.5])


def test_service_times_scale_to_the_servers_model_latency() -> None:
    records = [
        RequestRecord(
            execution_number=n,
            client_id=0,
            status_response=200,
            body_response="",
            elapsed_time=0.1,
            current_date="",
            intended_at=0.0,
            sent_at=0.0,
            latency_ms=ms,
            service_ms=ms,
            attempts=1,
            error_code="",
            throttled=False,
            cold_start=False,
            variant="",
            phase="",
            request_bytes=0,
            response_bytes=0,
        )
        for n, ms in enumerate([80.0, 120.0])
    ]
    inputs = inputs_from(records, "c", model_latency_ms=60.0)
    assert inputs.service.mean == pytest.approx(0.06)
    assert inputs.overhead_s == pytest.approx(0.04)
    assert inputs_from(records, "c").overhead_s == 0.0


def test_without_traffic_real_time_does_not_scale_in() -> None:
    # A burst, then silence: no InvocationsPerInstance datapoints, so AlarmLow never fires.
    burst = TraceTraffic.of([0.0] * 4000 + [3600.0])
    policy = TargetTracking(target=100, min_capacity=1, max_capacity=8)
    rec = simulate_realtime(RealtimeSpec(4, 1, scaling=policy), burst, Constant(0.01), Constant(0))
    assert [n for _, n in rec.capacity] == [4, 4]


@pytest.mark.timeout(60)
def test_a_closed_loop_whose_answers_take_no_time_still_advances_the_clock() -> None:
    """Throttles with no retry and no client overhead, or a zero service time, answer at once;
    each client's cycle is still at least MIN_CYCLE_S, so the loop ends at the horizon."""
    traffic = ClosedTraffic(4, 1.0)
    no_retry = ClientSpec(RetryConfig("none"))
    free = Constant(0.0)
    throttled = simulate_serverless(ServerlessSpec(2), traffic, Constant(0.5), free, no_retry, 1)
    rows = throttled.arrays()
    assert (rows.info >> OUTCOME_SHIFT == THROTTLED).any()
    assert 0 < len(rows.at) <= 4 * 1.0 / MIN_CYCLE_S + 4
    instant = simulate_realtime(RealtimeSpec(1, 1), traffic, free, free, no_retry, 1)
    assert 0 < len(instant.at) <= 4 * 1.0 / MIN_CYCLE_S + 4

"""The simulator is exact where queueing theory is: Erlang B for serverless throttling under
Poisson arrivals without retries, Erlang C (M/M/c) for a real-time instance's mean wait.

Erlang B's standard errors come from batch means (30 batches of equal time), checked to be
tight; the mean wait is the time in system less the service times actually drawn.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from endpointlab.simulate import OpenTraffic, Phase, simulate_realtime, simulate_serverless
from endpointlab.simulate.distributions import Constant, Exponential
from endpointlab.simulate.outcome import THROTTLED
from endpointlab.simulate.retries import RetryConfig
from endpointlab.simulate.specs import ClientSpec, RealtimeSpec, ServerlessSpec

BATCHES = 30
NO_RETRIES = ClientSpec(RetryConfig("none"))


def erlang_b(servers: int, load: float) -> float:
    blocking = 1.0
    for k in range(1, servers + 1):
        blocking = load * blocking / (k + load * blocking)
    return blocking


def erlang_c_wait(servers: int, arrival_rate: float, service_rate: float) -> float:
    load = arrival_rate / service_rate
    waiting = erlang_b(servers, load)
    waiting = servers * waiting / (servers - load * (1 - waiting))
    return waiting / (servers * service_rate - arrival_rate)


def poisson(rate: float, duration: float) -> OpenTraffic:
    return OpenTraffic((Phase("", duration, rate, rate),), poisson=True)


def batch_means(at: np.ndarray, values: np.ndarray, duration: float) -> tuple[float, float]:
    """The mean of ``values`` and its standard error from batches of equal time."""
    index = np.minimum((at / duration * BATCHES).astype(int), BATCHES - 1)
    sums = np.bincount(index, weights=values, minlength=BATCHES)
    counts = np.bincount(index, minlength=BATCHES)
    means = sums / counts
    return float(values.mean()), float(means.std(ddof=1) / math.sqrt(BATCHES))


def test_erlang_b_matches_its_known_values() -> None:
    assert erlang_b(2, 1.5) == pytest.approx(0.3103448, rel=1e-6)
    assert erlang_b(10, 8) == pytest.approx(0.1216611, rel=1e-6)


@pytest.mark.parametrize(
    ("servers", "load"), [(2, 0.5), (2, 1.5), (10, 5.0), (10, 10.0), (150, 140.0), (150, 170.0)]
)
def test_serverless_throttling_without_retries_is_erlang_b(servers: int, load: float) -> None:
    mean_service = 1.0
    rate = load / mean_service
    duration = 150_000 / rate
    spec = ServerlessSpec(servers, keep_warm_s=math.inf)  # no cold starts: pure loss system
    rec = simulate_serverless(
        spec, poisson(rate, duration), Exponential(mean_service), Constant(0.0), NO_RETRIES, 7
    )
    rows = rec.arrays()
    throttled = (rows.outcome == THROTTLED).astype(float)
    estimate, error = batch_means(rows.at, throttled, duration)
    expected = erlang_b(servers, load)
    assert abs(estimate - expected) <= 3 * error, (estimate, expected, error)
    assert error < 0.1 * expected + 0.002  # tight enough to catch a wrong rule


@pytest.mark.parametrize(("workers", "utilisation"), [(1, 0.5), (2, 0.6), (4, 0.7)])
def test_realtime_mean_wait_is_erlang_c(workers: int, utilisation: float) -> None:
    # 600,000 requests: the estimate's spread across seeds is about 1%, within the 2% asked.
    service_rate = 1.0
    rate = utilisation * workers * service_rate
    duration = 600_000 / rate
    spec = RealtimeSpec(instances=1, workers=workers)
    rec = simulate_realtime(
        spec, poisson(rate, duration), Exponential(1 / service_rate), Constant(0.0), seed=11
    )
    rows = rec.arrays()
    # The mean wait: the mean time in system less the service times actually drawn.
    wait = (rows.latency_ms.sum() / 1000.0 - rec.compute_s) / len(rows.at)
    expected = erlang_c_wait(workers, rate, service_rate)
    assert wait == pytest.approx(expected, rel=0.02)

"""Per-phase summaries and per-second timelines of request records (pure: no I/O, no clock).

Percentiles are exact (every sample, linear interpolation: ``results.summary.percentile``); the
bootstrap confidence intervals for p50/p99 are seeded, so a re-analysis gives the same figures.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np

from endpointlab.results.records import RequestRecord
from endpointlab.results.run_result import Interval, LatencyStats, PhaseSummary, TimelinePoint
from endpointlab.results.summary import percentile

BOOTSTRAP_RESAMPLES = 2000
CONFIDENCE = 0.95
CI_PERCENTILES = {"p50": 50.0, "p99": 99.0}
# CloudWatch publishes these SageMaker latencies in microseconds.
SERVER_LATENCIES = ("ModelLatency", "OverheadLatency", "ModelSetupTime")


def latency_stats(values: Sequence[float]) -> LatencyStats:
    """Exact statistics of ``values`` (ms); every figure is None when there are none."""
    finite = sorted(v for v in values if math.isfinite(v))
    if not finite:
        return LatencyStats(count=0)
    return LatencyStats(
        count=len(finite),
        min=finite[0],
        mean=math.fsum(finite) / len(finite),
        p50=percentile(finite, 50.0),
        p90=percentile(finite, 90.0),
        p95=percentile(finite, 95.0),
        p99=percentile(finite, 99.0),
        p99_9=percentile(finite, 99.9),
        max=finite[-1],
    )


def bootstrap_interval(
    sorted_values: Sequence[float],
    p: float,
    *,
    seed: int = 0,
    resamples: int = BOOTSTRAP_RESAMPLES,
    confidence: float = CONFIDENCE,
) -> Interval | None:
    """Percentile-bootstrap interval of the ``p``-th percentile of already sorted values.

    Each resample draws n values with replacement; its percentile depends only on two of its
    order statistics, which are drawn directly: the k-th smallest of n uniforms is Beta(k, n-k+1),
    the next one lies above it at (1-U)·Beta(1, n-k). So it is the ordinary bootstrap, but each
    resample costs O(1) instead of a sort of n values. None with fewer than two values.
    """
    n = len(sorted_values)
    if n < 2:
        return None
    values = np.asarray(sorted_values, dtype=float)
    rng = np.random.default_rng(seed)
    rank = (n - 1) * p / 100.0
    low = math.floor(rank)
    fraction = rank - low
    k = low + 1  # 1-based order statistic below the rank
    first = rng.beta(k, n - k + 1, size=resamples)
    second = first + (1.0 - first) * rng.beta(1, n - k, size=resamples) if k < n else first
    lower = values[np.minimum((first * n).astype(np.int64), n - 1)]
    upper = values[np.minimum((second * n).astype(np.int64), n - 1)]
    estimates = lower + (upper - lower) * fraction
    tail = (1.0 - confidence) / 2.0 * 100.0
    low_q, high_q = np.percentile(estimates, [tail, 100.0 - tail])
    return Interval(low=float(low_q), high=float(high_q), confidence=confidence)


def server_samples(
    metrics: Mapping[str, Sequence[tuple[float, float]]], statistic: str = "Average"
) -> dict[str, list[float]]:
    """The server-side latencies (ms) in pulled CloudWatch series, for ``summarise_phase``'s
    ``server``: each of ModelLatency, OverheadLatency and ModelSetupTime found under
    ``<name>:<statistic>`` (or ``<name>``), its datapoints converted from microseconds."""
    found = {}
    for name in SERVER_LATENCIES:
        series = metrics.get(f"{name}:{statistic}", metrics.get(name))
        if series:
            found[name] = [value / 1e3 for _, value in series if math.isfinite(value)]
    return found


def _ended(record: RequestRecord) -> float:
    return record.sent_at + record.elapsed_time


def summarise_phase(
    name: str,
    records: Sequence[RequestRecord],
    *,
    shape: str = "",
    clients: int | None = None,
    rate_per_s: float | None = None,
    seed: int = 0,
    server: Mapping[str, Sequence[float]] | None = None,
) -> PhaseSummary:
    """Summarise one phase (or all phases, as ``total``) of one configuration.

    A request failed when it has an error code (a throttled request is one, and also counts in
    ``throttled_requests``); ``error_rate`` is failed requests over requests. Latencies are of
    successes, from the intended send; ``cold_latency`` holds those that waited for a cold start
    (None when none did) and ``warm_latency`` the rest. The phase lasts from the first intended
    send to the last answer. ``server`` gives server-side samples in ms by metric name
    (ModelLatency, OverheadLatency, ModelSetupTime); the cold starts' own durations, as the
    endpoint reported them, are added as ``ColdStart``.
    """
    successes = [r for r in records if r.ok]
    if records:
        started: float | None = min(r.intended_at for r in records)
        duration = max(0.0, max(_ended(r) for r in records) - min(r.intended_at for r in records))
    else:
        started, duration = None, 0.0
    cold = [r.latency_ms for r in successes if r.cold_start]
    warm = [r.latency_ms for r in successes if not r.cold_start]
    ordered = sorted(v for v in (r.latency_ms for r in successes) if math.isfinite(v))
    intervals: dict[str, Interval] = {}
    for key, p in CI_PERCENTILES.items():
        found = bootstrap_interval(ordered, p, seed=seed)
        if found is not None:
            intervals[key] = found
    server_stats = {metric: latency_stats(values) for metric, values in (server or {}).items()}
    setup = [r.cold_start_ms for r in records if r.cold_start and r.cold_start_ms is not None]
    if setup:
        server_stats["ColdStart"] = latency_stats(setup)
    throughput = len(successes) / duration if duration > 0 else 0.0
    errors = Counter(r.error_code for r in records if not r.ok)
    return PhaseSummary(
        name=name,
        shape=shape,
        clients=clients,
        rate_per_s=rate_per_s,
        started_at=started,
        duration_s=duration,
        requests=len(records),
        successes=len(successes),
        errors=dict(sorted(errors.items(), key=lambda item: (-item[1], item[0]))),
        throttled_requests=sum(1 for r in records if r.throttled),
        throttled_attempts=sum(r.throttled_attempts for r in records),
        attempts=sum(r.attempts for r in records),
        cold_starts=sum(1 for r in records if r.cold_start),
        error_rate=(len(records) - len(successes)) / len(records) if records else 0.0,
        throughput_per_s=throughput,
        throughput_per_min=throughput * 60.0,
        latency=latency_stats(ordered),
        warm_latency=latency_stats(warm),
        cold_latency=latency_stats(cold) if cold else None,
        latency_ci=intervals,
        server=server_stats,
    )


def timeline(
    records: Sequence[RequestRecord], start: float, step_s: float = 1.0
) -> list[TimelinePoint]:
    """What happened in each ``step_s`` interval from ``start`` (Unix s) to the last answer.

    ``in_flight`` is the mean number of requests between send and answer over the interval;
    the counts go to the interval in which a request's answer came: ``completed`` successes,
    ``errors`` failures other than throttles, ``throttles`` requests that ended throttled,
    ``cold_starts`` requests that waited for one; ``p99_ms`` is of the successes answered then.
    ``instances`` and ``backlog`` come from the server's metrics, not from records.
    """
    if not step_s > 0:
        raise ValueError(f"step_s must be positive, not {step_s}")
    if not records:
        return []
    end = max(_ended(r) for r in records)
    buckets = max(1, math.ceil((end - start) / step_s))
    busy = [0.0] * buckets
    completed = [0] * buckets
    errors = [0] * buckets
    throttles = [0] * buckets
    colds = [0] * buckets
    latencies: list[list[float]] = [[] for _ in range(buckets)]
    for record in records:
        sent, ended = record.sent_at, _ended(record)
        first = max(0, math.floor((sent - start) / step_s))
        last = min(buckets - 1, math.floor((ended - start) / step_s))
        for index in range(first, last + 1):
            left = start + index * step_s
            busy[index] += max(0.0, min(ended, left + step_s) - max(sent, left))
        if ended < start:
            continue
        at = min(buckets - 1, math.floor((ended - start) / step_s))
        if record.ok:
            completed[at] += 1
            latencies[at].append(record.latency_ms)
        elif record.throttled:
            throttles[at] += 1
        else:
            errors[at] += 1
        colds[at] += bool(record.cold_start)
    points = []
    for index in range(buckets):
        ordered = sorted(latencies[index])
        points.append(
            TimelinePoint(
                t=index * step_s,
                in_flight=busy[index] / step_s,
                completed=completed[index],
                errors=errors[index],
                throttles=throttles[index],
                cold_starts=colds[index],
                p99_ms=percentile(ordered, 99.0) if ordered else None,
            )
        )
    return points


def with_instances(
    points: Sequence[TimelinePoint],
    start: float,
    samples: Sequence[tuple[float, float]],
    step_s: float = 1.0,
) -> list[TimelinePoint]:
    """``points`` (a timeline from ``start``) with ``instances``: the last of the (Unix s,
    count) ``samples`` taken by the end of each interval (the first sample before any)."""
    ordered = sorted(samples)
    if not ordered:
        return list(points)
    filled = []
    for point in points:
        end = start + point.t + step_s
        taken = [count for at, count in ordered if at <= end]
        count = taken[-1] if taken else ordered[0][1]
        filled.append(point.model_copy(update={"instances": count}))
    return filled

"""A simulation's rows as the run-result file's phase summaries and timeline.

The same exact statistics the measured side computes (linear interpolation between the two
nearest sorted samples, numpy's default), done on arrays so a month of rows takes seconds.
Phases are assigned by intended send time. Projections carry no bootstrap intervals.
"""

from __future__ import annotations

import math

import numpy as np

from endpointlab.results.run_result import LatencyStats, PhaseSummary, TimelinePoint
from endpointlab.simulate.outcome import ERROR_CODES, OK, THROTTLED, Recorder, Rows

MAX_POINTS = 1500


def latency_stats(values: np.ndarray) -> LatencyStats:
    if not len(values):
        return LatencyStats(count=0)
    p50, p90, p95, p99, p999 = np.percentile(values, [50, 90, 95, 99, 99.9]).tolist()
    return LatencyStats(
        count=len(values),
        min=float(values.min()),
        mean=float(values.mean()),
        p50=p50,
        p90=p90,
        p95=p95,
        p99=p99,
        p99_9=p999,
        max=float(values.max()),
    )


def phase_summary(
    name: str, rows: Rows, start: float, end: float, shape: str = "", rate: float | None = None
) -> PhaseSummary:
    """The summary of rows whose intended send time falls in ``[start, end)``."""
    inside = (rows.at >= start) & (rows.at < end)
    outcome = rows.outcome[inside]
    latency = rows.latency_ms[inside]
    cold = rows.cold[inside]
    ok = outcome == OK
    requests, successes = int(inside.sum()), int(ok.sum())
    duration = end - start
    errors = {
        ERROR_CODES[code]: int(n)
        for code, n in zip(*np.unique(outcome[~ok], return_counts=True), strict=True)
    }
    return PhaseSummary(
        name=name,
        shape=shape,
        rate_per_s=rate,
        started_at=start,
        duration_s=duration,
        requests=requests,
        successes=successes,
        errors=errors,
        throttled_requests=int((outcome == THROTTLED).sum()),
        throttled_attempts=int(rows.throttled_attempts[inside].sum()),
        attempts=int(rows.attempts[inside].sum()),
        cold_starts=int(cold.sum()),
        error_rate=(requests - successes) / requests if requests else 0.0,
        throughput_per_s=successes / duration if duration > 0 else 0.0,
        throughput_per_min=successes * 60.0 / duration if duration > 0 else 0.0,
        latency=latency_stats(latency[ok]),
        warm_latency=latency_stats(latency[ok & ~cold]),
        cold_latency=latency_stats(latency[ok & cold]) if cold.any() else None,
    )


def timeline(rec: Recorder, rows: Rows, duration: float) -> list[TimelinePoint]:
    """At most ``MAX_POINTS`` intervals (1 s, or longer for long runs) from the start."""
    step = max(1.0, math.ceil(duration / MAX_POINTS))
    bins = max(1, math.ceil(duration / step))
    index = np.minimum((rows.at // step).astype(np.int64), bins - 1)
    outcome = rows.outcome
    ended = np.minimum(((rows.at + rows.latency_ms / 1000.0) // step).astype(np.int64), bins - 1)
    completed = np.bincount(ended[outcome == OK], minlength=bins)
    errors = np.bincount(index[outcome != OK], minlength=bins)
    throttles = np.bincount(index[outcome == THROTTLED], minlength=bins)
    colds = np.bincount(index[rows.cold], minlength=bins)
    held = np.bincount(index, weights=rows.latency_ms / 1000.0, minlength=bins) / step
    order = np.lexsort((rows.latency_ms, index))
    ok_sorted = outcome[order] == OK
    bounds = np.searchsorted(index[order], np.arange(bins + 1))
    instances = _mean_capacity(rec.capacity, step, bins)
    points = []
    for b in range(bins):
        lo, hi = bounds[b], bounds[b + 1]
        chosen = rows.latency_ms[order[lo:hi]][ok_sorted[lo:hi]]
        points.append(
            TimelinePoint(
                t=b * step,
                in_flight=float(held[b]),
                completed=int(completed[b]),
                errors=int(errors[b]),
                throttles=int(throttles[b]),
                cold_starts=int(colds[b]),
                p99_ms=float(np.percentile(chosen, 99)) if len(chosen) else None,
                instances=None if instances is None else float(instances[b]),
            )
        )
    return points


def _mean_capacity(capacity: list[tuple[float, int]], step: float, bins: int) -> list[float] | None:
    """The time-weighted mean instance count of each interval."""
    if not capacity:
        return None
    edges = np.arange(bins + 1) * step
    times = np.array([t for t, _ in capacity] + [edges[-1]])
    counts = np.array([n for _, n in capacity], dtype=np.float64)
    # The integral of the step function up to each edge, by interpolating its running area.
    area = np.concatenate(([0.0], np.cumsum(counts * np.diff(np.minimum(times, edges[-1])))))
    at_edges = np.interp(edges, np.minimum(times, edges[-1]), area)
    means: list[float] = (np.diff(at_edges) / step).tolist()
    return means

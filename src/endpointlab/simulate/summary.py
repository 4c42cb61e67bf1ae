"""A simulation's rows as the run result's phase summaries and timeline.

Up to ``RECORD_LIMIT`` rows become request records and go through ``analysis.summarise_phase``
and ``analysis.timeline``, exactly as a measured run does (bootstrap intervals included). Longer
projections are summarised on the arrays with the same definitions (exact percentiles, a phase
lasting from its first send to its last answer, answers counted in the interval they came in),
without the intervals; ``tests/unit/test_simulate_summary.py`` checks the two paths agree.
"""

from __future__ import annotations

import math

import numpy as np

from endpointlab.analysis.summary import summarise_phase
from endpointlab.analysis.summary import timeline as record_timeline
from endpointlab.results.records import RequestRecord
from endpointlab.results.run_result import LatencyStats, PhaseSummary, TimelinePoint
from endpointlab.simulate.outcome import ERROR_CODES, OK, THROTTLED, Recorder, Rows

RECORD_LIMIT = 300_000
MAX_POINTS = 1500
SLICE = 1 << 20
STATUS = {0: 200, 1: 400, 2: 0, 3: 424, 4: 0}
VARIANT = "AllTraffic"


def step_of(duration: float) -> float:
    """The timeline's interval: 1 s, or longer so that a long run has at most MAX_POINTS."""
    return max(1.0, float(math.ceil(duration / MAX_POINTS)))


def last_answer(at: np.ndarray, latency_ms: np.ndarray) -> float:
    """When the last answer came (s), worked out in slices: no month-sized temporaries."""
    return max(
        float((at[lo : lo + SLICE] + latency_ms[lo : lo + SLICE] / 1000.0).max())
        for lo in range(0, len(at), SLICE)
    )


def records_of(rec: Recorder, bounds: list[tuple[str, float, float]]) -> list[RequestRecord]:
    """Request records as the load engine would have written them (times from 0)."""
    rows = rec.arrays()
    cold_ms = iter(np.frombuffer(rec.cold_ms, dtype=np.float32).tolist())
    starts = [start for _, start, _ in bounds]
    names = [name for name, _, _ in bounds]
    phase = np.searchsorted(starts, rows.at, side="right") - 1
    out = []
    columns = zip(
        rows.at.tolist(),
        rows.latency_ms.tolist(),
        rows.outcome.tolist(),
        rows.attempts.tolist(),
        rows.throttled_attempts.tolist(),
        rows.cold.tolist(),
        np.maximum(phase, 0).tolist(),
        strict=True,
    )
    for n, (at, latency, outcome, attempts, throttles, cold, p) in enumerate(columns):
        out.append(
            RequestRecord(
                execution_number=n,
                client_id=0,
                status_response=STATUS[outcome],
                body_response="",
                elapsed_time=latency / 1000.0,
                current_date="",
                intended_at=at,
                sent_at=at,
                latency_ms=latency,
                service_ms=latency,
                attempts=attempts,
                error_code=ERROR_CODES.get(outcome, ""),
                throttled=outcome == THROTTLED,
                cold_start=cold,
                variant=VARIANT,
                phase=names[p],
                request_bytes=0,
                response_bytes=0,
                throttled_attempts=throttles,
                cold_start_ms=next(cold_ms) if cold else None,
            )
        )
    return out


def summaries_from_records(
    records: list[RequestRecord], bounds: list[tuple[str, float, float]], shape: str, seed: int
) -> tuple[list[PhaseSummary], PhaseSummary]:
    phases = []
    if len(bounds) > 1:
        for name, _, _ in bounds:
            chosen = [r for r in records if r.phase == name]
            phases.append(summarise_phase(name, chosen, shape=shape, seed=seed))
    return phases, summarise_phase("total", records, shape=shape, seed=seed)


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
    name: str, rows: Rows, cold_ms: np.ndarray, inside: np.ndarray | None, shape: str = ""
) -> PhaseSummary:
    """The summary of the rows ``inside`` selects (None: all), as ``analysis.summarise_phase``
    makes it."""
    if inside is None:
        inside = np.ones(len(rows.at), dtype=bool)
        at, latency, outcome, cold = rows.at, rows.latency_ms, rows.outcome, rows.cold
        attempts, throttled = rows.attempts, rows.throttled_attempts
    else:
        at, latency = rows.at[inside], rows.latency_ms[inside]
        outcome, cold = rows.outcome[inside], rows.cold[inside]
        attempts, throttled = rows.attempts[inside], rows.throttled_attempts[inside]
    ok = outcome == OK
    requests, successes = len(at), int(ok.sum())
    started = float(at.min()) if requests else None
    duration = last_answer(at, latency) - float(at.min()) if requests else 0.0
    codes, counts = np.unique(outcome[~ok], return_counts=True)
    errors = sorted(
        ((ERROR_CODES[int(c)], int(n)) for c, n in zip(codes, counts, strict=True)),
        key=lambda item: (-item[1], item[0]),
    )
    setup = cold_ms[inside[rows.cold]]
    throughput = successes / duration if duration > 0 else 0.0
    return PhaseSummary(
        name=name,
        shape=shape,
        started_at=started,
        duration_s=duration,
        requests=requests,
        successes=successes,
        errors=dict(errors),
        throttled_requests=int((outcome == THROTTLED).sum()),
        throttled_attempts=int(throttled.sum()),
        attempts=int(attempts.sum()),
        cold_starts=int(cold.sum()),
        error_rate=(requests - successes) / requests if requests else 0.0,
        throughput_per_s=throughput,
        throughput_per_min=throughput * 60.0,
        latency=(everything := latency_stats(_where(latency, ok))),
        warm_latency=latency_stats(latency[ok & ~cold]) if cold.any() else everything,
        cold_latency=latency_stats(latency[ok & cold]) if (ok & cold).any() else None,
        server={"ColdStart": latency_stats(setup)} if len(setup) else {},
    )


def summaries_from_rows(
    rec: Recorder, rows: Rows, bounds: list[tuple[str, float, float]], shape: str
) -> tuple[list[PhaseSummary], PhaseSummary]:
    cold_ms = np.frombuffer(rec.cold_ms, dtype=np.float32).astype(np.float64)
    phases = []
    if len(bounds) > 1:
        starts = np.array([start for _, start, _ in bounds])
        phase = np.searchsorted(starts, rows.at, side="right") - 1
        for index, (name, _, _) in enumerate(bounds):
            phases.append(phase_summary(name, rows, cold_ms, phase == index, shape))
    return phases, phase_summary("total", rows, cold_ms, None, shape)


def timeline_from_rows(rows: Rows, step: float) -> list[TimelinePoint]:
    """``analysis.timeline``'s figures from arrays, intervals of ``step`` from 0 (worked out in
    slices, so a month of rows makes no month-sized temporaries)."""
    if not len(rows.at):
        return []
    ended_max = last_answer(rows.at, rows.latency_ms)
    buckets = max(1, math.ceil(ended_max / step))
    busy, completed, throttles, errors, colds = (np.zeros(buckets) for _ in range(5))
    spans = np.zeros(buckets + 1)
    last = np.empty(len(rows.at), dtype=np.int64)
    for lo in range(0, len(rows.at), SLICE):
        hi = lo + SLICE
        sent = rows.at[lo:hi]
        ended = sent + rows.latency_ms[lo:hi] / 1000.0
        first = np.minimum((sent / step).astype(np.int64), buckets - 1)  # floor: times >= 0
        answer = last[lo:hi] = np.minimum((ended / step).astype(np.int64), buckets - 1)
        # Time in flight: the part in the first and last intervals, whole intervals between.
        head = np.minimum(ended, (first + 1) * step) - sent
        busy += np.bincount(first, weights=head, minlength=buckets)
        tail = np.where(answer > first, ended - answer * step, 0.0)
        busy += np.bincount(answer, weights=tail, minlength=buckets)
        longer = np.flatnonzero(answer - first > 1)
        np.add.at(spans, first[longer] + 1, 1.0)
        np.add.at(spans, answer[longer], -1.0)
        outcome = rows.outcome[lo:hi]
        ok, throttled = outcome == OK, outcome == THROTTLED
        completed += np.bincount(answer, weights=ok, minlength=buckets)
        throttles += np.bincount(answer, weights=throttled, minlength=buckets)
        errors += np.bincount(answer, weights=~(ok | throttled), minlength=buckets)
        colds += np.bincount(answer, weights=rows.cold[lo:hi], minlength=buckets)
    busy += np.cumsum(spans)[:buckets] * step
    ok = rows.outcome == OK
    good, bins = _where(rows.latency_ms, ok), _where(last, ok)
    bounds = np.concatenate(([0], np.cumsum(np.bincount(bins, minlength=buckets))))
    # Rows come in answer order, so the intervals are usually sorted already; else a stable
    # sort of small integers (numpy's radix sort) groups them in the same order.
    if len(bins) > 1 and (bins[1:] < bins[:-1]).any():
        good = good[np.argsort(bins.astype(np.min_scalar_type(buckets)), kind="stable")]
    points = []
    for b in range(buckets):
        chosen = good[bounds[b] : bounds[b + 1]]
        points.append(
            TimelinePoint(
                t=b * step,
                in_flight=float(busy[b]) / step,
                completed=int(completed[b]),
                errors=int(errors[b]),
                throttles=int(throttles[b]),
                cold_starts=int(colds[b]),
                p99_ms=_p99(chosen) if len(chosen) else None,
            )
        )
    return points


def _where(values: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """``values[chosen]``, without the copy when every value is chosen (the common case)."""
    return values if chosen.all() else values[chosen]


def _p99(values: np.ndarray) -> float:
    """numpy's linear-interpolated 99th percentile, with one partition and no overhead."""
    rank = (len(values) - 1) * 0.99
    low = math.floor(rank)
    high = min(low + 1, len(values) - 1)
    part = np.partition(values, (low, high))
    return float(part[low] + (part[high] - part[low]) * (rank - low))


def timeline_of(
    rec: Recorder, rows: Rows, records: list[RequestRecord] | None
) -> list[TimelinePoint]:
    """The timeline, with the instance count (time-weighted mean per interval) added."""
    ended = last_answer(rows.at, rows.latency_ms) if len(rows.at) else 0.0
    step = step_of(ended)
    points = record_timeline(records, 0.0, step) if records is not None else None
    points = points if points is not None else timeline_from_rows(rows, step)
    instances = _mean_capacity(rec.capacity, step, len(points))
    if instances is None:
        return points
    return [p.model_copy(update={"instances": n}) for p, n in zip(points, instances, strict=True)]


def _mean_capacity(capacity: list[tuple[float, int]], step: float, bins: int) -> list[float] | None:
    """The time-weighted mean instance count of each interval."""
    if not capacity or not bins:
        return None
    edges = np.arange(bins + 1) * step
    times = np.minimum(np.array([t for t, _ in capacity] + [edges[-1]]), edges[-1])
    counts = np.array([n for _, n in capacity], dtype=np.float64)
    area = np.concatenate(([0.0], np.cumsum(counts * np.diff(times))))
    means: list[float] = (np.diff(np.interp(edges, times, area)) / step).tolist()
    return means

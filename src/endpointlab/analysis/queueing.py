"""An async configuration's queue/processing split, from the server's per-request CloudWatch
metrics (pure): TimeInBacklog (received to processing), TotalProcessingTime (received to
finished, the queue included) and ModelLatency, as GetMetricStatistics returns their datapoints
over the configuration's window, checked against the requests the client saw answered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from endpointlab.results.run_result import AsyncSplit, ConfigurationResult, ServerTimes

QUEUE, TOTAL, MODEL = "TimeInBacklog", "TotalProcessingTime", "ModelLatency"
METRICS = (QUEUE, TOTAL, MODEL)
PERCENTILES = ("p50", "p90", "p99")
# Each datapoint carries its unit (the docs give TimeInBacklog in microseconds in one table and
# milliseconds in another), so figures are converted by it.
TO_MS = {"Microseconds": 1e-3, "Milliseconds": 1.0, "Seconds": 1e3}
Datapoint = Mapping[str, Any]


def _ms(point: Datapoint, value: Any) -> float | None:
    return None if value is None else float(value) * TO_MS[point["Unit"]]


def server_times(metric: str, datapoints: Sequence[Datapoint]) -> tuple[ServerTimes, list[str]]:
    """One metric's datapoints combined (sample counts add, means weigh by them, the maximum is
    the largest; percentiles only from a single datapoint), and what could not be used."""
    findings = []
    kept = []
    for point in datapoints:
        if point.get("Unit") in TO_MS:
            kept.append(point)
        else:
            findings.append(f"{metric}: a datapoint in unit {point.get('Unit')!r} left out")
    samples = sum(int(point.get("SampleCount") or 0) for point in kept)
    if samples == 0:
        return ServerTimes(metric=metric, periods=len(kept)), findings
    weighted = [
        (mean, int(point.get("SampleCount") or 0))
        for point in kept
        if (mean := _ms(point, point.get("Average"))) is not None
    ]
    counted = sum(n for _, n in weighted)
    maxima = [m for point in kept if (m := _ms(point, point.get("Maximum"))) is not None]
    percentiles: dict[str, float | None] = dict.fromkeys(PERCENTILES)
    if len(kept) == 1:
        extended = kept[0].get("ExtendedStatistics") or {}
        percentiles = {p: _ms(kept[0], extended.get(p)) for p in PERCENTILES}
    else:
        findings.append(
            f"{metric}: percentiles of {len(kept)} CloudWatch periods cannot be combined"
        )
    times = ServerTimes(
        metric=metric,
        samples=samples,
        mean=sum(mean * n for mean, n in weighted) / counted if counted else None,
        max=max(maxima, default=None),
        periods=len(kept),
        **percentiles,
    )
    return times, findings


def async_split(
    datapoints: Mapping[str, Sequence[Datapoint]], answered: int | None, lost: int = 0
) -> AsyncSplit:
    """The split from each metric's datapoints (keyed by metric name); ``answered``: requests
    whose answer the client found, ``lost``: requests it gave up on at its deadline."""
    queue, findings = server_times(QUEUE, datapoints.get(QUEUE, ()))
    total, more = server_times(TOTAL, datapoints.get(TOTAL, ()))
    findings += more
    model = None
    if datapoints.get(MODEL):
        model, more = server_times(MODEL, datapoints[MODEL])
        findings += more
    processing = None
    if queue.samples != total.samples:
        findings.append(
            f"{QUEUE} counts {queue.samples} requests and {TOTAL} {total.samples}: the "
            "processing time (their difference) is left out"
        )
    elif queue.mean is not None and total.mean is not None:
        processing = total.mean - queue.mean
    for times in (queue, total):
        if answered is not None and times.samples != answered:
            findings.append(_mismatch(times, answered, lost))
    return AsyncSplit(
        queue=queue,
        total=total,
        model=model,
        processing_mean=processing,
        answered=answered,
        findings=findings,
    )


def _mismatch(times: ServerTimes, answered: int, lost: int) -> str:
    text = f"{times.metric} has {times.samples} samples but the client found {answered} answers"
    if times.samples > answered and lost:
        return text + f" ({lost} lost to the caller's deadline may have finished after it)"
    if times.samples < answered:
        return text + " (CloudWatch may not have them all yet: on AWS a minute or more late)"
    return text


def _ms_text(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} ms" if value >= 100 else f"{value:.3g} ms"


def describe(split: AsyncSplit) -> str:
    """The split in one line (the server's figures, named as such)."""
    queue, total = split.queue, split.total

    def spread(times: ServerTimes) -> str:
        return "/".join(_ms_text(getattr(times, p)).removesuffix(" ms") for p in PERCENTILES)

    answered = "" if split.answered is None else f" for {split.answered} answered"
    return (
        f"server per request (CloudWatch): queue p50/p90/p99 {spread(queue)} ms, received to "
        f"finished {spread(total)} ms, processing mean {_ms_text(split.processing_mean)}; "
        f"{queue.samples} samples{answered}"
    )


def queueing_advice(config: ConfigurationResult) -> tuple[str, str] | None:
    """For the recommendation: the share of the requests' time spent queued (a reason) and what
    would shorten it (a change); None without the figures."""
    split = config.async_split
    if split is None or split.processing_mean is None or not split.total.mean:
        return None
    queued = split.queue.mean or 0.0
    share = queued / split.total.mean
    reason = (
        f"{config.name}'s requests spent {share:.0%} of their time queued: {_ms_text(queued)} "
        f"waiting and {_ms_text(split.processing_mean)} processing on average (the server's "
        f"per-request {QUEUE} and {TOTAL})"
    )
    if share >= 0.5:
        change = (
            f"queueing dominates {config.name}'s latency: more instances (a higher maximum or a "
            "lower backlog target) would shorten it, for more instance-hours"
        )
    else:
        change = (
            f"processing dominates {config.name}'s latency: more instances would barely "
            "shorten it; a faster instance type would"
        )
    return reason, change

"""Synthetic request records with known answers, for the analysis tests."""

from __future__ import annotations

from collections.abc import Mapping

from endpointlab.analysis.summary import summarise_phase
from endpointlab.results.records import RequestRecord
from endpointlab.results.run_result import ConfigurationResult, TimelinePoint

T0 = 1_700_000_000.0


def record(
    sent_at: float,
    latency_ms: float,
    *,
    error_code: str = "",
    throttled: bool = False,
    throttled_attempts: int = 0,
    attempts: int = 1,
    cold_start_ms: float | None = None,
    intended_at: float | None = None,
    number: int = 1,
) -> RequestRecord:
    """A request sent at ``sent_at`` (Unix s) that took ``latency_ms`` from its send."""
    intended = sent_at if intended_at is None else intended_at
    service_s = latency_ms / 1e3 - (sent_at - intended)
    return RequestRecord(
        execution_number=number,
        client_id=0,
        status_response=429 if throttled else (200 if not error_code else 500),
        body_response="" if not error_code else "failed",
        elapsed_time=service_s,
        current_date="",
        intended_at=intended,
        sent_at=sent_at,
        latency_ms=latency_ms,
        service_ms=service_s * 1e3,
        attempts=attempts,
        error_code=error_code,
        throttled=throttled,
        cold_start=True if cold_start_ms is not None else None,
        variant="AllTraffic",
        phase="main",
        request_bytes=10,
        response_bytes=20,
        throttled_attempts=throttled_attempts,
        cold_start_ms=cold_start_ms,
    )


def configuration(
    name: str,
    kind: str,
    settings: Mapping[str, object],
    latencies_ms: list[float] | None = None,
    *,
    model_latency_ms: list[float] | None = None,
    instances: list[float] | None = None,
    meets_objective: bool | None = None,
    throughput_per_s: float | None = None,
) -> ConfigurationResult:
    """A measured configuration whose total is made of successes with ``latencies_ms``."""
    values = latencies_ms if latencies_ms is not None else [100.0]
    records = [record(T0 + i * 0.1, ms) for i, ms in enumerate(values)]
    server = {"ModelLatency": model_latency_ms} if model_latency_ms is not None else None
    total = summarise_phase("total", records, server=server)
    if throughput_per_s is not None:
        total = total.model_copy(update={"throughput_per_s": throughput_per_s})
    points = [TimelinePoint(t=float(i), instances=n) for i, n in enumerate(instances or [])]
    return ConfigurationResult.model_validate(
        {
            "name": name,
            "kind": kind,
            "settings": dict(settings),
            "total": total,
            "phases": [total.model_copy(update={"name": "main"})],
            "timeline": points,
            "meets_objective": meets_objective,
        }
    )

"""Synthetic request records with known answers, for the analysis tests."""

from __future__ import annotations

from endpointlab.results.records import RequestRecord


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

"""One logical request as the load engine saw it, and the columns it is saved under.

The CSV keeps the classic false-clients columns first, in their order, then the engine's own;
Parquet holds every field (the CSV's plus ``throttled_attempts`` and ``cold_start_ms``); the
async fields come last in both.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

# The order the issue fixes: the false-clients columns, then the engine's.
CSV_COLUMNS = (
    "execution_number",
    "client_id",
    "status_response",
    "body_response",
    "elapsed_time",
    "current_date",
    "intended_at",
    "sent_at",
    "latency_ms",
    "service_ms",
    "attempts",
    "error_code",
    "throttled",
    "cold_start",
    "variant",
    "phase",
    "request_bytes",
    "response_bytes",
    "submit_ms",
    "output_ms",
    "async_outcome",
)


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One logical request (all its attempts).

    ``status_response`` is the HTTP status of the final attempt (0 when no response came);
    ``body_response`` the body on success, else the error message. ``intended_at`` and
    ``sent_at`` are Unix times in seconds; ``elapsed_time`` (s) and ``service_ms`` run from the
    actual first send, ``latency_ms`` from the intended send time. ``throttled`` says the
    request ended throttled; ``throttled_attempts`` counts its throttled attempts.
    ``cold_start`` is None when the endpoint does not say. An InvokeEndpointAsync request
    (``load --async``) also has ``submit_ms`` (the submit's latency), ``output_ms`` (from its
    acceptance to its answer found in S3: queue and processing) and ``async_outcome``
    (Completed, Failed, or DeadlineExceeded: no answer before the caller's deadline); they are
    None for other requests.
    """

    execution_number: int
    client_id: int
    status_response: int
    body_response: str
    elapsed_time: float
    current_date: str
    intended_at: float
    sent_at: float
    latency_ms: float
    service_ms: float
    attempts: int
    error_code: str
    throttled: bool
    cold_start: bool | None
    variant: str
    phase: str
    request_bytes: int
    response_bytes: int
    throttled_attempts: int = 0
    cold_start_ms: float | None = None
    submit_ms: float | None = None
    output_ms: float | None = None
    async_outcome: str | None = None

    @property
    def ok(self) -> bool:
        return self.error_code == ""


FIELD_NAMES = tuple(f.name for f in fields(RequestRecord))

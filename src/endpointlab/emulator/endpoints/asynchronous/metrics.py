"""The values of the async metrics (names and units: metrics/catalogue.py, facts §6.4).

Per endpoint (dimension EndpointName): the backlog (queued plus running), per instance (the
backlog itself at zero instances: UNCONFIRMED), the age of the oldest request and
HasBacklogWithoutCapacity, published by the dispatcher every tick even at zero instances. Per
variant: ModelLatency, Invocation4XX/5XXErrors and InvocationsProcesssed for each request an
instance ran; TimeInBacklog and TotalProcessingTime (ms) for each finished one; the failure
counters; download and upload latencies (µs). Invocations, InvocationsPerInstance and
OverheadLatency are not published for async endpoints, as on AWS.
"""

from __future__ import annotations

from endpointlab.emulator.endpoints.asynchronous.queue import Queued
from endpointlab.emulator.endpoints.base import InvocationOutcome
from endpointlab.emulator.metrics import SAGEMAKER_NAMESPACE, MetricsRecorder
from endpointlab.emulator.metrics import catalogue as names
from endpointlab.emulator.metrics.catalogue import endpoint_dimensions, variant_dimensions

_COUNTERS = {
    "download_failure": names.REQUEST_DOWNLOAD_FAILURES,
    "upload_failure": names.RESPONSE_UPLOAD_FAILURES,
    "notification_failure": names.NOTIFICATION_FAILURES,
    "expired": names.EXPIRED_REQUESTS,
    "invocation_failure": names.INVOCATION_FAILURES,
}


class AsyncMetrics:
    """Publishes the async metrics through the emulator's recorder (None: nowhere)."""

    def __init__(self, recorder: MetricsRecorder | None) -> None:
        self._recorder = recorder

    def _put(
        self, name: str, dimensions: tuple[tuple[str, str], ...], value: float, unit: str
    ) -> None:
        if self._recorder is not None:
            self._recorder.put(SAGEMAKER_NAMESPACE, name, dimensions, value, unit)

    def backlog(self, endpoint: str, backlog: int, instances: int, oldest_age_s: float) -> None:
        dimensions = endpoint_dimensions(endpoint)
        self._put(names.APPROXIMATE_BACKLOG_SIZE, dimensions, backlog, names.UNIT_COUNT)
        per_instance = backlog / instances if instances else float(backlog)
        self._put(
            names.APPROXIMATE_BACKLOG_SIZE_PER_INSTANCE, dimensions, per_instance, names.UNIT_COUNT
        )
        self._put(
            names.APPROXIMATE_AGE_OF_OLDEST_REQUEST, dimensions, oldest_age_s, names.UNIT_SECONDS
        )
        without = 1.0 if backlog > 0 and instances == 0 else 0.0
        self._put(names.HAS_BACKLOG_WITHOUT_CAPACITY, dimensions, without, names.UNIT_COUNT)

    def processed(
        self,
        endpoint: str,
        variant: str,
        queued: Queued,
        started: float,
        outcome: InvocationOutcome,
    ) -> None:
        """One request an instance ran (or tried to)."""
        dimensions = variant_dimensions(endpoint, variant)
        status = outcome.response.status if outcome.response is not None else 0
        self._put(names.INVOCATIONS_PROCESSED, dimensions, 1.0, names.UNIT_COUNT)
        self._put(
            names.MODEL_LATENCY, dimensions, outcome.model_latency_s * 1e6, names.UNIT_MICROSECONDS
        )
        client = 1.0 if 400 <= status < 500 else 0.0
        server = 1.0 if 500 <= status < 600 else 0.0
        self._put(names.INVOCATION_4XX_ERRORS, dimensions, client, names.UNIT_NONE)
        self._put(names.INVOCATION_5XX_ERRORS, dimensions, server, names.UNIT_NONE)
        waited_ms = max(0.0, started - queued.received) * 1e3
        self._put(names.TIME_IN_BACKLOG, dimensions, waited_ms, names.UNIT_MILLISECONDS)

    def finished(self, endpoint: str, variant: str, queued: Queued, finished: float) -> None:
        total_ms = max(0.0, finished - queued.received) * 1e3
        self._put(
            names.TOTAL_PROCESSING_TIME,
            variant_dimensions(endpoint, variant),
            total_ms,
            names.UNIT_MILLISECONDS,
        )

    def count(self, endpoint: str, variant: str, what: str) -> None:
        self._put(_COUNTERS[what], variant_dimensions(endpoint, variant), 1.0, names.UNIT_COUNT)

    def download(self, endpoint: str, variant: str, seconds: float) -> None:
        self._put(
            names.REQUEST_DOWNLOAD_LATENCY,
            variant_dimensions(endpoint, variant),
            seconds * 1e6,
            names.UNIT_MICROSECONDS,
        )

    def upload(self, endpoint: str, variant: str, seconds: float) -> None:
        self._put(
            names.RESPONSE_UPLOAD_LATENCY,
            variant_dimensions(endpoint, variant),
            seconds * 1e6,
            names.UNIT_MICROSECONDS,
        )

    def notified(self, endpoint: str, variant: str, status: str, delivered: bool) -> None:
        if self._recorder is None:
            return
        self._recorder.notifications[endpoint, variant, status] += 1
        if not delivered:
            self.count(endpoint, variant, "notification_failure")

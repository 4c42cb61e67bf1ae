"""The metrics SageMaker publishes to CloudWatch: namespaces, names, units and dimensions.

Names and units follow SageMaker's documentation (facts file §6): invocation metrics live in
``AWS/SageMaker`` with dimensions EndpointName and VariantName, utilisation in
``/aws/sagemaker/Endpoints``. ``MetricKey`` names one CloudWatch metric (dimensions sorted).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

SAGEMAKER_NAMESPACE = "AWS/SageMaker"
ENDPOINTS_NAMESPACE = "/aws/sagemaker/Endpoints"

INVOCATIONS = "Invocations"
INVOCATIONS_PER_INSTANCE = "InvocationsPerInstance"
INVOCATION_4XX_ERRORS = "Invocation4XXErrors"
INVOCATION_5XX_ERRORS = "Invocation5XXErrors"
INVOCATION_MODEL_ERRORS = "InvocationModelErrors"
MODEL_LATENCY = "ModelLatency"
OVERHEAD_LATENCY = "OverheadLatency"
MODEL_SETUP_TIME = "ModelSetupTime"
CPU_UTILIZATION = "CPUUtilization"
MEMORY_UTILIZATION = "MemoryUtilization"
DISK_UTILIZATION = "DiskUtilization"
# Serverless endpoints only (facts 6.3).
SERVERLESS_CONCURRENT_EXECUTIONS_UTILIZATION = "ServerlessConcurrentExecutionsUtilization"
SERVERLESS_PROVISIONED_CONCURRENCY_EXECUTIONS = "ServerlessProvisionedConcurrencyExecutions"
SERVERLESS_PROVISIONED_CONCURRENCY_UTILIZATION = "ServerlessProvisionedConcurrencyUtilization"
SERVERLESS_PROVISIONED_CONCURRENCY_INVOCATIONS = "ServerlessProvisionedConcurrencyInvocations"
SERVERLESS_PROVISIONED_CONCURRENCY_SPILLOVER_INVOCATIONS = (
    "ServerlessProvisionedConcurrencySpilloverInvocations"
)
# Asynchronous endpoints (facts 6.4): per endpoint (dimension EndpointName only)...
APPROXIMATE_BACKLOG_SIZE = "ApproximateBacklogSize"
APPROXIMATE_BACKLOG_SIZE_PER_INSTANCE = "ApproximateBacklogSizePerInstance"
APPROXIMATE_AGE_OF_OLDEST_REQUEST = "ApproximateAgeOfOldestRequest"
HAS_BACKLOG_WITHOUT_CAPACITY = "HasBacklogWithoutCapacity"
# Levels rather than counts or durations: Prometheus shows their latest value (a gauge).
LEVELS = frozenset(
    {
        APPROXIMATE_BACKLOG_SIZE,
        APPROXIMATE_BACKLOG_SIZE_PER_INSTANCE,
        APPROXIMATE_AGE_OF_OLDEST_REQUEST,
        HAS_BACKLOG_WITHOUT_CAPACITY,
    }
)
# ... and per variant. "InvocationsProcesssed" is spelled as SageMaker's documentation spells it
# (UNCONFIRMED that CloudWatch does too).
REQUEST_DOWNLOAD_FAILURES = "RequestDownloadFailures"
RESPONSE_UPLOAD_FAILURES = "ResponseUploadFailures"
NOTIFICATION_FAILURES = "NotificationFailures"
EXPIRED_REQUESTS = "ExpiredRequests"
INVOCATION_FAILURES = "InvocationFailures"
INVOCATIONS_PROCESSED = "InvocationsProcesssed"
REQUEST_DOWNLOAD_LATENCY = "RequestDownloadLatency"
RESPONSE_UPLOAD_LATENCY = "ResponseUploadLatency"
TIME_IN_BACKLOG = "TimeInBacklog"
TOTAL_PROCESSING_TIME = "TotalProcessingTime"

# The emulator's own metrics, in a namespace of their own (AWS publishes no such metric): the
# modelled provisioning delay a cold start waited (``serve --provisioning``), kept apart from
# ModelSetupTime, which stays the measured start and model load.
EMULATOR_NAMESPACE = "Endpointlab"
PROVISIONING_DELAY = "ProvisioningDelay"

UNIT_NONE = "None"
UNIT_COUNT = "Count"
UNIT_MICROSECONDS = "Microseconds"
UNIT_PERCENT = "Percent"
UNIT_SECONDS = "Seconds"
UNIT_MILLISECONDS = "Milliseconds"

# Seconds per unit of the CloudWatch time units (for Prometheus, which wants base units).
SECONDS_PER_UNIT = {"Seconds": 1.0, "Milliseconds": 1e-3, "Microseconds": 1e-6}


class Outcome(StrEnum):
    """How one InvokeEndpoint ended, as the error metrics classify it."""

    OK = "ok"
    CLIENT_ERROR = "4xx"  # the container answered 4xx
    SERVER_ERROR = "5xx"  # the container answered 5xx
    MODEL_ERROR = "model_error"  # no valid answer: a dead worker, a broken connection
    TIMEOUT = "timeout"  # the container overran the invocation timeout

    @classmethod
    def of_status(cls, status: int) -> Outcome:
        """The outcome of a container reply with HTTP ``status``."""
        if 200 <= status < 300:
            return cls.OK
        if 400 <= status < 500:
            return cls.CLIENT_ERROR
        if 500 <= status < 600:
            return cls.SERVER_ERROR
        return cls.MODEL_ERROR


@dataclass(frozen=True, slots=True)
class MetricKey:
    """One CloudWatch metric: namespace, name and its dimensions sorted by name."""

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(
        cls,
        namespace: str,
        name: str,
        dimensions: Mapping[str, str] | Iterable[tuple[str, str]] = (),
    ) -> MetricKey:
        pairs = dimensions.items() if isinstance(dimensions, Mapping) else dimensions
        return cls(namespace, name, tuple(sorted((str(k), str(v)) for k, v in pairs)))


def endpoint_dimensions(endpoint: str) -> tuple[tuple[str, str], ...]:
    """The dimensions of SageMaker's per-endpoint metrics (the async backlog)."""
    return (("EndpointName", endpoint),)


def variant_dimensions(endpoint: str, variant: str) -> tuple[tuple[str, str], ...]:
    """SageMaker's per-variant dimensions, sorted as ``MetricKey`` keeps them."""
    return (("EndpointName", endpoint), ("VariantName", variant))


_UPPER_RUN = re.compile(r"([A-Z]+)([A-Z][a-z])")
_LOWER_UPPER = re.compile(r"([a-z])([A-Z0-9])")
_NOT_NAME = re.compile(r"[^a-zA-Z0-9_]+")


def snake_case(name: str) -> str:
    """``Invocation4XXErrors`` -> ``invocation_4xx_errors``; ``CPUUtilization`` -> ``cpu_...``."""
    text = _LOWER_UPPER.sub(r"\1_\2", _UPPER_RUN.sub(r"\1_\2", name))
    return _NOT_NAME.sub("_", text).strip("_").lower()

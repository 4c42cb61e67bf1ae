"""The interface every endpoint kind implements, and what an invocation reports back.

An endpoint kind (``EndpointKind``: real-time instances, serverless capacity...) says which
variants it claims, its limits and how to build a running variant, a ``VariantRuntime``; the
table of kinds is ``endpoints.kinds``. The control plane, the runtime service and monitoring
only see these two interfaces, never a concrete kind.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from endpointlab.config import EmulatorSettings
from endpointlab.emulator import sagemaker_errors as errors
from endpointlab.emulator.errors import ServiceError
from endpointlab.emulator.metrics import InstanceProcesses, MetricsRecorder
from endpointlab.emulator.objects.model import ObjectStore
from endpointlab.emulator.records import Variant, VariantState
from endpointlab.emulator.workers.host import WorkerHost, WorkerStartError
from endpointlab.emulator.workers.memory_limit import MemoryLimits
from endpointlab.models.contract import InvocationRequest, InvocationResponse

# FailureReason of an endpoint whose model cannot load (model_fn raises, the handler module does
# not import, loading times out), word for word as users report it from AWS (facts §10); the
# exception itself goes only to the variant's log.
HEALTH_CHECK_FAILED = (
    "The primary container for production variant {variant} did not pass the ping health "
    "check. Please check CloudWatch logs for this endpoint."
)


class OutOfMemoryError(WorkerStartError):
    """An instance the kernel stopped at its memory limit while it loaded the model. Its message
    stays in FailureReason after AWS's sentence: AWS's serverless benchmarking toolkit looks for
    "insufficient memory" there."""


def failure_reason(variant: str, error: BaseException | str) -> str:
    """An endpoint's FailureReason when ``variant`` could not start because of ``error``."""
    reason = HEALTH_CHECK_FAILED.format(variant=variant)
    return f"{reason} {error}" if isinstance(error, str | OutOfMemoryError) else reason


# A variant's log file, <endpoint's log directory>/<variant>/primary.log: the stand-in for the
# log stream ``<variant>/primary`` of log group ``/aws/sagemaker/Endpoints/<endpoint>`` (AWS
# names a stream after the variant and the instance; here one file holds a variant's instances).
LOG_STREAM = "primary"
LOG_STREAM_FILE = f"{LOG_STREAM}.log"


class DeploymentError(Exception):
    """A variant could not be brought into service; the message becomes FailureReason."""


@dataclass(frozen=True)
class ModelPackage:
    """What a variant runs: the unpacked model directory, the container environment, the
    endpoint's log directory (None: no log), the endpoint's name and ``endpoint_id``, which
    stays the same across restarts and updates but not when the name is reused after a
    delete."""

    model_name: str
    model_dir: Path
    environment: Mapping[str, str] = field(default_factory=dict)
    log_dir: Path | None = None
    endpoint: str = ""
    endpoint_id: str = ""

    def log_path(self, variant: str) -> str:
        """The variant's log file ("" when there is no log directory)."""
        if self.log_dir is None:
            return ""
        return str(self.log_dir / variant / LOG_STREAM_FILE)


class ThrottledError(Exception):
    """The variant refused a request at once: it already serves as many concurrent requests
    as it may (a serverless variant's MaxConcurrency). Excess requests are not queued."""

    def __init__(self, variant: str, in_flight: int) -> None:
        super().__init__(f"{variant}: {in_flight} requests in flight")
        self.variant = variant


@dataclass(frozen=True)
class ServerlessExecution:
    """How a request ran on serverless capacity: the variant's concurrent executions when it
    started (itself included), how many of them ran on provisioned instances, and whether it
    got one (None when the variant has no ProvisionedConcurrency)."""

    executions: int
    provisioned_executions: int
    on_provisioned: bool | None


@dataclass(frozen=True)
class InvocationOutcome:
    """The container's answer plus the measured timings the metrics and errors need.

    ``response`` is None when the container gave no answer (timeout or a worker that died);
    ``failure`` then says which. ``cold_start_s`` is set when the request waited for a new
    instance to start (ModelSetupTime); ``serverless`` when it ran on serverless capacity.
    """

    response: InvocationResponse | None
    model_latency_s: float
    failure: str | None = None
    timed_out: bool = False
    cold_start_s: float | None = None
    serverless: ServerlessExecution | None = None


# One metric a kind publishes for a request: (name from metrics.catalogue, value, unit).
KindMetric = tuple[str, float, str]


class VariantRuntime(Protocol):
    """One production variant's capacity: start, stop, invoke, scale_to, and what the control
    plane and monitoring read from it."""

    name: str
    kind: str  # the ``EndpointKind.name`` of the kind that built it

    @property
    def instance_count(self) -> int: ...

    async def start(self) -> None:
        """Bring the initial capacity up; raise DeploymentError if the model cannot serve."""

    async def stop(self) -> None:
        """Stop every process of the variant; in-flight requests finish or fail."""

    async def invoke(self, request: InvocationRequest) -> InvocationOutcome:
        """Serve one request on this variant's capacity."""

    async def scale_to(self, instances: int) -> None:
        """Change the number of instances (real-time) or warm capacity."""

    async def apply(self, state: VariantState) -> None:
        """Apply the capacity UpdateEndpointWeightsAndCapacities asked for in ``state``."""

    def live(self, state: VariantState) -> VariantState:
        """``state`` with the kind's configuration as the variant now runs it."""

    def processes(self, endpoint: str) -> list[InstanceProcesses]:
        """Its running instances with their memory and worker pids, for the sampler."""

    def request_metrics(self, outcome: InvocationOutcome) -> list[KindMetric]:
        """The kind's own metrics for one request, beyond the invocation metrics."""


@dataclass(frozen=True)
class AsyncInvocation:
    """One InvokeEndpointAsync as the client sent it (members by their snake_case names)."""

    input_location: str | None
    body: bytes | None
    inference_id: str | None = None
    content_type: str | None = None
    accept: str | None = None
    custom_attributes: str | None = None
    output_path_extension: str | None = None
    filename: str | None = None
    ttl_s: int | None = None
    invocation_timeout_s: int | None = None


@dataclass(frozen=True)
class AsyncAccepted:
    """What InvokeEndpointAsync answers once a request is durably queued."""

    inference_id: str
    output_location: str
    failure_location: str | None


@runtime_checkable
class QueuedRuntime(VariantRuntime, Protocol):
    """A variant that takes requests into a queue and answers later (InvokeEndpointAsync)."""

    async def submit(self, invocation: AsyncInvocation) -> AsyncAccepted:
        """Queue one request durably; raise the runtime's ServiceError if it is refused."""


@dataclass(frozen=True)
class KindContext:
    """What every kind may use to build its variants: the settings, the shared processes, the
    object store (S3 inputs and outputs) and the metrics recorder."""

    settings: EmulatorSettings
    host: WorkerHost
    memory_limits: MemoryLimits
    objects: ObjectStore | None = None
    metrics: MetricsRecorder | None = None


class EndpointKind(ABC):
    """One endpoint kind: which variants it runs, its limits, and its factory."""

    name: ClassVar[str]
    label: ClassVar[str]  # in messages: "real-time endpoints"
    max_payload_bytes: ClassVar[int]  # request and response bodies
    instance_metrics: ClassVar[bool]  # InvocationsPerInstance and InvocationModelErrors
    operation: ClassVar[str] = "InvokeEndpoint"  # the runtime operation its endpoints answer

    def __init__(self, context: KindContext) -> None:
        self.context = context

    @staticmethod
    @abstractmethod
    def claims(variant: Variant | VariantState) -> bool:
        """Whether a variant (of a config, or as it runs) is of this kind."""

    @staticmethod
    @abstractmethod
    def oversize_request(size: int) -> ServiceError:
        """The error for a request body over ``max_payload_bytes``."""

    @staticmethod
    @abstractmethod
    def describe(state: VariantState) -> dict[str, Any]:
        """The members the kind adds to a variant of DescribeEndpoint's ProductionVariants."""

    @abstractmethod
    def build(self, variant: Variant, package: ModelPackage) -> VariantRuntime:
        """A runtime for ``variant`` running ``package`` (not started)."""

    @staticmethod
    def wrong_operation(endpoint: str, operation: str) -> ServiceError:
        """The error for ``operation`` (not ``operation`` above) on one of its endpoints."""
        return errors.NOT_ASYNC_ENDPOINT(endpoint=endpoint, operation=operation)

    def close(self) -> None:  # noqa: B027 (most kinds own nothing beyond their variants)
        """Release what the kind holds beyond its variants (after they stopped)."""

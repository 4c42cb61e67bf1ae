"""The interface every endpoint kind implements, and what an invocation reports back.

An endpoint kind (``EndpointKind``: real-time instances, serverless capacity...) says which
variants it claims, validates its part of the requests, states its limits and account quotas
and builds a running variant, a ``VariantRuntime``; the table of kinds is ``endpoints.kinds``.
The control plane, the runtime service and monitoring only see these two interfaces, never a
concrete kind. The request rules' defaults are those of a kind that runs instances.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from endpointlab.config import EmulatorSettings
from endpointlab.emulator import sagemaker_errors as errors
from endpointlab.emulator.endpoints import instance_rules
from endpointlab.emulator.errors import ServiceError
from endpointlab.emulator.metrics import InstanceProcesses, MetricsRecorder
from endpointlab.emulator.objects.model import ObjectStore
from endpointlab.emulator.provisioning import Provisioning
from endpointlab.emulator.records import (
    Endpoint,
    EndpointConfig,
    Model,
    Variant,
    VariantState,
)
from endpointlab.emulator.workers.fork.host import WorkerHost, WorkerStartError
from endpointlab.emulator.workers.fork.memory_limit import MemoryLimits
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
    endpoint's log directory (None: no log) and the endpoint's name."""

    model_name: str
    model_dir: Path
    environment: Mapping[str, str] = field(default_factory=dict)
    log_dir: Path | None = None
    endpoint: str = ""

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
    instance to start (the measured start and model load: ModelSetupTime), ``provisioning_s``
    when it also waited a modelled provisioning delay (``serve --provisioning``), kept apart;
    ``serverless`` when it ran on serverless capacity.
    """

    response: InvocationResponse | None
    model_latency_s: float
    failure: str | None = None
    timed_out: bool = False
    cold_start_s: float | None = None
    serverless: ServerlessExecution | None = None
    provisioning_s: float | None = None


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
class AccountQuota:
    """An account-level quota a kind's endpoints count against: its name as AWS words it in
    ResourceLimitExceeded, its limit and unit. An endpoint claims an amount of it (``claims``)."""

    name: str
    limit: int
    unit: str


# What one variant claims of the account's quotas: quota name -> amount.
QuotaClaims = Mapping[str, int]


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
    provisioning-time model (every kind's modelled delays come from one, seeded once), the object
    store (S3 inputs and outputs) and the metrics recorder."""

    settings: EmulatorSettings
    host: WorkerHost
    memory_limits: MemoryLimits
    provisioning: Provisioning = field(default_factory=Provisioning)
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

    # Application Auto Scaling: the ScalableDimension of the kind's variants, the least
    # MinCapacity a target may have, what the capacity is called in scaling activities, and
    # how it reads and changes (an UpdateEndpointWeightsAndCapacities entry: the same path).
    # The defaults are instance-based variants', which cannot scale to zero (facts §4.1).
    scalable_dimension: ClassVar[str] = "sagemaker:variant:DesiredInstanceCount"
    min_capacity: ClassVar[int] = 1
    capacity_noun: ClassVar[str] = "instance count"

    @staticmethod
    def capacity(state: VariantState) -> int:
        """The variant's capacity as its scalable target counts it (desired, not current)."""
        return state.desired_instance_count

    @staticmethod
    def capacity_update(state: VariantState, capacity: int) -> dict[str, Any]:
        """The DesiredWeightsAndCapacities entry that sets the variant's capacity."""
        return {"VariantName": state.name, "DesiredInstanceCount": capacity}

    @staticmethod
    def wrong_operation(endpoint: str, operation: str) -> ServiceError:
        """The error for ``operation`` (not ``operation`` above) on one of its endpoints."""
        return errors.NOT_ASYNC_ENDPOINT(endpoint=endpoint, operation=operation)

    def close(self) -> None:  # noqa: B027 (most kinds own nothing beyond their variants)
        """Release what the kind holds beyond its variants (after they stopped)."""

    # The control plane's questions. Defaults: a kind that runs instances (InstanceType,
    # InitialInstanceCount, DesiredInstanceCount) and counts against no account quota.

    @staticmethod
    def requested(variant: Mapping[str, Any], config: Mapping[str, Any]) -> bool:
        """Whether a ProductionVariant of a CreateEndpointConfig request (``config``) asks for
        this kind (the default kind takes what no other asks for)."""
        return False

    @staticmethod
    def variant_from_request(
        params: Mapping[str, Any], model: Model, config: Mapping[str, Any]
    ) -> Variant:
        """The variant a ProductionVariant of this kind describes (its ``model`` exists) in the
        CreateEndpointConfig request ``config``, refused as SageMaker refuses it."""
        return instance_rules.variant_from_request(params)

    @staticmethod  # noqa: B027 (instance-based kinds refuse nothing more)
    def check_config(variants: Sequence[Variant], params: Mapping[str, Any]) -> None:
        """Refuse a CreateEndpointConfig request (``params``) with a variant of this kind among
        ``variants`` if SageMaker refuses it (the variants are valid one by one)."""

    @classmethod  # noqa: B027 (instance-based kinds refuse nothing more)
    def check_update(cls, endpoint: Endpoint, config: EndpointConfig) -> None:
        """Refuse UpdateEndpoint moving ``endpoint`` to ``config``, which has a variant of this
        kind, if SageMaker refuses it."""

    @staticmethod
    def desired(state: VariantState, item: Mapping[str, Any]) -> VariantState:
        """``state`` with the capacity one DesiredVariantsConfig item of
        UpdateEndpointWeightsAndCapacities asks for (its DesiredWeight is applied already)."""
        return instance_rules.desired(state, item)

    @staticmethod
    def retained(variant: Variant, state: VariantState, properties: frozenset[str]) -> Variant:
        """``variant`` of a new deployment keeping the live ``properties`` (DesiredWeight is
        the control plane's; DesiredInstanceCount, ServerlessConfig) of ``state``."""
        if "DesiredInstanceCount" not in properties:
            return variant
        count = state.desired_instance_count or variant.initial_instance_count
        return replace(variant, initial_instance_count=count)

    @staticmethod
    def claims_on_quotas(variant: Variant | VariantState) -> QuotaClaims:
        """What a variant of a config, or as it runs (with the capacity an update in progress
        is bringing), claims of the account's quotas."""
        return {}

    @staticmethod
    def update_claims(state: VariantState) -> QuotaClaims:
        """What the capacity update in progress on ``state`` claims (nothing when none is)."""
        return {}

    def quotas(self) -> Sequence[AccountQuota]:
        """The account quotas this kind's endpoints count against, in the order checked."""
        return ()

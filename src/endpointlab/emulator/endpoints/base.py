"""The interface every endpoint kind implements, and what an invocation reports back.

A production variant runs as one ``VariantRuntime`` (real-time instances, serverless capacity,
or an asynchronous queue), picked by ``endpoints.fleet.build_variant`` from its config. The
runtime service only sees this interface.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from endpointlab.emulator.workers.host import WorkerStartError
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
    """What a variant runs: the unpacked model directory, the container environment, and the
    endpoint's log directory (None: no log)."""

    model_name: str
    model_dir: Path
    environment: Mapping[str, str] = field(default_factory=dict)
    log_dir: Path | None = None

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


class VariantRuntime(Protocol):
    """One production variant's capacity: start, stop, invoke, scale_to."""

    name: str

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

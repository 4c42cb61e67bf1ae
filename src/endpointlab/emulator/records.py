"""SageMaker hosting resources as small typed records: Model, EndpointConfig, Endpoint.

Fields are snake_case; enum values are the AWS strings. Each record also keeps ``spec``, the
validated create request exactly as the client sent it, because Describe* echoes every optional
member back and the emulator should not lose one it does not interpret.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

ACCOUNT_ID = "123456789012"


class EndpointStatus(StrEnum):
    OUT_OF_SERVICE = "OutOfService"
    CREATING = "Creating"
    UPDATING = "Updating"
    SYSTEM_UPDATING = "SystemUpdating"
    ROLLING_BACK = "RollingBack"
    IN_SERVICE = "InService"
    DELETING = "Deleting"
    FAILED = "Failed"
    UPDATE_ROLLBACK_FAILED = "UpdateRollbackFailed"


class ResourceKind(StrEnum):
    """The ARN resource type of each record, also its name in messages and storage."""

    MODEL = "model"
    ENDPOINT_CONFIG = "endpoint-config"
    ENDPOINT = "endpoint"

    @property
    def label(self) -> str:
        return {"model": "model", "endpoint-config": "endpoint configuration"}.get(
            self.value, self.value
        )


def arn(region: str, kind: ResourceKind, name: str) -> str:
    # AWS lower-cases the resource name in hosting ARNs (DEMO-x -> endpoint/demo-x).
    return f"arn:aws:sagemaker:{region}:{ACCOUNT_ID}:{kind.value}/{name.lower()}"


@dataclass(frozen=True)
class Container:
    """One ContainerDefinition: the image is recorded, the artifact and environment are used."""

    image: str | None
    model_data_url: str | None
    environment: Mapping[str, str] = field(default_factory=dict)
    hostname: str | None = None


@dataclass(frozen=True)
class Model:
    name: str
    arn: str
    containers: tuple[Container, ...]
    creation_time: datetime
    spec: Mapping[str, Any]

    @property
    def primary(self) -> Container:
        return self.containers[0]


# SageMaker's memory sizes (MemorySizeInMB); the service model only says 1024-6144.
MEMORY_SIZES_MB = (1024, 2048, 3072, 4096, 5120, 6144)


@dataclass(frozen=True)
class ServerlessConfig:
    memory_size_mb: int
    max_concurrency: int
    provisioned_concurrency: int | None = None


@dataclass(frozen=True)
class AsyncConfig:
    """An endpoint config's AsyncInferenceConfig, as its async variants run it. The output
    paths are S3 URLs; ``include_response_in`` holds SUCCESS_NOTIFICATION_TOPIC and/or
    ERROR_NOTIFICATION_TOPIC; ``max_concurrent`` is None when the client left it to the service."""

    output_path: str | None
    failure_path: str | None = None
    max_concurrent: int | None = None
    success_topic: str | None = None
    error_topic: str | None = None
    include_response_in: tuple[str, ...] = ()
    kms_key_id: str | None = None


@dataclass(frozen=True)
class Variant:
    """A production variant of an endpoint config: what to run, on what, with how much traffic."""

    name: str
    model_name: str
    initial_weight: float = 1.0
    instance_type: str | None = None
    initial_instance_count: int | None = None
    serverless: ServerlessConfig | None = None
    asynchronous: AsyncConfig | None = None

    @property
    def is_serverless(self) -> bool:
        return self.serverless is not None


@dataclass(frozen=True)
class EndpointConfig:
    name: str
    arn: str
    variants: tuple[Variant, ...]
    creation_time: datetime
    spec: Mapping[str, Any]
    asynchronous: bool = False


@dataclass(frozen=True)
class VariantState:
    """The live shape of one variant of an endpoint: weights and instance counts, or for a
    serverless variant its current concurrency (``serverless``) and the one an update in
    progress is bringing (``desired_serverless``; None when none is)."""

    name: str
    current_weight: float
    desired_weight: float
    current_instance_count: int
    desired_instance_count: int
    serverless: ServerlessConfig | None = None
    desired_serverless: ServerlessConfig | None = None
    asynchronous: bool = False  # the variant of a config with an AsyncInferenceConfig


@dataclass(frozen=True)
class Deployed:
    """What an endpoint's serving fleet was built from, kept with the endpoint: its config and
    models may be deleted (or replaced under the same names) while it keeps serving."""

    config: EndpointConfig
    models: tuple[Model, ...]


@dataclass(frozen=True)
class Endpoint:
    name: str
    arn: str
    config_name: str
    status: EndpointStatus
    creation_time: datetime
    last_modified_time: datetime
    variants: tuple[VariantState, ...] = ()
    failure_reason: str | None = None
    pending_config_name: str | None = None
    pending_since: datetime | None = None
    spec: Mapping[str, Any] = field(default_factory=dict)
    deployed: Deployed | None = None

    def with_status(self, status: EndpointStatus, now: datetime, **changes: Any) -> Endpoint:
        return replace(self, status=status, last_modified_time=now, **changes)


def variant_states(config: EndpointConfig) -> tuple[VariantState, ...]:
    """The initial live state of every variant of ``config``, before any instance runs."""
    return tuple(
        VariantState(
            name=variant.name,
            current_weight=variant.initial_weight,
            desired_weight=variant.initial_weight,
            current_instance_count=0,
            desired_instance_count=variant.initial_instance_count or 0,
            serverless=variant.serverless,
            asynchronous=variant.asynchronous is not None,
        )
        for variant in config.variants
    )

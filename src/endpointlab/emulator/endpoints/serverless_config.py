"""What the control plane checks of serverless variants: a ServerlessConfig at creation (memory
sizes, ProvisionedConcurrency <= MaxConcurrency, no instance settings, a model serverless can
run), the config around it, UpdateEndpoint and ServerlessUpdateConfig; the account's quotas.
``ServerlessKind`` answers with these; pure functions of the requests and records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from endpointlab.config import ServerlessOptions
from endpointlab.emulator import sagemaker_errors as errors
from endpointlab.emulator.endpoints.base import AccountQuota, QuotaClaims
from endpointlab.emulator.errors import ServiceError
from endpointlab.emulator.records import (
    MEMORY_SIZES_MB,
    Endpoint,
    EndpointConfig,
    Model,
    ServerlessConfig,
    Variant,
    VariantState,
)

# ProductionVariant members that describe instances, which a serverless variant has none of.
_INSTANCE_MEMBERS = (
    "InstanceType",
    "InitialInstanceCount",
    "InstancePools",
    "AcceleratorType",
    "VolumeSizeInGB",
    "ManagedInstanceScaling",
    "RoutingConfig",
    "CapacityReservationConfig",
    "ContainerStartupHealthCheckTimeoutInSeconds",
    "ModelDataDownloadTimeoutInSeconds",
    "VariantInstanceProvisionTimeoutInSeconds",
)
# What SageMaker's serverless inference does not support (developer guide), by request member.
_NOT_SERVERLESS = ("DataCaptureConfig", "AsyncInferenceConfig", "ShadowProductionVariants")

ENDPOINTS_QUOTA = "Maximum number of serverless endpoints"
CONCURRENCY_QUOTA = (
    "Maximum total concurrency that can be allocated across all serverless endpoints"
)


def _invalid(message: str) -> ServiceError:
    return errors.VALIDATION(message=message)


def variant_from_request(params: Mapping[str, Any], model: Model) -> Variant:
    """A serverless variant, refused where SageMaker refuses it."""
    name = params["VariantName"]
    if params.get("InstanceType") is not None or params.get("InitialInstanceCount") is not None:
        raise _invalid(
            f"Production variant {name} cannot specify both ServerlessConfig and "
            "InstanceType/InitialInstanceCount."
        )
    extra = [member for member in _INSTANCE_MEMBERS if params.get(member) is not None]
    if extra:
        raise _invalid(
            f"Production variant {name} has a ServerlessConfig and cannot specify "
            f"{', '.join(extra)}."
        )
    config = params["ServerlessConfig"]
    memory = config["MemorySizeInMB"]
    if memory not in MEMORY_SIZES_MB:
        sizes = ", ".join(str(size) for size in MEMORY_SIZES_MB)
        raise _invalid(
            f"Invalid MemorySizeInMB {memory} for production variant {name}. Valid values are "
            f"in 1 GB increments: {sizes}."
        )
    maximum = config["MaxConcurrency"]
    provisioned = config.get("ProvisionedConcurrency")
    _check_provisioned(name, provisioned, maximum)
    unsupported = _unsupported_model_features(model)
    if unsupported:
        raise _invalid(
            f"Model {model.name} uses {unsupported}, which serverless endpoints do not support."
        )
    return Variant(
        name=name,
        model_name=params["ModelName"],
        initial_weight=float(params.get("InitialVariantWeight", 1.0)),
        serverless=ServerlessConfig(memory, maximum, provisioned),
    )


def _check_provisioned(name: str, provisioned: int | None, maximum: int) -> None:
    if provisioned is not None and provisioned > maximum:
        raise _invalid(
            f"ProvisionedConcurrency {provisioned} of production variant {name} must be less "
            f"than or equal to its MaxConcurrency {maximum}."
        )


def _unsupported_model_features(model: Model) -> str | None:
    """What the model has that serverless inference does not run (developer guide)."""
    if len(model.containers) > 1:
        return "an inference pipeline (several containers)"
    primary = model.spec.get("PrimaryContainer") or (model.spec.get("Containers") or [{}])[0]
    if primary.get("Mode") == "MultiModel":
        return "a multi-model container"
    if model.spec.get("VpcConfig"):
        return "a VpcConfig"
    if model.spec.get("EnableNetworkIsolation"):
        return "network isolation"
    return None


def check_config(variants: Sequence[Variant], params: Mapping[str, Any]) -> None:
    """A serverless endpoint config has exactly one variant and none of ``_NOT_SERVERLESS``."""
    if len(variants) > 1:
        raise _invalid("Serverless endpoint configurations support exactly one production variant.")
    for member in _NOT_SERVERLESS:
        if params.get(member):
            raise _invalid(f"{member} is not supported for serverless endpoint configurations.")


def check_update(endpoint: Endpoint, config: EndpointConfig, running_serverless: bool) -> None:
    """The developer guide: an instance-based endpoint cannot become serverless ("you receive a
    ValidationError"); the wording here is UNCONFIRMED."""
    if endpoint.variants and not running_serverless:
        raise _invalid(
            f'Cannot update endpoint "{endpoint.arn}" to serverless endpoint configuration '
            f'"{config.arn}": an endpoint with instances cannot be converted to a '
            "serverless endpoint."
        )


def desired(state: VariantState, item: Mapping[str, Any]) -> VariantState:
    """A serverless variant's ServerlessUpdateConfig; DesiredInstanceCount is refused."""
    # The wording of these refusals is UNCONFIRMED: no capture of SageMaker's messages for them
    # was found; the error codes are what the API reference documents.
    name = state.name
    if "DesiredInstanceCount" in item:
        raise _invalid(
            f"DesiredInstanceCount is not supported for serverless production variant {name}. "
            f"Use ServerlessUpdateConfig to change its concurrency."
        )
    update = item.get("ServerlessUpdateConfig")
    if update is None:
        return state
    if "MaxConcurrency" not in update and "ProvisionedConcurrency" not in update:
        raise _invalid(
            f"ServerlessUpdateConfig of production variant {name} must specify MaxConcurrency, "
            f"ProvisionedConcurrency or both."
        )
    assert state.serverless is not None  # a serverless variant runs with its config
    return replace(state, desired_serverless=updated(name, state.serverless, update))


def updated(name: str, current: ServerlessConfig, update: Mapping[str, Any]) -> ServerlessConfig:
    """Variant ``name``'s ``current`` config with the members of a ServerlessUpdateConfig;
    MemorySizeInMB never changes this way (it takes a new endpoint config)."""
    maximum = int(update.get("MaxConcurrency", current.max_concurrency))
    provisioned = update.get("ProvisionedConcurrency", current.provisioned_concurrency)
    _check_provisioned(name, provisioned, maximum)
    return replace(current, max_concurrency=maximum, provisioned_concurrency=provisioned)


def retained(variant: Variant, state: VariantState, properties: frozenset[str]) -> Variant:
    """A new deployment keeps the concurrency the variant runs with (after a restart)."""
    if "ServerlessConfig" in properties:
        return replace(variant, serverless=state.serverless)
    return variant


def quotas(options: ServerlessOptions) -> tuple[AccountQuota, ...]:
    """The account's serverless quotas (checked in this order), with their configured limits."""
    return (
        AccountQuota(ENDPOINTS_QUOTA, options.max_endpoints, "Endpoints"),
        AccountQuota(CONCURRENCY_QUOTA, options.max_total_concurrency, "Concurrency"),
    )


def claims(config: ServerlessConfig | None) -> QuotaClaims:
    """What an endpoint whose variant runs ``config`` claims: itself and its MaxConcurrency."""
    if config is None:
        return {}
    return {ENDPOINTS_QUOTA: 1, CONCURRENCY_QUOTA: config.max_concurrency}

"""Turn validated CreateModel / CreateEndpointConfig requests into records, with SageMaker's
semantic checks that no service-model constraint expresses (one variant kind per variant,
unique variant names, models that exist, model data that can be read, what serverless variants
may be: their memory sizes, ProvisionedConcurrency <= MaxConcurrency, no instance settings)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from endpointlab.catalogue import instance_type
from endpointlab.emulator.control.registry import Registry, validation_error
from endpointlab.emulator.records import (
    MEMORY_SIZES_MB,
    AsyncConfig,
    Container,
    EndpointConfig,
    Model,
    ResourceKind,
    ServerlessConfig,
    Variant,
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

# Members the client sends that Describe* never returns.
_NOT_ECHOED = ("Tags",)


def _echo(params: Mapping[str, Any], *names: str) -> dict[str, Any]:
    skipped = set(_NOT_ECHOED) | set(names)
    return {key: value for key, value in params.items() if key not in skipped}


def model_from_request(
    params: Mapping[str, Any],
    registry: Registry,
    now: datetime,
    check_model_data: Callable[[str], None],
) -> Model:
    """A Model from CreateModel's parameters; ``check_model_data`` refuses unreadable URLs."""
    name = params["ModelName"]
    definitions: list[Mapping[str, Any]]
    if "PrimaryContainer" in params and "Containers" in params:
        raise validation_error("Specify either PrimaryContainer or Containers, not both.")
    if "PrimaryContainer" in params:
        definitions = [params["PrimaryContainer"]]
    elif params.get("Containers"):
        definitions = list(params["Containers"])
    else:
        raise validation_error(
            "Either PrimaryContainer or Containers must be specified for model "
            f'"{registry.arn(ResourceKind.MODEL, name)}".'
        )
    containers = []
    for definition in definitions:
        url = definition.get("ModelDataUrl")
        source = definition.get("ModelDataSource", {}).get("S3DataSource", {})
        if url is None and source.get("S3Uri"):
            url = source["S3Uri"]
        if url is not None:
            check_model_data(url)
        containers.append(
            Container(
                image=definition.get("Image"),
                model_data_url=url,
                environment=dict(definition.get("Environment", {})),
                hostname=definition.get("ContainerHostname"),
            )
        )
    if containers[0].model_data_url is None:
        raise validation_error(
            "The emulator runs the model from its artifact: the container needs a ModelDataUrl "
            "(a model.tar.gz as s3://, file:// or a local path)."
        )
    return Model(
        name=name,
        arn=registry.arn(ResourceKind.MODEL, name),
        containers=tuple(containers),
        creation_time=now,
        spec=_echo(params),
    )


def endpoint_config_from_request(
    params: Mapping[str, Any], registry: Registry, now: datetime
) -> EndpointConfig:
    name = params["EndpointConfigName"]
    variants = tuple(_variant(v, registry) for v in params["ProductionVariants"])
    seen: set[str] = set()
    for variant in variants:
        if variant.name.lower() in seen:
            raise validation_error(
                f"The variant name(s) [{variant.name}] are repeated. "
                "Variant names must be unique within an endpoint configuration."
            )
        seen.add(variant.name.lower())
    if any(v.is_serverless for v in variants):
        if len(variants) > 1:
            raise validation_error(
                "Serverless endpoint configurations support exactly one production variant."
            )
        for member in _NOT_SERVERLESS:
            if params.get(member):
                raise validation_error(
                    f"{member} is not supported for serverless endpoint configurations."
                )
    if "AsyncInferenceConfig" in params:
        config = _async_config(params["AsyncInferenceConfig"])
        variants = tuple(replace(variant, asynchronous=config) for variant in variants)
    return EndpointConfig(
        name=name,
        arn=registry.arn(ResourceKind.ENDPOINT_CONFIG, name),
        variants=variants,
        creation_time=now,
        spec=_echo(params),
        asynchronous="AsyncInferenceConfig" in params,
    )


# IncludeInferenceResponseIn values and the topic each needs.
_RESPONSE_TOPICS = {
    "SUCCESS_NOTIFICATION_TOPIC": "SuccessTopic",
    "ERROR_NOTIFICATION_TOPIC": "ErrorTopic",
}


def _async_config(params: Mapping[str, Any]) -> AsyncConfig:
    """AsyncInferenceConfig as the async variants run it. The wordings of these refusals are
    UNCONFIRMED (no capture of SageMaker's was found); the service model checks the rest."""
    output = params["OutputConfig"]
    if not output.get("S3OutputPath"):
        raise validation_error("S3OutputPath is required in AsyncInferenceConfig.OutputConfig.")
    notification = output.get("NotificationConfig") or {}
    included = tuple(notification.get("IncludeInferenceResponseIn") or ())
    for value in included:
        topic = _RESPONSE_TOPICS[value]  # the codec checked the enum
        if not notification.get(topic):
            raise validation_error(
                f"IncludeInferenceResponseIn contains {value} but NotificationConfig has no "
                f"{topic}."
            )
    if len(set(included)) != len(included):
        raise validation_error("IncludeInferenceResponseIn must not repeat a topic type.")
    return AsyncConfig(
        output_path=output["S3OutputPath"],
        failure_path=output.get("S3FailurePath"),
        max_concurrent=(params.get("ClientConfig") or {}).get(
            "MaxConcurrentInvocationsPerInstance"
        ),
        success_topic=notification.get("SuccessTopic"),
        error_topic=notification.get("ErrorTopic"),
        include_response_in=included,
        kms_key_id=output.get("KmsKeyId"),
    )


def _variant(params: Mapping[str, Any], registry: Registry) -> Variant:
    name = params["VariantName"]
    model_name = params.get("ModelName")
    if not model_name:
        raise validation_error(f"ModelName is required for production variant {name}.")
    registry.model(model_name)  # raises 'Could not find model "arn..."'
    serverless = params.get("ServerlessConfig")
    instance = params.get("InstanceType")
    count = params.get("InitialInstanceCount")
    if serverless is not None:
        if instance is not None or count is not None:
            raise validation_error(
                f"Production variant {name} cannot specify both ServerlessConfig and "
                "InstanceType/InitialInstanceCount."
            )
        return Variant(
            name=name,
            model_name=model_name,
            initial_weight=float(params.get("InitialVariantWeight", 1.0)),
            serverless=_serverless(name, params, registry.model(model_name)),
        )
    if instance is None or count is None:
        raise validation_error(
            f"Production variant {name} must specify either ServerlessConfig or both "
            "InstanceType and InitialInstanceCount."
        )
    if instance_type(instance) is None:
        raise validation_error(f"Instance type {instance} is not supported by the emulator.")
    return Variant(
        name=name,
        model_name=model_name,
        initial_weight=float(params.get("InitialVariantWeight", 1.0)),
        instance_type=instance,
        initial_instance_count=count,
    )


def _serverless(name: str, params: Mapping[str, Any], model: Model) -> ServerlessConfig:
    """A serverless variant's config, refused where SageMaker refuses it."""
    extra = [member for member in _INSTANCE_MEMBERS if params.get(member) is not None]
    if extra:
        raise validation_error(
            f"Production variant {name} has a ServerlessConfig and cannot specify "
            f"{', '.join(extra)}."
        )
    config = params["ServerlessConfig"]
    memory = config["MemorySizeInMB"]
    if memory not in MEMORY_SIZES_MB:
        sizes = ", ".join(str(size) for size in MEMORY_SIZES_MB)
        raise validation_error(
            f"Invalid MemorySizeInMB {memory} for production variant {name}. Valid values are "
            f"in 1 GB increments: {sizes}."
        )
    maximum = config["MaxConcurrency"]
    provisioned = config.get("ProvisionedConcurrency")
    if provisioned is not None and provisioned > maximum:
        raise validation_error(
            f"ProvisionedConcurrency {provisioned} of production variant {name} must be less "
            f"than or equal to its MaxConcurrency {maximum}."
        )
    unsupported = _unsupported_model_features(model)
    if unsupported:
        raise validation_error(
            f"Model {model.name} uses {unsupported}, which serverless endpoints do not support."
        )
    return ServerlessConfig(memory, maximum, provisioned)


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

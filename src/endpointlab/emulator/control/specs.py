"""Turn validated CreateModel / CreateEndpointConfig requests into records, with SageMaker's
semantic checks that no service-model constraint expresses (one variant kind per variant,
unique variant names, models that exist, model data that can be read)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from endpointlab.catalogue import instance_type
from endpointlab.emulator.control.registry import Registry, validation_error
from endpointlab.emulator.control.resources import (
    Container,
    EndpointConfig,
    Model,
    ResourceKind,
    ServerlessConfig,
    Variant,
)

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
    if any(v.is_serverless for v in variants) and len(variants) > 1:
        raise validation_error(
            "Serverless endpoint configurations support exactly one production variant."
        )
    return EndpointConfig(
        name=name,
        arn=registry.arn(ResourceKind.ENDPOINT_CONFIG, name),
        variants=variants,
        creation_time=now,
        spec=_echo(params),
        asynchronous="AsyncInferenceConfig" in params,
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
            serverless=ServerlessConfig(
                memory_size_mb=serverless["MemorySizeInMB"],
                max_concurrency=serverless["MaxConcurrency"],
                provisioned_concurrency=serverless.get("ProvisionedConcurrency"),
            ),
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

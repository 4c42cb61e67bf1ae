"""Turn validated CreateModel / CreateEndpointConfig requests into records, with SageMaker's
semantic checks that no service-model constraint expresses (unique variant names, models that
exist, model data that can be read); each variant's kind checks its own part of the request
(``EndpointKind.variant_from_request`` and ``check_config``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from endpointlab.emulator.control.registry import Registry, validation_error
from endpointlab.emulator.endpoints.kinds import kind_of, requested
from endpointlab.emulator.records import Container, EndpointConfig, Model, ResourceKind, Variant

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
    variants = tuple(_variant(v, params, registry) for v in params["ProductionVariants"])
    seen: set[str] = set()
    for variant in variants:
        if variant.name.lower() in seen:
            raise validation_error(
                f"The variant name(s) [{variant.name}] are repeated. "
                "Variant names must be unique within an endpoint configuration."
            )
        seen.add(variant.name.lower())
    for kind in dict.fromkeys(kind_of(variant) for variant in variants):
        kind.check_config(variants, params)
    return EndpointConfig(
        name=name,
        arn=registry.arn(ResourceKind.ENDPOINT_CONFIG, name),
        variants=variants,
        creation_time=now,
        spec=_echo(params),
        asynchronous="AsyncInferenceConfig" in params,
    )


def _variant(params: Mapping[str, Any], config: Mapping[str, Any], registry: Registry) -> Variant:
    name = params["VariantName"]
    model_name = params.get("ModelName")
    if not model_name:
        raise validation_error(f"ModelName is required for production variant {name}.")
    model = registry.model(model_name)  # raises 'Could not find model "arn..."'
    return requested(params, config).variant_from_request(params, model, config)

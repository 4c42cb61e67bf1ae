"""The SageMaker control plane: Model, EndpointConfig and Endpoint operations, and their tags.

Thin: validated wire parameters in, a domain call, wire-shaped output members out. CamelCase
dictionaries exist only here; the registry and lifecycle work on typed records.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

from endpointlab.emulator import sagemaker_errors as errors
from endpointlab.emulator.control.lifecycle import Lifecycle
from endpointlab.emulator.control.registry import ListQuery, list_page
from endpointlab.emulator.control.specs import endpoint_config_from_request, model_from_request
from endpointlab.emulator.control.tags import tags_of
from endpointlab.emulator.endpoints.kinds import kind_of
from endpointlab.emulator.errors import ServiceError
from endpointlab.emulator.records import (
    Endpoint,
    EndpointConfig,
    Model,
    ResourceKind,
    VariantState,
)
from endpointlab.emulator.services.sagemaker_tags import SageMakerTags

Params = Mapping[str, Any]
Result = dict[str, Any]


class SageMakerService:
    """Dispatches SageMaker control-plane operations by name."""

    def __init__(self, lifecycle: Lifecycle, clock: Callable[[], datetime]) -> None:
        self._lifecycle = lifecycle
        self._registry = lifecycle.registry
        self._clock = clock
        tags = SageMakerTags(self._registry)
        self._operations: dict[str, Callable[[Params], Awaitable[Result] | Result]] = {
            "CreateModel": self.create_model,
            "DescribeModel": self.describe_model,
            "DeleteModel": self.delete_model,
            "ListModels": self.list_models,
            "CreateEndpointConfig": self.create_endpoint_config,
            "DescribeEndpointConfig": self.describe_endpoint_config,
            "DeleteEndpointConfig": self.delete_endpoint_config,
            "ListEndpointConfigs": self.list_endpoint_configs,
            "CreateEndpoint": self.create_endpoint,
            "DescribeEndpoint": self.describe_endpoint,
            "UpdateEndpoint": self.update_endpoint,
            "UpdateEndpointWeightsAndCapacities": self.update_weights_and_capacities,
            "DeleteEndpoint": self.delete_endpoint,
            "ListEndpoints": self.list_endpoints,
            "AddTags": tags.add_tags,
            "ListTags": tags.list_tags,
            "DeleteTags": tags.delete_tags,
        }

    @property
    def operations(self) -> frozenset[str]:
        return frozenset(self._operations)

    async def handle(self, operation: str, params: Params) -> Result:
        handler = self._operations.get(operation)
        if handler is None:
            # A real operation of the API that the emulator does not implement.
            raise errors.UNKNOWN_OPERATION(service="SageMaker", operation=operation)
        result = handler(params)
        if isinstance(result, Awaitable):
            return await result
        return result

    # Models

    def create_model(self, params: Params) -> Result:
        model = model_from_request(
            params, self._registry, self._clock(), self._lifecycle.artifacts.check
        )
        self._registry.add(model, tags_of(params.get("Tags")))
        return {"ModelArn": model.arn}

    def describe_model(self, params: Params) -> Result:
        model = self._registry.model(params["ModelName"])
        return {
            **model.spec,
            "ModelName": model.name,
            "ModelArn": model.arn,
            "CreationTime": model.creation_time,
        }

    def delete_model(self, params: Params) -> Result:
        self._registry.remove(ResourceKind.MODEL, params["ModelName"])
        return {}

    def list_models(self, params: Params) -> Result:
        models = [r for r in self._registry.all(ResourceKind.MODEL) if isinstance(r, Model)]
        page, token = list_page(models, _query(params))
        summaries = [
            {"ModelName": m.name, "ModelArn": m.arn, "CreationTime": m.creation_time} for m in page
        ]
        return _with_token({"Models": summaries}, token)

    # Endpoint configs

    def create_endpoint_config(self, params: Params) -> Result:
        config = endpoint_config_from_request(params, self._registry, self._clock())
        self._registry.add(config, tags_of(params.get("Tags")))
        return {"EndpointConfigArn": config.arn}

    def describe_endpoint_config(self, params: Params) -> Result:
        config = self._registry.endpoint_config(params["EndpointConfigName"])
        return {
            **config.spec,
            "EndpointConfigName": config.name,
            "EndpointConfigArn": config.arn,
            "CreationTime": config.creation_time,
        }

    def delete_endpoint_config(self, params: Params) -> Result:
        self._registry.remove(ResourceKind.ENDPOINT_CONFIG, params["EndpointConfigName"])
        return {}

    def list_endpoint_configs(self, params: Params) -> Result:
        configs = [
            r
            for r in self._registry.all(ResourceKind.ENDPOINT_CONFIG)
            if isinstance(r, EndpointConfig)
        ]
        page, token = list_page(configs, _query(params))
        summaries = [
            {
                "EndpointConfigName": c.name,
                "EndpointConfigArn": c.arn,
                "CreationTime": c.creation_time,
            }
            for c in page
        ]
        return _with_token({"EndpointConfigs": summaries}, token)

    # Endpoints

    def create_endpoint(self, params: Params) -> Result:
        spec = {k: v for k, v in params.items() if k == "DeploymentConfig"}
        endpoint = self._lifecycle.create_endpoint(
            params["EndpointName"], params["EndpointConfigName"], spec, tags_of(params.get("Tags"))
        )
        return {"EndpointArn": endpoint.arn}

    def describe_endpoint(self, params: Params) -> Result:
        endpoint = self._registry.endpoint(params["EndpointName"])
        return self._describe(endpoint)

    def update_endpoint(self, params: Params) -> Result:
        retained: frozenset[str] = frozenset()
        if params.get("RetainAllVariantProperties"):
            excluded = {
                item["VariantPropertyType"]
                for item in params.get("ExcludeRetainedVariantProperties", [])
            }
            retained = frozenset({"DesiredWeight", "DesiredInstanceCount"} - excluded)
        endpoint = self._lifecycle.update_endpoint(
            params["EndpointName"], params["EndpointConfigName"], retained
        )
        return {"EndpointArn": endpoint.arn}

    async def update_weights_and_capacities(self, params: Params) -> Result:
        endpoint = await self._lifecycle.update_weights_and_capacities(
            params["EndpointName"], list(params["DesiredWeightsAndCapacities"])
        )
        return {"EndpointArn": endpoint.arn}

    def delete_endpoint(self, params: Params) -> Result:
        self._lifecycle.delete_endpoint(params["EndpointName"])
        return {}

    def list_endpoints(self, params: Params) -> Result:
        page, token = list_page(self._registry.endpoints(), _query(params))
        summaries = [
            {
                "EndpointName": e.name,
                "EndpointArn": e.arn,
                "CreationTime": e.creation_time,
                "LastModifiedTime": e.last_modified_time,
                "EndpointStatus": e.status.value,
            }
            for e in page
        ]
        return _with_token({"Endpoints": summaries}, token)

    def _describe(self, endpoint: Endpoint) -> Result:
        result: Result = {
            "EndpointName": endpoint.name,
            "EndpointArn": endpoint.arn,
            "EndpointConfigName": endpoint.config_name,
            "EndpointStatus": endpoint.status.value,
            "CreationTime": endpoint.creation_time,
            "LastModifiedTime": endpoint.last_modified_time,
        }
        config = self._find_config(endpoint.config_name)
        images = _images(self._registry, config) if config else {}
        if endpoint.variants:
            result["ProductionVariants"] = [
                _variant_summary(state, images.get(state.name), endpoint.creation_time)
                for state in endpoint.variants
            ]
        if endpoint.failure_reason:
            result["FailureReason"] = endpoint.failure_reason
        if config is not None and "AsyncInferenceConfig" in config.spec:
            result["AsyncInferenceConfig"] = config.spec["AsyncInferenceConfig"]
        if endpoint.pending_config_name:
            result["PendingDeploymentSummary"] = {
                "EndpointConfigName": endpoint.pending_config_name,
                "StartTime": endpoint.pending_since or endpoint.last_modified_time,
            }
        if "DeploymentConfig" in endpoint.spec:
            result["LastDeploymentConfig"] = endpoint.spec["DeploymentConfig"]
        return result

    def _find_config(self, name: str) -> EndpointConfig | None:
        try:
            return self._registry.endpoint_config(name)
        except ServiceError:  # configs may be deleted while an endpoint keeps serving
            return None


def _images(registry: Any, config: EndpointConfig) -> dict[str, str]:
    images = {}
    for variant in config.variants:
        try:
            image = registry.model(variant.model_name).primary.image
        except ServiceError:
            continue
        if image:
            images[variant.name] = image
    return images


def _variant_summary(state: VariantState, image: str | None, resolved: datetime) -> Result:
    summary: Result = {"VariantName": state.name}
    if image:
        summary["DeployedImages"] = [
            {"SpecifiedImage": image, "ResolvedImage": image, "ResolutionTime": resolved}
        ]
    summary["CurrentWeight"] = state.current_weight
    summary["DesiredWeight"] = state.desired_weight
    summary.update(kind_of(state).describe(state))
    return summary


def _query(params: Params) -> ListQuery:
    return ListQuery(
        sort_by=params.get("SortBy", "CreationTime"),
        sort_order=params.get("SortOrder", "Descending"),
        max_results=params.get("MaxResults", 10),
        next_token=params.get("NextToken"),
        name_contains=params.get("NameContains"),
        creation_time_before=params.get("CreationTimeBefore"),
        creation_time_after=params.get("CreationTimeAfter"),
        last_modified_time_before=params.get("LastModifiedTimeBefore"),
        last_modified_time_after=params.get("LastModifiedTimeAfter"),
        status_equals=params.get("StatusEquals"),
    )


def _with_token(result: Result, token: str | None) -> Result:
    if token:
        result["NextToken"] = token
    return result

"""What the control plane checks of a variant that runs instances (real-time, and the default for
any kind): InstanceType and InitialInstanceCount at creation, DesiredInstanceCount in
UpdateEndpointWeightsAndCapacities. ``EndpointKind``'s defaults; a leaf of endpoints/.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from endpointlab.catalogue import instance_type
from endpointlab.emulator import sagemaker_errors as errors
from endpointlab.emulator.records import Variant, VariantState


def variant_from_request(params: Mapping[str, Any]) -> Variant:
    """The instance-based variant a ProductionVariant describes."""
    name = params["VariantName"]
    instance = params.get("InstanceType")
    count = params.get("InitialInstanceCount")
    if instance is None or count is None:
        raise errors.VALIDATION(
            message=f"Production variant {name} must specify either ServerlessConfig or both "
            "InstanceType and InitialInstanceCount."
        )
    if instance_type(instance) is None:
        raise errors.VALIDATION(
            message=f"Instance type {instance} is not supported by the emulator."
        )
    return Variant(
        name=name,
        model_name=params["ModelName"],
        initial_weight=float(params.get("InitialVariantWeight", 1.0)),
        instance_type=instance,
        initial_instance_count=count,
    )


def desired(state: VariantState, item: Mapping[str, Any]) -> VariantState:
    """An instance-based variant's DesiredInstanceCount; ServerlessUpdateConfig is refused."""
    # The wording of this refusal is UNCONFIRMED: no capture of SageMaker's message was found;
    # the error code is what the API reference documents.
    if item.get("ServerlessUpdateConfig") is not None:
        raise errors.VALIDATION(
            message="ServerlessUpdateConfig is only supported for serverless production "
            f"variants; production variant {state.name} is not serverless."
        )
    if "DesiredInstanceCount" in item:
        return replace(state, desired_instance_count=int(item["DesiredInstanceCount"]))
    return state

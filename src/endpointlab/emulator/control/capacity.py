"""UpdateEndpointWeightsAndCapacities, checked: each requested change against its variant.

A real-time variant takes DesiredWeight and DesiredInstanceCount; a serverless one takes
DesiredWeight and ServerlessUpdateConfig (MaxConcurrency, ProvisionedConcurrency: what
Application Auto Scaling changes for provisioned concurrency). The result is the endpoint's
variant states with the desired values set, recorded while the endpoint is Updating.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from endpointlab.emulator.control.registry import validation_error
from endpointlab.emulator.records import Endpoint, ServerlessConfig, VariantState


def desired_states(
    endpoint: Endpoint, desired: Sequence[Mapping[str, Any]]
) -> tuple[VariantState, ...]:
    """``endpoint``'s variant states with ``desired`` applied as desired values; a
    ValidationException for a change SageMaker refuses."""
    states = {state.name: state for state in endpoint.variants}
    seen: set[str] = set()
    for item in desired:
        # SageMaker's wording for these two, as moto reproduces it (no first-party capture).
        variant = item["VariantName"]
        if variant in seen:
            raise validation_error(
                f'The variant name "{variant}" was non-unique within the request.'
            )
        seen.add(variant)
        if variant not in states:
            raise validation_error(
                f'The variant name(s) "{variant}" is/are not present within endpoint '
                f'configuration "{endpoint.config_name}".'
            )
        states[variant] = _desired(states[variant], item)
    return tuple(states[state.name] for state in endpoint.variants)


def _desired(state: VariantState, item: Mapping[str, Any]) -> VariantState:
    # The wording of the serverless refusals below is UNCONFIRMED: no capture of SageMaker's
    # messages for them was found; the error codes are what the API reference documents.
    name = state.name
    update = item.get("ServerlessUpdateConfig")
    if "DesiredWeight" in item:
        state = replace(state, desired_weight=float(item["DesiredWeight"]))
    if state.serverless is None:
        if update is not None:
            raise validation_error(
                f"ServerlessUpdateConfig is only supported for serverless production variants; "
                f"production variant {name} is not serverless."
            )
        if "DesiredInstanceCount" in item:
            state = replace(state, desired_instance_count=int(item["DesiredInstanceCount"]))
        return state
    if "DesiredInstanceCount" in item:
        raise validation_error(
            f"DesiredInstanceCount is not supported for serverless production variant {name}. "
            f"Use ServerlessUpdateConfig to change its concurrency."
        )
    if update is None:
        return state
    if "MaxConcurrency" not in update and "ProvisionedConcurrency" not in update:
        raise validation_error(
            f"ServerlessUpdateConfig of production variant {name} must specify MaxConcurrency, "
            f"ProvisionedConcurrency or both."
        )
    return replace(state, desired_serverless=updated(name, state.serverless, update))


def updated(name: str, current: ServerlessConfig, update: Mapping[str, Any]) -> ServerlessConfig:
    """Variant ``name``'s ``current`` config with the members of a ServerlessUpdateConfig;
    MemorySizeInMB never changes this way (it takes a new endpoint config)."""
    maximum = int(update.get("MaxConcurrency", current.max_concurrency))
    provisioned = update.get("ProvisionedConcurrency", current.provisioned_concurrency)
    if provisioned is not None and provisioned > maximum:
        raise validation_error(
            f"ProvisionedConcurrency {provisioned} of production variant {name} must be less "
            f"than or equal to its MaxConcurrency {maximum}."
        )
    return replace(current, max_concurrency=maximum, provisioned_concurrency=provisioned)

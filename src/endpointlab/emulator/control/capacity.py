"""UpdateEndpointWeightsAndCapacities, checked: each requested change against its variant.

Every variant takes DesiredWeight; its kind takes the rest of the item (DesiredInstanceCount or
ServerlessUpdateConfig: ``EndpointKind.desired``). The
result is the endpoint's variant states with the desired values set, recorded while the endpoint
is Updating.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from endpointlab.emulator.control.registry import validation_error
from endpointlab.emulator.endpoints.kinds import kind_of
from endpointlab.emulator.records import Endpoint, VariantState


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
    if "DesiredWeight" in item:
        state = replace(state, desired_weight=float(item["DesiredWeight"]))
    return kind_of(state).desired(state, item)

"""control/capacity.py: the desired variant states an UpdateEndpointWeightsAndCapacities request
records while the endpoint is Updating, and the changes it refuses."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from endpointlab.emulator.control.capacity import desired_states
from endpointlab.emulator.errors import ServiceError
from endpointlab.emulator.records import (
    Endpoint,
    EndpointStatus,
    ServerlessConfig,
    VariantState,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SERVERLESS = ServerlessConfig(memory_size_mb=2048, max_concurrency=5, provisioned_concurrency=2)


def endpoint(*variants: VariantState) -> Endpoint:
    return Endpoint("ep", "arn:ep", "cfg", EndpointStatus.IN_SERVICE, NOW, NOW, variants)


def instances(name: str, count: int = 1, weight: float = 1.0) -> VariantState:
    return VariantState(name, weight, weight, count, count)


def serverless(name: str = "AllTraffic") -> VariantState:
    return VariantState(name, 1.0, 1.0, 0, 0, serverless=SERVERLESS)


def test_weights_and_counts_become_desired_values_and_current_ones_stay() -> None:
    ep = endpoint(instances("a", 2), instances("b", 1))

    states = desired_states(
        ep, [{"VariantName": "b", "DesiredWeight": 3.0, "DesiredInstanceCount": 4}]
    )

    assert states[0] == ep.variants[0]
    assert states[1] == VariantState("b", 1.0, 3.0, 1, 4)


def test_a_serverless_update_keeps_the_unnamed_members_and_the_memory_size() -> None:
    (state,) = desired_states(
        endpoint(serverless()),
        [{"VariantName": "AllTraffic", "ServerlessUpdateConfig": {"MaxConcurrency": 9}}],
    )
    assert state.serverless == SERVERLESS
    assert state.desired_serverless == ServerlessConfig(2048, 9, 2)

    (state,) = desired_states(
        endpoint(serverless()),
        [{"VariantName": "AllTraffic", "ServerlessUpdateConfig": {"ProvisionedConcurrency": 5}}],
    )
    assert state.desired_serverless == ServerlessConfig(2048, 5, 5)


@pytest.mark.parametrize(
    ("variant", "change", "words"),
    [
        (serverless(), {"DesiredInstanceCount": 1}, "DesiredInstanceCount is not supported"),
        (serverless(), {"ServerlessUpdateConfig": {}}, "must specify MaxConcurrency"),
        (
            serverless(),
            {"ServerlessUpdateConfig": {"MaxConcurrency": 1}},  # below the provisioned 2
            "ProvisionedConcurrency 2 of production variant AllTraffic must be less",
        ),
        (
            instances("AllTraffic"),
            {"ServerlessUpdateConfig": {"MaxConcurrency": 1}},
            "production variant AllTraffic is not serverless",
        ),
    ],
)
def test_changes_that_do_not_apply_are_validation_exceptions(
    variant: VariantState, change: dict[str, object], words: str
) -> None:
    with pytest.raises(ServiceError) as caught:
        desired_states(endpoint(variant), [{"VariantName": "AllTraffic", **change}])
    assert caught.value.code == "ValidationException"
    assert words in caught.value.message


def test_unknown_and_repeated_variants_are_refused_in_sagemakers_words() -> None:
    ep = endpoint(instances("a"))
    with pytest.raises(ServiceError, match='"b" is/are not present'):
        desired_states(ep, [{"VariantName": "b", "DesiredWeight": 1.0}])
    with pytest.raises(ServiceError, match="non-unique"):
        desired_states(ep, [{"VariantName": "a"}, {"VariantName": "a"}])

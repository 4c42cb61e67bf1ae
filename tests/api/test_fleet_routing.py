"""Traffic across production variants (endpoints/fleet.py): weighted routing, TargetVariant,
and UpdateEndpointWeightsAndCapacities changing weights and instance counts live."""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.support import (
    Deployer,
    Deployment,
    arn,
    error_of,
    invoke_json,
    probe_archive,
)

REQUESTS = 240


@contextlib.contextmanager
def blue_green(sagemaker: Any, directory: Path) -> Iterator[Deployment]:
    """An endpoint with variant "blue" (weight 1, model v1) and "green" (weight 3, model v2)."""
    deployer = Deployer(sagemaker)
    try:
        blue = deployer.model(probe_archive(directory / "blue", "v1"))
        green = deployer.model(probe_archive(directory / "green", "v2"))
        config = deployer.config([blue, green], variant_names=["blue", "green"], weights=[1.0, 3.0])
        yield Deployment(deployer.endpoint(config), config, (blue, green))
    finally:
        deployer.cleanup()


@pytest.fixture(scope="module")
def two_variants(sagemaker: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """Shared by the tests that do not change it."""
    with blue_green(sagemaker, tmp_path_factory.mktemp("two-variants")) as deployment:
        yield deployment


def route(runtime: Any, endpoint: str, count: int = REQUESTS, **kwargs: Any) -> Counter[str]:
    """Which variant served each of ``count`` requests; the variant must match the model."""
    served: Counter[str] = Counter()
    for _ in range(count):
        response = runtime.invoke_endpoint(EndpointName=endpoint, Body=b"x", **kwargs)
        variant = response["InvokedProductionVariant"]
        version = json.loads(response["Body"].read())["version"]
        assert (variant, version) in (("blue", "v1"), ("green", "v2"))
        served[variant] += 1
    return served


def test_traffic_is_split_by_variant_weight(runtime: Any, two_variants: Deployment) -> None:
    served = route(runtime, two_variants.endpoint)
    # Expected 3/4 green; the bounds are more than five standard deviations (6.7) wide.
    assert 145 <= served["green"] <= 215
    assert served["blue"] + served["green"] == REQUESTS


def test_target_variant_overrides_the_weights(runtime: Any, two_variants: Deployment) -> None:
    assert route(runtime, two_variants.endpoint, 20, TargetVariant="blue") == {"blue": 20}
    assert route(runtime, two_variants.endpoint, 20, TargetVariant="green") == {"green": 20}


def test_an_unknown_target_variant_is_a_validation_error(
    runtime: Any, two_variants: Deployment
) -> None:
    with pytest.raises(ClientError) as caught:
        runtime.invoke_endpoint(
            EndpointName=two_variants.endpoint, Body=b"x", TargetVariant="purple"
        )
    error = error_of(caught)
    assert (error["Code"], error["Status"]) == ("ValidationError", 400)


def test_weights_and_instance_counts_change_live(
    sagemaker: Any, runtime: Any, tmp_path: Path
) -> None:
    with blue_green(sagemaker, tmp_path) as deployment:
        check_live_changes(sagemaker, runtime, deployment.endpoint)


def check_live_changes(sagemaker: Any, runtime: Any, endpoint: str) -> None:
    response = sagemaker.update_endpoint_weights_and_capacities(
        EndpointName=endpoint,
        DesiredWeightsAndCapacities=[
            {"VariantName": "blue", "DesiredWeight": 0.0},
            {"VariantName": "green", "DesiredWeight": 2.0, "DesiredInstanceCount": 2},
        ],
    )
    assert response["EndpointArn"] == arn("endpoint", endpoint)
    updating = sagemaker.describe_endpoint(EndpointName=endpoint)
    assert updating["EndpointStatus"] == "Updating"
    # While Updating, the request's values are the desired ones; the current ones are unchanged.
    (blue, green) = updating["ProductionVariants"]
    assert (blue["DesiredWeight"], green["DesiredWeight"]) == (0.0, 2.0)
    assert (green["CurrentInstanceCount"], green["DesiredInstanceCount"]) == (1, 2)
    # The endpoint keeps serving while it scales.
    assert invoke_json(runtime, endpoint)["version"] in ("v1", "v2")
    sagemaker.get_waiter("endpoint_in_service").wait(
        EndpointName=endpoint, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300}
    )
    variants = {
        v["VariantName"]: v
        for v in sagemaker.describe_endpoint(EndpointName=endpoint)["ProductionVariants"]
    }
    assert variants["blue"]["CurrentWeight"] == variants["blue"]["DesiredWeight"] == 0.0
    assert variants["green"]["CurrentWeight"] == variants["green"]["DesiredWeight"] == 2.0
    assert variants["blue"]["CurrentInstanceCount"] == 1
    assert variants["green"]["CurrentInstanceCount"] == 2
    assert variants["green"]["DesiredInstanceCount"] == 2
    # A zero weight takes a variant out of the random split; TargetVariant still reaches it.
    assert route(runtime, endpoint, 40) == {"green": 40}
    assert route(runtime, endpoint, 5, TargetVariant="blue") == {"blue": 5}


@pytest.mark.parametrize(
    ("desired", "message"),
    [
        (
            [{"VariantName": "green", "DesiredWeight": 5.0}, {"VariantName": "purple"}],
            'The variant name(s) "purple" is/are not present within endpoint configuration '
            '"{config}".',
        ),
        (
            [{"VariantName": "green", "DesiredWeight": 5.0}, {"VariantName": "green"}],
            'The variant name "green" was non-unique within the request.',
        ),
    ],
    ids=["unknown", "repeated"],
)
def test_bad_variant_lists_are_refused_and_nothing_changes(
    sagemaker: Any, two_variants: Deployment, desired: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(ClientError) as caught:
        sagemaker.update_endpoint_weights_and_capacities(
            EndpointName=two_variants.endpoint, DesiredWeightsAndCapacities=desired
        )
    # The wording is SageMaker's as moto reproduces it.
    assert error_of(caught) == {
        "Code": "ValidationException",
        "Message": message.format(config=two_variants.config),
        "Status": 400,
    }
    described = sagemaker.describe_endpoint(EndpointName=two_variants.endpoint)
    assert described["EndpointStatus"] == "InService"
    weights = {v["VariantName"]: v["CurrentWeight"] for v in described["ProductionVariants"]}
    assert weights == {"blue": 1.0, "green": 3.0}  # nothing applied


def test_weights_and_capacities_of_a_missing_endpoint(sagemaker: Any) -> None:
    with pytest.raises(ClientError) as caught:
        sagemaker.update_endpoint_weights_and_capacities(
            EndpointName="no-such-endpoint",
            DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredWeight": 1.0}],
        )
    assert error_of(caught) == {
        "Code": "ValidationException",
        "Message": f'Could not find endpoint "{arn("endpoint", "no-such-endpoint")}".',
        "Status": 400,
    }


def test_weights_and_capacities_while_creating_are_refused(
    sagemaker: Any, deployer: Deployer, tmp_path: Path
) -> None:
    deployment = deployer.deploy(probe_archive(tmp_path, "slow", load_delay_s=1.0), wait=False)
    with pytest.raises(ClientError) as caught:
        sagemaker.update_endpoint_weights_and_capacities(
            EndpointName=deployment.endpoint,
            DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredWeight": 2.0}],
        )
    assert error_of(caught)["Code"] == "ValidationException"
    deployer.wait_in_service(deployment.endpoint)

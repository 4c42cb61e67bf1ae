"""UpdateEndpoint's variant options through boto3 (control/lifecycle.py): RetainAllVariantProperties
keeps the live weights and instance counts (less ExcludeRetainedVariantProperties), and an
endpoint with instances cannot become serverless while a serverless one can get instances."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.serverless_support import ServerlessDeployer
from tests.api.support import Deployer, error_of, invoke_json, probe_archive


def variants(sagemaker: Any, endpoint: str) -> dict[str, dict[str, Any]]:
    described = sagemaker.describe_endpoint(EndpointName=endpoint)
    return {v["VariantName"]: v for v in described["ProductionVariants"]}


def scaled(deployer: Deployer, archive: Path) -> tuple[str, str]:
    """An endpoint of one instance at weight 1, scaled live to 2 instances at weight 3; and
    a second config for it (model v2, 1 instance, weight 1)."""
    deployment = deployer.deploy(archive)
    endpoint = deployment.endpoint
    deployer.sagemaker.update_endpoint_weights_and_capacities(
        EndpointName=endpoint,
        DesiredWeightsAndCapacities=[
            {"VariantName": "AllTraffic", "DesiredWeight": 3.0, "DesiredInstanceCount": 2}
        ],
    )
    deployer.wait_in_service(endpoint)
    return endpoint, deployer.config(deployer.model(probe_archive(archive.parent / "v2", "v2")))


@pytest.mark.parametrize(
    ("excluded", "weight", "count"),
    [([], 3.0, 2), (["DesiredInstanceCount"], 3.0, 1), (["DesiredWeight"], 1.0, 2)],
    ids=["all", "but-count", "but-weight"],
)
def test_retained_variant_properties_keep_their_live_values(
    sagemaker: Any,
    runtime: Any,
    deployer: Deployer,
    tmp_path: Path,
    excluded: list[str],
    weight: float,
    count: int,
) -> None:
    endpoint, second = scaled(deployer, probe_archive(tmp_path / "v1", "v1"))

    sagemaker.update_endpoint(
        EndpointName=endpoint,
        EndpointConfigName=second,
        RetainAllVariantProperties=True,
        ExcludeRetainedVariantProperties=[{"VariantPropertyType": p} for p in excluded],
    )
    deployer.wait_in_service(endpoint)

    variant = variants(sagemaker, endpoint)["AllTraffic"]
    assert (variant["CurrentWeight"], variant["CurrentInstanceCount"]) == (weight, count)
    assert (variant["DesiredWeight"], variant["DesiredInstanceCount"]) == (weight, count)
    assert invoke_json(runtime, endpoint)["version"] == "v2"


def test_without_retention_the_new_config_values_apply(
    sagemaker: Any, deployer: Deployer, tmp_path: Path
) -> None:
    endpoint, second = scaled(deployer, probe_archive(tmp_path / "v1", "v1"))

    sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=second)
    deployer.wait_in_service(endpoint)

    variant = variants(sagemaker, endpoint)["AllTraffic"]
    assert (variant["CurrentWeight"], variant["CurrentInstanceCount"]) == (1.0, 1)


def test_an_endpoint_with_instances_cannot_become_serverless_but_the_reverse_works(
    sagemaker: Any, runtime: Any, deployer: Deployer, tmp_path: Path
) -> None:
    archive = probe_archive(tmp_path / "v1", "v1")
    instances = deployer.deploy(archive)
    serverless = ServerlessDeployer(sagemaker, archive)
    try:
        serverless_config = serverless.config(max_concurrency=2)
        with pytest.raises(ClientError) as caught:
            sagemaker.update_endpoint(
                EndpointName=instances.endpoint, EndpointConfigName=serverless_config
            )
        error = error_of(caught)
        assert error["Code"] == "ValidationException"
        assert "cannot be converted to a serverless endpoint" in error["Message"]
        assert variants(sagemaker, instances.endpoint)["AllTraffic"]["CurrentInstanceCount"] == 1

        endpoint = serverless.endpoint(config=serverless_config)
        sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=instances.config)
        deployer.wait_in_service(endpoint)
        variant = variants(sagemaker, endpoint)["AllTraffic"]
        assert variant["CurrentInstanceCount"] == 1
        assert "CurrentServerlessConfig" not in variant
        assert invoke_json(runtime, endpoint)["version"] == "v1"
    finally:
        serverless.cleanup()

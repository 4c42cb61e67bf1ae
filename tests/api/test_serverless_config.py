"""Serverless endpoint configs and account quotas through boto3 (control/specs.py, registry.py):
what CreateEndpointConfig refuses and the exact error SageMaker gives, and ResourceLimitExceeded
when CreateEndpoint or UpdateEndpoint would pass the number of serverless endpoints or their
total MaxConcurrency."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, ParamValidationError

from endpointlab.config import EmulatorSettings, ServerlessOptions
from tests.api.serverless_support import MEMORY_SOURCE, ServerlessDeployer
from tests.api.support import client, error_of, handler_archive, running_emulator, unique

MAX_ENDPOINTS = 2
MAX_CONCURRENCY = 10
QUOTA_TAIL = (
    "Please use AWS Service Quotas to request an increase for this quota. If AWS Service "
    "Quotas is not available, contact AWS support to request an increase for this quota."
)


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An emulator whose account allows 2 serverless endpoints and 10 concurrency in all."""
    settings = EmulatorSettings(
        port=0,
        data_dir=tmp_path_factory.mktemp("serverless-quotas"),
        serverless=ServerlessOptions(
            max_endpoints=MAX_ENDPOINTS, max_total_concurrency=MAX_CONCURRENCY
        ),
    )
    with running_emulator(settings) as running:
        yield running


@pytest.fixture
def deployer(url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerlessDeployer]:
    archive = handler_archive(tmp_path_factory.mktemp("model"), MEMORY_SOURCE)
    made = ServerlessDeployer(client("sagemaker", url), archive)
    try:
        yield made
    finally:
        made.cleanup()


def create_config(deployer: ServerlessDeployer, serverless: dict[str, Any], **extra: Any) -> Any:
    """CreateEndpointConfig with one serverless variant; the ClientError it raises, if any."""
    variant = {
        "VariantName": "AllTraffic",
        "ModelName": deployer.model(),
        "ServerlessConfig": serverless,
    }
    variant.update(extra.pop("variant", {}))
    with pytest.raises(ClientError) as caught:
        deployer.sagemaker.create_endpoint_config(
            EndpointConfigName=unique("bad"), ProductionVariants=[variant], **extra
        )
    return caught


@pytest.mark.parametrize("memory", [1025, 1536, 2500, 6000])
def test_memory_sizes_between_the_gigabytes_are_refused(
    deployer: ServerlessDeployer, memory: int
) -> None:
    caught = create_config(deployer, {"MemorySizeInMB": memory, "MaxConcurrency": 1})
    error = error_of(caught)
    assert (error["Code"], error["Status"]) == ("ValidationException", 400)
    assert error["Message"] == (
        f"Invalid MemorySizeInMB {memory} for production variant AllTraffic. Valid values are "
        "in 1 GB increments: 1024, 2048, 3072, 4096, 5120, 6144."
    )


@pytest.mark.parametrize(
    ("member", "value", "constraint"),
    [
        ("MemorySizeInMB", 8192, "Member must have value less than or equal to 6144"),
        ("MaxConcurrency", 201, "Member must have value less than or equal to 200"),
        ("ProvisionedConcurrency", 500, "Member must have value less than or equal to 200"),
    ],
)
def test_values_past_the_service_model_ranges_are_coral_validation_errors(
    deployer: ServerlessDeployer, member: str, value: int, constraint: str
) -> None:
    serverless = {"MemorySizeInMB": 1024, "MaxConcurrency": 200, member: value}
    caught = create_config(deployer, serverless)
    error = error_of(caught)
    field = member[0].lower() + member[1:]
    assert error["Code"] == "ValidationException"
    assert error["Message"] == (
        f"1 validation error detected: Value '{value}' at "
        f"'productionVariants.1.member.serverlessConfig.{field}' failed to satisfy constraint: "
        f"{constraint}"
    )


def test_zero_max_concurrency_never_leaves_botocore(deployer: ServerlessDeployer) -> None:
    with pytest.raises(ParamValidationError):
        deployer.sagemaker.create_endpoint_config(
            EndpointConfigName=unique("bad"),
            ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": "m",
                                 "ServerlessConfig": {"MemorySizeInMB": 1024,
                                                      "MaxConcurrency": 0}}],
        )  # fmt: skip


def test_provisioned_concurrency_above_max_concurrency_is_refused(
    deployer: ServerlessDeployer,
) -> None:
    serverless = {"MemorySizeInMB": 1024, "MaxConcurrency": 3, "ProvisionedConcurrency": 4}
    error = error_of(create_config(deployer, serverless))
    assert error["Code"] == "ValidationException"
    assert error["Message"] == (
        "ProvisionedConcurrency 4 of production variant AllTraffic must be less than or equal "
        "to its MaxConcurrency 3."
    )


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"InstanceType": "ml.m5.large"}, None),
        ({"InitialInstanceCount": 1}, None),
        ({"VolumeSizeInGB": 10}, "VolumeSizeInGB"),
        ({"AcceleratorType": "ml.eia1.medium"}, "AcceleratorType"),
    ],
)
def test_a_serverless_variant_carries_no_instance_settings(
    deployer: ServerlessDeployer, extra: dict[str, Any], named: str | None
) -> None:
    caught = create_config(deployer, {"MemorySizeInMB": 1024, "MaxConcurrency": 1}, variant=extra)
    error = error_of(caught)
    assert error["Code"] == "ValidationException"
    if named is None:
        assert error["Message"] == (
            "Production variant AllTraffic cannot specify both ServerlessConfig and "
            "InstanceType/InitialInstanceCount."
        )
    else:
        assert error["Message"] == (
            f"Production variant AllTraffic has a ServerlessConfig and cannot specify {named}."
        )


def test_data_capture_is_not_supported_on_serverless(deployer: ServerlessDeployer) -> None:
    capture = {
        "InitialSamplingPercentage": 100,
        "DestinationS3Uri": "s3://bucket/capture",
        "CaptureOptions": [{"CaptureMode": "Input"}],
    }
    caught = create_config(
        deployer, {"MemorySizeInMB": 1024, "MaxConcurrency": 1}, DataCaptureConfig=capture
    )
    assert error_of(caught)["Message"] == (
        "DataCaptureConfig is not supported for serverless endpoint configurations."
    )


def test_the_number_of_serverless_endpoints_is_an_account_quota(
    deployer: ServerlessDeployer,
) -> None:
    for _ in range(MAX_ENDPOINTS):
        deployer.endpoint(max_concurrency=1, wait=False)
    config = deployer.config(max_concurrency=1)

    with pytest.raises(ClientError) as caught:
        deployer.sagemaker.create_endpoint(EndpointName=unique("over"), EndpointConfigName=config)

    error = error_of(caught)
    assert (error["Code"], error["Status"]) == ("ResourceLimitExceeded", 400)
    assert error["Message"] == (
        "The account-level service limit 'Maximum number of serverless endpoints' is 2 "
        "Endpoints, with current utilization of 2 Endpoints and a request delta of 1 "
        f"Endpoints. {QUOTA_TAIL}"
    )


def test_total_max_concurrency_is_an_account_quota_on_create_and_update(
    deployer: ServerlessDeployer,
) -> None:
    first = deployer.endpoint(max_concurrency=6)
    too_much = deployer.config(max_concurrency=5)
    with pytest.raises(ClientError) as caught:
        deployer.sagemaker.create_endpoint(EndpointName=unique("over"), EndpointConfigName=too_much)
    error = error_of(caught)
    assert error["Code"] == "ResourceLimitExceeded"
    assert error["Message"] == (
        "The account-level service limit 'Maximum total concurrency that can be allocated "
        "across all serverless endpoints' is 10 Concurrency, with current utilization of 6 "
        f"Concurrency and a request delta of 5 Concurrency. {QUOTA_TAIL}"
    )

    second = deployer.endpoint(max_concurrency=4)  # 6 + 4 = 10: exactly the quota
    with pytest.raises(ClientError) as caught:
        deployer.sagemaker.update_endpoint(EndpointName=second, EndpointConfigName=too_much)
    assert error_of(caught)["Code"] == "ResourceLimitExceeded"  # 6 + 5 > 10

    smaller = deployer.config(max_concurrency=2)
    deployer.sagemaker.update_endpoint(EndpointName=first, EndpointConfigName=smaller)
    deployer.sagemaker.get_waiter("endpoint_in_service").wait(
        EndpointName=first, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300}
    )
    deployer.sagemaker.update_endpoint(EndpointName=second, EndpointConfigName=too_much)  # 2 + 5


def test_real_time_endpoints_do_not_count_against_serverless_quotas(
    deployer: ServerlessDeployer, tmp_path: Path
) -> None:
    model = deployer.model()
    name = unique("realtime")
    deployer.sagemaker.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": model,
                             "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}],
    )  # fmt: skip
    deployer.configs.append(name)
    for _ in range(MAX_ENDPOINTS + 1):
        deployer.endpoint(config=name, wait=False)

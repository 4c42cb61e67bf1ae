"""Serverless endpoints changed in place and watched, through boto3:
UpdateEndpointWeightsAndCapacities with ServerlessUpdateConfig (what Application Auto Scaling
calls for provisioned concurrency), its refusals and account quota, the new concurrency surviving
a restart; MemoryUtilization sampled from warm serverless instances; responses over the 4 MB
serverless limit refused."""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from endpointlab.config import EmulatorSettings, ServerlessOptions
from tests.api.serverless_support import MEMORY_SOURCE, ServerlessDeployer
from tests.api.support import (
    FAST_WAIT,
    Deployer,
    client,
    error_of,
    handler_archive,
    running_emulator,
    still_running,
)
from tests.api.test_serverless import all_at_once, invoke

KEEP_WARM_S = 1.0
MAX_TOTAL_CONCURRENCY = 12
FOUR_MB = 4 * 1024 * 1024


def settings_for(data_dir: Path) -> EmulatorSettings:
    return EmulatorSettings(
        port=0,
        data_dir=data_dir,
        metrics_sample_interval_s=0.25,
        serverless=ServerlessOptions(
            keep_warm_s=KEEP_WARM_S, max_total_concurrency=MAX_TOTAL_CONCURRENCY
        ),
    )


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Idle instances stay warm one second; the account allows 12 concurrency in all."""
    with running_emulator(settings_for(tmp_path_factory.mktemp("updates-data"))) as running:
        yield running


@pytest.fixture(scope="module")
def memory_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return handler_archive(tmp_path_factory.mktemp("memory-model"), MEMORY_SOURCE)


@pytest.fixture
def deployer(url: str, memory_model: Path) -> Iterator[ServerlessDeployer]:
    made = ServerlessDeployer(client("sagemaker", url), memory_model)
    try:
        yield made
    finally:
        made.cleanup()


@pytest.fixture(scope="module")
def runtime(url: str) -> Any:
    return client("sagemaker-runtime", url)


def update(deployer: ServerlessDeployer, endpoint: str, *, wait: bool = True, **change: Any) -> Any:
    """UpdateEndpointWeightsAndCapacities on AllTraffic; waits for InService by default."""
    result = deployer.sagemaker.update_endpoint_weights_and_capacities(
        EndpointName=endpoint,
        DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", **change}],
    )
    if wait:
        deployer.sagemaker.get_waiter("endpoint_in_service").wait(
            EndpointName=endpoint, WaiterConfig=FAST_WAIT
        )
    return result


def refusal(deployer: ServerlessDeployer, endpoint: str, **change: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        update(deployer, endpoint, wait=False, **change)
    return error_of(caught)


def serverless_config(deployer: ServerlessDeployer, endpoint: str) -> tuple[Any, Any]:
    described = deployer.sagemaker.describe_endpoint(EndpointName=endpoint)
    variant = described["ProductionVariants"][0]
    return variant["CurrentServerlessConfig"], variant["DesiredServerlessConfig"]


def test_provisioned_concurrency_set_in_place_is_warm_and_stays(
    runtime: Any, deployer: ServerlessDeployer
) -> None:
    endpoint = deployer.endpoint(max_concurrency=4)
    arn = deployer.sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointArn"]

    result = update(deployer, endpoint, ServerlessUpdateConfig={"ProvisionedConcurrency": 2})

    assert result["EndpointArn"] == arn
    wanted = {"MemorySizeInMB": 1024, "MaxConcurrency": 4, "ProvisionedConcurrency": 2}
    assert serverless_config(deployer, endpoint) == (wanted, wanted)
    time.sleep(KEEP_WARM_S + 0.5)  # past keep-warm: provisioned instances are never reclaimed
    replies = all_at_once(2, lambda _: invoke(runtime, endpoint, "sleep 0.3"))
    assert [cold for _, cold in replies] == [None, None]


def test_a_lower_max_concurrency_throttles_at_the_new_limit(
    url: str, deployer: ServerlessDeployer
) -> None:
    endpoint = deployer.endpoint(max_concurrency=4)
    update(deployer, endpoint, ServerlessUpdateConfig={"MaxConcurrency": 2})
    once = client("sagemaker-runtime", url, retries={"total_max_attempts": 1})

    results = all_at_once(4, lambda _: invoke(once, endpoint, "sleep 1.0"))

    throttled = [r for r in results if isinstance(r, ClientError)]
    assert len(throttled) == 2
    assert {r.response["Error"]["Code"] for r in throttled} == {"ThrottlingException"}
    current, desired = serverless_config(deployer, endpoint)
    assert current == desired == {"MemorySizeInMB": 1024, "MaxConcurrency": 2}


def test_provisioned_instances_given_back_become_on_demand_and_age_out(
    runtime: Any, deployer: ServerlessDeployer
) -> None:
    endpoint = deployer.endpoint(max_concurrency=3, provisioned=2)
    update(deployer, endpoint, ServerlessUpdateConfig={"ProvisionedConcurrency": 1})

    time.sleep(KEEP_WARM_S + 1.0)  # the instance no longer provisioned is reclaimed
    replies = all_at_once(2, lambda _: invoke(runtime, endpoint, "sleep 0.5"))

    assert sorted(cold is None for _, cold in replies) == [False, True]  # one warm, one cold


def test_serverless_updates_are_refused_where_they_do_not_apply(
    deployer: ServerlessDeployer, tmp_path: Path
) -> None:
    endpoint = deployer.endpoint(max_concurrency=3)
    error = refusal(deployer, endpoint, DesiredInstanceCount=2)
    assert error["Code"] == "ValidationException"
    assert "DesiredInstanceCount" in error["Message"] and "AllTraffic" in error["Message"]

    error = refusal(deployer, endpoint, ServerlessUpdateConfig={"ProvisionedConcurrency": 4})
    assert error["Code"] == "ValidationException"
    assert error["Message"] == (
        "ProvisionedConcurrency 4 of production variant AllTraffic must be less than or equal "
        "to its MaxConcurrency 3."
    )
    error = refusal(deployer, endpoint, ServerlessUpdateConfig={})
    assert error["Code"] == "ValidationException"
    assert "MaxConcurrency" in error["Message"]

    realtime = Deployer(deployer.sagemaker)
    try:
        instances = realtime.deploy(handler_archive(tmp_path, MEMORY_SOURCE)).endpoint
        error = refusal(deployer, instances, ServerlessUpdateConfig={"MaxConcurrency": 2})
        assert error["Code"] == "ValidationException"
        assert "not serverless" in error["Message"]
    finally:
        realtime.cleanup()
    # Nothing refused changed anything.
    described = deployer.sagemaker.describe_endpoint(EndpointName=endpoint)
    assert described["EndpointStatus"] == "InService"
    assert serverless_config(deployer, endpoint)[0] == {"MemorySizeInMB": 1024, "MaxConcurrency": 3}


def test_a_larger_max_concurrency_counts_against_the_account_quota(
    deployer: ServerlessDeployer,
) -> None:
    first = deployer.endpoint(max_concurrency=6)
    second = deployer.endpoint(max_concurrency=4)

    error = refusal(deployer, second, ServerlessUpdateConfig={"MaxConcurrency": 7})
    assert error["Code"] == "ResourceLimitExceeded"
    assert "is 12 Concurrency, with current utilization of 6 Concurrency" in error["Message"]
    update(deployer, second, ServerlessUpdateConfig={"MaxConcurrency": 6})  # 6 + 6 = 12
    # The quota now sees the live concurrency of both endpoints.
    error = refusal(deployer, first, ServerlessUpdateConfig={"MaxConcurrency": 7})
    assert error["Code"] == "ResourceLimitExceeded"
    assert serverless_config(deployer, first)[0]["MaxConcurrency"] == 6


def test_an_updated_concurrency_survives_a_restart(tmp_path: Path, memory_model: Path) -> None:
    data_dir = tmp_path / "data"
    with running_emulator(settings_for(data_dir)) as url:
        deployer = ServerlessDeployer(client("sagemaker", url), memory_model)
        endpoint = deployer.endpoint(max_concurrency=2)
        update(deployer, endpoint, ServerlessUpdateConfig={"MaxConcurrency": 3,
                                                          "ProvisionedConcurrency": 1})  # fmt: skip
    with running_emulator(settings_for(data_dir)) as url:
        deployer = ServerlessDeployer(client("sagemaker", url), memory_model)
        deployer.sagemaker.get_waiter("endpoint_in_service").wait(
            EndpointName=endpoint, WaiterConfig=FAST_WAIT
        )
        wanted = {"MemorySizeInMB": 1024, "MaxConcurrency": 3, "ProvisionedConcurrency": 1}
        assert serverless_config(deployer, endpoint) == (wanted, wanted)
        _, cold = invoke(client("sagemaker-runtime", url), endpoint)
        assert cold is None  # the provisioned instance came back warm
        deployer.endpoints.append(endpoint)
        deployer.cleanup()


def test_memory_utilization_is_sampled_from_warm_instances_only(
    url: str, runtime: Any, deployer: ServerlessDeployer
) -> None:
    # A provisioned instance is never reclaimed: its samples tick like a clock. An on-demand
    # instance is sampled while warm and no more once keep-warm has reclaimed it.
    provisioned = deployer.endpoint(memory_mb=2048, max_concurrency=2, provisioned=1)
    on_demand = deployer.endpoint(memory_mb=2048, max_concurrency=1)
    cloudwatch = client("cloudwatch", url)
    started = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1)

    def statistics(endpoint: str, metric: str) -> list[dict[str, Any]]:
        return list(
            cloudwatch.get_metric_statistics(
                Namespace="/aws/sagemaker/Endpoints",
                MetricName=metric,
                Dimensions=[
                    {"Name": "EndpointName", "Value": endpoint},
                    {"Name": "VariantName", "Value": "AllTraffic"},
                ],
                StartTime=started,
                EndTime=started + datetime.timedelta(minutes=5),
                Period=300,
                Statistics=["SampleCount", "Minimum", "Maximum"],
            )["Datapoints"]
        )

    def samples(endpoint: str) -> int:
        return sum(int(p["SampleCount"]) for p in statistics(endpoint, "MemoryUtilization"))

    def after_ticks(ticks: int) -> None:
        """Wait until the provisioned instance has been sampled ``ticks`` more times."""
        target = samples(provisioned) + ticks
        deadline = time.monotonic() + 30
        while samples(provisioned) < target:
            assert time.monotonic() < deadline, "the sampler stopped"
            time.sleep(0.25)  # waiting for the quarter-second sampler, not simulating work

    invoke(runtime, provisioned)
    answer, cold = invoke(runtime, on_demand)
    assert cold is not None
    after_ticks(3)

    (memory,) = statistics(provisioned, "MemoryUtilization")
    assert memory["Unit"] == "Percent"
    assert 0 < memory["Minimum"] <= memory["Maximum"] < 50  # a small model in 2 GB
    assert statistics(provisioned, "CPUUtilization") == []  # not a serverless metric
    assert statistics(provisioned, "DiskUtilization") == []

    assert not still_running([answer["pid"]], timeout=30), "keep-warm never reclaimed it"
    after_ticks(2)  # samples taken before the reclaim have been recorded
    while_warm = samples(on_demand)
    assert while_warm >= 1
    after_ticks(4)
    assert samples(on_demand) == while_warm


def test_responses_over_four_megabytes_fail_as_model_errors(
    runtime: Any, deployer: ServerlessDeployer
) -> None:
    endpoint = deployer.endpoint(max_concurrency=1)

    at_limit = runtime.invoke_endpoint(
        EndpointName=endpoint, Body=f"big {FOUR_MB}", ContentType="text/plain"
    )
    assert len(at_limit["Body"].read()) == FOUR_MB  # exactly 4 MB is allowed
    with pytest.raises(ClientError) as caught:
        runtime.invoke_endpoint(
            EndpointName=endpoint, Body=f"big {FOUR_MB + 1}", ContentType="text/plain"
        )

    error = error_of(caught)
    assert error["Code"] == "ModelError"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert f"response of {FOUR_MB + 1} bytes exceeds" in error["Message"]
    again, cold = invoke(runtime, endpoint)  # the same warm instance serves on
    assert cold is None and again["length"] == 3

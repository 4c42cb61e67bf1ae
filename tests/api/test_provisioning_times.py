"""Modelled provisioning times through boto3 (``serve --provisioning``, emulator/provisioning.py):
an endpoint stays Creating, and a scale-out Updating, while its new instances wait their launch;
a serverless cold start waits its provisioning, which the reply and CloudWatch report apart from
the measured start (ModelSetupTime). Off by default: the session's emulator waits nothing."""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from endpointlab.config import DelayRange, EmulatorSettings, ProvisioningOptions
from tests.api.serverless_support import MEMORY_SOURCE, ServerlessDeployer, cold_start_ms
from tests.api.support import IN_PROGRESS, Deployer, client, handler_archive, running_emulator

# Fixed delays, far longer than the probe model takes to start here, so that an endpoint in
# service before them would show they were not waited.
LAUNCH_S = 0.8
COLD_START_S = 0.3
PROVISIONING_HEADER = "x-endpointlab-provisioning-ms"


@pytest.fixture(scope="module")
def modelled_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = EmulatorSettings(
        port=0,
        data_dir=tmp_path_factory.mktemp("provisioning-data"),
        provisioning=ProvisioningOptions(
            instance_launch=DelayRange(LAUNCH_S, LAUNCH_S),
            serverless_cold_start=DelayRange(COLD_START_S, COLD_START_S),
            seed=1,
        ),
    )
    with running_emulator(settings) as url:
        yield url


@pytest.fixture(scope="module")
def memory_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return handler_archive(tmp_path_factory.mktemp("provisioning-model"), MEMORY_SOURCE)


def _in_service_after(sagemaker: Any, endpoint: str, since: float) -> float:
    """Seconds from ``since`` to the first DescribeEndpoint that no longer shows the endpoint
    in progress (it must then be InService)."""
    while True:
        described = sagemaker.describe_endpoint(EndpointName=endpoint)
        if described["EndpointStatus"] not in IN_PROGRESS:
            assert described["EndpointStatus"] == "InService", described.get("FailureReason")
            return time.monotonic() - since
        time.sleep(0.05)


def test_new_instances_wait_their_launch_creating_and_scaling_out(
    modelled_url: str, probe: Path
) -> None:
    sagemaker = client("sagemaker", modelled_url)
    deployer = Deployer(sagemaker)
    try:
        started = time.monotonic()
        deployment = deployer.deploy(probe, wait=False)
        endpoint = deployment.endpoint
        assert sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointStatus"] == "Creating"
        assert _in_service_after(sagemaker, endpoint, started) >= LAUNCH_S

        started = time.monotonic()
        sagemaker.update_endpoint_weights_and_capacities(
            EndpointName=endpoint,
            DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredInstanceCount": 2}],
        )
        assert sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointStatus"] == "Updating"
        assert _in_service_after(sagemaker, endpoint, started) >= LAUNCH_S
        variant = sagemaker.describe_endpoint(EndpointName=endpoint)["ProductionVariants"][0]
        assert variant["CurrentInstanceCount"] == 2
    finally:
        deployer.cleanup()


def test_a_cold_start_waits_its_provisioning_reported_apart_from_model_setup_time(
    modelled_url: str, memory_model: Path
) -> None:
    deployer = ServerlessDeployer(client("sagemaker", modelled_url), memory_model)
    runtime = client("sagemaker-runtime", modelled_url)
    try:
        endpoint = deployer.endpoint()
        since = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1)
        started = time.monotonic()
        cold = runtime.invoke_endpoint(EndpointName=endpoint, Body="pid", ContentType="text/plain")
        assert time.monotonic() - started >= COLD_START_S
        warm = runtime.invoke_endpoint(EndpointName=endpoint, Body="pid", ContentType="text/plain")
    finally:
        deployer.cleanup()
    headers = cold["ResponseMetadata"]["HTTPHeaders"]
    assert headers[PROVISIONING_HEADER] == f"{COLD_START_S * 1e3:.1f}"
    measured_ms = cold_start_ms(cold)
    assert measured_ms is not None
    assert PROVISIONING_HEADER not in warm["ResponseMetadata"]["HTTPHeaders"]
    assert cold_start_ms(warm) is None

    cloudwatch = client("cloudwatch", modelled_url)
    dimensions = [
        {"Name": "EndpointName", "Value": endpoint},
        {"Name": "VariantName", "Value": "AllTraffic"},
    ]

    def maximum(namespace: str, metric: str) -> float:
        points = cloudwatch.get_metric_statistics(
            Namespace=namespace,
            MetricName=metric,
            Dimensions=dimensions,
            StartTime=since,
            EndTime=since + datetime.timedelta(minutes=3),
            Period=60,
            Statistics=["SampleCount", "Maximum"],
        )["Datapoints"]
        assert sum(point["SampleCount"] for point in points) == 1
        assert points[0]["Unit"] == "Microseconds"
        return float(max(point["Maximum"] for point in points))

    # ModelSetupTime stays the measured start; the modelled delay is a metric of its own.
    assert maximum("AWS/SageMaker", "ModelSetupTime") == pytest.approx(measured_ms * 1e3, rel=0.01)
    assert maximum("Endpointlab", "ProvisioningDelay") == pytest.approx(COLD_START_S * 1e6)


def test_off_by_default_a_cold_start_waits_nothing_modelled(
    emulator_url: str, memory_model: Path
) -> None:
    deployer = ServerlessDeployer(client("sagemaker", emulator_url), memory_model)
    runtime = client("sagemaker-runtime", emulator_url)
    try:
        endpoint = deployer.endpoint()
        cold = runtime.invoke_endpoint(EndpointName=endpoint, Body="pid", ContentType="text/plain")
    finally:
        deployer.cleanup()
    assert cold_start_ms(cold) is not None
    assert PROVISIONING_HEADER not in cold["ResponseMetadata"]["HTTPHeaders"]

"""The metrics an endpoint publishes (services/sagemaker_runtime.py -> emulator/metrics), read back
through boto3's CloudWatch client and scraped from ``GET /metrics`` with Prometheus's own text
parser, after a known workload: counts equal the requests sent, ModelLatency follows the model's
own timing, utilisation is sampled from the workers; samples outlive a restart, not retention."""

from __future__ import annotations

import datetime
import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from prometheus_client.parser import text_string_to_metric_families

from endpointlab.config import EmulatorSettings
from tests.api.support import Deployer, client, handler_archive, running_emulator

UTC = datetime.UTC
SLEEPS = [0.01 * (i + 1) for i in range(20)]  # 10 ms .. 200 ms, one request each
CLIENT_ERRORS = 3  # unsupported content type: the container answers 415
SERVER_ERRORS = 2  # the handler raises: 500
TOTAL = len(SLEEPS) + CLIENT_ERRORS + SERVER_ERRORS
TIMED_SOURCE = """
import time


def model_fn(model_dir):
    return None


def predict_fn(data, model):
    started = time.perf_counter()
    time.sleep(float(data[0]))  # a negative duration raises: the container answers 500
    return [time.perf_counter() - started]
"""


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An emulator sampling utilisation every half second."""
    settings = EmulatorSettings(
        port=0, data_dir=tmp_path_factory.mktemp("metrics-data"), metrics_sample_interval_s=0.5
    )
    with running_emulator(settings) as running:
        yield running


@pytest.fixture(scope="module")
def served(url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A two-instance endpoint of the timed model after the known workload."""
    archive = handler_archive(tmp_path_factory.mktemp("timed"), TIMED_SOURCE)
    deployer = Deployer(client("sagemaker", url))
    runtime = client("sagemaker-runtime", url)
    try:
        deployment = deployer.deploy(archive, instances=2)
        started = datetime.datetime.now(UTC)
        own: list[float] = []
        for seconds in reversed(SLEEPS):
            response = runtime.invoke_endpoint(
                EndpointName=deployment.endpoint, Body=json.dumps([seconds]),
                ContentType="application/json",
            )  # fmt: skip
            own.append(json.loads(response["Body"].read())[0])
        for body, content_type in [("[1]", "application/x-nope")] * CLIENT_ERRORS + [
            ("[-1]", "application/json")
        ] * SERVER_ERRORS:
            with pytest.raises(ClientError):
                runtime.invoke_endpoint(
                    EndpointName=deployment.endpoint, Body=body, ContentType=content_type
                )
        yield {"endpoint": deployment.endpoint, "started": started, "own": sorted(own)}
    finally:
        deployer.cleanup()


def statistics(url: str, served: dict[str, Any], name: str, **kw: Any) -> list[dict[str, Any]]:
    cw = client("cloudwatch", url)
    start = served["started"].replace(second=0, microsecond=0)
    response = cw.get_metric_statistics(
        Namespace=kw.pop("Namespace", "AWS/SageMaker"),
        MetricName=name,
        Dimensions=[
            {"Name": "EndpointName", "Value": served["endpoint"]},
            {"Name": "VariantName", "Value": "AllTraffic"},
        ],
        StartTime=start - datetime.timedelta(minutes=1),
        EndTime=datetime.datetime.now(UTC) + datetime.timedelta(minutes=1),
        Period=3600,
        **kw,
    )
    return list(response["Datapoints"])


def total(url: str, served: dict[str, Any], name: str) -> float:
    return sum(p["Sum"] for p in statistics(url, served, name, Statistics=["Sum"]))


def test_counts_equal_the_requests_sent(url: str, served: dict[str, Any]) -> None:
    assert total(url, served, "Invocations") == TOTAL
    assert total(url, served, "InvocationsPerInstance") == TOTAL / 2  # 1/N per request, N = 2
    assert total(url, served, "Invocation4XXErrors") == CLIENT_ERRORS
    assert total(url, served, "Invocation5XXErrors") == SERVER_ERRORS
    assert total(url, served, "InvocationModelErrors") == CLIENT_ERRORS + SERVER_ERRORS
    (point,) = statistics(url, served, "Invocation4XXErrors", Statistics=["Average"])
    assert point["Average"] == pytest.approx(CLIENT_ERRORS / TOTAL)


def test_model_latency_follows_the_models_own_timing(url: str, served: dict[str, Any]) -> None:
    """Percentile by percentile, ModelLatency is the model's own time plus a little (the
    handler's decoding and encoding inside the worker). The five failures are the fastest
    requests, so rank 5 + k of all 25 is the k-th fastest of the model's own timings."""
    (point,) = statistics(
        url, served, "ModelLatency", ExtendedStatistics=["p24", "p40", "p60", "p80", "p100"]
    )
    assert point["Unit"] == "Microseconds"
    own = served["own"]
    for name, value in point["ExtendedStatistics"].items():
        rank = -(-int(name[1:]) * TOTAL // 100)  # nearest rank
        mine = own[rank - 5 - 1] * 1e6
        assert mine <= value <= mine + 20_000, name
    (count,) = statistics(url, served, "ModelLatency", Statistics=["SampleCount", "Sum"])
    assert count["SampleCount"] == TOTAL
    assert count["Sum"] >= sum(own) * 1e6


def test_overhead_latency_is_the_rest_of_the_emulators_time(
    url: str, served: dict[str, Any]
) -> None:
    (point,) = statistics(
        url, served, "OverheadLatency", Statistics=["SampleCount", "Minimum", "Maximum"]
    )
    assert point["SampleCount"] == TOTAL
    assert 0 < point["Minimum"] <= point["Maximum"] < 200_000  # microseconds


def test_list_metrics_shows_the_endpoints_metrics(url: str, served: dict[str, Any]) -> None:
    cw = client("cloudwatch", url)
    metrics = cw.list_metrics(
        Namespace="AWS/SageMaker",
        Dimensions=[{"Name": "EndpointName", "Value": served["endpoint"]}],
    )["Metrics"]
    assert {m["MetricName"] for m in metrics} == {
        "Invocations", "InvocationsPerInstance", "Invocation4XXErrors", "Invocation5XXErrors",
        "InvocationModelErrors", "ModelLatency", "OverheadLatency",
    }  # fmt: skip
    assert metrics[0]["Dimensions"] == [
        {"Name": "EndpointName", "Value": served["endpoint"]},
        {"Name": "VariantName", "Value": "AllTraffic"},
    ]


def test_utilisation_is_sampled_per_instance(url: str, served: dict[str, Any]) -> None:
    deadline = time.monotonic() + 20
    while True:
        points = statistics(
            url, served, "MemoryUtilization", Namespace="/aws/sagemaker/Endpoints",
            Statistics=["SampleCount", "Minimum", "Maximum"],
        )  # fmt: skip
        if (points and points[0]["SampleCount"] >= 4) or time.monotonic() > deadline:
            break
        time.sleep(0.25)  # waiting for the half-second sampler, not simulating work
    (memory,) = points
    assert memory["Unit"] == "Percent"
    assert 0 < memory["Minimum"] <= memory["Maximum"] < 100  # a small model in 8 GiB
    (cpu,) = statistics(
        url, served, "CPUUtilization", Namespace="/aws/sagemaker/Endpoints",
        Statistics=["SampleCount", "Maximum"],
    )  # fmt: skip
    assert cpu["SampleCount"] >= 4
    assert 0 <= cpu["Maximum"] <= 100 * 2 * 1.1  # ml.m5.large: 2 vCPUs, 100% each
    (disk,) = statistics(
        url, served, "DiskUtilization", Namespace="/aws/sagemaker/Endpoints",
        Statistics=["Maximum"],
    )  # fmt: skip
    assert 0 < disk["Maximum"] <= 100


def test_prometheus_scrape_parses_and_agrees(url: str, served: dict[str, Any]) -> None:
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    labels = {"endpoint_name": served["endpoint"], "variant_name": "AllTraffic"}

    def value(family: str, sample: str, **extra: str) -> float:
        wanted = {**labels, **extra}
        samples = families[family].samples
        found = [s.value for s in samples if s.name == sample and s.labels == wanted]
        assert len(found) == 1, (sample, wanted)
        return float(found[0])

    assert families["sagemaker_invocations"].type == "counter"
    assert value("sagemaker_invocations", "sagemaker_invocations_total") == TOTAL
    assert value("sagemaker_invocation_4xx_errors", "sagemaker_invocation_4xx_errors_total") == 3
    histogram = families["sagemaker_model_latency_seconds"]
    assert histogram.type == "histogram"
    assert value(histogram.name, "sagemaker_model_latency_seconds_count") == TOTAL
    assert value(histogram.name, "sagemaker_model_latency_seconds_bucket", le="+Inf") == TOTAL
    (latency,) = statistics(url, served, "ModelLatency", Statistics=["Sum"])
    scraped = value(histogram.name, "sagemaker_model_latency_seconds_sum")
    assert scraped == pytest.approx(latency["Sum"] / 1e6, rel=1e-9)
    assert families["sagemaker_memory_utilization_percent"].type == "gauge"


def test_samples_outlive_a_restart_but_not_the_retention(tmp_path: Path) -> None:
    settings = EmulatorSettings(port=0, data_dir=tmp_path, metrics_retention_s=3600)
    now = datetime.datetime.now(UTC)
    old, recent = now - datetime.timedelta(hours=2), now - datetime.timedelta(minutes=1)
    with running_emulator(settings) as first:
        client("cloudwatch", first).put_metric_data(Namespace="Kept", MetricData=[
            {"MetricName": "Old", "Value": 1.0, "Timestamp": old},
            {"MetricName": "Recent", "Value": 2.0, "Timestamp": recent},
        ])  # fmt: skip
    with running_emulator(settings) as second:
        cw = client("cloudwatch", second)
        window = {
            "StartTime": now - datetime.timedelta(hours=3),
            "EndTime": now + datetime.timedelta(minutes=1),
            "Period": 3600,
            "Statistics": ["Sum"],
        }
        kept = cw.get_metric_statistics(Namespace="Kept", MetricName="Recent", **window)
        assert [p["Sum"] for p in kept["Datapoints"]] == [2.0]
        deadline = time.monotonic() + 10
        while cw.get_metric_statistics(Namespace="Kept", MetricName="Old", **window)["Datapoints"]:
            assert time.monotonic() < deadline, "samples past the retention were not purged"
            time.sleep(0.2)  # waiting for the background purge
        assert [m["MetricName"] for m in cw.list_metrics(Namespace="Kept")["Metrics"]] == ["Recent"]

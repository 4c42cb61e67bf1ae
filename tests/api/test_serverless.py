"""Serverless endpoints through boto3 (endpoints/serverless.py): cold starts flagged and recorded as
ModelSetupTime, warm reuse, scale-in after keep-warm, provisioned concurrency, throttling as
botocore's retry modes see it, out-of-memory instances, the 4 MB payload limit and MaxConcurrency
20 of real processes. Validation and account quotas are in test_serverless_config.py."""

from __future__ import annotations

import datetime
import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psutil
import pytest
from botocore.exceptions import ClientError
from prometheus_client.parser import text_string_to_metric_families

from endpointlab.config import EmulatorSettings, ServerlessOptions
from endpointlab.emulator.workers.fork.cpu_quota import CpuQuotas
from tests.api.serverless_support import (
    COLD_HEADER,
    MEMORY_SOURCE,
    ServerlessDeployer,
    cold_start_ms,
)
from tests.api.support import client, error_of, handler_archive, running_emulator

KEEP_WARM_S = 1.0


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An emulator whose idle serverless instances stay warm one second."""
    settings = EmulatorSettings(
        port=0,
        data_dir=tmp_path_factory.mktemp("serverless-data"),
        serverless=ServerlessOptions(keep_warm_s=KEEP_WARM_S),
    )
    with running_emulator(settings) as running:
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


def invoke(runtime: Any, endpoint: str, body: str = "pid") -> tuple[dict[str, Any], float | None]:
    """The model's JSON answer and the cold-start time the emulator flagged (None: warm)."""
    response = runtime.invoke_endpoint(EndpointName=endpoint, Body=body, ContentType="text/plain")
    return json.loads(response["Body"].read()), cold_start_ms(response)


def all_at_once(count: int, call: Callable[[int], Any]) -> list[Any]:
    """``call(i)`` for i in range(count) from ``count`` threads released together; each result
    or the exception it raised."""
    barrier = threading.Barrier(count)

    def run(i: int) -> Any:
        barrier.wait()
        try:
            return call(i)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def test_the_first_request_is_a_cold_start_flagged_and_recorded_as_model_setup_time(
    url: str, runtime: Any, deployer: ServerlessDeployer
) -> None:
    endpoint = deployer.endpoint(memory_mb=2048, max_concurrency=2)
    described = deployer.sagemaker.describe_endpoint(EndpointName=endpoint)
    assert described["ProductionVariants"][0]["CurrentServerlessConfig"] == {
        "MemorySizeInMB": 2048,
        "MaxConcurrency": 2,
    }
    started = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1)

    first, cold = invoke(runtime, endpoint)
    second, warm = invoke(runtime, endpoint)

    assert cold is not None and cold > 0
    assert warm is None
    assert second["pid"] == first["pid"]  # the warm instance served it
    cloudwatch = client("cloudwatch", url)
    stats = cloudwatch.get_metric_statistics(
        Namespace="AWS/SageMaker",
        MetricName="ModelSetupTime",
        Dimensions=[
            {"Name": "EndpointName", "Value": endpoint},
            {"Name": "VariantName", "Value": "AllTraffic"},
        ],
        StartTime=started,
        EndTime=started + datetime.timedelta(minutes=3),
        Period=60,
        Statistics=["SampleCount", "Maximum"],
    )["Datapoints"]
    assert sum(point["SampleCount"] for point in stats) == 1
    assert max(point["Maximum"] for point in stats) == pytest.approx(cold * 1e3, rel=0.01)
    assert stats[0]["Unit"] == "Microseconds"


def test_idle_instances_are_reclaimed_after_the_keep_warm_period(
    runtime: Any, deployer: ServerlessDeployer
) -> None:
    endpoint = deployer.endpoint(max_concurrency=1)
    first, _ = invoke(runtime, endpoint)
    second, warm = invoke(runtime, endpoint)
    assert warm is None and second["pid"] == first["pid"]

    time.sleep(KEEP_WARM_S + 1.0)  # idle past keep-warm: the instance is reclaimed
    third, cold = invoke(runtime, endpoint)

    assert cold is not None
    assert third["pid"] != first["pid"]
    assert not _alive(first["pid"])


def test_provisioned_instances_are_warm_from_the_start_and_never_reclaimed(
    runtime: Any, deployer: ServerlessDeployer
) -> None:
    endpoint = deployer.endpoint(max_concurrency=3, provisioned=2)

    replies = all_at_once(2, lambda _: invoke(runtime, endpoint, "sleep 0.5"))
    assert [cold for _, cold in replies] == [None, None]
    provisioned = {answer["pid"] for answer, _ in replies}
    time.sleep(KEEP_WARM_S + 1.0)
    # Past keep-warm, both provisioned instances still serve; a third request spills over.
    replies = all_at_once(3, lambda _: invoke(runtime, endpoint, "sleep 0.5"))

    assert sorted(cold is None for _, cold in replies) == [False, True, True]
    assert provisioned <= {answer["pid"] for answer, _ in replies}


def test_requests_beyond_max_concurrency_are_throttled_at_once_without_retries(
    url: str, deployer: ServerlessDeployer
) -> None:
    endpoint = deployer.endpoint(max_concurrency=3)
    once = client("sagemaker-runtime", url, retries={"total_max_attempts": 1})

    results = all_at_once(8, lambda _: invoke(once, endpoint, "sleep 1.5"))

    throttled = [r for r in results if isinstance(r, ClientError)]
    assert len([r for r in results if isinstance(r, tuple)]) == 3
    assert len(throttled) == 8 - 3  # the excess over MaxConcurrency, no more, no less
    error = throttled[0].response
    assert error["Error"]["Code"] == "ThrottlingException"
    assert error["Error"]["Message"] is None  # SageMaker sends {"message": null}
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == "ThrottlingException"
    assert all(r.response["ResponseMetadata"]["RetryAttempts"] == 0 for r in throttled)
    assert throttle_count(url, endpoint) == 5  # Prometheus counts what CloudWatch does not


def throttle_count(url: str, endpoint: str) -> float:
    """``endpointlab_throttled_requests_total`` for ``endpoint``, from a Prometheus scrape."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        text = response.read().decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    samples = families["endpointlab_throttled_requests"].samples
    return sum(s.value for s in samples if s.labels["endpoint_name"] == endpoint)


def test_standard_retries_absorb_the_throttling_and_every_request_succeeds(
    url: str, deployer: ServerlessDeployer
) -> None:
    endpoint = deployer.endpoint(max_concurrency=2)
    retrying = client("sagemaker-runtime", url, retries={"max_attempts": 100, "mode": "standard"})
    attempts: list[str] = []
    lock = threading.Lock()

    def count(request: Any, **_: Any) -> None:
        with lock:
            attempts.append(request.headers["amz-sdk-request"].decode())

    retrying.meta.events.register("before-send.sagemaker-runtime.InvokeEndpoint", count)
    requests = 6

    def call(_: int) -> int:
        response = retrying.invoke_endpoint(
            EndpointName=endpoint, Body="sleep 0.3", ContentType="text/plain"
        )
        response["Body"].read()
        return int(response["ResponseMetadata"]["RetryAttempts"])

    retries = all_at_once(requests, call)

    assert all(isinstance(r, int) for r in retries), retries
    assert sum(retries) > 0  # throttled first, then served
    assert len(attempts) == requests + sum(retries)
    assert sum(a.startswith("attempt=1;") for a in attempts) == requests
    assert throttle_count(url, endpoint) == sum(retries)  # every retry answered a throttle


def test_legacy_retries_retry_throttling_too(url: str, deployer: ServerlessDeployer) -> None:
    """Legacy mode retries ThrottlingException only with HTTP 400, as SageMaker sends it."""
    endpoint = deployer.endpoint(max_concurrency=1)
    legacy = client("sagemaker-runtime", url, retries={"max_attempts": 10, "mode": "legacy"})
    invoke(legacy, endpoint)  # an instance warm, so the blocking request starts at once
    blocker = threading.Thread(target=invoke, args=(legacy, endpoint, "sleep 0.8"))
    blocker.start()
    time.sleep(0.2)  # the blocking request is in flight
    response = legacy.invoke_endpoint(EndpointName=endpoint, Body="pid", ContentType="text/plain")
    blocker.join()
    assert response["ResponseMetadata"]["RetryAttempts"] >= 1


def test_an_instance_out_of_memory_is_stopped_and_the_endpoint_stays_usable(
    runtime: Any, deployer: ServerlessDeployer
) -> None:
    endpoint = deployer.endpoint(memory_mb=1024, max_concurrency=1)
    before, _ = invoke(runtime, endpoint, "alloc 100")  # well within 1024 MB

    with pytest.raises(ClientError) as caught:
        invoke(runtime, endpoint, "alloc 1300")

    error = error_of(caught)
    assert error["Code"] == "ModelError"
    assert error["Status"] == 424
    assert "insufficient memory" in error["Message"]
    assert "1024 MB" in error["Message"]
    assert caught.value.response["OriginalStatusCode"] == 0
    assert not _alive(before["pid"])
    after, cold = invoke(runtime, endpoint)
    assert cold is not None and after["pid"] != before["pid"]


def test_a_model_too_big_for_its_memory_size_fails_the_endpoint(
    deployer: ServerlessDeployer, tmp_path: Path
) -> None:
    archive = handler_archive(tmp_path, MEMORY_SOURCE, files={"load_mb.txt": "1300"})
    endpoint = deployer.endpoint(memory_mb=1024, archive=archive, wait=False)
    waiter = deployer.sagemaker.get_waiter("endpoint_in_service")
    with pytest.raises(Exception, match="Failed"):
        waiter.wait(EndpointName=endpoint, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})
    reason = deployer.sagemaker.describe_endpoint(EndpointName=endpoint)["FailureReason"]
    assert "insufficient memory" in reason


def test_instances_run_under_a_cpu_quota_of_their_share_where_cgroups_allow(
    runtime: Any, deployer: ServerlessDeployer
) -> None:
    if not CpuQuotas.detect().enforced:
        pytest.skip("no writable cgroup v1 cpu hierarchy: thread pools only (see the README)")
    endpoint = deployer.endpoint(memory_mb=1024)
    answer, _ = invoke(runtime, endpoint)
    line = next(
        ln for ln in Path(f"/proc/{answer['pid']}/cgroup").read_text().splitlines()
        if "cpu" in ln.split(":")[1].split(",")
    )  # fmt: skip
    group = Path("/sys/fs/cgroup/cpu") / line.split(":", 2)[2].lstrip("/")
    assert group.name.startswith("endpointlab-")
    quota = int((group / "cpu.cfs_quota_us").read_text())
    period = int((group / "cpu.cfs_period_us").read_text())
    assert quota / period == pytest.approx(1024 / 1769, abs=0.001)


def test_payloads_over_four_megabytes_are_refused(
    runtime: Any, deployer: ServerlessDeployer
) -> None:
    endpoint = deployer.endpoint()
    limit = 4 * 1024 * 1024
    answer, _ = invoke(runtime, endpoint, "x" * limit)
    assert answer["length"] == limit

    with pytest.raises(ClientError) as caught:
        invoke(runtime, endpoint, "x" * (limit + 1))

    error = error_of(caught)
    assert (error["Code"], error["Status"]) == ("ValidationError", 400)
    assert error["Message"].startswith("Request ") and error["Message"].endswith(
        " has oversize body."
    )


def test_twenty_simultaneous_requests_are_all_served_half_or_more_by_cold_starts(
    runtime: Any, deployer: ServerlessDeployer, rtb: Any
) -> None:
    endpoint = deployer.endpoint(memory_mb=1024, max_concurrency=20, archive=rtb.archive)
    sample = rtb.requests[0]

    def call(_: int) -> Any:
        return runtime.invoke_endpoint(
            EndpointName=endpoint, Body=sample["Body"], ContentType=sample["ContentType"]
        )

    responses = all_at_once(20, call)

    assert all(not isinstance(r, Exception) for r in responses), responses
    cold = [r for r in responses if COLD_HEADER in r["ResponseMetadata"]["HTTPHeaders"]]
    assert len(cold) >= 10  # those that arrive before any instance is free (often all 20)
    assert {r["Body"].read() for r in responses} == {b"[0.02850974164903164]"}


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False

"""State that survives the emulator process (control/store.py, Lifecycle.restore): a restart on
the same --data-dir brings every endpoint back InService with its workers and loses nothing; a
crash in the middle of a deployment leaves nothing that cannot be deleted."""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest
from botocore.exceptions import ClientError, WaiterError

from tests.api.support import (
    FAILING_LOAD_SOURCE,
    LIGHT,
    Deployer,
    Example,
    ServeProcess,
    client,
    descendants,
    error_of,
    handler_archive,
    invoke_json,
    probe_archive,
    still_running,
)


def without_metadata(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def snapshot(sagemaker: Any, tag: str) -> dict[str, Any]:
    """Everything the control plane says about the resources whose names contain ``tag``."""
    models = sagemaker.list_models(NameContains=tag, MaxResults=100)["Models"]
    configs = sagemaker.list_endpoint_configs(NameContains=tag, MaxResults=100)["EndpointConfigs"]
    endpoints = sagemaker.list_endpoints(NameContains=tag, MaxResults=100)["Endpoints"]
    return {
        "models": [
            without_metadata(sagemaker.describe_model(ModelName=m["ModelName"])) for m in models
        ],
        "configs": [
            without_metadata(
                sagemaker.describe_endpoint_config(EndpointConfigName=c["EndpointConfigName"])
            )
            for c in configs
        ],
        "endpoints": [
            without_metadata(sagemaker.describe_endpoint(EndpointName=e["EndpointName"]))
            for e in endpoints
        ],
        "listed": endpoints,
    }


def test_a_restart_brings_every_endpoint_back_and_loses_nothing(
    serve: Callable[[Path], ServeProcess],
    tmp_path: Path,
    rtb: Example,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    data = tmp_path / "data"
    first = serve(data)
    url = first.start()
    sagemaker = client("sagemaker", url)
    runtime = client("sagemaker-runtime", url)
    deployer = Deployer(sagemaker)
    tag = "keep"

    # An example model endpoint, a two-variant endpoint re-weighted and scaled after creation,
    # a failed endpoint, an unused model and config, and an endpoint deleted before the restart.
    rtb_endpoint = deployer.endpoint(
        deployer.config(deployer.model(rtb.archive, name=f"{tag}-rtb"), name=f"{tag}-rtb"),
        name=f"{tag}-rtb",
    )
    blue = deployer.model(probe_archive(tmp_path_factory.mktemp("blue"), "v1"), name=f"{tag}-b")
    green = deployer.model(probe_archive(tmp_path_factory.mktemp("green"), "v2"), name=f"{tag}-g")
    split = deployer.endpoint(
        deployer.config([blue, green], name=f"{tag}-split", variant_names=["blue", "green"]),
        name=f"{tag}-split",
    )
    sagemaker.update_endpoint_weights_and_capacities(
        EndpointName=split,
        DesiredWeightsAndCapacities=[
            {"VariantName": "blue", "DesiredWeight": 0.0},
            {"VariantName": "green", "DesiredWeight": 1.0, "DesiredInstanceCount": 2},
        ],
    )
    deployer.wait_in_service(split)
    broken = deployer.model(
        handler_archive(tmp_path_factory.mktemp("broken"), FAILING_LOAD_SOURCE),
        name=f"{tag}-broken",
    )
    failed = deployer.endpoint(
        deployer.config(broken, name=f"{tag}-broken"), name=f"{tag}-broken", wait=False
    )
    with pytest.raises(WaiterError):
        deployer.wait_in_service(failed)
    deployer.config(blue, name=f"{tag}-unused")
    # Deleting the config and model of a live endpoint is allowed; it keeps serving.
    orphan_model = deployer.model(
        probe_archive(tmp_path_factory.mktemp("o"), "v3"), name=f"{tag}-o"
    )
    orphan = deployer.endpoint(deployer.config(orphan_model, name=f"{tag}-o"), name=f"{tag}-o")
    sagemaker.delete_endpoint_config(EndpointConfigName=orphan)
    sagemaker.delete_model(ModelName=orphan_model)
    gone = deployer.endpoint(deployer.config(blue, name=f"{tag}-gone"), name=f"{tag}-gone")
    sagemaker.delete_endpoint(EndpointName=gone)
    deployer.wait_deleted(gone)

    before = snapshot(sagemaker, tag)
    answers = [
        runtime.invoke_endpoint(EndpointName=rtb_endpoint, **request)["Body"].read()
        for request in rtb.requests
    ]
    assert first.stop(signal.SIGTERM) == 0

    second = serve(data)
    url = second.start()
    sagemaker = client("sagemaker", url)
    runtime = client("sagemaker-runtime", url)
    # Restored before the URL is announced: no waiting, everything exactly as it was.
    after = snapshot(sagemaker, tag)
    for kind in ("models", "configs", "listed"):
        assert after[kind] == before[kind], kind
    for old, new in zip(before["endpoints"], after["endpoints"], strict=True):
        assert new == old, old["EndpointName"]
    statuses = {e["EndpointName"]: e["EndpointStatus"] for e in before["listed"]}
    assert statuses == {
        rtb_endpoint: "InService",
        split: "InService",
        failed: "Failed",
        orphan: "InService",
    }
    assert invoke_json(runtime, orphan)["version"] == "v3"
    assert [
        runtime.invoke_endpoint(EndpointName=rtb_endpoint, **request)["Body"].read()
        for request in rtb.requests
    ] == answers
    # The re-weighting survived: all traffic goes to green, served by the new process's workers.
    served = [invoke_json(runtime, split) for _ in range(20)]
    assert {answer["version"] for answer in served} == {"v2"}
    assert {answer["pid"] for answer in served} <= descendants(second.process.pid)  # type: ignore[union-attr]
    with pytest.raises(ClientError) as caught:
        runtime.invoke_endpoint(EndpointName=gone, Body=b"x")
    assert error_of(caught)["Code"] == "ValidationError"

    Deployer(sagemaker, deployer.models, deployer.configs, deployer.endpoints).cleanup()
    assert second.stop() == 0


def test_a_crash_mid_create_or_update_leaves_everything_usable_and_deletable(
    serve: Callable[..., ServeProcess], tmp_path: Path, probe: Path
) -> None:
    data = tmp_path / "data"
    server = serve(data, *LIGHT)
    sagemaker = client("sagemaker", server.start())
    deployer = Deployer(sagemaker)
    updated = deployer.deploy(probe)
    slow = deployer.config(
        deployer.model(probe_archive(tmp_path / "slow", "slow", load_delay_s=1.5))
    )
    created = deployer.endpoint(slow, wait=False)
    sagemaker.update_endpoint(EndpointName=updated.endpoint, EndpointConfigName=slow)
    statuses = {
        name: sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"]
        for name in (created, updated.endpoint)
    }
    assert statuses == {created: "Creating", updated.endpoint: "Updating"}
    server.kill()  # SIGKILL while the new workers load; kill() checks they die too

    server = serve(data, *LIGHT)
    url = server.start()
    sagemaker = client("sagemaker", url)
    runtime = client("sagemaker-runtime", url)
    # The interrupted creation was resumed; the interrupted update was dropped.
    described = sagemaker.describe_endpoint(EndpointName=created)
    assert (described["EndpointStatus"], described["EndpointConfigName"]) == ("InService", slow)
    assert invoke_json(runtime, created)["version"] == "slow"
    described = sagemaker.describe_endpoint(EndpointName=updated.endpoint)
    assert described["EndpointStatus"] == "InService"
    assert described["EndpointConfigName"] == updated.config
    assert "PendingDeploymentSummary" not in described
    assert invoke_json(runtime, updated.endpoint)["version"] == "v1"
    # And everything can be deleted.
    Deployer(sagemaker, deployer.models, deployer.configs, deployer.endpoints).cleanup()
    assert not sagemaker.list_endpoints()["Endpoints"]
    assert not sagemaker.list_endpoint_configs()["EndpointConfigs"]
    assert not sagemaker.list_models()["Models"]
    assert server.stop() == 0


def test_a_crashed_servers_workers_exit_at_once(
    serve: Callable[..., ServeProcess], tmp_path: Path
) -> None:
    server = serve(tmp_path / "data", *LIGHT)
    sagemaker = client("sagemaker", server.start())
    Deployer(sagemaker).deploy(
        probe_archive(tmp_path / "slow", "slow", load_delay_s=5.0), wait=False
    )
    assert server.process is not None
    deadline = time.monotonic() + 30
    while len(server.descendants()) < 2:  # the fork server, the loading worker
        assert time.monotonic() < deadline, "the worker never started"
        time.sleep(0.05)  # waiting for the worker process to appear, not simulating work
    left_behind = {p.pid for p in server.descendants()}
    server.process.kill()
    server.process.wait(timeout=30)
    server.process = None
    try:
        assert not still_running(left_behind, timeout=2.0)
    finally:
        for pid in still_running(left_behind, timeout=0):
            with contextlib.suppress(psutil.Error):
                psutil.Process(pid).kill()

"""Memory limits enforced in time (workers/fork/memory_limit.py, endpoints/serverless_instances.py,
endpoints/realtime.py): a worker is stopped within 10% of its instance's memory, whether it
allocates while loading the model or while serving a request; the client gets ModelError
("insufficient memory", as AWS's benchmarking toolkit expects) and the instance is replaced."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from endpointlab.config import EmulatorSettings
from endpointlab.emulator.workers.fork.memory_limit import MemoryLimits
from tests.api.serverless_support import ServerlessDeployer, cold_start_ms
from tests.api.support import Deployer, client, error_of, handler_archive, running_emulator

MIB = 1024 * 1024
TOLERANCE = 1.10  # stopped within 10% of the limit

# Allocates (and touches) memory 16 MB at a time up to LOAD_MB while loading, or up to N MB on
# "alloc N", writing how much it holds to PROGRESS after every step.
GREEDY_SOURCE = """
import json
import os

import numpy as np

PROGRESS = {progress!r}
LOAD_MB = {load_mb!r}


def _allocate(total_mb):
    held = []
    for step in range(1, total_mb // 16 + 1):
        held.append(np.ones(16 * 1024 * 1024 // 8))
        with open(PROGRESS, "a") as out:
            out.write(f"{{step * 16}}\\n")
    return held


def model_fn(model_dir):
    return _allocate(LOAD_MB)


def transform_fn(model, data, content_type, accept):
    words = (data.decode() if isinstance(data, bytes) else data).split()
    if words and words[0] == "alloc":
        _allocate(int(words[1]))
    return json.dumps({{"pid": os.getpid()}}), "application/json"
"""

pytestmark = pytest.mark.skipif(
    not MemoryLimits.detect().enforced,
    reason="no writable cgroup v1 memory hierarchy: sampled resident memory only (README)",
)


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = EmulatorSettings(port=0, data_dir=tmp_path_factory.mktemp("memory-data"))
    with running_emulator(settings) as running:
        yield running


def greedy(directory: Path, load_mb: int = 0) -> tuple[Path, Path]:
    """A model archive allocating as told, and the file where it writes how much it holds."""
    progress = directory / "progress"
    source = GREEDY_SOURCE.format(progress=str(progress), load_mb=load_mb)
    return handler_archive(directory, source), progress


def peak_mb(progress: Path) -> int:
    return max(int(line) for line in progress.read_text().split())


def test_a_model_loading_past_its_memory_size_is_stopped_at_it(url: str, tmp_path: Path) -> None:
    archive, progress = greedy(tmp_path, load_mb=1600)
    deployer = ServerlessDeployer(client("sagemaker", url), archive)
    try:
        endpoint = deployer.endpoint(memory_mb=1024, wait=False)
        waiter = deployer.sagemaker.get_waiter("endpoint_in_service")
        with pytest.raises(Exception, match="Failed"):
            waiter.wait(EndpointName=endpoint, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})
        reason = deployer.sagemaker.describe_endpoint(EndpointName=endpoint)["FailureReason"]
        assert "insufficient memory" in reason
        assert peak_mb(progress) <= 1024 * TOLERANCE  # the old watchdog let it reach 1600
    finally:
        deployer.cleanup()


def test_a_request_allocating_past_memory_size_is_stopped_at_it_and_the_instance_replaced(
    url: str, tmp_path: Path
) -> None:
    archive, progress = greedy(tmp_path)
    deployer = ServerlessDeployer(client("sagemaker", url), archive)
    runtime = client("sagemaker-runtime", url)
    try:
        endpoint = deployer.endpoint(memory_mb=1024, max_concurrency=1)
        first = json.loads(
            runtime.invoke_endpoint(EndpointName=endpoint, Body="pid")["Body"].read()
        )
        with pytest.raises(ClientError) as caught:
            runtime.invoke_endpoint(EndpointName=endpoint, Body="alloc 1600")
        error = error_of(caught)
        assert (error["Code"], error["Status"]) == ("ModelError", 424)
        assert "insufficient memory" in error["Message"]
        assert peak_mb(progress) <= 1024 * TOLERANCE

        response = runtime.invoke_endpoint(EndpointName=endpoint, Body="pid")
        assert json.loads(response["Body"].read())["pid"] != first["pid"]
        assert cold_start_ms(response) is not None  # a new instance took the slot
    finally:
        deployer.cleanup()


def test_real_time_workers_share_a_memory_group_of_their_instance_type(
    url: str, tmp_path: Path
) -> None:
    archive, _ = greedy(tmp_path)
    deployer = Deployer(client("sagemaker", url))
    runtime = client("sagemaker-runtime", url)
    try:
        model = deployer.model(archive, environment={"SAGEMAKER_MODEL_SERVER_WORKERS": "2"})
        endpoint = deployer.endpoint(deployer.config(model))  # ml.m5.large: 8 GiB
        pids = set()
        for _ in range(20):
            answer = runtime.invoke_endpoint(EndpointName=endpoint, Body="pid")["Body"].read()
            pids.add(json.loads(answer)["pid"])
        groups = {_memory_group(pid) for pid in pids}
        assert len(groups) == 1
        [group] = groups
        assert group.name.startswith("endpointlab-")
        limit = int((group / "memory.limit_in_bytes").read_text())
        # The instance's memory less what the workers share with the fork server.
        assert 7 * 1024 * MIB < limit <= 8 * 1024 * MIB
    finally:
        deployer.cleanup()


def _memory_group(pid: int) -> Path:
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, relative = line.split(":", 2)
        if "memory" in controllers.split(","):
            return Path("/sys/fs/cgroup/memory") / relative.lstrip("/")
    raise AssertionError(f"pid {pid} is in no memory group")

"""ServerlessVariant with real worker processes and no HTTP (endpoints/serverless.py): provisioned
capacity changed by scale_to, a provisioned instance that dies is replaced, a warm instance killed
while idle costs the next request nothing, and stop leaves no process behind."""

from __future__ import annotations

import asyncio
import os
import signal
import textwrap
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import psutil
import pytest

from endpointlab.emulator.endpoints.base import ModelPackage, ThrottledError
from endpointlab.emulator.endpoints.serverless import ServerlessSettings, ServerlessVariant
from endpointlab.emulator.records import ServerlessConfig, Variant
from endpointlab.emulator.workers.fork.forking import ForkServer
from endpointlab.emulator.workers.fork.host import WorkerHost
from endpointlab.models.contract import InvocationRequest

SOURCE = """
import os
import time


def model_fn(model_dir):
    return None


def transform_fn(model, data, content_type, accept):
    text = data.decode() if isinstance(data, bytes) else data
    if text.startswith("sleep "):
        time.sleep(float(text.split()[1]))
    return str(os.getpid()), "text/plain"
"""
PID = InvocationRequest(body=b"pid", content_type="text/plain", accept=None)


@pytest.fixture(scope="module")
def host() -> Iterator[WorkerHost]:
    host = WorkerHost(ForkServer(["numpy"]))  # the models here import no ML library
    yield host
    host.close()  # its fork server


@pytest.fixture
def package(tmp_path: Path) -> ModelPackage:
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "inference.py").write_text(textwrap.dedent(SOURCE))
    return ModelPackage("pid-model", tmp_path)


def run(
    host: WorkerHost,
    package: ModelPackage,
    config: ServerlessConfig,
    body: Callable[[ServerlessVariant], Awaitable[None]],
    timeout_s: float = 60.0,
) -> None:
    async def main() -> None:
        variant = ServerlessVariant(
            Variant("AllTraffic", "pid-model", serverless=config),
            package,
            host,
            ServerlessSettings(keep_warm_s=0.3, host_cpus=2, invocation_timeout_s=timeout_s),
        )
        await variant.start()
        try:
            await body(variant)
        finally:
            pids = variant.worker_pids
            await variant.stop()
            _, alive = psutil.wait_procs([psutil.Process(p) for p in pids if _exists(p)], 5)
            assert not alive

    asyncio.run(main())


async def pid_of(variant: ServerlessVariant, body: bytes = b"pid") -> int:
    outcome = await variant.invoke(InvocationRequest(body, "text/plain", None))
    assert outcome.response is not None, outcome.failure
    return int(outcome.response.body)


def test_scale_to_changes_the_provisioned_capacity(host: WorkerHost, package: ModelPackage) -> None:
    async def body(variant: ServerlessVariant) -> None:
        assert variant.instance_count == 1
        await variant.scale_to(3)
        assert variant.instance_count == 3
        await variant.scale_to(1)  # two become on-demand, reclaimed after keep-warm
        await asyncio.sleep(0.8)
        assert variant.instance_count == 1
        outcome = await variant.invoke(PID)
        assert outcome.cold_start_s is None
        assert outcome.serverless is not None and outcome.serverless.on_provisioned is True

    run(host, package, ServerlessConfig(1024, 4, provisioned_concurrency=1), body)


def test_a_provisioned_instance_that_dies_is_replaced(
    host: WorkerHost, package: ModelPackage
) -> None:
    async def body(variant: ServerlessVariant) -> None:
        (before,) = variant.worker_pids
        os.kill(before, signal.SIGKILL)
        for _ in range(200):  # the replacement loads within a few seconds
            if variant.worker_pids and variant.worker_pids != [before]:
                break
            await asyncio.sleep(0.05)
        (after,) = variant.worker_pids
        assert after != before
        outcome = await variant.invoke(PID)
        assert outcome.cold_start_s is None

    run(host, package, ServerlessConfig(1024, 2, provisioned_concurrency=1), body)


def test_a_warm_instance_killed_while_idle_costs_the_next_request_nothing(
    host: WorkerHost, package: ModelPackage
) -> None:
    async def body(variant: ServerlessVariant) -> None:
        first = await pid_of(variant)
        os.kill(first, signal.SIGKILL)
        second = await pid_of(variant)  # served by a new instance, not failed
        assert second != first

    run(host, package, ServerlessConfig(1024, 1), body)


def test_throttling_is_decided_before_any_instance_starts(
    host: WorkerHost, package: ModelPackage
) -> None:
    async def body(variant: ServerlessVariant) -> None:
        slow = asyncio.ensure_future(pid_of(variant, b"sleep 0.5"))
        await asyncio.sleep(0.05)
        with pytest.raises(ThrottledError):
            await variant.invoke(PID)
        assert variant.instance_count == 1
        await slow
        assert variant.stats.throttled == 1

    run(host, package, ServerlessConfig(1024, 1), body)


def test_a_request_past_the_invocation_timeout_fails_and_its_instance_is_stopped(
    host: WorkerHost, package: ModelPackage
) -> None:
    async def body(variant: ServerlessVariant) -> None:
        first = await pid_of(variant)
        outcome = await variant.invoke(InvocationRequest(b"sleep 5", "text/plain", None))
        assert outcome.timed_out and outcome.response is None
        assert not _exists(first) or psutil.Process(first).status() == psutil.STATUS_ZOMBIE
        assert await pid_of(variant) != first  # a new instance; the endpoint still serves

    run(host, package, ServerlessConfig(1024, 1), body, timeout_s=0.5)


def _exists(pid: int) -> bool:
    return psutil.pid_exists(pid)

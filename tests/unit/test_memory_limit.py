"""Memory groups (workers/fork/memory_limit.py) with real processes: the kernel (a cgroup) or the
sampling fallback stops a process at its group's limit and the group counts it; release kills
what is left; a real-time instance (endpoints/realtime.py) whose worker is stopped at the limit
answers "insufficient memory" and replaces the worker. (Real instance types have 4 GiB or more,
so the instance here gets a small group directly: tests never allocate gigabytes.)"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from endpointlab.emulator.endpoints.realtime import Instance, RealtimeSettings
from endpointlab.emulator.workers.fork.framed_child import WorkerSpec
from endpointlab.emulator.workers.fork.host import WorkerHost
from endpointlab.emulator.workers.fork.memory_limit import CGROUP_LIMIT, NO_LIMIT, MemoryLimits
from endpointlab.models.contract import InvocationRequest

MIB = 1024 * 1024
LIMITS = MemoryLimits.detect()
HOST = WorkerHost()
needs_cgroups = pytest.mark.skipif(
    not LIMITS.enforced, reason="no writable cgroup v1 memory hierarchy on this host"
)


@pytest.fixture(scope="module", autouse=True)
def _stop_the_fork_server() -> Iterator[None]:
    """The module's workers share one fork server, stopped after its last test."""
    yield
    HOST.close()


MECHANISMS = [
    pytest.param(LIMITS, id="cgroup", marks=needs_cgroups),
    pytest.param(MemoryLimits(None), id="sampling"),
]

# Touches 16 MB at a time (as a model filling arrays does), up to {mb} MB.
ALLOCATE = (
    "import sys; sys.stdin.readline(); "
    "held = [bytearray(b'x' * 16 * 1024 * 1024) for _ in range({mb} // 16)]"
)

SOURCE = """
import os


def model_fn(model_dir):
    return None


def transform_fn(model, data, content_type, accept):
    words = (data.decode() if isinstance(data, bytes) else data).split()
    if words and words[0] == "alloc":
        held = [bytearray(b"x" * 16 * 1024 * 1024) for _ in range(int(words[1]) // 16)]
    return str(os.getpid()), "text/plain"
"""


@pytest.mark.parametrize("limits", MECHANISMS)
def test_a_process_is_killed_at_its_groups_limit_and_counted(limits: MemoryLimits) -> None:
    group = limits.group(120 * MIB)
    child = subprocess.Popen([sys.executable, "-c", ALLOCATE.format(mb=300)], stdin=subprocess.PIPE)
    try:
        group.add(child.pid)
        assert child.stdin is not None
        child.stdin.write(b"go\n")
        child.stdin.flush()
        assert child.wait(timeout=60) == -9
        assert group.oom_kills() == 1
        if group.enforced:
            usage = group.usage_bytes()
            assert usage is not None and usage <= 120 * MIB
    finally:
        child.kill()
        group.release()
    assert group.oom_kills() == 1  # still known once the group is gone


@needs_cgroups
def test_release_kills_what_is_left_in_the_group() -> None:
    group = LIMITS.group(200 * MIB)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    try:
        group.add(child.pid)
        group.release()
        assert child.wait(timeout=10) == -9
    finally:
        child.kill()
        child.wait()


@needs_cgroups
def test_the_mechanism_is_named() -> None:
    assert LIMITS.mechanism == CGROUP_LIMIT
    assert MemoryLimits(None).mechanism == NO_LIMIT


@pytest.mark.parametrize("limits", MECHANISMS)
def test_a_real_time_worker_stopped_at_the_limit_answers_insufficient_memory(
    limits: MemoryLimits, tmp_path: Path
) -> None:
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "inference.py").write_text(textwrap.dedent(SOURCE))
    spec = WorkerSpec(str(tmp_path), {}, 1)

    async def main() -> None:
        group = limits.group(400 * MIB)
        instance = Instance(
            "test/instance-1",
            spec,
            1,
            HOST,
            RealtimeSettings(),
            group,
            "The instance had insufficient memory (test).",
        )
        await instance.start()
        try:
            first = await instance.invoke(InvocationRequest(b"pid", "text/plain", None))
            assert first.response is not None
            outcome = await instance.invoke(InvocationRequest(b"alloc 600", "text/plain", None))
            assert outcome.response is None
            assert outcome.failure == "The instance had insufficient memory (test)."
            again = await instance.invoke(InvocationRequest(b"pid", "text/plain", None))
            assert again.response is not None  # waited for the replacement worker
            assert again.response.body != first.response.body
        finally:
            await instance.stop()

    asyncio.run(main())


@needs_cgroups
@pytest.mark.parametrize("attempt", range(3))
def test_every_worker_of_an_instance_joins_its_group(tmp_path: Path, attempt: int) -> None:
    # The workers start concurrently: the second used to write a higher limit than the
    # first had set, which cgroup v1 refuses (above memsw), and ran without any limit.
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "inference.py").write_text(textwrap.dedent(SOURCE))
    spec = WorkerSpec(str(tmp_path), {}, 1)

    async def main() -> None:
        group = LIMITS.group(4096 * MIB)
        instance = Instance("test/instance-1", spec, 8, HOST, RealtimeSettings(), group)
        await instance.start()
        try:
            assert group.path is not None
            joined = {int(p) for p in (group.path / "cgroup.procs").read_text().split()}
            assert set(instance.worker_pids) <= joined
            assert len(instance.worker_pids) == 8
        finally:
            await instance.stop()

    asyncio.run(main())


@needs_cgroups
def test_a_process_that_cannot_join_its_cgroup_is_sampled_at_the_limit() -> None:
    group = LIMITS.group(120 * MIB)
    assert group.path is not None
    group.path.rmdir()  # e.g. removed under it: joining fails
    child = subprocess.Popen([sys.executable, "-c", ALLOCATE.format(mb=300)], stdin=subprocess.PIPE)
    try:
        group.add(child.pid)
        assert child.stdin is not None
        child.stdin.write(b"go\n")
        child.stdin.flush()
        assert child.wait(timeout=60) == -9
        assert group.oom_kills() == 1
    finally:
        child.kill()
        group.release()

"""The workers' fork server (workers/zygote.py, forking.py) through WorkerHost: a worker gets its
spec and environment, its exit code is reported as multiprocessing reported it (SystemExit's
code, minus the signal that killed it), and a fork server that died is replaced."""

from __future__ import annotations

import asyncio
import os
import signal
import textwrap
from pathlib import Path

import pytest

from endpointlab.emulator.workers.forking import FORK_SERVER
from endpointlab.emulator.workers.framed_child import WorkerSpec
from endpointlab.emulator.workers.host import WorkerHost, WorkerStartError
from endpointlab.models.contract import InvocationRequest

SOURCE = """
import os
import sys


def model_fn(model_dir):
    if os.environ.get("FAIL_TO_LOAD"):
        raise ValueError("no model here")
    return None


def transform_fn(model, data, content_type, accept):
    text = data.decode() if isinstance(data, bytes) else data
    if text.startswith("exit "):
        sys.exit(int(text.split()[1]))
    return f"{os.getpid()} {os.environ.get('GREETING')} {os.getppid()}", "text/plain"
"""


@pytest.fixture
def model_dir(tmp_path: Path) -> str:
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "inference.py").write_text(textwrap.dedent(SOURCE))
    return str(tmp_path)


def test_a_worker_runs_its_spec_under_the_fork_server(model_dir: str) -> None:
    async def main() -> None:
        worker = await WorkerHost().spawn(
            WorkerSpec(model_dir, {"GREETING": "hello"}), ready_timeout_s=60
        )
        try:
            result = await worker.call(InvocationRequest(b"x", "text/plain", None), 30)
            assert result.reply is not None, result.failure
            pid, greeting, parent = result.reply.response.body.decode().split()
            assert int(pid) == worker.pid
            assert greeting == "hello"
            assert FORK_SERVER._process is not None
            assert int(parent) == FORK_SERVER._process.pid
            exit_result = await worker.call(InvocationRequest(b"exit 7", "text/plain", None), 30)
            assert exit_result.reply is None
            await worker.stop(grace_s=5)
            assert worker._process.exitcode == 7
        finally:
            await worker.stop(grace_s=0)

    asyncio.run(main())


def test_a_worker_that_cannot_load_exits_with_code_3(model_dir: str) -> None:
    async def main() -> None:
        with pytest.raises(WorkerStartError, match="no model here"):
            await WorkerHost().spawn(
                WorkerSpec(model_dir, {"FAIL_TO_LOAD": "1"}), ready_timeout_s=60
            )

    asyncio.run(main())


def test_a_killed_worker_reports_its_signal_and_a_dead_fork_server_is_replaced(
    model_dir: str,
) -> None:
    async def main() -> None:
        host = WorkerHost()
        worker = await host.spawn(WorkerSpec(model_dir), ready_timeout_s=60)
        os.kill(worker.pid, signal.SIGKILL)
        await worker.stop(grace_s=5)
        assert worker._process.exitcode == -signal.SIGKILL
        assert FORK_SERVER._process is not None
        dead = FORK_SERVER._process.pid
        os.kill(dead, signal.SIGKILL)
        FORK_SERVER._process.wait()
        again = await host.spawn(WorkerSpec(model_dir), ready_timeout_s=60)
        try:
            assert FORK_SERVER._process is not None
            assert FORK_SERVER._process.pid != dead
            result = await again.call(InvocationRequest(b"x", "text/plain", None), 30)
            assert result.reply is not None, result.failure
        finally:
            await again.stop(grace_s=0)

    asyncio.run(main())

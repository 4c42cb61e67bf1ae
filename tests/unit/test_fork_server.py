"""The fork server (workers/fork/zygote.py, forking.py) through WorkerHost: a worker gets its
spec and environment, its exit code is reported as multiprocessing reported it (SystemExit's
code, minus the signal that killed it), a fork server that died is replaced, a cancelled start
harms nothing else and leaves no worker behind, descriptors past 1023 work, and a fork server
stopped (or whose host died) before it served ends without finishing its imports."""

from __future__ import annotations

import asyncio
import os
import resource
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from endpointlab.emulator.endpoints.realtime import Instance, RealtimeSettings
from endpointlab.emulator.workers.fork.forking import ForkServer
from endpointlab.emulator.workers.fork.framed_child import WorkerSpec
from endpointlab.emulator.workers.fork.host import RemoteWorker, WorkerHost, WorkerStartError
from endpointlab.models.contract import InvocationRequest

SOURCE = """
import os
import sys
import time


def model_fn(model_dir):
    if os.environ.get("FAIL_TO_LOAD"):
        raise ValueError("no model here")
    time.sleep(float(os.environ.get("LOAD_DELAY_S", "0")))  # a slow model load
    return None


def transform_fn(model, data, content_type, accept):
    text = data.decode() if isinstance(data, bytes) else data
    if text.startswith("exit "):
        sys.exit(int(text.split()[1]))
    return f"{os.getpid()} {os.environ.get('GREETING')} {os.getppid()}", "text/plain"
"""

SETTINGS = RealtimeSettings()
ZYGOTE_MAIN = "from endpointlab.emulator.workers.fork.zygote import main; main({fd})"
HOST = WorkerHost(ForkServer(["numpy"]))  # the models here import no ML library


@pytest.fixture(scope="module", autouse=True)
def _stop_the_fork_server() -> Iterator[None]:
    """The module's workers share one fork server, stopped after its last test."""
    yield
    HOST.close()


@pytest.fixture
def model_dir(tmp_path: Path) -> str:
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "inference.py").write_text(textwrap.dedent(SOURCE))
    return str(tmp_path)


async def assert_exit_code(worker: RemoteWorker, code: int) -> None:
    """Ask the model to exit with ``code``; the worker must report exactly that."""
    result = await worker.call(InvocationRequest(f"exit {code}".encode(), "text/plain", None), 30)
    assert result.reply is None
    await worker.stop(grace_s=5)
    assert worker._process.exitcode == code


def test_a_worker_runs_its_spec_under_the_fork_server(model_dir: str) -> None:
    async def main() -> None:
        worker = await HOST.spawn(WorkerSpec(model_dir, {"GREETING": "hello"}), ready_timeout_s=60)
        try:
            result = await worker.call(InvocationRequest(b"x", "text/plain", None), 30)
            assert result.reply is not None, result.failure
            pid, greeting, parent = result.reply.response.body.decode().split()
            assert int(pid) == worker.pid
            assert greeting == "hello"
            assert HOST.fork_server._process is not None
            assert int(parent) == HOST.fork_server._process.pid
            await assert_exit_code(worker, 7)
        finally:
            await worker.stop(grace_s=0)

    asyncio.run(main())


def test_a_worker_that_cannot_load_exits_with_code_3(model_dir: str) -> None:
    async def main() -> None:
        with pytest.raises(WorkerStartError, match="no model here"):
            await HOST.spawn(WorkerSpec(model_dir, {"FAIL_TO_LOAD": "1"}), ready_timeout_s=60)

    asyncio.run(main())


def test_a_killed_worker_reports_its_signal_and_a_dead_fork_server_is_replaced(
    model_dir: str,
) -> None:
    async def main() -> None:
        host = HOST
        worker = await host.spawn(WorkerSpec(model_dir), ready_timeout_s=60)
        os.kill(worker.pid, signal.SIGKILL)
        await worker.stop(grace_s=5)
        assert worker._process.exitcode == -signal.SIGKILL
        assert HOST.fork_server._process is not None
        dead = HOST.fork_server._process.pid
        os.kill(dead, signal.SIGKILL)
        HOST.fork_server._process.wait()
        again = await host.spawn(WorkerSpec(model_dir), ready_timeout_s=60)
        try:
            assert HOST.fork_server._process is not None
            assert HOST.fork_server._process.pid != dead
            result = await again.call(InvocationRequest(b"x", "text/plain", None), 30)
            assert result.reply is not None, result.failure
        finally:
            await again.stop(grace_s=0)

    asyncio.run(main())


def fork_server_children() -> set[int]:
    assert HOST.fork_server._process is not None
    return {p.pid for p in psutil.Process(HOST.fork_server._process.pid).children()}


def settle(expected: set[int], timeout_s: float = 10) -> set[int]:
    """The fork server's children once they are ``expected`` (or the deadline passes); run it
    in a thread so the event loop can run the callbacks that stop abandoned workers."""
    deadline = time.monotonic() + timeout_s
    while (children := fork_server_children()) != expected and time.monotonic() < deadline:
        time.sleep(0.05)  # waiting for abandoned workers to exit, not simulating work
    return children


def test_cancelled_spawns_harm_no_other_worker_and_leave_none_behind(model_dir: str) -> None:
    async def main() -> None:
        host = HOST
        kept = await host.spawn(WorkerSpec(model_dir), ready_timeout_s=60)
        assert HOST.fork_server._process is not None
        fork_server = HOST.fork_server._process.pid
        try:
            # Cancelled while its thread waits for the fork server, while it forks, while the
            # worker gets its spec: at each moment nothing else may notice.
            outcomes: list[str] = []
            for delay_s in (0, 0.001, 0.002, 0.005, 0.01, 0.02):
                other = asyncio.create_task(host.spawn(WorkerSpec(model_dir), ready_timeout_s=60))
                cancelled = asyncio.create_task(
                    host.spawn(WorkerSpec(model_dir), ready_timeout_s=60)
                )
                await asyncio.sleep(delay_s)
                cancelled.cancel()
                try:
                    ready = await cancelled
                except asyncio.CancelledError:
                    outcomes.append("cancelled")
                else:  # it was ready before it could be cancelled
                    outcomes.append("ready")
                    await ready.stop(grace_s=5)
                started = await other
                await started.stop(grace_s=5)
            assert "cancelled" in outcomes
            assert HOST.fork_server._process is not None
            assert HOST.fork_server._process.pid == fork_server
            assert await asyncio.to_thread(settle, {kept.pid}) == {kept.pid}
            result = await kept.call(InvocationRequest(b"x", "text/plain", None), 30)
            assert result.reply is not None, result.failure
        finally:
            await kept.stop(grace_s=0)

    asyncio.run(main())


def test_a_spawn_cancelled_while_the_model_loads_stops_its_worker(model_dir: str) -> None:
    async def main() -> None:
        host = HOST
        host.warm_up()
        before = fork_server_children()
        loading = asyncio.create_task(
            host.spawn(WorkerSpec(model_dir, {"LOAD_DELAY_S": "30"}), ready_timeout_s=60)
        )
        deadline = time.monotonic() + 30
        while fork_server_children() == before:
            assert time.monotonic() < deadline, "the worker never started"
            await asyncio.sleep(0.02)
        loading.cancel()
        with pytest.raises(asyncio.CancelledError):
            await loading
        assert await asyncio.to_thread(settle, before) == before

    asyncio.run(main())


def test_a_spawn_cancelled_between_fork_and_handshake_stops_its_worker(model_dir: str) -> None:
    """Cancelled after the worker got its spec but before the spawn's thread returned: the
    worker is loading its model and would not read the closed socket for 30 s."""

    async def main() -> None:
        host = HOST
        host.warm_up()
        before = fork_server_children()
        forked = threading.Event()
        release = threading.Event()

        def hold(pid: int) -> None:
            forked.set()
            release.wait(30)

        loading = asyncio.create_task(
            host.spawn(
                WorkerSpec(model_dir, {"LOAD_DELAY_S": "30"}),
                ready_timeout_s=60,
                on_started=hold,
            )
        )
        assert await asyncio.to_thread(forked.wait, 30), "the worker never started"
        loading.cancel()
        with pytest.raises(asyncio.CancelledError):
            await loading
        release.set()
        assert await asyncio.to_thread(settle, before) == before

    asyncio.run(main())


def test_workers_are_watched_past_descriptor_1023(model_dir: str) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if max(soft, hard) < 1200:
        pytest.skip(f"this process may open only {hard} descriptors")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    filler = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]

    async def main() -> None:
        worker = await HOST.spawn(WorkerSpec(model_dir), ready_timeout_s=60)
        try:
            assert worker._process.sentinel > 1023
            result = await worker.call(InvocationRequest(b"x", "text/plain", None), 30)
            assert result.reply is not None, result.failure
            await assert_exit_code(worker, 5)
        finally:
            await worker.stop(grace_s=0)

    try:
        asyncio.run(main())
    finally:
        for fd in filler:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.slow
def test_a_request_whose_worker_died_unread_goes_to_the_replacement_if_reaping_is_late(
    model_dir: str,
) -> None:
    # A worker whose socket was reset used to stay "alive" until its exit code came (the fork
    # server reaps it): released to the idle set, it took the retry as well and the request
    # failed with "The worker was killed by SIGKILL." instead of going to its replacement.
    async def main() -> None:
        instance = Instance("test/instance-1", WorkerSpec(model_dir), 1, HOST, SETTINGS)
        await instance.start()
        try:
            first = await instance.invoke(InvocationRequest(b"x", "text/plain", None))
            assert first.response is not None
            pid, _, parent = first.response.body.decode().split()
            victim, fork_server = int(pid), int(parent)
            os.kill(victim, signal.SIGSTOP)  # it will never read the next request
            answer = asyncio.create_task(
                instance.invoke(InvocationRequest(b"x", "text/plain", None))
            )
            await asyncio.sleep(0.5)  # letting the request reach the victim's socket
            os.kill(fork_server, signal.SIGSTOP)  # the victim's exit code comes late
            try:
                os.kill(victim, signal.SIGKILL)
                await asyncio.sleep(4)  # longer than the host waits for an exit code
            finally:
                os.kill(fork_server, signal.SIGCONT)
            outcome = await asyncio.wait_for(answer, 60)
            assert outcome.response is not None, outcome.failure
            assert int(outcome.response.body.decode().split()[0]) != victim
        finally:
            await instance.stop()

    asyncio.run(main())


def test_a_host_owns_its_fork_server_and_nothing_starts_at_import() -> None:
    package = Path(__file__).resolve().parents[2] / "src" / "endpointlab"
    for path in package.rglob("*.py"):
        assert "atexit" not in path.read_text(), f"{path.name}: the owner stops what it starts"
    host = WorkerHost()
    assert host.fork_server._process is None  # started on first use, not by the import
    host.warm_up()
    process = host.fork_server._process
    assert process is not None and process.poll() is None
    assert WorkerHost().fork_server is not host.fork_server
    host.close()
    assert process.poll() is not None  # stopped by its owner, and reaped


@pytest.mark.parametrize("past_1023", [False, True])
def test_a_fork_server_whose_host_is_gone_stops_before_its_imports(past_1023: bool) -> None:
    """A host that crashed while its fork server was starting: the fork server ends between
    two imports, without loading the model libraries or warming up (whatever its descriptor)."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    ours.close()  # the host is gone before the fork server starts
    fd = theirs.fileno()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if past_1023:
        if hard < 1200:
            pytest.skip(f"this process may open only {hard} descriptors")
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
        fd = os.dup2(theirs.fileno(), 1100)
    report = "import atexit, sys; atexit.register(lambda: print(sorted(set(sys.modules) & LIBS)))"
    libraries = {"xgboost", "onnxruntime", "sklearn", "joblib"}
    code = f"{report.replace('LIBS', repr(libraries))}; {ZYGOTE_MAIN.format(fd=fd)}"
    try:
        done = subprocess.run(
            [sys.executable, "-c", code],
            pass_fds=[fd],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        if fd != theirs.fileno():
            os.close(fd)
        theirs.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_fork_server_asked_for_no_worker_is_stopped_at_once() -> None:
    """Stopping a host whose fork server never forked (an emulator stopped while idle) ends the
    fork server with SIGTERM: it is not left to finish its imports first."""
    host = WorkerHost()
    host.warm_up()
    process = host.fork_server._process
    assert process is not None
    host.close()
    # 0: its SIGTERM handler ran mid-import; -SIGTERM: the signal came before the handler was set.
    assert process.returncode in (0, -signal.SIGTERM)

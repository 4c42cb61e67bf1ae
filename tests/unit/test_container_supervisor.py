"""The supervisor and its worker processes, with small real targets that speak the pipe protocol.

No model and no HTTP: each target is what a transport-free worker does (report Ready, answer
pings) or fails to do (die, never load, stop answering), run in real forked processes.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from multiprocessing.connection import Connection
from typing import Any

import psutil
import pytest

from endpointlab.emulator.workers.container import (
    Supervisor,
    SupervisorOptions,
    WorkerInfo,
    WorkerStartupError,
    WorkerStatus,
    spawn_worker,
)
from endpointlab.emulator.workers.container.messages import LoadFailed, Ping, Pong, Ready
from endpointlab.emulator.workers.container.process import describe_exit

FAST = SupervisorOptions(
    workers=2, ping_interval_s=0.05, unresponsive_after_s=3, startup_timeout_s=10, stop_timeout_s=2
)


def answer_pings(conn: Connection, *, answers: int | None = None) -> None:
    """A worker: loaded at once, answers ``answers`` pings (all when None), then goes silent."""
    conn.send(Ready(os.getpid(), 0.0))
    answered = 0
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if isinstance(message, Ping) and (answers is None or answered < answers):
            conn.send(Pong(message.sent_at))
            answered += 1


def go_silent_after_ready(conn: Connection) -> None:
    answer_pings(conn, answers=1)


def die_while_loading(conn: Connection) -> None:
    os._exit(7)


def fail_to_load(conn: Connection) -> None:
    conn.send(LoadFailed(os.getpid(), "no model file found", "Traceback ..."))
    os._exit(3)


def never_load(conn: Connection) -> None:
    conn.recv()


def gone(pids: Sequence[int]) -> bool:
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                return False
        except psutil.NoSuchProcess:
            continue
    return True


@pytest.fixture
def background() -> Iterator[Callable[[Supervisor], list[WorkerInfo]]]:
    """Run a supervisor on a thread; returns its first ready snapshot; stops it afterwards."""
    running: list[tuple[Supervisor, threading.Thread]] = []

    def run(supervisor: Supervisor) -> list[WorkerInfo]:
        ready = threading.Event()
        snapshot: list[WorkerInfo] = []

        def on_ready(infos: Sequence[WorkerInfo]) -> None:
            snapshot.extend(infos)
            ready.set()

        thread = threading.Thread(target=supervisor.run, args=(on_ready,), daemon=True)
        thread.start()
        running.append((supervisor, thread))
        assert ready.wait(10), "the workers did not become ready"
        return snapshot

    yield run
    for supervisor, thread in running:
        supervisor.stop()
        thread.join(10)
        assert not thread.is_alive()


def wait_until(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_a_worker_process_reports_ready_answers_pings_and_dies_when_killed() -> None:
    worker = spawn_worker(answer_pings)
    assert worker.status is WorkerStatus.STARTING
    assert worker.ping(5)
    assert worker.status is WorkerStatus.READY and worker.load_s == 0.0
    worker.kill()
    assert not worker.ping(0.5)
    wait_until(worker.reap)
    assert worker.status is WorkerStatus.DEAD
    assert describe_exit(worker.exitcode) == "was killed by SIGKILL"


def test_run_reports_every_worker_ready_and_stop_leaves_no_process(background: Any) -> None:
    supervisor = Supervisor(answer_pings, FAST)
    infos = background(supervisor)
    assert [info.status for info in infos] == [WorkerStatus.READY] * 2
    assert all(info.ready_after_s is not None and info.ready_after_s < 5 for info in infos)
    pids = [info.pid for info in infos]
    supervisor.stop()
    wait_until(lambda: gone(pids))


def test_a_dead_worker_is_replaced(background: Any) -> None:
    supervisor = Supervisor(answer_pings, FAST)
    first = [info.pid for info in background(supervisor)]
    psutil.Process(first[0]).kill()

    def replaced() -> bool:
        ready = {i.pid for i in supervisor.workers() if i.status is WorkerStatus.READY}
        return len(ready) == 2 and first[0] not in ready

    wait_until(replaced)
    assert first[1] in {info.pid for info in supervisor.workers()}


def test_a_worker_that_stops_answering_pings_is_killed_and_replaced(background: Any) -> None:
    # One worker: with several, all must be ready at once before each goes silent.
    supervisor = Supervisor(
        go_silent_after_ready, replace(FAST, workers=1, unresponsive_after_s=0.5)
    )
    (first,) = [info.pid for info in background(supervisor)]
    wait_until(lambda: gone([first]))
    wait_until(lambda: any(info.pid != first for info in supervisor.workers()))


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (die_while_loading, r"worker \d+ exited with code 7 while loading the model"),
        (fail_to_load, r"^no model file found$"),
    ],
)
def test_a_worker_that_cannot_start_makes_run_raise(
    target: Callable[[Connection], None], message: str
) -> None:
    with pytest.raises(WorkerStartupError, match=message):
        Supervisor(target, FAST).run()


def test_a_worker_slow_to_load_is_a_startup_error_and_is_stopped() -> None:
    options = SupervisorOptions(workers=1, startup_timeout_s=0.3, stop_timeout_s=1)
    spawned: list[int] = []

    def spawn(*args: Any, **kwargs: Any) -> Any:
        worker = spawn_worker(*args, **kwargs)
        spawned.append(worker.pid)
        return worker

    with pytest.raises(WorkerStartupError, match=r"did not load the model within 0\.3 s"):
        Supervisor(never_load, options, spawn=spawn).run()
    assert spawned and gone(spawned)


def test_a_supervisor_needs_a_worker() -> None:
    with pytest.raises(ValueError, match="at least one worker"):
        Supervisor(answer_pings, SupervisorOptions(workers=0))

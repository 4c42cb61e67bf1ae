"""Keeps N forked workers serving: start, ping over the pipe, replace the dead and the hung, stop.

The supervisor is single-threaded, so forking from it is safe: one loop waits on the workers'
pipes and exit sentinels and on a signal wakeup socket. A worker that dies, stops answering pings
for ``unresponsive_after_s``, or retires itself is replaced (with MMS's back-off while it keeps
failing). SIGINT/SIGTERM stop everything: terminate, wait, kill, reap; a second signal kills.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from types import FrameType

from endpointlab.emulator.workers.container.messages import LoadFailed, Ready, Retiring
from endpointlab.emulator.workers.container.process import (
    Closable,
    WorkerProcess,
    WorkerStatus,
    WorkerTarget,
    describe_exit,
    spawn_worker,
)

# Seconds before restarting a worker that failed n times in a row (MMS's WorkerThread.BACK_OFF).
RESTART_BACKOFF_S = (0, 1, 1, 2, 3, 5, 8, 13, 21, 34)

logger = logging.getLogger(__name__)

_Waitable = Connection | socket.socket | int


class WorkerStartupError(RuntimeError):
    """A worker did not become ready: its model failed to load, it died, or it took too long."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details


@dataclass(frozen=True)
class SupervisorOptions:
    """How many workers to keep and how patiently to treat them."""

    workers: int = 1
    ping_interval_s: float = 1.0
    unresponsive_after_s: float = 65.0
    startup_timeout_s: float = 300.0
    stop_timeout_s: float = 10.0
    name: str = "endpointlab-worker"


@dataclass(frozen=True)
class WorkerInfo:
    """One worker as the supervisor sees it."""

    slot: int
    pid: int
    status: WorkerStatus
    ready_after_s: float | None  # spawn (fork) to first pong after the model loaded
    load_s: float | None  # time the child spent loading the model


@dataclass
class _Slot:
    index: int
    worker: WorkerProcess | None = None
    failures: int = 0
    restart_at: float | None = None


class Supervisor:
    """Runs ``target`` in ``options.workers`` forked processes until stopped; runs once."""

    def __init__(
        self,
        target: WorkerTarget,
        options: SupervisorOptions,
        *,
        spawn: Callable[..., WorkerProcess] = spawn_worker,
    ) -> None:
        if options.workers < 1:
            raise ValueError("a supervisor needs at least one worker")
        self._target = target
        self._options = options
        self._spawn = spawn
        self._slots = [_Slot(index) for index in range(options.workers)]
        self._retiring: list[WorkerProcess] = []
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._stopping = False
        self._force = False
        self._starting_up = True

    def run(self, on_ready: Callable[[Sequence[WorkerInfo]], None] | None = None) -> int:
        """Start the workers, call ``on_ready`` once all answer pings, supervise until stopped.

        Raises WorkerStartupError when a worker cannot start; all workers are stopped on return.
        """
        try:
            with self._signal_handlers():
                try:
                    for slot in self._slots:
                        self._start(slot)
                    while not self._stopping and not self._all_ready():
                        self._step()
                    self._starting_up = False
                    if not self._stopping and on_ready is not None:
                        on_ready(self.workers())
                    while not self._stopping:
                        self._step()
                finally:
                    self._stop_all()
        finally:
            self._wake_r.close()
            self._wake_w.close()
        return 0

    def stop(self) -> None:
        """Ask ``run`` to stop the workers and return (callable from a signal handler)."""
        self._stopping = True
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    def workers(self) -> list[WorkerInfo]:
        infos = []
        for slot in self._slots:
            worker = slot.worker
            if worker is None or worker.status is WorkerStatus.DEAD:
                continue
            ready_after = None if worker.ready_at is None else worker.ready_at - worker.spawned_at
            infos.append(
                WorkerInfo(slot.index, worker.pid, worker.status, ready_after, worker.load_s)
            )
        return infos

    # --- the loop -------------------------------------------------------------------------

    def _step(self) -> None:
        now = time.monotonic()
        live = self._live()
        waitables: list[_Waitable] = [self._wake_r]
        for worker in live:
            waitables.append(worker.sentinel)
            if worker.pipe_open:
                waitables.append(worker.connection)
        wait(waitables, timeout=self._next_timeout(now))
        self._drain_wakeup()
        for worker in live:
            self._handle_messages(worker)
        self._reap()
        now = time.monotonic()
        self._check_health(now)
        self._restart_due(now)

    def _next_timeout(self, now: float) -> float:
        timeout = self._options.ping_interval_s
        for slot in self._slots:
            if slot.restart_at is not None:
                timeout = min(timeout, slot.restart_at - now)
        return max(0.0, timeout)

    def _handle_messages(self, worker: WorkerProcess) -> None:
        for message in worker.receive():
            if isinstance(message, Ready):
                logger.debug("worker %d loaded its model in %.3f s", worker.pid, message.load_s)
                worker.send_ping()  # the pong promotes it to READY
            elif isinstance(message, LoadFailed):
                if self._starting_up:
                    raise WorkerStartupError(message.message, message.details)
                logger.error("worker %d could not load the model: %s", worker.pid, message.message)
            elif isinstance(message, Retiring):
                logger.warning("worker %d retires: %s", worker.pid, message.reason)
                self._replace_retiring(worker)

    def _replace_retiring(self, worker: WorkerProcess) -> None:
        for slot in self._slots:
            if slot.worker is worker:
                self._retiring.append(worker)
                slot.worker = None
                if not self._stopping:
                    self._start(slot)

    def _reap(self) -> None:
        self._retiring = [old for old in self._retiring if not old.reap()]
        for slot in self._slots:
            worker = slot.worker
            if worker is None or not worker.reap():
                continue
            slot.worker = None
            if self._stopping:
                continue
            how = describe_exit(worker.exitcode)
            if self._starting_up and worker.ready_at is None:
                raise WorkerStartupError(f"worker {worker.pid} {how} while loading the model")
            slot.failures += 1
            delay = RESTART_BACKOFF_S[min(slot.failures, len(RESTART_BACKOFF_S)) - 1]
            logger.warning("worker %d %s; restarting it in %d s", worker.pid, how, delay)
            slot.restart_at = time.monotonic() + delay

    def _check_health(self, now: float) -> None:
        for slot in self._slots:
            worker = slot.worker
            if worker is None:
                continue
            if worker.status is WorkerStatus.READY:
                slot.failures = 0
                self._ping_if_due(worker, now)
            if worker.loaded and worker.status in (WorkerStatus.READY, WorkerStatus.STARTING):
                self._kill_if_hung(worker, now)
            elif worker.status is WorkerStatus.STARTING:
                self._kill_if_slow_to_load(worker, now)
        for worker in (*self._retiring, *(slot.worker for slot in self._slots if slot.worker)):
            since = worker.stop_requested_at
            stopping = worker.status is WorkerStatus.STOPPING and since is not None
            if stopping and now - (since or now) > self._options.stop_timeout_s:
                worker.kill()

    def _ping_if_due(self, worker: WorkerProcess, now: float) -> None:
        last = worker.last_pong_at or worker.spawned_at
        if worker.unanswered_s(now) == 0 and now - last >= self._options.ping_interval_s:
            worker.send_ping()

    def _kill_if_hung(self, worker: WorkerProcess, now: float) -> None:
        silent = worker.unanswered_s(now)
        if silent > self._options.unresponsive_after_s:
            logger.error(
                "worker %d did not answer pings for %.1f s; killing it", worker.pid, silent
            )
            worker.kill()

    def _kill_if_slow_to_load(self, worker: WorkerProcess, now: float) -> None:
        limit = self._options.startup_timeout_s
        if now - worker.spawned_at <= limit:
            return
        message = f"worker {worker.pid} did not load the model within {limit:g} s"
        if self._starting_up:
            raise WorkerStartupError(message)
        logger.error("%s; killing it", message)
        worker.kill()

    def _restart_due(self, now: float) -> None:
        for slot in self._slots:
            if slot.restart_at is not None and slot.restart_at <= now and not self._stopping:
                slot.restart_at = None
                self._start(slot)

    def _start(self, slot: _Slot) -> None:
        # A forked child inherits every descriptor; it closes the ones that are not its own.
        others: list[Closable] = [self._wake_r, self._wake_w]
        others.extend(worker.connection for worker in self._live())
        slot.worker = self._spawn(
            self._target, name=f"{self._options.name}-{slot.index}", close_in_child=others
        )
        logger.debug("started worker %d in slot %d", slot.worker.pid, slot.index)

    def _stop_all(self) -> None:
        self._stopping = True
        live = self._live()
        for worker in live:
            worker.terminate()
        deadline = time.monotonic() + self._options.stop_timeout_s
        while live:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._force:
                for worker in live:
                    worker.kill()
                remaining = self._options.stop_timeout_s
            waitables: list[_Waitable] = [worker.sentinel for worker in live]
            if self._wake_r.fileno() >= 0:
                waitables.append(self._wake_r)
            wait(waitables, timeout=remaining)
            self._drain_wakeup()
            live = [worker for worker in live if not worker.reap()]
        self._retiring.clear()
        for slot in self._slots:
            slot.worker = None
            slot.restart_at = None

    # --- helpers --------------------------------------------------------------------------

    def _live(self) -> list[WorkerProcess]:
        workers = [slot.worker for slot in self._slots if slot.worker is not None]
        return [w for w in (*workers, *self._retiring) if w.status is not WorkerStatus.DEAD]

    def _all_ready(self) -> bool:
        return all(
            slot.worker is not None and slot.worker.status is WorkerStatus.READY
            for slot in self._slots
        )

    def _drain_wakeup(self) -> None:
        with contextlib.suppress(OSError):
            while self._wake_r.recv(4096):
                pass

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        logger.info("received %s, stopping the workers", signal.Signals(signum).name)
        if self._stopping:
            self._force = True
        self._stopping = True

    @contextlib.contextmanager
    def _signal_handlers(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        previous_fd = signal.set_wakeup_fd(self._wake_w.fileno(), warn_on_full_buffer=False)
        try:
            yield
        finally:
            signal.set_wakeup_fd(previous_fd)
            for sig, handler in previous.items():
                signal.signal(sig, handler)

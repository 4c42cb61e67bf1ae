"""One worker process seen from its parent: fork, pipe, status, ping, terminate, kill, reap.

``spawn_worker(target)`` forks a child that runs ``target(connection)``; it knows nothing about
HTTP or models, so the same preloaded-parent fork serves the HTTP container and any other
transport. The child resets the signal state it inherited and dies with its parent.
"""

from __future__ import annotations

import contextlib
import ctypes
import enum
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from typing import Protocol

from endpointlab.emulator.workers.container.messages import (
    ChildMessage,
    LoadFailed,
    Ping,
    Pong,
    Ready,
    Retiring,
)

_PR_SET_PDEATHSIG = 1

WorkerTarget = Callable[[Connection], None]


class Closable(Protocol):
    """Anything the child should close right after the fork (fds it inherited but must not hold)."""

    def close(self) -> None: ...


class WorkerStatus(enum.Enum):
    """Where a worker is in its life; the supervisor only routes pings to READY workers."""

    STARTING = "starting"  # forked, loading its model
    READY = "ready"  # model loaded and the event loop answered a ping
    STOPPING = "stopping"  # told to stop, retiring itself, or failed to load: no new work
    DEAD = "dead"  # exited and reaped


class WorkerProcess:
    """A forked worker and the parent's end of its pipe.

    The parent reads what the child says with ``receive()`` (non-blocking) or ``ping(timeout)``
    (blocking, uvicorn style); status moves STARTING -> READY -> STOPPING -> DEAD.
    """

    def __init__(
        self,
        target: WorkerTarget,
        *,
        name: str = "endpointlab-worker",
        context: BaseContext | None = None,
        close_in_child: Sequence[Closable] = (),
    ) -> None:
        ctx = context if context is not None else multiprocessing.get_context("fork")
        self._conn, child_conn = ctx.Pipe(duplex=True)
        forked = ctx.get_start_method() == "fork"
        parent_pid = os.getpid() if forked else None
        # Only a forked child inherits our descriptors; it closes its copy of our pipe end too,
        # so it sees end-of-file when the parent goes away.
        to_close = (self._conn, *close_in_child) if forked else ()
        self._process = ctx.Process(  # type: ignore[attr-defined]
            target=_child_main,
            args=(target, child_conn, parent_pid, to_close),
            name=name,
            daemon=False,
        )
        self._child_conn = child_conn
        self.status = WorkerStatus.STARTING
        self.spawned_at = 0.0
        self.ready_at: float | None = None
        self.load_s: float | None = None
        self.loaded = False
        self.stop_requested_at: float | None = None
        self.last_pong_at: float | None = None
        self._ping_sent_at: float | None = None
        self._stash: list[ChildMessage] = []
        self._eof = False

    def start(self) -> None:
        self.spawned_at = time.monotonic()
        self._process.start()
        self._child_conn.close()

    @property
    def pid(self) -> int:
        pid = self._process.pid
        if pid is None:
            raise RuntimeError("the worker has not been started")
        return int(pid)

    @property
    def sentinel(self) -> int:
        """A descriptor that becomes readable when the child exits."""
        return int(self._process.sentinel)

    @property
    def connection(self) -> Connection:
        return self._conn

    @property
    def pipe_open(self) -> bool:
        """False once the child's end of the pipe is closed (it exited or is exiting)."""
        return not self._eof and not self._conn.closed

    @property
    def exitcode(self) -> int | None:
        code = self._process.exitcode
        return None if code is None else int(code)

    def is_alive(self) -> bool:
        return bool(self._process.is_alive())

    def send_ping(self) -> bool:
        """Send a ping unless one is already unanswered; False when the pipe is broken."""
        if self._ping_sent_at is not None:
            return True
        now = time.monotonic()
        try:
            self._conn.send(Ping(now))
        except (OSError, ValueError):
            return False
        self._ping_sent_at = now
        return True

    def unanswered_s(self, now: float) -> float:
        """How long the outstanding ping has waited (0 when none is outstanding)."""
        return 0.0 if self._ping_sent_at is None else now - self._ping_sent_at

    def ping(self, timeout: float) -> bool:
        """Ping and wait up to ``timeout`` seconds for the pong; other messages are kept."""
        self._ping_sent_at = None
        if not self.send_ping():
            return False
        deadline = time.monotonic() + timeout
        while self._ping_sent_at is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._eof:
                return False
            try:
                if not self._conn.poll(remaining):
                    return False
                self._stash.append(self._record(self._conn.recv()))
            except (EOFError, OSError):
                self._eof = True
                return False
        return True

    def receive(self) -> list[ChildMessage]:
        """Everything the child has said since the last call, without blocking."""
        messages, self._stash = self._stash, []
        if self._eof:
            return messages
        try:
            while self._conn.poll():
                messages.append(self._record(self._conn.recv()))
        except (EOFError, OSError):
            self._eof = True
        return messages

    def _record(self, message: ChildMessage) -> ChildMessage:
        now = time.monotonic()
        if isinstance(message, Pong):
            self._ping_sent_at = None
            self.last_pong_at = now
            if self.loaded and self.status is WorkerStatus.STARTING:
                self.status = WorkerStatus.READY
                self.ready_at = now
        elif isinstance(message, Ready):
            self.loaded = True
            self.load_s = message.load_s
        elif isinstance(message, LoadFailed | Retiring) and self.status is not WorkerStatus.DEAD:
            self.status = WorkerStatus.STOPPING
            self.stop_requested_at = now
        return message

    def terminate(self) -> None:
        """Ask the child to stop (SIGTERM): it finishes in-flight requests, then exits."""
        if self.status is not WorkerStatus.DEAD:
            self.status = WorkerStatus.STOPPING
            if self.stop_requested_at is None:
                self.stop_requested_at = time.monotonic()
        if self._process.exitcode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)

    def kill(self) -> None:
        """Stop the child now (SIGKILL)."""
        if self.status is not WorkerStatus.DEAD:
            self.status = WorkerStatus.STOPPING
        if self._process.exitcode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    def reap(self) -> bool:
        """If the child has exited, collect it and mark it DEAD; True when it is dead."""
        if self.status is WorkerStatus.DEAD:
            return True
        if self._process.is_alive():
            return False
        self._process.join()
        self.status = WorkerStatus.DEAD
        self._conn.close()
        return True

    def stop(self, grace_s: float) -> int | None:
        """Terminate, wait up to ``grace_s`` seconds, then kill; returns the exit code."""
        self.terminate()
        self._process.join(grace_s)
        if self._process.exitcode is None:
            self.kill()
            self._process.join()
        self.reap()
        return self.exitcode


def spawn_worker(
    target: WorkerTarget,
    *,
    name: str = "endpointlab-worker",
    context: BaseContext | None = None,
    close_in_child: Sequence[Closable] = (),
) -> WorkerProcess:
    """Fork a worker that runs ``target(connection)`` and return it started.

    ``context`` defaults to fork (children share the parent's imported libraries copy-on-write);
    a forkserver context works too, with a picklable target.
    """
    worker = WorkerProcess(target, name=name, context=context, close_in_child=close_in_child)
    worker.start()
    return worker


def describe_exit(exitcode: int | None) -> str:
    """``exited with code 3`` or ``was killed by SIGKILL``."""
    if exitcode is None:
        return "is still running"
    if exitcode < 0:
        try:
            return f"was killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"was killed by signal {-exitcode}"
    return f"exited with code {exitcode}"


def _child_main(
    target: WorkerTarget,
    conn: Connection,
    parent_pid: int | None,
    to_close: Sequence[Closable],
) -> None:
    _reset_inherited_signals()
    if parent_pid is not None:
        _die_with_parent(parent_pid)
    for item in to_close:
        with contextlib.suppress(OSError):
            item.close()
    target(conn)


def _reset_inherited_signals() -> None:
    # The supervisor's handlers and wakeup fd came with the fork; they are not the child's.
    # SIGTERM stops a loading child at once (serve_http installs a graceful handler later);
    # SIGINT from a terminal reaches the whole process group, and the parent handles it.
    with contextlib.suppress(ValueError):
        signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _die_with_parent(parent_pid: int) -> None:
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)

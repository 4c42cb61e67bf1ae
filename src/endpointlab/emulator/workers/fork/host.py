"""Start worker processes from a preloaded fork server and talk to them over Unix sockets.

The emulator's event loop must not fork itself, so workers come from a fork server (``zygote``,
driven through ``forking``), which imports numpy, scikit-learn, XGBoost and onnxruntime once
with native thread pools limited to one thread and warms them up; each worker then costs a fork
and a model load. ``RemoteWorker`` sends request frames and awaits replies under a deadline, and
notices a worker's death; what went wrong with a worker goes to its spec's log file.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import select
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import cast

from endpointlab.emulator.workers.fork.forking import ForkedProcess, ForkServer, ForkServerError
from endpointlab.emulator.workers.fork.framed_child import WorkerSpec, encode_spec
from endpointlab.emulator.workers.fork.frames import (
    KIND_FAILED,
    KIND_READY,
    LENGTH,
    MAX_FRAME,
    Reply,
    decode_reply,
    encode_request,
    frame_kind,
    status_text,
)
from endpointlab.emulator.workers.fork.logfile import append_log
from endpointlab.models.contract import InvocationRequest


class WorkerStartError(Exception):
    """A worker that could not load its model; the message is the reason."""


class WorkerState(Enum):
    STARTING = "starting"
    READY = "ready"
    BUSY = "busy"
    DEAD = "dead"


@dataclass(frozen=True)
class CallResult:
    """One call's outcome: a reply, or why there is none."""

    reply: Reply | None
    elapsed_s: float
    timed_out: bool = False
    failure: str | None = None
    not_sent: bool = False  # the worker was already gone: the request may go to another one


class FrameProtocol(asyncio.Protocol):
    """Splits the worker's byte stream into frames and hands each to whoever awaits it."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._frames: collections.deque[bytes] = collections.deque()
        self._waiter: asyncio.Future[bytes] | None = None
        self._transport: asyncio.Transport | None = None
        self._lost: BaseException | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement the interface without subclassing asyncio.Transport.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        while len(buffer) >= LENGTH.size:
            (size,) = LENGTH.unpack_from(buffer)
            if size > MAX_FRAME:
                self.connection_lost(ConnectionError(f"a frame of {size} bytes"))
                return
            end = LENGTH.size + size
            if len(buffer) < end:
                return
            frame = bytes(buffer[LENGTH.size : end])
            del buffer[:end]
            waiter = self._waiter
            if waiter is not None and not waiter.done():
                self._waiter = None
                waiter.set_result(frame)
            else:
                self._frames.append(frame)

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = exc or ConnectionError("the worker closed its socket")
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(self._lost)

    async def next_frame(self) -> bytes:
        if self._frames:
            return self._frames.popleft()
        if self._lost is not None:
            if isinstance(self._lost, ConnectionResetError):
                raise ConnectionResetError(str(self._lost))
            raise ConnectionError(str(self._lost))
        waiter: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        return await waiter

    def peer_closed(self) -> bool:
        """True when the worker has closed its end, even if the loop has not noticed yet: an
        idle worker sends nothing unasked, so a readable socket means end of stream."""
        if self._lost is not None:
            return True
        if self._transport is None:
            return True
        sock = self._transport.get_extra_info("socket")
        if sock is None:
            return False
        poller = select.poll()  # not select.select: a few hundred workers pass fd 1023
        try:
            poller.register(sock.fileno(), select.POLLIN)
            readable = poller.poll(0)
        except (OSError, ValueError):
            return True
        return bool(readable) and not self._frames and not self._buffer

    def send(self, data: bytes) -> None:
        if self._transport is None or self._transport.is_closing():
            raise ConnectionError("the worker's socket is closed")
        self._transport.write(data)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


class WorkerHost:
    """Starts every worker of every endpoint through its fork server, which it owns: ``close``
    stops it (a host given a fork server shares it, and its creator stops it)."""

    def __init__(self, fork_server: ForkServer | None = None) -> None:
        self.fork_server = fork_server or ForkServer()

    def warm_up(self) -> None:
        """Start the fork server now (it takes a second or two to import the libraries)."""
        self.fork_server.ensure_running()

    def kill_all(self) -> int:
        """SIGKILL every worker and whatever its model started (a shutdown out of time)."""
        return self.fork_server.kill_workers()

    def close(self) -> None:
        """Stop the fork server; it kills every process still below it."""
        self.fork_server.close()

    async def spawn(
        self,
        spec: WorkerSpec,
        *,
        ready_timeout_s: float,
        on_started: Callable[[int], None] | None = None,
    ) -> RemoteWorker:
        """Start a worker and wait until its model is loaded (WorkerStartError otherwise).

        ``on_started(pid)`` runs (in a worker thread) as soon as the process exists, before it
        loads the model: e.g. to put it under a CPU quota.
        """
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)

        # The thread owns both sockets until it returns: a cancelled spawn must not close one
        # under it (a closed descriptor sent to the fork server would read as the fork server's
        # failure, and a reused one would get the spec).
        def start() -> ForkedProcess:
            try:
                process = self.fork_server.fork(child)
            finally:
                child.close()
            # The worker's first read is its spec. If it died already, wait_ready says how.
            with contextlib.suppress(OSError):
                parent.sendall(encode_spec(spec))
            if on_started is not None:
                on_started(process.pid)
            return process

        def close_once_started(task: asyncio.Future[ForkedProcess]) -> None:
            parent.close()  # a worker still reading its spec sees end of stream and exits
            if task.cancelled() or task.exception() is not None:
                return  # (the exception is retrieved: the spawn was cancelled, nobody else will)
            # A worker that already has its spec is loading the model and would read the end
            # of stream only once loaded (minutes, for a big model): kill it now.
            process = task.result()
            if process.is_alive():
                with contextlib.suppress(OSError):
                    os.kill(process.pid, signal.SIGKILL)

        started = time.perf_counter()
        starting = asyncio.ensure_future(asyncio.to_thread(start))
        try:
            process = await asyncio.shield(starting)
        except asyncio.CancelledError:
            starting.add_done_callback(close_once_started)
            raise
        except ForkServerError as exc:
            parent.close()
            raise WorkerStartError(str(exc)) from None
        except BaseException:
            parent.close()  # a worker already forked sees end of stream and exits
            raise
        parent.setblocking(False)
        try:
            _, protocol = await asyncio.get_running_loop().create_unix_connection(
                FrameProtocol, sock=parent
            )
        except BaseException:
            parent.close()
            raise
        worker = RemoteWorker(process, protocol, started, spec.log_path)
        try:
            await worker.wait_ready(ready_timeout_s)
        except asyncio.CancelledError:
            worker.abandon()
            raise
        return worker


class RemoteWorker:
    """The emulator's handle on one worker process."""

    def __init__(
        self,
        process: ForkedProcess,
        protocol: FrameProtocol,
        started: float,
        log_path: str = "",
    ) -> None:
        self._process = process
        self._protocol = protocol
        self.started = started
        self._log_path = log_path
        self._stopping = False  # stop() was asked for: the exit is not news for the log
        self.state = WorkerState.STARTING
        self.setup_s: float | None = None
        self.load_s: float | None = None
        self._on_exit: list[Callable[[RemoteWorker], None]] = []
        asyncio.get_running_loop().add_reader(process.sentinel, self._exited)

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def alive(self) -> bool:
        return self.state is not WorkerState.DEAD

    def resident_bytes(self, *, peak: bool = False) -> int | None:
        """The worker's resident set now, or its peak since it started (VmHWM, so nothing
        between two samples is missed); None once the process is gone or outside Linux."""
        field = b"VmHWM:" if peak else b"VmRSS:"
        try:
            with open(f"/proc/{self.pid}/status", "rb") as status:
                for line in status:
                    if line.startswith(field):
                        return int(line.split()[1]) * 1024
        except (OSError, ValueError):
            return None
        return None

    def on_exit(self, callback: Callable[[RemoteWorker], None]) -> None:
        """Call ``callback`` when the worker exits (at once if it already has: a worker killed
        right after it loaded must still be replaced)."""
        if self.state is WorkerState.DEAD:
            callback(self)
            return
        self._on_exit.append(callback)

    async def _frame(self) -> bytes:
        return await self._protocol.next_frame()

    async def wait_ready(self, timeout_s: float) -> None:
        try:
            async with asyncio.timeout(timeout_s):
                frame = await self._frame()
        except TimeoutError:
            self._log(f"the model did not load within {timeout_s:g} s; the worker was killed")
            await self.stop(grace_s=0)
            raise WorkerStartError(f"the model did not load within {timeout_s:g} s") from None
        except ConnectionError:
            self._stopping = True
            await self._wait_exit()
            self._log(f"the worker {self._describe_exit()} while loading the model")
            await self.stop(grace_s=0)
            raise WorkerStartError(f"the worker {self._describe_exit()} while loading") from None
        if frame_kind(frame) == KIND_FAILED:
            await self.stop(grace_s=1)  # the worker logged its traceback
            raise WorkerStartError(status_text(frame))
        if frame_kind(frame) != KIND_READY:
            self._log("the worker sent an unexpected frame while loading; it was killed")
            await self.stop(grace_s=0)
            raise WorkerStartError("the worker sent an unexpected frame while loading")
        self.load_s = float(status_text(frame))
        self.setup_s = time.perf_counter() - self.started
        self.state = WorkerState.READY

    async def call(self, request: InvocationRequest, timeout_s: float) -> CallResult:
        """Send one request; a timeout kills the worker (it may be stuck in native code)."""
        started = time.perf_counter()
        if self.state is WorkerState.DEAD or self._protocol.peer_closed():
            self._mark_dead()
            return CallResult(
                None, 0.0, failure=f"The worker {self._describe_exit()}.", not_sent=True
            )
        self.state = WorkerState.BUSY
        try:
            self._protocol.send(encode_request(request))
            async with asyncio.timeout(timeout_s):
                frame = await self._frame()
        except TimeoutError:
            self._log(f"an invocation did not finish within {timeout_s:g} s; the worker was killed")
            await self.stop(grace_s=0)
            return CallResult(None, time.perf_counter() - started, timed_out=True)
        except ConnectionResetError:
            # Linux resets the connection when a Unix socket closes with unread data: the
            # worker died before it read this request, so another worker may serve it.
            await self._lose()
            return CallResult(
                None,
                time.perf_counter() - started,
                failure=f"The worker {self._describe_exit()}.",
                not_sent=True,
            )
        except (ConnectionError, OSError):
            await self._lose()
            return CallResult(
                None,
                time.perf_counter() - started,
                failure=f"The worker {self._describe_exit()} while handling the request.",
            )
        if self.state is WorkerState.BUSY:
            self.state = WorkerState.READY
        return CallResult(decode_reply(frame), time.perf_counter() - started)

    async def stop(self, grace_s: float = 5.0) -> None:
        """Close the socket (the worker exits at end of stream), then terminate, then kill."""
        self._stopping = True
        with contextlib.suppress(OSError, RuntimeError):
            self._protocol.close()
        if grace_s > 0:
            await self._wait_exit(grace_s)
        if self._process.is_alive():
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
            await self._wait_exit(5.0)
        self._mark_dead()

    def abandon(self) -> None:
        """Kill the worker now, without waiting for it (a cancelled start); the fork server
        reaps it."""
        self._stopping = True
        if self._process.is_alive():
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
        self._mark_dead()

    async def _lose(self) -> None:
        """The worker's socket is gone: it is dead from now on (its exit callbacks run), even
        if its exit code has not come yet, so no other request is sent to it."""
        await self._wait_exit()
        if self._process.is_alive():
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
        self._mark_dead()

    async def _wait_exit(self, timeout_s: float = 2.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self._process.is_alive() and time.monotonic() < deadline:
            await asyncio.sleep(0.005)  # polling the child's exit status, not simulating work

    def _exited(self) -> None:
        self._mark_dead()

    def _log(self, text: str) -> None:
        append_log(self._log_path, f"worker {self.pid}: {text}")

    def _mark_dead(self) -> None:
        if self.state is WorkerState.DEAD:
            return
        if not self._stopping:
            self._log(f"the worker {self._describe_exit()}")
        self.state = WorkerState.DEAD
        with contextlib.suppress(ValueError, OSError, RuntimeError):
            asyncio.get_running_loop().remove_reader(self._process.sentinel)
        with contextlib.suppress(OSError, RuntimeError):
            self._protocol.close()
        for callback in self._on_exit:
            callback(self)

    def _describe_exit(self) -> str:
        code = self._process.exitcode
        if code is None:
            return "stopped answering"
        if code < 0:
            try:
                return f"was killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"was killed by signal {-code}"
        return f"exited with code {code}"

"""The worker process the emulator drives: load the model, then answer request frames.

Runs in a child forked by the host's preloaded fork server (``zygote``). Its first frame is its
``WorkerSpec``; it loads the handler (reporting READY with the load time, or FAILED with the
reason), then serves one frame at a time in a plain blocking loop: no event loop, no threads,
nothing between the socket and the handler. A worker shares most of its memory with the fork
server, so what it runs on the way is kept short: every object it touches is a page it copies.
Tracebacks (a model that fails to load, a request that raises) go to the spec's log file, never
into a reply.
"""

from __future__ import annotations

import contextlib
import ctypes
import marshal
import os
import select
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from endpointlab.emulator.workers.fork.frames import (
    KIND_FAILED,
    KIND_READY,
    LENGTH,
    MAX_FRAME,
    decode_request,
    encode_reply,
    encode_status,
)
from endpointlab.emulator.workers.fork.logfile import append_log
from endpointlab.models.contract import InferenceHandler, format_traceback, load_handler

_PR_SET_PDEATHSIG = 1
_SIGKILL = int(signal.SIGKILL)
# Milliseconds a worker waits idle, after loading and after any request, before it returns freed
# heap to the system (off the path of cold starts and of the requests that follow them).
IDLE_RELEASE_MS = 1000


def _libc_function(name: str) -> Callable[..., int] | None:
    """A C library function, or None outside Linux. Resolved when the fork server imports this
    module: a ``ctypes.CDLL`` made in each worker would be a new class and more copied pages."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function: Callable[..., int] = getattr(ctypes.CDLL(None, use_errno=True), name)
    except (OSError, AttributeError):
        return None
    return function


_PRCTL = _libc_function("prctl")
_MALLOC_TRIM = _libc_function("malloc_trim")


@dataclass(frozen=True)
class WorkerSpec:
    """What one worker runs: the unpacked model, its container environment, its thread budget,
    and the log file its tracebacks go to ("": none)."""

    model_dir: str
    environment: dict[str, str] = field(default_factory=dict)
    threads: int = 1
    log_path: str = ""


def encode_spec(spec: WorkerSpec) -> bytes:
    """The first frame the host writes on a worker's socket: what the worker is to run.

    In ``marshal``'s format: the host and the fork server run the same interpreter, and
    decoding it runs no Python code (every object a new worker touches is a page it copies).
    """
    payload = marshal.dumps((spec.model_dir, spec.environment, spec.threads, spec.log_path))
    return LENGTH.pack(len(payload)) + payload


def serve_spawned(sock: socket.socket) -> None:
    """A freshly forked worker: read its spec from the socket, then serve it."""
    sock.setblocking(True)
    header = bytearray(LENGTH.size)
    if not _recv_into(sock, memoryview(header)):
        return  # the host closed the socket before it sent the spec
    (size,) = LENGTH.unpack(header)
    payload = bytearray(min(size, MAX_FRAME))
    if not _recv_into(sock, memoryview(payload)):
        return
    model_dir, environment, threads, log_path = marshal.loads(payload)
    spec = WorkerSpec(str(model_dir), dict(environment), int(threads), str(log_path))
    serve_frames(spec, sock)


def serve_frames(spec: WorkerSpec, sock: socket.socket) -> None:
    """The child's whole life: load, report, serve until the emulator closes the socket."""
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the group; the host decides
    sock.setblocking(True)
    handler = None
    try:
        _limit_threads(spec.threads)
        started = time.perf_counter()
        if spec.environment:
            # A container sees its model's Environment as process environment variables.
            os.environ.update(spec.environment)
        handler = load_handler(
            Path(spec.model_dir), spec.environment, spec.threads, _log_errors(spec.log_path)
        )
        load_s = time.perf_counter() - started
    except BaseException as exc:
        reason = "".join(traceback.format_exception_only(exc)).strip()
        append_log(spec.log_path, f"loading the model failed:\n{format_traceback(exc)}")
        with contextlib.suppress(OSError):
            sock.sendall(encode_status(KIND_FAILED, reason))
        sock.close()
        sys.exit(3)
    try:
        sock.sendall(encode_status(KIND_READY, f"{load_s:.6f}"))
    except OSError:  # the instance stopped while this worker loaded its model
        return
    _serve(handler, sock)


def _log_errors(log_path: str) -> Callable[[BaseException], None]:
    def report(exc: BaseException) -> None:
        append_log(log_path, f"the invocation raised an exception:\n{format_traceback(exc)}")

    return report


def _serve(handler: InferenceHandler, sock: socket.socket) -> None:
    header = bytearray(LENGTH.size)
    idle = select.poll()
    idle.register(sock, select.POLLIN)
    dirty = True  # the loader's garbage, then each burst of requests', is still in the heap
    while True:
        if dirty and not idle.poll(IDLE_RELEASE_MS):
            # Idle a while: give the freed heap back. After every burst of requests, not only
            # after loading: a request's temporaries can leave whole free pages behind too.
            _release_free_memory()
            dirty = False
        if not _recv_into(sock, memoryview(header)):
            return
        (size,) = LENGTH.unpack(header)
        if size > MAX_FRAME:
            return
        frame = bytearray(size)
        if not _recv_into(sock, memoryview(frame)):
            return
        request = decode_request(frame)
        started = time.perf_counter_ns()
        response = handler.invoke(request)
        elapsed = time.perf_counter_ns() - started
        try:
            sock.sendall(encode_reply(response, elapsed))
        except OSError:
            return
        dirty = True


def _recv_into(sock: socket.socket, view: memoryview) -> bool:
    """Fill ``view``; False on end of stream."""
    filled = 0
    while filled < len(view):
        received = sock.recv_into(view[filled:])
        if received == 0:
            return False
        filled += received
    return True


def _limit_threads(threads: int) -> None:
    if threads == 1:
        return  # the fork server started with one thread per native pool (host.py)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)


def _release_free_memory() -> None:
    """Give the heap the loader (or the last requests) freed back to the system: glibc keeps
    it otherwise, and an idle worker's resident memory is then its model, not the loader's
    temporary buffers. malloc_trim(0) also releases the free pages inside the heap, not only
    its top; about 0.7 ms the first time in a worker, 0.1 ms after."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def _die_with_parent() -> None:
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, _SIGKILL, 0, 0, 0)
    if os.getppid() == 1:  # the fork server is already gone
        os._exit(1)

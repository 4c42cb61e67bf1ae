"""The worker process the emulator drives: load the model, then answer request frames.

Runs in a child forked by the host's preloaded fork server. It loads the handler (reporting
READY with the load time, or FAILED with the reason), then serves one frame at a time in a
plain blocking loop: no event loop, no threads, nothing between the socket and the handler.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import signal
import socket
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from endpointlab.emulator.workers.frames import (
    KIND_FAILED,
    KIND_READY,
    LENGTH,
    MAX_FRAME,
    decode_request,
    encode_reply,
    encode_status,
)

_PR_SET_PDEATHSIG = 1
# Seconds a worker waits idle after loading before it returns freed heap to the system
# (off the path of cold starts and of the requests that follow them).
IDLE_RELEASE_S = 1.0


@dataclass(frozen=True)
class WorkerSpec:
    """What one worker runs: the unpacked model, its container environment, its thread budget."""

    model_dir: str
    environment: dict[str, str] = field(default_factory=dict)
    threads: int = 1


def serve_frames(spec: WorkerSpec, sock: socket.socket) -> None:
    """The child's whole life: load, report, serve until the emulator closes the socket."""
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the group; the host decides
    sock.setblocking(True)
    handler = None
    try:
        _limit_threads(spec.threads)
        from endpointlab.models.contract import load_handler

        started = time.perf_counter()
        # A container sees its model's Environment as process environment variables.
        os.environ.update(spec.environment)
        handler = load_handler(Path(spec.model_dir), spec.environment, spec.threads)
        load_s = time.perf_counter() - started
    except BaseException as exc:
        reason = "".join(traceback.format_exception_only(exc)).strip()
        with contextlib.suppress(OSError):
            sock.sendall(encode_status(KIND_FAILED, reason))
        sock.close()
        sys.exit(3)
    try:
        sock.sendall(encode_status(KIND_READY, f"{load_s:.6f}"))
    except OSError:  # the instance stopped while this worker loaded its model
        return
    _serve(handler, sock)


def _serve(handler: object, sock: socket.socket) -> None:
    from endpointlab.models.contract import InferenceHandler

    assert isinstance(handler, InferenceHandler)
    header = bytearray(LENGTH.size)
    released = False
    while True:
        if not released and not select.select([sock], [], [], IDLE_RELEASE_S)[0]:
            _release_free_memory()  # idle a while after loading: give back freed heap once
            released = True
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
    """Give the heap the loader freed back to the system (glibc keeps it otherwise): an idle
    worker's resident memory is then its model, not the loader's temporary buffers."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).malloc_trim(0)


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() == 1:  # the fork server is already gone
        os._exit(1)

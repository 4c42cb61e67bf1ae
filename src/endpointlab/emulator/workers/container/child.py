"""What a forked model worker runs: load the handler, report to the parent, serve until stopped.

``load_and_report`` is transport-free (any front end can drive the handler it returns);
``http_model_worker`` is the target for the HTTP container: it starts listening on the socket it
inherited once its model is loaded, answers the parent's pings from its event loop and serves
until SIGTERM, the loss of its parent, or a stuck request makes it retire.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING

from endpointlab.emulator.workers.container.http import HttpOptions, HttpServer, run_event_loop
from endpointlab.emulator.workers.container.invoker import Invoker
from endpointlab.emulator.workers.container.messages import (
    ChildMessage,
    LoadFailed,
    Ping,
    Pong,
    Ready,
    Retiring,
)
from endpointlab.models.errors import ArtifactError

if TYPE_CHECKING:
    from endpointlab.models.contract import InferenceHandler

LOAD_FAILED_EXIT = 3

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelSpec:
    """Where the unpacked model is and how a worker loads it."""

    model_dir: Path
    environment: Mapping[str, str] = field(default_factory=dict)
    threads: int = 1
    # True when numpy was imported before the thread variables were set: limit pools directly.
    limit_thread_pools: bool = False


def load_and_report(conn: Connection, spec: ModelSpec) -> InferenceHandler:
    """Load the handler and tell the parent (Ready), or tell it why not and exit (code 3)."""
    started = time.perf_counter()
    try:
        if spec.limit_thread_pools:
            from threadpoolctl import threadpool_limits

            threadpool_limits(spec.threads)
        from endpointlab.models.contract import load_handler

        handler = load_handler(
            spec.model_dir, dict(spec.environment), spec.threads, on_error=_log_error
        )
    except BaseException as exc:
        message, details = describe_load_error(exc, spec.model_dir)
        with contextlib.suppress(OSError):
            conn.send(LoadFailed(os.getpid(), message, details))
        raise SystemExit(LOAD_FAILED_EXIT) from None
    conn.send(Ready(os.getpid(), time.perf_counter() - started))
    return handler


def _log_error(exc: BaseException) -> None:
    """A request's exception goes to the container's log (stderr), as its traceback would."""
    details = "".join(traceback.format_exception(exc))
    logger.error("the invocation raised an exception:\n%s", details)


def describe_load_error(exc: BaseException, model_dir: Path) -> tuple[str, str]:
    """A one-line reason (with the user-code line that raised, if any) and the full traceback."""
    if isinstance(exc, ArtifactError):
        message = str(exc)
    else:
        message = f"loading the model failed: {type(exc).__name__}: {exc}"
    message = message.strip().splitlines()[0] if message.strip() else type(exc).__name__
    where = _user_code_location(exc, model_dir)
    if where and where not in message:
        message = f"{message} (at {where})"
    return message, "".join(traceback.format_exception(exc))


def _user_code_location(exc: BaseException, model_dir: Path) -> str | None:
    root = str(model_dir.resolve())
    current: BaseException | None = exc
    while current is not None:
        frames = traceback.extract_tb(current.__traceback__)
        if isinstance(current, SyntaxError) and current.filename and current.lineno:
            frames.append(traceback.FrameSummary(current.filename, current.lineno, "<module>"))
        for frame in reversed(frames):
            path = os.path.realpath(frame.filename)
            if path.startswith(root + os.sep):
                return f"{os.path.relpath(path, root)}:{frame.lineno} in {frame.name}"
        current = current.__cause__ or current.__context__
    return None


def http_model_worker(
    conn: Connection, *, spec: ModelSpec, sock: socket.socket, options: HttpOptions
) -> None:
    """Target of a forked worker: load the model, listen, report Ready, serve HTTP on ``sock``."""
    handler = load_and_report(conn, spec)
    # Listening only now keeps the port refusing connections until a worker can answer them.
    sock.listen(options.backlog)
    run_event_loop(_serve(handler, conn, sock, options))


async def _serve(
    handler: InferenceHandler, conn: Connection, sock: socket.socket, options: HttpOptions
) -> None:
    server: HttpServer | None = None

    def stop() -> None:
        if server is not None:
            server.request_stop()

    link = ParentLink(conn, on_lost=stop)

    def retire(reason: str) -> None:
        logger.error("worker %d retiring: %s", os.getpid(), reason)
        link.send(Retiring(os.getpid(), reason))
        stop()

    invoker = Invoker(handler, options.timeout_s, on_stuck=retire)
    server = HttpServer(invoker, options)
    link.attach(asyncio.get_running_loop())
    try:
        await server.serve(sock)
    finally:
        link.detach()
        invoker.close()


class ParentLink:
    """The child's end of the pipe, read by the event loop: answers pings, notices a lost parent."""

    def __init__(self, conn: Connection, on_lost: Callable[[], None]) -> None:
        self._conn = conn
        self._on_lost = on_lost
        self._loop: asyncio.AbstractEventLoop | None = None

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        loop.add_reader(self._conn.fileno(), self._readable)

    def detach(self) -> None:
        if self._loop is not None:
            with contextlib.suppress(OSError, ValueError):
                self._loop.remove_reader(self._conn.fileno())
            self._loop = None

    def send(self, message: ChildMessage) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._conn.send(message)

    def _readable(self) -> None:
        try:
            while self._conn.poll():
                message = self._conn.recv()
                if isinstance(message, Ping):
                    self._conn.send(Pong(message.sent_at))
        except (EOFError, OSError):
            self.detach()
            self._on_lost()

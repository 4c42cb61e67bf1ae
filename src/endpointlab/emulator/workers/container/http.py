"""SageMaker's container HTTP contract as a raw ASGI app served by uvicorn (httptools, uvloop).

``GET /ping`` answers 200 with an empty body; ``POST /invocations`` hands the body, Content-Type,
Accept and ``X-Amzn-SageMaker-Custom-Attributes`` to an ``Invoker`` and returns what it answers.
Other paths get 404, other methods 405, bodies over the payload limit 413 (MMS's JSON errors).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable, Coroutine, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import uvicorn

# What uvicorn's Config.load() imports, here so that a forking parent has it already.
import uvicorn.lifespan.off
import uvicorn.protocols.http.httptools_impl
import uvloop

from endpointlab.emulator.workers.container.invoker import Invoker, container_error
from endpointlab.models.contract import InvocationRequest, InvocationResponse

if TYPE_CHECKING:
    from endpointlab.models.contract import InferenceHandler

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DEFAULT_MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
CUSTOM_ATTRIBUTES = b"x-amzn-sagemaker-custom-attributes"
_EMPTY_OK: list[tuple[bytes, bytes]] = [(b"content-length", b"0")]
_NOT_FOUND = container_error(404, "Requested resource is not found, please refer to API document.")
_NOT_ALLOWED = container_error(
    405, "Requested method is not allowed, please refer to API document."
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HttpOptions:
    """How one worker serves HTTP."""

    timeout_s: float = 60.0
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES
    access_log: bool = False
    graceful_shutdown_s: float = 10.0
    backlog: int = 2048


def make_app(invoker: Invoker, max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES) -> ASGIApp:
    """The container's ASGI app around ``invoker``."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"]
        method = scope["method"]
        if path == "/invocations":
            if method != "POST":
                await _respond(send, _NOT_ALLOWED, allow=b"POST")
                return
            request = await _read_request(scope, receive, max_payload_bytes)
            if isinstance(request, InvocationResponse):
                await _respond(send, request)
            elif request is not None:
                await _respond(send, await invoker.invoke(request))
        elif path == "/ping":
            if method in ("GET", "HEAD"):
                await send({"type": "http.response.start", "status": 200, "headers": _EMPTY_OK})
                await send({"type": "http.response.body", "body": b""})
            else:
                await _respond(send, _NOT_ALLOWED, allow=b"GET, HEAD")
        else:
            await _respond(send, _NOT_FOUND)

    return app


async def _read_request(
    scope: Scope, receive: Receive, limit: int
) -> InvocationRequest | InvocationResponse | None:
    """The request, a 413 response, or None when the client went away."""
    content_type = accept = custom = None
    for name, value in scope["headers"]:
        if name == b"content-type":
            content_type = value.decode("latin-1")
        elif name == b"accept":
            accept = value.decode("latin-1")
        elif name == CUSTOM_ATTRIBUTES:
            custom = value.decode("latin-1")
        elif name == b"content-length" and value.isdigit() and int(value) > limit:
            return _too_large(int(value), limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                return _too_large(size, limit)
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    return InvocationRequest(
        body=body, content_type=content_type, accept=accept, custom_attributes=custom
    )


def _too_large(size: int, limit: int) -> InvocationResponse:
    return container_error(
        413,
        f"The request body ({size} bytes) exceeds the maximum payload of {limit} bytes "
        f"(SAGEMAKER_MAX_PAYLOAD_IN_MB={limit / (1024 * 1024):g}).",
    )


async def _respond(send: Send, response: InvocationResponse, allow: bytes | None = None) -> None:
    headers = [
        (b"content-type", response.content_type.encode("latin-1", "replace")),
        (b"content-length", str(len(response.body)).encode("ascii")),
    ]
    if response.custom_attributes is not None:
        headers.append((CUSTOM_ATTRIBUTES, response.custom_attributes.encode("latin-1", "replace")))
    if allow is not None:
        headers.append((b"allow", allow))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


class HttpServer:
    """uvicorn serving the container app on an already bound socket, stoppable from the loop."""

    def __init__(self, invoker: Invoker, options: HttpOptions) -> None:
        config = uvicorn.Config(
            make_app(invoker, options.max_payload_bytes),
            http="httptools",
            ws="none",
            lifespan="off",
            interface="asgi3",
            access_log=options.access_log,
            log_config=None,
            log_level="info" if options.access_log else "warning",
            server_header=False,
            timeout_graceful_shutdown=max(1, round(options.graceful_shutdown_s)),
            backlog=options.backlog,
        )
        self._server = uvicorn.Server(config)

    def request_stop(self) -> None:
        """Stop accepting; in-flight requests finish (uvicorn's graceful shutdown)."""
        self._server.should_exit = True

    async def serve(self, sock: socket.socket) -> None:
        await self._server.serve(sockets=[sock])


def serve_http(
    handler: InferenceHandler, sock: socket.socket, options: HttpOptions | None = None
) -> None:
    """Serve ``handler`` on ``sock`` until SIGINT/SIGTERM, in this process (blocks).

    A request that times out is answered 500 and the server stops, since the handler may be
    stuck; a supervisor (``run_container``) restarts such a worker.
    """
    opts = options if options is not None else HttpOptions()
    run_event_loop(_serve_alone(handler, sock, opts))


async def _serve_alone(
    handler: InferenceHandler, sock: socket.socket, options: HttpOptions
) -> None:
    server: HttpServer | None = None

    def stuck(reason: str) -> None:
        logger.error("%s", reason)
        if server is not None:
            server.request_stop()

    invoker = Invoker(handler, options.timeout_s, on_stuck=stuck)
    server = HttpServer(invoker, options)
    try:
        await server.serve(sock)
    finally:
        invoker.close()


def run_event_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run ``main`` on a fresh uvloop event loop."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)

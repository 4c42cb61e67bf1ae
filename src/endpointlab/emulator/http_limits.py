"""What uvicorn lacks against slow clients: a deadline for a request's header and for its body.

uvicorn's httptools protocol waits forever for a connection's first bytes and for the rest of a
partial header (its keep-alive timer runs only between requests), and buffers a header of any
size; ``guarded_protocol`` adds a header deadline (408 and close when a request began but its
header did not end in time, a silent close when nothing arrived) and a header size cap (431).
``BodyDeadline`` wraps an ASGI ``receive``: waiting longer than the body timeout for the next
part of a body raises ``RequestTimeoutError``, S3's 400 RequestTimeout for a stalled upload.
The connection cap and the keep-alive period are uvicorn's own settings.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from endpointlab.emulator.errors import ServiceError

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]

# S3's exact message for a body that stopped arriving.
REQUEST_TIMEOUT_MESSAGE = (
    "Your socket connection to the server was not read from or written to within the timeout "
    "period. Idle connections will be closed."
)


def _plain(status: str, text: str) -> bytes:
    """A whole HTTP response that closes its connection."""
    body = text.encode() + b"\r\n"
    head = f"HTTP/1.1 {status}\r\ncontent-type: text/plain; charset=utf-8\r\nconnection: close"
    return f"{head}\r\ncontent-length: {len(body)}\r\n\r\n".encode() + body


# httptools buffers a header of any size; more than this (nginx allows 32 KiB) is refused.
MAX_HEADER_BYTES = 64 * 1024
_HEADER_TOO_LARGE_RESPONSE = _plain(
    "431 Request Header Fields Too Large", "The request header exceeds 64 KiB."
)
_HEADER_TIMEOUT_RESPONSE = _plain(
    "408 Request Timeout", "The request header was not received in time."
)


class RequestTimeoutError(ServiceError):
    """The body stopped arriving for longer than the body timeout (400 RequestTimeout)."""

    def __init__(self) -> None:
        super().__init__("RequestTimeout", REQUEST_TIMEOUT_MESSAGE, status=400)


class BodyDeadline:
    """An ASGI ``receive`` raising ``RequestTimeoutError`` when the next part of the body takes
    longer than ``timeout_s``; once the body has arrived it passes calls straight through."""

    __slots__ = ("_done", "_receive", "_timeout_s")

    def __init__(self, receive: Receive, timeout_s: float) -> None:
        self._receive = receive
        self._timeout_s = timeout_s
        self._done = False

    async def __call__(self) -> Message:
        if self._done or _ready(self._receive):
            message = await self._receive()
        else:
            try:
                async with asyncio.timeout(self._timeout_s):
                    message = await self._receive()
            except TimeoutError:
                self._done = True
                raise RequestTimeoutError() from None
        if message["type"] != "http.request" or not message.get("more_body", False):
            self._done = True
        return message


def _ready(receive: Receive) -> bool:
    """Whether uvicorn's ``receive`` has a message waiting (then no timer is needed: the common
    case of a body that came with its header). Another server's ``receive``: not known."""
    cycle = getattr(receive, "__self__", None)
    event = getattr(cycle, "message_event", None)
    return isinstance(event, asyncio.Event) and event.is_set()


def guarded_protocol(header_timeout_s: float) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with a deadline on each request's header."""

    class GuardedProtocol(HttpToolsProtocol):
        _header_timer: asyncio.TimerHandle | None = None
        _request_began = False
        _header_bytes = 0

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm_header_timer()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self._request_began:  # a header still incomplete once these bytes are parsed
                self._header_bytes += len(data)
                if self._header_bytes > MAX_HEADER_BYTES:
                    self._refuse(_HEADER_TOO_LARGE_RESPONSE)
                else:
                    self._arm_header_timer()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._request_began = True
            self._header_bytes = 0

        def on_headers_complete(self) -> None:
            self._cancel_header_timer()
            self._request_began = False
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_header_timer()
            super().connection_lost(exc)

        def _arm_header_timer(self) -> None:
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(header_timeout_s, self._header_late)

        def _cancel_header_timer(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _header_late(self) -> None:
            self._header_timer = None
            if self._request_began:
                self._refuse(_HEADER_TIMEOUT_RESPONSE)
            elif not self.transport.is_closing():
                self.transport.close()

        def _refuse(self, response: bytes) -> None:
            self._cancel_header_timer()
            if not self.transport.is_closing():
                self.transport.write(response)
                self.transport.close()

    return GuardedProtocol

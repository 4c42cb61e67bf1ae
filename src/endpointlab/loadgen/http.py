"""A small HTTP/1.1 client on asyncio protocols with httptools' response parser.

One ``ConnectionPool`` per endpoint URL keeps idle keep-alive connections for reuse; each
request borrows one, so N concurrent clients hold at most N connections. Timeouts: connecting
(``connect_timeout``) and, as botocore's read timeout, the longest wait for the next bytes
of a response (``read_timeout``).
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import httptools


class TransportError(Exception):
    """No HTTP response: the connection could not be made, broke, or timed out."""

    code = "ConnectionError"


class ConnectTimeoutError(TransportError):
    code = "ConnectTimeoutError"


class ReadTimeoutError(TransportError):
    code = "ReadTimeoutError"


class ConnectionFailedError(TransportError):
    code = "EndpointConnectionError"


class ConnectionClosedError(TransportError):
    code = "ConnectionClosedError"


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


class _Connection(asyncio.Protocol):
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[Response] | None = None
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._timer: asyncio.TimerHandle | None = None
        self._read_timeout = 60.0
        self.reusable = False

    # asyncio callbacks
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        if self._waiter is not None and self._timer is not None:
            # As botocore's read timeout: the longest wait for the next bytes, not the total.
            self._timer.cancel()
            self._timer = self._loop.call_later(self._read_timeout, self._timed_out)
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ConnectionClosedError(f"malformed HTTP response: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        self._fail(ConnectionClosedError(f"the server closed the connection ({exc or 'EOF'})"))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        waiter, self._waiter = self._waiter, None
        if self._timer is not None:
            self._timer.cancel()
        self.reusable = self._parser.should_keep_alive()
        if waiter is not None and not waiter.done():
            status = self._parser.get_status_code()
            waiter.set_result(Response(status, self._headers, b"".join(self._body)))

    # requests
    def send(self, data: bytes, read_timeout: float) -> asyncio.Future[Response]:
        assert self._transport is not None
        self._headers, self._body, self.reusable = {}, [], False
        self._waiter = self._loop.create_future()
        self._read_timeout = read_timeout
        self._timer = self._loop.call_later(read_timeout, self._timed_out)
        self._transport.write(data)
        return self._waiter

    def _timed_out(self) -> None:
        self._fail(ReadTimeoutError(f"no response bytes for {self._read_timeout:g} s"))

    def _fail(self, error: TransportError) -> None:
        waiter, self._waiter = self._waiter, None
        if self._timer is not None:
            self._timer.cancel()
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)
        self.close()

    def close(self) -> None:
        self.reusable = False
        if self._transport is not None and not self._transport.is_closing():
            self._transport.close()

    @property
    def alive(self) -> bool:
        return self._transport is not None and not self._transport.is_closing()


class ConnectionPool:
    """Keep-alive connections to one endpoint URL (http or https)."""

    def __init__(self, url: str, connect_timeout: float = 60.0, read_timeout: float = 60.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{url!r} is not an http(s) URL")
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.ssl = ssl.create_default_context() if parts.scheme == "https" else None
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._idle: deque[_Connection] = deque()
        self.opened = 0

    async def request(self, data: bytes) -> Response:
        """Send one serialised request and wait for its response."""
        connection = self._idle.pop() if self._idle else None
        while connection is not None and not connection.alive:
            connection = self._idle.pop() if self._idle else None
        if connection is None:
            connection = await self._connect()
        try:
            response = await connection.send(data, self.read_timeout)
        except BaseException:
            connection.close()
            raise
        if connection.reusable:
            self._idle.append(connection)
        else:
            connection.close()
        return response

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, protocol = await loop.create_connection(
                    lambda: _Connection(loop),
                    self.host,
                    self.port,
                    ssl=self.ssl,
                    server_hostname=self.host if self.ssl else None,
                )
        except TimeoutError:
            raise ConnectTimeoutError(
                f"could not connect to {self.host}:{self.port} within {self.connect_timeout:g} s"
            ) from None
        except OSError as exc:
            raise ConnectionFailedError(
                f"could not connect to {self.host}:{self.port}: {exc.strerror or exc}"
            ) from None
        self.opened += 1
        return protocol

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()

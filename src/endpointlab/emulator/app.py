"""The emulator's ASGI application: one port, requests routed to a codec and a service.

awsJson requests (``POST /`` with ``X-Amz-Target``) go by target prefix; restJson requests go by
method and path. The codec parses, the service acts, the codec serialises the result or the
``ServiceError``; anything unexpected becomes the protocol's InternalFailure, never a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from endpointlab.emulator.errors import ServiceError
from endpointlab.emulator.wire import JsonRpcCodec, RestJsonCodec, WireResponse, new_request_id

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# Bodies larger than this are refused before they are read whole (the largest API payload the
# emulated services accept is the 6 MB InvokeEndpoint body; S3 streams its own way).
MAX_BODY_BYTES = 16 * 1024 * 1024


class Service(Protocol):
    """A service module: named operations from parsed params to output members."""

    async def handle(self, operation: str, params: Mapping[str, Any]) -> dict[str, Any]: ...


@dataclass(frozen=True)
class JsonRoute:
    codec: JsonRpcCodec
    service: Service


@dataclass(frozen=True)
class RestRoute:
    codec: RestJsonCodec
    service: Service


Lifespan = Callable[[], Awaitable[None]]


class EmulatorApp:
    """ASGI callable dispatching to the configured services."""

    def __init__(
        self,
        json_routes: Mapping[str, JsonRoute],
        rest_routes: Sequence[RestRoute],
        *,
        on_startup: Lifespan | None = None,
        on_shutdown: Lifespan | None = None,
    ) -> None:
        self._json = dict(json_routes)
        self._rest = list(rest_routes)
        self._on_startup = on_startup
        self._on_shutdown = on_shutdown

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    if self._on_startup is not None:
                        await self._on_startup()
                except Exception as exc:
                    log.exception("emulator start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._on_shutdown is not None:
                    await self._on_shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        body = await _read_body(receive, headers)
        request_id = new_request_id()
        method: str = scope["method"]
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        path = raw_path.decode("latin-1")
        query = scope.get("query_string", b"").decode("latin-1")
        target = headers.get("x-amz-target")
        if target is not None and method == "POST" and path == "/":
            response = await self._json_call(target, headers, body, request_id)
        else:
            response = await self._rest_call(method, path, query, headers, body, request_id)
        await _send(send, response)

    async def _json_call(
        self, target: str, headers: Mapping[str, str], body: bytes | None, request_id: str
    ) -> WireResponse:
        prefix = target.split(".", 1)[0].strip()
        route = self._json.get(prefix) or next(iter(self._json.values()))
        codec = route.codec
        try:
            if body is None:
                raise _too_large()
            parsed = codec.parse(headers, body)
            result = await route.service.handle(parsed.name, parsed.params)
            return codec.serialize(parsed.operation, result, request_id=request_id)
        except ServiceError as error:
            return codec.serialize_error(error, request_id)
        except Exception:
            log.exception("internal error handling %s", target)
            return codec.serialize_error(_internal(), request_id)

    async def _rest_call(
        self,
        method: str,
        path: str,
        query: str,
        headers: Mapping[str, str],
        body: bytes | None,
        request_id: str,
    ) -> WireResponse:
        route = next(
            (r for r in self._rest if r.codec.match(method, path, query, headers) is not None),
            None,
        )
        if route is None:
            route = self._rest[0]
        codec = route.codec
        try:
            if body is None:
                raise _too_large()
            parsed = codec.parse(method, path, query, headers, body, lower_case_names=True)
            result = await route.service.handle(parsed.name, parsed.params)
            return codec.serialize(parsed.operation, result, request_id=request_id)
        except ServiceError as error:
            return codec.serialize_error(error, request_id)
        except Exception:
            log.exception("internal error handling %s %s", method, path)
            return codec.serialize_error(_internal(), request_id)


def _internal() -> ServiceError:
    return ServiceError(
        "InternalFailure", "The emulator failed unexpectedly.", status=500, sender_fault=False
    )


def _too_large() -> ServiceError:
    return ServiceError(
        "ValidationError", "The request body exceeds the emulator's limit.", status=413
    )


async def _read_body(receive: Receive, headers: Mapping[str, str]) -> bytes | None:
    """The whole body, or None once it passes MAX_BODY_BYTES (the rest is drained)."""
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        await _drain(receive)
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                await _drain(receive) if message.get("more_body") else None
                return None
            chunks.append(chunk)
        if not message.get("more_body"):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _drain(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect" or not message.get("more_body"):
            return


async def _send(send: Send, response: WireResponse) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
    headers.append((b"content-length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})

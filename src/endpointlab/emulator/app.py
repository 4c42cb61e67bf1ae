"""The emulator's ASGI application: one port, requests routed to a codec and a service.

awsJson requests (``POST /`` with ``X-Amz-Target``) go by target prefix; awsQuery and rpc-v2-cbor
ones to the protocol route claiming their head; restJson ones by method and path. The codec
parses, the service acts, the codec serialises the result or the ``ServiceError``; anything
unexpected becomes the protocol's InternalFailure, never a traceback. Requests for services the
emulator does not emulate (an unknown target prefix; a query request signed for another service)
get their protocol's error naming the service and operation: ``UnknownOperationException`` or
``InvalidAction``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from endpointlab.emulator.auth import Api, Authenticator, Principal
from endpointlab.emulator.caller import Caller, set_caller
from endpointlab.emulator.errors import ServiceError
from endpointlab.emulator.http_limits import BodyDeadline, RequestTimeoutError
from endpointlab.emulator.timing import mark_arrival
from endpointlab.emulator.wire import (
    Codec,
    JsonRpcCodec,
    ParsedRequest,
    RestJsonCodec,
    WireResponse,
    new_request_id,
    query_action,
    unserved_error,
)

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

FORM_TYPE = "application/x-www-form-urlencoded"

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


@dataclass(frozen=True)
class ProtocolRoute:
    """A service whose requests are told apart by their head rather than X-Amz-Target or REST
    path (awsQuery form posts, Smithy rpc-v2-cbor); ``claims`` picks them."""

    claims: Callable[[RequestHead], bool]
    codec: Codec
    service: Service


Route = JsonRoute | RestRoute | ProtocolRoute
# A request body as read: whole, None past MAX_BODY_BYTES, or the timeout that cut it short.
Body = bytes | None | RequestTimeoutError
Lifespan = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class RequestHead:
    """What routing may look at before the body is read."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]

    @property
    def signing_service(self) -> str | None:
        """The service in the SigV4 credential scope (header or presigned query), if signed."""
        scope = self._credential().split("/")
        return scope[3] if len(scope) == 5 else None

    @property
    def is_query(self) -> bool:
        """Shaped like an awsQuery request: a form post to ``/``, or a GET with ``Action``."""
        if self.path != "/" or "x-amz-target" in self.headers:
            return False
        if self.method == "POST":
            return self.headers.get("content-type", "").startswith(FORM_TYPE)
        return self.method == "GET" and "Action=" in self.query

    def _credential(self) -> str:
        authorization = self.headers.get("authorization", "")
        if authorization.startswith("AWS4-HMAC-SHA256"):
            for part in authorization[len("AWS4-HMAC-SHA256") :].split(","):
                key, _, value = part.strip().partition("=")
                if key == "Credential":
                    return value
        elif "X-Amz-Credential=" in self.query:
            from urllib.parse import parse_qs

            return parse_qs(self.query).get("X-Amz-Credential", [""])[0]
        return ""


class AsgiRoute(Protocol):
    """A service that speaks HTTP itself (S3 streams bodies; Prometheus text): it claims a
    request by its head and then handles it as an ASGI app."""

    def claims(self, head: RequestHead) -> bool: ...

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None: ...


class EmulatorApp:
    """ASGI callable dispatching to the configured services."""

    def __init__(
        self,
        json_routes: Mapping[str, JsonRoute],
        rest_routes: Sequence[RestRoute],
        *,
        asgi_routes: Sequence[AsgiRoute] = (),
        protocol_routes: Sequence[ProtocolRoute] = (),
        on_startup: Lifespan | None = None,
        on_shutdown: Lifespan | None = None,
        authenticator: Authenticator | None = None,
        body_timeout_s: float | None = None,
    ) -> None:
        self._json = dict(json_routes)
        self._rest = list(rest_routes)
        self._asgi = list(asgi_routes)
        self._protocols = list(protocol_routes)
        # With an authenticator every json/rest request must be signed by a listed key and be
        # allowed by its policies; ASGI routes call the authenticator themselves (S3) or are
        # deliberately open (Prometheus /metrics).
        self._auth = authenticator
        routes: list[Route] = [*self._json.values(), *self._rest, *self._protocols]
        self._apis = {route: Api.of(route.codec.model) for route in routes}
        # Requests signed for any other service (S3's route claims its own) are not for us.
        self._signing_names = {api.signing_name for api in self._apis.values()} | {"s3"}
        self._on_startup = on_startup
        self._on_shutdown = on_shutdown
        # How long the next part of a request body may take to arrive (None: forever).
        self._body_timeout_s = body_timeout_s

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
        mark_arrival()
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        method: str = scope["method"]
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        path = raw_path.decode("latin-1")
        query = scope.get("query_string", b"").decode("latin-1")
        head = RequestHead(method, path, query, headers)
        if self._body_timeout_s is not None:
            receive = BodyDeadline(receive, self._body_timeout_s)
        if self._asgi:
            for route in self._asgi:
                if route.claims(head):
                    await route(scope, receive, send)
                    return
        body = await _read_body(receive, headers)
        request_id = new_request_id()
        target = headers.get("x-amz-target")
        protocol = next((r for r in self._protocols if r.claims(head)), None)
        if protocol is not None:
            response = await self._call(protocol, head, body, request_id)
        elif head.is_query and head.signing_service not in (None, *self._signing_names):
            response = self._unserved_query(
                head, body if isinstance(body, bytes) else b"", request_id
            )
        elif method == "POST" and path == "/" and (target is not None or _is_aws_json(headers)):
            # No X-Amz-Target on an awsJson post is Coral's UnknownOperationException.
            prefix = (target or "").split(".", 1)[0].strip()
            json_route = self._json.get(prefix) or next(iter(self._json.values()))
            if prefix and "." in (target or "") and prefix not in self._json:
                # Another AWS API's target: say which, rather than Coral's bare answer.
                error = _unserved_json((target or "").strip(), head)
                response = json_route.codec.serialize_error(error, request_id)
            else:
                response = await self._call(json_route, head, body, request_id)
        else:
            matching = (r for r in self._rest if r.codec.match(method, path, query, headers))
            response = await self._call(next(matching, self._rest[0]), head, body, request_id)
        # A stalled body is abandoned: the connection cannot carry another request.
        await _send(send, response, close=isinstance(body, RequestTimeoutError))

    async def _call(
        self, route: Route, head: RequestHead, body: Body, request_id: str
    ) -> WireResponse:
        """The one call path: authenticate, parse, authorize, act, serialise."""
        codec: Codec = route.codec
        try:
            body = _whole(body, codec.validation_code)
            principal = self._authenticate(route, head, body)
            parsed = codec.parse(head, body)
            self._authorize(principal, route, parsed)
            result = await route.service.handle(parsed.name, parsed.params)
            return codec.serialize(parsed.operation, result, request_id=request_id)
        except ServiceError as error:
            return codec.serialize_error(error, request_id)
        except Exception:
            log.exception("internal error handling %s %s", head.method, head.path)
            return codec.serialize_error(_internal(), request_id)

    def _authenticate(self, route: Route, head: RequestHead, body: bytes) -> Principal | None:
        """The verified principal (None without ``--auth``), also recorded as the caller."""
        principal = None
        if self._auth is not None:
            principal = self._auth.authenticate(head, self._apis[route], body)
        set_caller(Caller(principal.user_arn if principal is not None else None))
        return principal

    @staticmethod
    def _unserved_query(head: RequestHead, body: bytes, request_id: str) -> WireResponse:
        action, version = query_action(head.query, body)
        message = (
            f'The endpointlab emulator does not emulate the service "{head.signing_service}" '
            f"(Action={action or '?'}, Version={version or '?'})."
        )
        return unserved_error(ServiceError("InvalidAction", message), request_id)

    def _authorize(self, principal: Principal | None, route: Route, parsed: ParsedRequest) -> None:
        # Before the service acts: nothing of a denied request happens.
        if self._auth is not None and principal is not None:
            self._auth.authorize(principal, self._apis[route], parsed.name, parsed.params)


def _unserved_json(target: str, head: RequestHead) -> ServiceError:
    """``UnknownOperationException`` naming the target (and the service it was signed for)."""
    service = head.signing_service
    lead = "The endpointlab emulator does not emulate the service"
    if service:
        message = f'{lead} "{service}" (X-Amz-Target: {target}).'
    else:
        message = f"{lead} of X-Amz-Target: {target}."
    return ServiceError("UnknownOperationException", message)


def _internal() -> ServiceError:
    return ServiceError(
        "InternalFailure", "The emulator failed unexpectedly.", status=500, sender_fault=False
    )


def _too_large(code: str = "ValidationError") -> ServiceError:
    """``code`` is the service's validation error (ValidationException on the control plane)."""
    return ServiceError(code, "The request body exceeds the emulator's limit.", status=413)


def _whole(body: Body, validation_code: str = "ValidationError") -> bytes:
    """The body, or the error of a body that was not read whole."""
    if body is None:
        raise _too_large(validation_code)
    if isinstance(body, RequestTimeoutError):
        raise body
    return body


def _is_aws_json(headers: Mapping[str, str]) -> bool:
    return headers.get("content-type", "").startswith("application/x-amz-json-")


async def _read_body(receive: Receive, headers: Mapping[str, str]) -> Body:
    """The whole body; None once it passes MAX_BODY_BYTES (the rest is drained); the
    ``RequestTimeoutError`` if it stopped arriving."""
    try:
        return await _read_whole(receive, headers)
    except RequestTimeoutError as timeout:
        return timeout


async def _read_whole(receive: Receive, headers: Mapping[str, str]) -> bytes | None:
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


async def _send(send: Send, response: WireResponse, *, close: bool = False) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
    headers.append((b"content-length", str(len(response.body)).encode()))
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})

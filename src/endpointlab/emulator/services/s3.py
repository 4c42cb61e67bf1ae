"""The S3 service as an ASGI route: claims S3 requests, streams bodies, speaks restXml.

A request is S3's when its SigV4 scope names service ``s3`` (header or presigned URL), when it
is SigV2-signed, when its Host is virtual-hosted (``<bucket>.localhost``,
``<bucket>.s3.localhost``), or, unsigned, when it is not another emulated API (those are all
``POST``s: awsJson with X-Amz-Target, awsQuery forms, ``/endpoints/...`` invocations), i.e. a
GET/HEAD/PUT/DELETE, or a POST naming ``?uploads``, ``?uploadId=`` or ``?delete``.

The codec (``wire.RestXmlCodec``, injected: services do not import the wire layer) parses and
serialises; object bodies stream to the store's temp files and back, never whole in memory.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import re
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Mapping,
    MutableMapping,
)
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qs

from endpointlab.emulator.auth import Api, Authenticator, Dialect
from endpointlab.emulator.errors import ServiceError
from endpointlab.emulator.objects import LocalObjectStore, Uploads, errors
from endpointlab.emulator.records import ACCOUNT_ID
from endpointlab.emulator.services.s3_buckets import BucketOperations
from endpointlab.emulator.services.s3_common import Body, S3Request, S3Result
from endpointlab.emulator.services.s3_multipart import MultipartOperations
from endpointlab.emulator.services.s3_objects import ObjectOperations

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Handler = Callable[[S3Request], Awaitable[S3Result]]

MAX_XML_BYTES = 8 * 1024 * 1024  # CompleteMultipartUpload with 10,000 parts fits easily
# Host suffixes under which a leading label is a bucket (virtual-hosted-style addressing).
VIRTUAL_HOST_SUFFIXES = (".s3.localhost", ".localhost")
_UNSIGNED_POST_KEYS = ("uploads", "uploadId", "delete")
_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
# S3's bucket owner condition (x-amz-expected-bucket-owner, and x-amz-source-expected-bucket-owner
# for copies): every bucket here belongs to the one account, so naming another fails with 403
# AccessDenied, as S3 answers when the bucket is owned by a different account.
_OWNER_CONDITIONS = ("ExpectedBucketOwner", "ExpectedSourceBucketOwner")


class Response(Protocol):
    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> list[tuple[str, str]]: ...

    @property
    def body(self) -> bytes: ...


class Parsed(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def params(self) -> dict[str, Any]: ...


class S3Wire(Protocol):
    """The restXml codec as this service uses it (``wire.RestXmlCodec``)."""

    def match(
        self, method: str, path: str, query: str, headers: Mapping[str, str]
    ) -> str | None: ...

    def streams_input(self, operation: str) -> bool: ...

    def request_body(self, headers: Mapping[str, str], chunks: AsyncIterator[bytes]) -> Any: ...

    def parse(self, head: Any, body: bytes) -> Parsed: ...

    def serialize(
        self,
        operation: str,
        result: Mapping[str, Any],
        *,
        request_id: tuple[str, str],
        status: int | None = None,
    ) -> Response: ...

    def serialize_error(
        self, error: ServiceError, *, request_id: tuple[str, str], head: bool = False
    ) -> Response: ...

    def new_request_id(self) -> tuple[str, str]: ...

    def enum(self, shape: str) -> frozenset[str]: ...


class Head(Protocol):
    """What routing sees of a request before its body (``app.RequestHead``)."""

    @property
    def method(self) -> str: ...

    @property
    def query(self) -> str: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def signing_service(self) -> str | None: ...


class ClientDisconnectedError(Exception):
    """The client went away before the request body was complete."""


def virtual_bucket(host: str) -> str | None:
    """The bucket of a virtual-hosted-style Host header, or None (path style)."""
    name = host.strip().lower()
    if name.startswith("["):
        return None  # an IPv6 literal
    name = name.rsplit(":", 1)[0] if ":" in name else name
    for suffix in VIRTUAL_HOST_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            bucket = name[: -len(suffix)]
            return None if bucket == "s3" and suffix == ".localhost" else bucket
    return None


def signing_region(headers: Mapping[str, str], query: str) -> str | None:
    """The region of the SigV4 credential scope, if the request is signed."""
    credential = ""
    authorization = headers.get("authorization", "")
    if authorization.startswith("AWS4-HMAC-SHA256"):
        for part in authorization[len("AWS4-HMAC-SHA256") :].split(","):
            key, _, value = part.strip().partition("=")
            if key == "Credential":
                credential = value
    elif "X-Amz-Credential=" in query:
        credential = parse_qs(query).get("X-Amz-Credential", [""])[0]
    scope = credential.split("/")
    return scope[2] if len(scope) == 5 else None


class S3Route:
    """The emulator's S3: an ``AsgiRoute`` over a local object store."""

    def __init__(
        self,
        wire: S3Wire,
        store: LocalObjectStore,
        uploads: Uploads,
        *,
        region: str,
        authenticator: Authenticator | None = None,
    ) -> None:
        self._wire = wire
        self._region = region
        self._auth = authenticator
        self._api = Api("s3", "s3", Dialect.S3)
        storage = wire.enum("StorageClass")
        handlers: dict[str, Handler] = {}
        handlers.update(
            BucketOperations(store, uploads, wire.enum("BucketLocationConstraint")).handlers()
        )
        handlers.update(ObjectOperations(store, storage).handlers())
        handlers.update(MultipartOperations(store, uploads, storage).handlers())
        self._handlers = handlers

    def claims(self, head: Head) -> bool:
        headers = head.headers
        service = head.signing_service
        if service is not None:
            return service == "s3"
        if headers.get("authorization", "").startswith("AWS "):  # SigV2, S3's alone
            return True
        if virtual_bucket(headers.get("host", "")) is not None:
            return True
        if "x-amz-target" in headers:
            return False
        if head.method in ("GET", "HEAD", "PUT", "DELETE"):
            return True
        keys = parse_qs(head.query, keep_blank_values=True)
        return head.method == "POST" and any(k in keys for k in _UNSIGNED_POST_KEYS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        method: str = scope["method"]
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        path = raw_path.decode("latin-1").split("?", 1)[0] or "/"
        query = scope.get("query_string", b"").decode("latin-1")
        bucket = virtual_bucket(headers.get("host", ""))
        if bucket is not None:
            path = f"/{bucket}" + ("" if path == "/" else path)
        if path.count("/") == 2 and path.endswith("/") and len(path) > 2:
            path = path[:-1]  # "/bucket/" is the bucket
        request_id = self._wire.new_request_id()
        state = _BodyState(receive, headers)
        signed = _Signed(method, raw_path.decode("latin-1").split("?", 1)[0], query, headers)
        stream: AsyncGenerator[bytes, None] | None = None
        try:
            response, stream = await self._handle(signed, path, state, request_id)
        except ClientDisconnectedError:
            log.info("S3 client disconnected during %s %s", method, path)
            return
        except ServiceError as error:
            response = self._wire.serialize_error(
                error, request_id=request_id, head=method == "HEAD"
            )
        except Exception as unexpected:
            response = self._wire.serialize_error(
                _failure(unexpected, method, path), request_id=request_id, head=method == "HEAD"
            )
        await _send(send, response, stream, close=state.unread)

    async def _handle(
        self, signed: _Signed, path: str, state: _BodyState, request_id: tuple[str, str]
    ) -> tuple[Response, AsyncGenerator[bytes, None] | None]:
        """``signed`` is the request as its signature covers it; ``path`` is path-style."""
        wire = self._wire
        method, query, headers = signed.method, signed.query, signed.headers
        principal = None
        if self._auth is not None:  # the payload hash comes from X-Amz-Content-SHA256
            principal = self._auth.authenticate(signed, self._api, None)
        operation = wire.match(method, path, query, headers)
        if operation is None:
            raise errors.method_not_allowed(method, "BUCKET" if path.count("/") <= 1 else "OBJECT")
        handler = self._handlers.get(operation)
        if handler is None:
            raise errors.not_implemented()
        body: Body | None = None
        raw = b""
        if wire.streams_input(operation):
            body = wire.request_body(headers, state.chunks())
        elif state.declared:
            read = await wire.request_body(headers, state.chunks()).read(MAX_XML_BYTES)
            if read is None:
                raise ServiceError("MaxMessageLengthExceeded", "Your request was too big.")
            raw = read
            claimed = headers.get("x-amz-content-sha256", "")
            computed = hashlib.sha256(raw).hexdigest()
            if _HEX_SHA256.fullmatch(claimed) and claimed.lower() != computed:
                raise errors.content_sha256_mismatch(claimed, computed)
        parsed = wire.parse(_Signed(method, path, query, headers), raw)  # path-style
        if self._auth is not None and principal is not None:
            self._auth.authorize(principal, self._api, operation, parsed.params)
        if any(parsed.params.get(m, ACCOUNT_ID) != ACCOUNT_ID for m in _OWNER_CONDITIONS):
            raise errors.access_denied()
        region = signing_region(headers, query) or self._region
        request = S3Request(
            operation, parsed.params, headers, region, headers.get("host", ""), body, raw
        )
        result = await handler(request)
        response = wire.serialize(
            operation, result.members, request_id=request_id, status=result.status
        )
        return response, result.stream


def _failure(error: Exception, method: str, path: str) -> ServiceError:
    """What an unexpected error tells the client: a full disk says so, anything else is S3's
    InternalError (logged with its traceback)."""
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        log.error("S3 %s %s: the data directory's disk is full (%s)", method, path, error)
        return errors.storage_full()
    log.exception("internal error handling S3 %s %s", method, path, exc_info=error)
    return errors.internal_error()


@dataclass(frozen=True)
class _Signed:
    """A request head: as sent (before virtual-host rewriting) for signature checks, or
    path-style for the codec."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]


class _BodyState:
    """The request body as ASGI delivers it, and whether any of it was left unread."""

    def __init__(self, receive: Receive, headers: Mapping[str, str]) -> None:
        self._receive = receive
        length = headers.get("content-length", "0")
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        self.declared = chunked or (length.isdigit() and int(length) > 0)
        self._finished = not self.declared

    @property
    def unread(self) -> bool:
        return not self._finished

    async def chunks(self) -> AsyncIterator[bytes]:
        while not self._finished:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnectedError()
            chunk = message.get("body", b"")
            if not message.get("more_body", False):
                self._finished = True
            if chunk:
                yield chunk


async def _send(
    send: Send, response: Response, stream: AsyncGenerator[bytes, None] | None, *, close: bool
) -> None:
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
    if not any(name == b"content-length" for name, _ in headers) and response.status != 304:
        headers.append((b"content-length", str(len(response.body)).encode()))
    if close:  # the client may still be waiting to send a body nobody will read
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    if stream is None:
        await send({"type": "http.response.body", "body": response.body})
        return
    try:
        async for chunk in stream:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    finally:
        await stream.aclose()
    await send({"type": "http.response.body", "body": b""})

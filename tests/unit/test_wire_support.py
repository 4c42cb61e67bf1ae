"""A real boto3 client whose HTTP exchange is answered in-process by a wire codec.

``BotoWire`` registers a ``before-send`` hook: it captures the signed ``AWSPreparedRequest``
botocore built, hands it to a handler (usually codec parse -> result -> codec serialize) and
returns the handler's ``WireResponse`` as the HTTP response botocore then parses. No sockets.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.config import Config

from endpointlab.emulator.errors import ServiceError
from endpointlab.emulator.wire import (
    HttpHead,
    JsonRpcCodec,
    RestJsonCodec,
    WireResponse,
    service_model,
)

ENDPOINT = "http://emulator.test:8080"


@dataclass(frozen=True)
class SentRequest:
    """What botocore put on the wire, split the way an HTTP server sees it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


class _Raw:
    """The ``raw`` object AWSResponse and StreamingBody read from."""

    def __init__(self, body: bytes) -> None:
        self._io = io.BytesIO(body)

    def read(self, amt: int | None = None) -> bytes:
        return self._io.read(amt)

    def stream(self, **_: Any) -> Iterator[bytes]:
        chunk = self._io.read()
        if chunk:
            yield chunk


def sent(request: AWSPreparedRequest) -> SentRequest:
    parts = urlsplit(request.url)
    body = request.body
    if body is None:
        data = b""
    elif isinstance(body, bytes | bytearray):
        data = bytes(body)
    elif isinstance(body, str):
        data = body.encode()
    else:
        data = body.read()
    headers = {
        k: v.decode() if isinstance(v, bytes) else str(v) for k, v in request.headers.items()
    }
    return SentRequest(request.method, parts.path, parts.query, headers, data)


class BotoWire:
    """A boto3 client of ``service`` served by ``handler(SentRequest) -> WireResponse``.

    ``config`` goes to botocore's ``Config`` (e.g. ``parameter_validation=False`` lets wrong
    types and values below a model minimum reach the wire, as other SDKs may send them).
    """

    def __init__(
        self, service: str, handler: Callable[[SentRequest], WireResponse], **config: Any
    ) -> None:
        session = boto3.session.Session(
            aws_access_key_id="AKIDEXAMPLE",
            aws_secret_access_key="secret",
            region_name="us-east-1",
        )
        settings = Config(retries={"total_max_attempts": 1, "mode": "standard"}, **config)
        self.client: Any = session.client(service, endpoint_url=ENDPOINT, config=settings)
        self.client.meta.events.register("before-send", self._send)
        self.requests: list[SentRequest] = []
        self._handler = handler

    def _send(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        captured = sent(request)
        self.requests.append(captured)
        reply = self._handler(captured)
        return AWSResponse(request.url, reply.status, dict(reply.headers), _Raw(reply.body))


class Recorder:
    """Answers every call with ``reply`` (or raises it) and remembers what was parsed."""

    def __init__(self, reply: dict[str, Any] | ServiceError | None = None) -> None:
        self.reply = reply
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((operation, params))
        if isinstance(self.reply, ServiceError):
            raise self.reply
        return self.reply or {}


def json_rpc_server(
    codec: JsonRpcCodec, answer: Callable[[str, dict[str, Any]], dict[str, Any]]
) -> Callable[[SentRequest], WireResponse]:
    """Handler: parse with ``codec``, call ``answer(operation, params)``, serialise."""

    def handle(request: SentRequest) -> WireResponse:
        try:
            head = HttpHead.of(request.method, request.path, request.query, request.headers)
            parsed = codec.parse(head, request.body)
            return codec.serialize(parsed.operation, answer(parsed.name, parsed.params))
        except ServiceError as error:
            return codec.serialize_error(error, "req-1")

    return handle


def rest_json_server(
    codec: RestJsonCodec, answer: Callable[[str, dict[str, Any]], dict[str, Any]]
) -> Callable[[SentRequest], WireResponse]:
    """Handler: like ``json_rpc_server`` for a REST codec."""

    def handle(request: SentRequest) -> WireResponse:
        try:
            head = HttpHead.of(request.method, request.path, request.query, request.headers)
            parsed = codec.parse(head, request.body)
            return codec.serialize(parsed.operation, answer(parsed.name, parsed.params))
        except ServiceError as error:
            return codec.serialize_error(error, "req-1")

    return handle


def test_the_harness_hands_botocore_the_codec_reply_and_keeps_the_request() -> None:
    codec = JsonRpcCodec(service_model("sagemaker"))
    wire = BotoWire("sagemaker", json_rpc_server(codec, lambda _op, _params: {"Endpoints": []}))
    reply = wire.client.list_endpoints()
    assert reply["Endpoints"] == []
    assert reply["ResponseMetadata"]["HTTPStatusCode"] == 200
    (request,) = wire.requests
    assert (request.method, request.path) == ("POST", "/")
    assert request.headers["X-Amz-Target"] == "SageMaker.ListEndpoints"

"""The one interface of every wire codec, and what it hands inward and outward.

A ``Codec`` parses a request ``Head`` and body into a ``ParsedRequest`` and serialises a result
or a ``ServiceError`` into a ``WireResponse``, whatever its protocol (awsJson, restJson1,
awsQuery, rpc-v2-cbor, restXml). ``ParsedRequest`` carries the botocore ``OperationModel`` and
input members keyed by their model names (PascalCase), already converted to Python values;
``WireResponse`` is status, headers and body bytes ready for the HTTP server, which adds only
framing headers such as Content-Length. S3's codec also streams bodies and answers HEAD, so its
serialisers take a few more arguments.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.model import OperationModel, ServiceModel

from endpointlab.emulator.errors import ServiceError
from endpointlab.emulator.heads import Head


@dataclass(frozen=True, slots=True)
class HttpHead:
    """A ``Head`` as a plain value."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]

    @classmethod
    def of(
        cls, method: str, path: str, query: str = "", headers: Mapping[str, str] | None = None
    ) -> HttpHead:
        """A head from headers named in any case."""
        lowered = {key.lower(): value for key, value in (headers or {}).items()}
        return cls(method, path, query, lowered)


@dataclass(frozen=True, slots=True)
class ParsedRequest:
    """One decoded, validated request: the operation and its input members."""

    operation: OperationModel
    params: dict[str, Any]

    @property
    def name(self) -> str:
        """The operation name, e.g. ``InvokeEndpoint``."""
        return str(self.operation.name)


@dataclass(frozen=True, slots=True)
class WireResponse:
    """An HTTP response as the wire sends it; header names keep AWS's spelling."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)


class Codec(Protocol):
    """A protocol codec for one service model; every failure to parse is a 4xx ServiceError
    whose validation failures use ``validation_code`` (the service's own spelling)."""

    @property
    def model(self) -> ServiceModel: ...

    @property
    def validation_code(self) -> str: ...

    def parse(self, head: Head, body: bytes) -> ParsedRequest: ...

    def serialize(
        self, operation: Any, result: Mapping[str, Any], *, request_id: str | None = None
    ) -> WireResponse: ...

    def serialize_error(
        self, error: ServiceError, request_id: str | None = None
    ) -> WireResponse: ...


def new_request_id() -> str:
    """A fresh request id in the UUID form SageMaker uses for ``x-amzn-RequestId``."""
    return str(uuid.uuid4())

"""The Smithy RPC v2 CBOR codec (what newer SDKs may pick for CloudWatch), driven by botocore.

Requests are ``POST /service/<targetPrefix>/operation/<Op>`` with ``smithy-protocol:
rpc-v2-cbor`` and a CBOR map of input members keyed by member name; timestamps arrive as tag 1
(epoch seconds). Replies carry the same header, ``Content-Type: application/cbor`` and a CBOR
map of output members; errors a map with ``__type`` and ``message`` (plus
``x-amzn-query-error`` for query-compatible services such as CloudWatch).
"""

from __future__ import annotations

import datetime
import enum
import zlib
from collections.abc import Mapping
from typing import Any

import cbor2
from botocore.model import OperationModel, ServiceModel, Shape

from endpointlab.emulator.errors import ServiceError
from endpointlab.emulator.heads import Head
from endpointlab.emulator.wire.exchange import ParsedRequest, WireResponse, new_request_id
from endpointlab.emulator.wire.faults import ErrorCatalog, serialization_error, unknown_operation
from endpointlab.emulator.wire.jsonvalues import JsonShapes, to_datetime
from endpointlab.emulator.wire.validation import Validator, validation_error

MAX_INFLATED_BYTES = 32 * 1024 * 1024
PROTOCOL = "rpc-v2-cbor"
CONTENT_TYPE = "application/cbor"
_UTC = datetime.UTC


class CborCodec:
    """Parses and serialises one service over rpc-v2-cbor, driven by its ``ServiceModel``."""

    def __init__(
        self, model: ServiceModel, *, validation_code: str = "ValidationException"
    ) -> None:
        self.model = model
        self.validation_code = validation_code
        self.path_prefix = f"/service/{model.metadata['targetPrefix']}/operation/"
        self._operations = frozenset(model.operation_names)
        self._validator = Validator()
        self._errors = ErrorCatalog(model, JsonShapes())

    def claims_path(self, path: str) -> bool:
        """Whether ``path`` addresses this service's operations."""
        return path.startswith(self.path_prefix)

    def parse(self, head: Head, body: bytes) -> ParsedRequest:
        """Decode and validate one request; every failure is a 4xx ``ServiceError``."""
        path = head.path
        name = path[len(self.path_prefix) :] if self.claims_path(path) else ""
        if name not in self._operations:
            raise unknown_operation(status=404)
        lowered = head.headers
        if "gzip" in lowered.get("content-encoding", "").lower():
            body = _inflate(body)
        document: Any = {}
        if body:
            try:
                document = cbor2.loads(body)
            except (cbor2.CBORDecodeError, ValueError, OverflowError) as exc:
                raise serialization_error("The request body is not valid CBOR.") from exc
        operation = self.model.operation_model(name)
        shape = operation.input_shape
        if shape is None:
            return ParsedRequest(operation, {})
        if document is None:
            document = {}
        params = _decode(shape, document, "")
        violations = self._validator.validate(shape, params)
        if violations:
            raise validation_error(self.validation_code, violations)
        return ParsedRequest(operation, params)

    def serialize(
        self,
        operation: OperationModel | str,
        result: Mapping[str, Any],
        *,
        request_id: str | None = None,
    ) -> WireResponse:
        """HTTP 200 with the output members as a CBOR map (an empty map without output)."""
        op = self.model.operation_model(operation) if isinstance(operation, str) else operation
        shape = op.output_shape
        document = _encode(shape, result) if shape is not None else {}
        return WireResponse(200, self._headers(request_id), _dump(document))

    def serialize_error(self, error: ServiceError, request_id: str | None = None) -> WireResponse:
        """``{"__type", "message", **fields}`` with the error's status."""
        document: dict[str, Any] = {"__type": self._errors.type_name(error.code)}
        if error.message:
            document["message"] = error.message
        shape = self._errors.shape_for(error.code)
        for name, value in error.fields.items():
            member = shape.members.get(name) if shape is not None else None
            if value is not None:
                document[name] = _encode(member, value) if member is not None else value
        headers = self._headers(request_id)
        query_error = self._errors.query_error(error)
        if query_error is not None:
            headers.append(("x-amzn-query-error", query_error))
        return WireResponse(error.status, headers, _dump(document))

    @staticmethod
    def _headers(request_id: str | None) -> list[tuple[str, str]]:
        return [
            ("x-amzn-RequestId", request_id or new_request_id()),
            ("smithy-protocol", PROTOCOL),
            ("Content-Type", CONTENT_TYPE),
        ]


def _decode(shape: Shape, value: Any, path: str) -> Any:
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            raise _mismatch(path, kind)
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            raw = value.get(name, value.get(member.serialization.get("name", name)))
            if raw is not None:
                out[name] = _decode(member, raw, f"{path}.{name}" if path else name)
        return out
    if kind == "list":
        if not isinstance(value, list):
            raise _mismatch(path, kind)
        return [None if v is None else _decode(shape.member, v, path) for v in value]
    if kind == "map":
        if not isinstance(value, dict):
            raise _mismatch(path, kind)
        return {
            str(k): None if v is None else _decode(shape.value, v, path) for k, v in value.items()
        }
    return _scalar(kind, value, path)


def _scalar(kind: str, value: Any, path: str) -> Any:
    if kind == "string" and isinstance(value, str):
        return value
    if kind == "boolean" and isinstance(value, bool):
        return value
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if kind in ("integer", "long") and number and isinstance(value, int):
        return value
    if kind in ("float", "double") and number:
        return float(value)
    if kind == "blob" and isinstance(value, bytes | bytearray):
        return bytes(value)
    if kind == "timestamp":
        if isinstance(value, datetime.datetime):
            return value if value.tzinfo else value.replace(tzinfo=_UTC)
        if number:
            try:
                return to_datetime(value)
            except (ValueError, OverflowError, OSError) as exc:
                raise _mismatch(path, kind) from exc
    if kind == "document":
        return value
    raise _mismatch(path, kind)


def _mismatch(path: str, kind: str) -> ServiceError:
    where = f" at '{path}'" if path else ""
    return serialization_error(f"Expected a CBOR value of type {kind}{where}.")


def _encode(shape: Shape, value: Any) -> Any:
    kind = shape.type_name
    if isinstance(value, enum.Enum):
        value = value.value
    if kind == "structure":
        members = shape.members
        return {
            name: _encode(members[name], item)
            for name, item in value.items()
            if item is not None and name in members
        }
    if kind == "list":
        return [_encode(shape.member, item) for item in value if item is not None]
    if kind == "map":
        return {str(k): _encode(shape.value, v) for k, v in value.items() if v is not None}
    if kind == "timestamp":
        return to_datetime(value).astimezone(_UTC)
    if kind in ("float", "double"):
        return float(value)
    if kind in ("integer", "long"):
        return int(value)
    if kind == "boolean":
        return bool(value)
    if kind == "blob":
        return value.encode() if isinstance(value, str) else bytes(value)
    if kind == "string":
        return value if isinstance(value, str) else str(value)
    return value


def _dump(document: Any) -> bytes:
    # Timestamps as tag 1 (epoch seconds, a float when sub-second), as Smithy requires.
    return cbor2.dumps(document, datetime_as_timestamp=True, timezone=_UTC)


def _inflate(body: bytes) -> bytes:
    inflater = zlib.decompressobj(wbits=31)
    try:
        data = inflater.decompress(body, MAX_INFLATED_BYTES)
    except zlib.error as exc:
        raise serialization_error() from exc
    if inflater.unconsumed_tail:
        raise ServiceError("RequestEntityTooLarge", "Request body too large", status=413)
    return data

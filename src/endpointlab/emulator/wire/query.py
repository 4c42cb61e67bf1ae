"""The awsQuery codec (CloudWatch as older SDKs speak it; STS), driven by botocore's models.

Requests are form-encoded (body or query string): ``Action=<Op>&Version=<api>`` plus the input
flattened as botocore's QuerySerializer writes it (``MetricData.member.1.Dimensions.member.1.
Name``; maps as ``.entry.N.key``; flattened lists without ``.member``). Replies are XML:
``<OpResponse xmlns=..><OpResult>..</OpResult><ResponseMetadata><RequestId>``, and errors
``<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>``, also
for query requests to services the emulator does not speak (``unserved_error``).
"""

from __future__ import annotations

import base64
import binascii
import enum
import math
import zlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl
from xml.etree.ElementTree import Element, SubElement, tostring

from botocore.model import OperationModel, ServiceModel, Shape

from endpointlab.emulator.errors import ServiceError
from endpointlab.emulator.heads import Head
from endpointlab.emulator.wire.exchange import ParsedRequest, WireResponse, new_request_id
from endpointlab.emulator.wire.faults import ErrorCatalog
from endpointlab.emulator.wire.jsonvalues import JsonShapes, iso8601, to_datetime
from endpointlab.emulator.wire.validation import Validator, validation_error

MAX_INFLATED_BYTES = 32 * 1024 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"
Tree = dict[str, Any]


class QueryCodec:
    """Parses and serialises one awsQuery service, driven by its botocore ``ServiceModel``."""

    def __init__(self, model: ServiceModel, *, validation_code: str = "ValidationError") -> None:
        self.model = model
        self.validation_code = validation_code
        self.xmlns = str(model.metadata.get("xmlNamespace", ""))
        self._operations = frozenset(model.operation_names)
        self._validator = Validator()
        self._errors = ErrorCatalog(model, JsonShapes())

    def parse(self, head: Head, body: bytes) -> ParsedRequest:
        """Decode and validate one request; every failure is a 4xx ``ServiceError``."""
        lowered, query = head.headers, head.query
        if "gzip" in lowered.get("content-encoding", "").lower():
            body = _inflate(body)
        try:
            pairs = parse_qsl(query, keep_blank_values=True)
            pairs += parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except (UnicodeDecodeError, ValueError) as exc:
            raise ServiceError("MalformedQueryString", "The query string is malformed.") from exc
        params: dict[str, str] = {}
        for key, value in pairs:
            params.setdefault(key, value)
        action = params.pop("Action", "")
        params.pop("Version", None)
        if not action:
            raise ServiceError("MissingAction", "The request must contain the parameter Action.")
        if action not in self._operations:
            raise ServiceError(
                "InvalidAction", f"The action {action} is not valid for this web service."
            )
        operation = self.model.operation_model(action)
        shape = operation.input_shape
        if shape is None:
            return ParsedRequest(operation, {})
        decoded = _decode_structure(shape, _tree(params), "")
        violations = self._validator.validate(shape, decoded)
        if violations:
            raise validation_error(self.validation_code, violations)
        return ParsedRequest(operation, decoded)

    def serialize(
        self,
        operation: OperationModel | str,
        result: Mapping[str, Any],
        *,
        request_id: str | None = None,
    ) -> WireResponse:
        """HTTP 200 with ``<OpResponse><OpResult>..</OpResult><ResponseMetadata>..``."""
        op = self.model.operation_model(operation) if isinstance(operation, str) else operation
        root = Element(f"{op.name}Response")
        if self.xmlns:
            root.set("xmlns", self.xmlns)
        shape = op.output_shape
        if shape is not None:
            wrapper = SubElement(root, shape.serialization.get("resultWrapper", f"{op.name}Result"))
            _encode_members(wrapper, shape, result)
        rid = request_id or new_request_id()
        SubElement(SubElement(root, "ResponseMetadata"), "RequestId").text = rid
        return WireResponse(200, _headers(rid), _dump(root))

    def serialize_error(self, error: ServiceError, request_id: str | None = None) -> WireResponse:
        """``<ErrorResponse>`` with the awsQuery code of the error's shape and Sender/Receiver."""
        shape = self._errors.shape_for(error.code)
        code = shape.error_code if shape is not None else error.code
        return _error_response(error, code, request_id, self.xmlns, shape)


def unserved_error(error: ServiceError, request_id: str | None = None) -> WireResponse:
    """``<ErrorResponse>`` for a query request to a service no codec here speaks (no model:
    ``error.code`` as is, unmodeled fields as text)."""
    return _error_response(error, error.code, request_id, "", None)


def query_action(query: str, body: bytes) -> tuple[str, str]:
    """``(Action, Version)`` of a form-encoded request ("" for what it lacks or cannot read)."""
    try:
        pairs = parse_qsl(query, keep_blank_values=True)
        pairs += parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except (UnicodeDecodeError, ValueError):
        return "", ""
    found = {key: value for key, value in reversed(pairs)}  # the first of repeated keys wins
    return found.get("Action", ""), found.get("Version", "")


def _error_response(
    error: ServiceError, code: str, request_id: str | None, xmlns: str, shape: Shape | None
) -> WireResponse:
    """``<ErrorResponse><Error><Type/><Code/><Message/>..</Error><RequestId/></ErrorResponse>``,
    what botocore's QueryParser reads (Error.Code, Error.Message, ResponseMetadata.RequestId)."""
    rid = request_id or new_request_id()
    root = Element("ErrorResponse")
    if xmlns:
        root.set("xmlns", xmlns)
    detail = SubElement(root, "Error")
    SubElement(detail, "Type").text = "Sender" if error.sender_fault else "Receiver"
    SubElement(detail, "Code").text = code
    SubElement(detail, "Message").text = error.message
    for name, value in error.fields.items():
        member = shape.members.get(name) if shape is not None else None
        if member is None:
            SubElement(detail, name).text = str(value)
        elif value is not None:
            _encode(detail, name, member, value)
    SubElement(root, "RequestId").text = rid
    return WireResponse(error.status, _headers(rid), _dump(root))


def _headers(request_id: str) -> list[tuple[str, str]]:
    return [("x-amzn-RequestId", request_id), ("Content-Type", "text/xml")]


# --- request: flat keys -> a tree -> model values ----------------------------------------------


def _tree(params: Mapping[str, str]) -> Tree:
    root: Tree = {}
    for key, value in params.items():
        node = root
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        if not isinstance(node.get(parts[-1]), dict):
            node[parts[-1]] = value
    return root


def _wire_name(name: str, shape: Shape) -> str:
    return str(shape.serialization.get("name", name))


def _decode_structure(shape: Shape, node: Any, path: str) -> dict[str, Any]:
    if not isinstance(node, dict):
        return {}
    out: dict[str, Any] = {}
    for name, member in shape.members.items():
        key = _wire_name(name, member)
        if key in node:
            out[name] = _decode(member, node[key], f"{path}{key}")
    return out


def _decode(shape: Shape, node: Any, path: str) -> Any:
    kind = shape.type_name
    if kind == "structure":
        return _decode_structure(shape, node, f"{path}.")
    if kind == "list":
        if node == "":
            return []  # botocore sends an empty list as "Name="
        if not shape.serialization.get("flattened"):
            node = (
                node.get(shape.member.serialization.get("name", "member"))
                if isinstance(node, dict)
                else None
            )
        return [_decode(shape.member, item, f"{path}.{i}") for i, item in _indexed(node, path)]
    if kind == "map":
        if not shape.serialization.get("flattened"):
            node = node.get("entry") if isinstance(node, dict) else None
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        out = {}
        for i, entry in _indexed(node, path):
            if isinstance(entry, dict) and key_name in entry and value_name in entry:
                key = _decode(shape.key, entry[key_name], f"{path}.{i}.{key_name}")
                out[key] = _decode(shape.value, entry[value_name], f"{path}.{i}.{value_name}")
        return out
    if not isinstance(node, str):
        raise _invalid(path, "")
    return _scalar(kind, node, path)


def _indexed(node: Any, path: str) -> list[tuple[int, Any]]:
    if not isinstance(node, dict):
        return []
    try:
        return sorted((int(index), item) for index, item in node.items())
    except ValueError as exc:
        raise _invalid(path, "") from exc


def _scalar(kind: str, text: str, path: str) -> Any:
    try:
        if kind in ("integer", "long"):
            return int(text)
        if kind in ("float", "double"):
            return float(text)
        if kind == "boolean":
            if text.lower() not in ("true", "false"):
                raise ValueError(text)
            return text.lower() == "true"
        if kind == "timestamp":
            return to_datetime(text)
        if kind == "blob":
            return base64.b64decode(text, validate=True)
    except (ValueError, TypeError, OverflowError, OSError, binascii.Error) as exc:
        raise _invalid(path, text) from exc
    return text


def _invalid(path: str, text: str) -> ServiceError:
    # UNCONFIRMED wording: the text awsQuery services give for an unreadable value.
    return ServiceError("InvalidParameterValue", f"Value ({text}) for parameter {path} is invalid.")


# --- response: model values -> XML ----------------------------------------------------------------


def _encode_members(parent: Element, shape: Shape, value: Mapping[str, Any]) -> None:
    members = shape.members
    for name, item in value.items():
        member = members.get(name)
        if member is not None and item is not None:
            _encode(parent, _wire_name(name, member), member, item)


def _encode(parent: Element, name: str, shape: Shape, value: Any) -> None:
    kind = shape.type_name
    if kind == "list":
        flattened = bool(shape.serialization.get("flattened"))
        holder = parent if flattened else SubElement(parent, name)
        item_name = name if flattened else shape.member.serialization.get("name", "member")
        for item in value:
            if item is not None:
                _encode(holder, item_name, shape.member, item)
        return
    if kind == "map":
        flattened = bool(shape.serialization.get("flattened"))
        holder = parent if flattened else SubElement(parent, name)
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        for key, item in value.items():
            if item is None:
                continue
            entry = SubElement(holder, name if flattened else "entry")
            _encode(entry, key_name, shape.key, key)
            _encode(entry, value_name, shape.value, item)
        return
    node = SubElement(parent, name)
    if kind == "structure":
        _encode_members(node, shape, value)
    else:
        node.text = _text(kind, value)


def _text(kind: str, value: Any) -> str:
    if isinstance(value, enum.Enum):
        value = value.value
    if kind == "timestamp":
        return iso8601(to_datetime(value))
    if kind == "boolean":
        return "true" if value else "false"
    if kind in ("float", "double"):
        number = float(value)
        if math.isnan(number):
            return "NaN"
        if math.isinf(number):
            return "Infinity" if number > 0 else "-Infinity"
        return repr(number)
    if kind in ("integer", "long"):
        return str(int(value))
    if kind == "blob":
        raw = value.encode() if isinstance(value, str) else bytes(value)
        return base64.b64encode(raw).decode("ascii")
    return str(value)


def _dump(root: Element) -> bytes:
    return tostring(root, encoding="unicode").encode("utf-8")


def _inflate(body: bytes) -> bytes:
    inflater = zlib.decompressobj(wbits=31)
    try:
        data = inflater.decompress(body, MAX_INFLATED_BYTES)
    except zlib.error as exc:
        raise ServiceError("MalformedQueryString", "The request body is not valid gzip.") from exc
    if inflater.unconsumed_tail:
        raise ServiceError("RequestEntityTooLarge", "Request body too large", status=413)
    return data

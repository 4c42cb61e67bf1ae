"""The restJson1 codec (SageMaker Runtime): routes, HTTP bindings, JSON bodies, header errors.

Input members come from URI labels, headers, query strings, a raw or JSON payload, or a JSON
body; output members go back the same way with the model's ``responseCode`` (InvokeEndpointAsync
answers 202). Errors carry their code in ``x-amzn-ErrorType`` and modeled fields at the top of a
JSON body. Bindings are precomputed per operation so InvokeEndpoint parses in microseconds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.model import OperationModel, ServiceModel

from endpointlab.emulator.errors import ServiceError
from endpointlab.emulator.heads import Head
from endpointlab.emulator.wire.exchange import ParsedRequest, WireResponse, new_request_id
from endpointlab.emulator.wire.faults import ErrorCatalog, serialization_error, unknown_operation
from endpointlab.emulator.wire.jsonvalues import JsonShapes, ShapeMismatchError
from endpointlab.emulator.wire.rest_bindings import Binding, Bindings, bindings, clean_header
from endpointlab.emulator.wire.rest_bindings import header_text as render_header
from endpointlab.emulator.wire.rest_router import Router, parse_query
from endpointlab.emulator.wire.validation import Validator, validation_error

# What Coral's REST front end answers for a path or method no operation claims: 404 and this
# body, no error-type header (bedrock-runtime / agentcore / cloudsearch captures). botocore then
# reports Error.Code "404" with this text as the message.
UNKNOWN_OPERATION_BODY = b"<UnknownOperationException/>\n"
JSON_TYPE = "application/json"
EVENT_STREAM_TYPE = "application/vnd.amazon.eventstream"


class RestJsonCodec:
    """Parses and serialises one restJson1 service, driven by its botocore ``ServiceModel``."""

    def __init__(
        self,
        model: ServiceModel,
        *,
        validation_code: str = "ValidationException",
        strict_output: bool = False,
        unbounded: frozenset[str] = frozenset(),
    ) -> None:
        """``unbounded`` names input shapes whose min/max the service checks itself."""
        self.model = model
        self.validation_code = validation_code
        self._strict = strict_output
        self._router = Router(model)
        self._operations = {name: model.operation_model(name) for name in model.operation_names}
        self._inputs = {
            name: bindings(op.input_shape, lower_headers=True)
            for name, op in self._operations.items()
        }
        self._outputs = {
            name: bindings(op.output_shape, lower_headers=False)
            for name, op in self._operations.items()
        }
        self._values = JsonShapes(strict_output=strict_output)
        self._validator = Validator(unbounded=unbounded)
        self._errors = ErrorCatalog(model, self._values)

    def match(
        self, method: str, path: str, query: str = "", headers: Mapping[str, str] | None = None
    ) -> OperationModel | None:
        """The operation a request names (raw path, query string apart), or None.

        ``headers`` (any case) only matter where templates are identical (S3 Put/CopyObject).
        """
        lowered = None if headers is None else {k.lower() for k in headers}
        found = self._router.match(method, path, query, lowered)
        return None if found is None else self._operations[found.operation]

    def parse(self, head: Head, body: bytes) -> ParsedRequest:
        """Decode and validate one request; every failure is a 4xx ``ServiceError``."""
        lowered, query = head.headers, head.query
        found = self._router.match(head.method, head.path, query, lowered)
        if found is None:
            raise unknown_operation(status=404)
        operation = self._operations[found.operation]
        spec = self._inputs[found.operation]
        if spec.shape is None:
            return ParsedRequest(operation, {})
        params: dict[str, Any] = {}
        try:
            for item in spec.uri:
                text = found.labels[item.wire]
                params[item.member] = text if item.convert is None else item.convert(text)
            if spec.headers or spec.prefixed:
                self._bind_headers(spec, lowered, params)
            if spec.query or spec.query_map:
                self._bind_query(spec, query, found.literal_query, params)
            if spec.payload is not None:
                self._bind_payload(spec, spec.payload, body, params)
            elif spec.body and body:
                self._bind_body(spec.body, body, params)
        except ShapeMismatchError as exc:
            raise serialization_error(str(exc)) from exc
        except (ValueError, RecursionError) as exc:  # unreadable JSON or text
            raise serialization_error() from exc
        violations = self._validator.validate(spec.shape, params)
        if violations:
            raise validation_error(self.validation_code, violations)
        for name in spec.json_text:
            if name in params:
                try:
                    params[name] = json.loads(params[name])
                except (ValueError, RecursionError) as exc:
                    raise serialization_error() from exc
        return ParsedRequest(operation, params)

    def serialize(
        self,
        operation: OperationModel | str,
        result: Mapping[str, Any],
        *,
        request_id: str | None = None,
    ) -> WireResponse:
        """The operation's response: modeled status, header members, payload or JSON body."""
        op = self._operations[operation if isinstance(operation, str) else operation.name]
        spec = self._outputs[op.name]
        status = int(op.http.get("responseCode", 200))
        headers = [("x-amzn-RequestId", request_id or new_request_id())]
        if spec.shape is None:
            return WireResponse(status, headers, b"")
        if self._strict:
            unknown = set(result) - set(spec.shape.members)
            if unknown:
                raise ValueError(f"{spec.shape.name} has no members {sorted(unknown)}")
        for item in spec.headers:
            value = result.get(item.member)
            if value is not None:
                headers.append((item.wire, render_header(item.shape, value)))
        for item in spec.prefixed:
            for key, value in (result.get(item.member) or {}).items():
                headers.append((clean_header(item.wire + key), clean_header(str(value))))
        body = b""
        if spec.payload is not None:
            body = self._payload_body(spec.payload, result.get(spec.payload.member), headers)
        elif spec.body:
            document = {
                item.wire: self._values.encode(item.shape, result[item.member])
                for item in spec.body
                if result.get(item.member) is not None
            }
            body = _dump(document)
            headers.append(("Content-Type", JSON_TYPE))
        return WireResponse(status, headers, body)

    def serialize_error(self, error: ServiceError, request_id: str | None = None) -> WireResponse:
        """``x-amzn-ErrorType: <code>`` and ``{"message": ..., **fields}`` with the status."""
        headers = [("x-amzn-RequestId", request_id or new_request_id())]
        if error.code == "UnknownOperationException" and error.status == 404:
            return WireResponse(404, headers, UNKNOWN_OPERATION_BODY)
        headers.append(("x-amzn-ErrorType", clean_header(error.code)))
        headers.append(("Content-Type", JSON_TYPE))
        document: dict[str, Any] = {"message": error.message} if error.message else {}
        fields = self._errors.fields(error)
        for member, header in self._errors.header_members(error.code).items():
            if member in fields:
                headers.append((header, clean_header(str(fields.pop(member)))))
        document.update(fields)
        return WireResponse(error.status, headers, _dump(document))

    def _bind_headers(
        self, spec: Bindings, lowered: Mapping[str, str], params: dict[str, Any]
    ) -> None:
        for item in spec.headers:
            text = lowered.get(item.wire)
            if text is not None:
                params[item.member] = text if item.convert is None else item.convert(text)
        for item in spec.prefixed:
            prefix = item.wire
            found = {k[len(prefix) :]: v for k, v in lowered.items() if k.startswith(prefix)}
            if found:
                params[item.member] = found

    def _bind_query(
        self, spec: Bindings, query: str, literal: frozenset[str], params: dict[str, Any]
    ) -> None:
        values = parse_query(query)
        for item in spec.query:
            texts = values.get(item.wire)
            if texts is None:
                continue
            if item.shape.type_name == "list":
                params[item.member] = [item.convert(t) if item.convert else t for t in texts]
            else:
                params[item.member] = texts[0] if item.convert is None else item.convert(texts[0])
        if spec.query_map is not None:
            claimed = literal | {item.wire for item in spec.query}
            multi = spec.query_map.shape.value.type_name == "list"
            rest = {k: v if multi else v[0] for k, v in values.items() if k not in claimed}
            if rest:
                params[spec.query_map.member] = rest

    def _bind_payload(
        self, spec: Bindings, item: Binding, body: bytes, params: dict[str, Any]
    ) -> None:
        kind = item.shape.type_name
        if kind == "blob":
            if body or item.member in spec.required:
                params[item.member] = body if type(body) is bytes else bytes(body)
        elif kind == "string":
            if body:
                params[item.member] = bytes(body).decode()
        elif kind == "structure" and body and not item.shape.serialization.get("eventstream"):
            params[item.member] = self._values.decode(item.shape, json.loads(body))

    def _bind_body(self, items: tuple[Binding, ...], body: bytes, params: dict[str, Any]) -> None:
        document = json.loads(body)
        if document is None:
            return  # a literal null reads as an empty input
        if not isinstance(document, dict):
            raise ShapeMismatchError(
                "Start of list found where not expected"
                if isinstance(document, list)
                else "Expected null"
            )
        for item in items:
            raw = document.get(item.wire)
            if raw is not None:
                params[item.member] = self._values.decode(item.shape, raw)

    def _payload_body(self, item: Binding, value: Any, headers: list[tuple[str, str]]) -> bytes:
        if value is None:
            return b""
        kind = item.shape.type_name
        if item.shape.serialization.get("eventstream"):
            headers.append(("Content-Type", EVENT_STREAM_TYPE))
            return bytes(value)  # frames already encoded by the caller
        if kind == "blob":
            return value.encode() if isinstance(value, str) else bytes(value)
        if kind == "string":
            return str(value).encode()
        if not any(name.lower() == "content-type" for name, _ in headers):
            headers.append(("Content-Type", JSON_TYPE))
        return _dump(self._values.encode(item.shape, value))


def _dump(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()

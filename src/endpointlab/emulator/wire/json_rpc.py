"""The awsJson 1.0/1.1 codec (SageMaker control plane; CloudWatch and Application Auto Scaling).

Requests are ``POST /`` with ``X-Amz-Target: <targetPrefix>.<Operation>`` and a JSON body of input
members; replies are JSON with ``Content-Type: application/x-amz-json-<version>``. Parsing follows
Coral's order: unreadable JSON, then unknown target, then wrong member types
(``SerializationException``), then constraint violations (the service's validation code).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from typing import Any

from botocore.model import OperationModel, ServiceModel

from endpointlab.emulator.errors import ServiceError
from endpointlab.emulator.heads import Head
from endpointlab.emulator.wire.exchange import ParsedRequest, WireResponse, new_request_id
from endpointlab.emulator.wire.faults import ErrorCatalog, serialization_error, unknown_operation
from endpointlab.emulator.wire.jsonvalues import JsonShapes, ShapeMismatchError
from endpointlab.emulator.wire.validation import Validator, validation_error

# Bound on a gzip-encoded body once inflated (CloudWatch PutMetricData compresses >= 10 KiB).
MAX_INFLATED_BYTES = 32 * 1024 * 1024


class JsonRpcCodec:
    """Parses and serialises one awsJson service, driven by its botocore ``ServiceModel``."""

    def __init__(
        self,
        model: ServiceModel,
        *,
        validation_code: str = "ValidationException",
        strict_output: bool = False,
        pattern_overrides: Mapping[str, str] | None = None,
    ) -> None:
        self.model = model
        self.validation_code = validation_code
        self.content_type = f"application/x-amz-json-{model.metadata.get('jsonVersion', '1.0')}"
        prefix = model.metadata["targetPrefix"]
        self._targets = {f"{prefix}.{name}": name for name in model.operation_names}
        self._values = JsonShapes(strict_output=strict_output)
        self._validator = Validator(pattern_overrides)
        self._errors = ErrorCatalog(model, self._values)

    def operation(self, operation: OperationModel | str) -> OperationModel:
        """The ``OperationModel`` for a name (or the model itself, passed through)."""
        if isinstance(operation, str):
            return self.model.operation_model(operation)
        return operation

    def parse(self, head: Head, body: bytes) -> ParsedRequest:
        """Decode and validate one request; every failure is a 4xx ``ServiceError``."""
        lowered = head.headers
        if "gzip" in lowered.get("content-encoding", "").lower():
            body = _inflate(body)
        document: Any = None
        if body:
            try:
                document = json.loads(body, parse_constant=_reject_constant)
            except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
                raise serialization_error() from exc
        name = self._targets.get(lowered.get("x-amz-target", "").strip())
        if name is None:
            raise unknown_operation()
        if not body:
            raise serialization_error()
        operation = self.model.operation_model(name)
        shape = operation.input_shape
        if shape is None:
            return ParsedRequest(operation, {})
        try:
            # A literal null body reads as an empty input, as Coral reads it (dynalite).
            params = self._values.decode(shape, {} if document is None else document)
        except ShapeMismatchError as exc:
            raise serialization_error(str(exc)) from exc
        except RecursionError as exc:
            raise serialization_error() from exc
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
        """HTTP 200 with the operation's output members as JSON (unmodeled members dropped)."""
        shape = self.operation(operation).output_shape
        document = self._values.encode(shape, result) if shape is not None else {}
        return WireResponse(200, self._headers(request_id), _dump(document))

    def serialize_error(self, error: ServiceError, request_id: str | None = None) -> WireResponse:
        """``{"__type": ..., "message": ..., **fields}`` with the error's status."""
        document: dict[str, Any] = {"__type": self._errors.type_name(error.code)}
        if error.message:
            document["message"] = error.message
        document.update(self._errors.fields(error))
        headers = self._headers(request_id)
        query_error = self._errors.query_error(error)
        if query_error is not None:
            headers.append(("x-amzn-query-error", query_error))
        return WireResponse(error.status, headers, _dump(document))

    def _headers(self, request_id: str | None) -> list[tuple[str, str]]:
        return [
            ("x-amzn-RequestId", request_id or new_request_id()),
            ("Content-Type", self.content_type),
        ]


def _dump(document: Any) -> bytes:
    # ASCII escapes keep the bytes valid UTF-8 even if a value carries a lone surrogate.
    return json.dumps(document, separators=(",", ":")).encode()


def _reject_constant(token: str) -> Any:
    raise ValueError(f"{token} is not JSON")


def _inflate(body: bytes) -> bytes:
    inflater = zlib.decompressobj(wbits=31)
    try:
        data = inflater.decompress(body, MAX_INFLATED_BYTES)
    except zlib.error as exc:
        raise serialization_error() from exc
    if inflater.unconsumed_tail:
        raise ServiceError("RequestEntityTooLarge", "Request body too large", status=413)
    return data

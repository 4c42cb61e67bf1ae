"""Errors as the wire spells them: Coral framework errors and the model's error shapes.

``ErrorCatalog`` finds the modeled error shape behind a ``ServiceError`` code (by shape name or
by its awsQuery ``error.code``), names the ``__type`` to send, builds the ``x-amzn-query-error``
header of query-compatible services (CloudWatch) and encodes the error's extra fields.
"""

from __future__ import annotations

from typing import Any

from botocore.model import ServiceModel, Shape

from endpointlab.emulator.errors import ServiceError
from endpointlab.emulator.wire.jsonvalues import JsonShapes

# Errors raised by Coral's front end itself; on the wire their __type carries this namespace,
# e.g. {"__type":"com.amazon.coral.service#UnknownOperationException"} (dynalite's tests,
# recorded against DynamoDB). botocore strips everything up to '#', so the Code is unchanged.
CORAL_SERVICE_ERRORS = frozenset(
    {
        "UnknownOperationException",
        "SerializationException",
        "InvalidSignatureException",
        "IncompleteSignatureException",
        "MissingAuthenticationTokenException",
        "UnrecognizedClientException",
    }
)


def unknown_operation(*, status: int = 400) -> ServiceError:
    """Coral's answer to a target or route it does not know (no message)."""
    return ServiceError("UnknownOperationException", "", status=status)


def serialization_error(message: str = "") -> ServiceError:
    """Coral's answer to a body it cannot read or a value of the wrong JSON type."""
    return ServiceError("SerializationException", message, status=400)


class ErrorCatalog:
    """The error shapes of one service model, looked up by code."""

    def __init__(self, model: ServiceModel, values: JsonShapes) -> None:
        self._values = values
        self._query_compatible = "awsQueryCompatible" in model.metadata
        self._shapes: dict[str, Shape] = {}
        for shape in model.error_shapes:
            self._shapes.setdefault(shape.error_code, shape)  # the awsQuery code, if any
        for shape in model.error_shapes:
            self._shapes[shape.name] = shape  # shape names win over query codes

    def shape_for(self, code: str) -> Shape | None:
        """The modeled error shape for ``code`` (shape name or query code), if any."""
        return self._shapes.get(code)

    def type_name(self, code: str) -> str:
        """The ``__type`` to send: the modeled shape name, Coral's namespaced name, or ``code``."""
        shape = self._shapes.get(code)
        if shape is not None:
            return str(shape.name)
        if code in CORAL_SERVICE_ERRORS:
            return f"com.amazon.coral.service#{code}"
        return code

    def query_error(self, error: ServiceError) -> str | None:
        """``x-amzn-query-error: <QueryCode>;Sender|Receiver`` for query-compatible services."""
        if not self._query_compatible:
            return None
        shape = self._shapes.get(error.code)
        query_code = shape.error_code if shape is not None else error.code
        return f"{query_code};{'Sender' if error.sender_fault else 'Receiver'}"

    def fields(self, error: ServiceError) -> dict[str, Any]:
        """The error's extra fields as JSON: modeled members encoded, unmodeled ones verbatim."""
        shape = self._shapes.get(error.code)
        if shape is None or not error.fields:
            return dict(error.fields)
        out: dict[str, Any] = {}
        members = shape.members
        for name, value in error.fields.items():
            member = members.get(name)
            if value is None:
                continue
            if member is None:
                out[name] = value
            else:
                out[member.serialization.get("name", name)] = self._values.encode(member, value)
        return out

    def header_members(self, code: str) -> dict[str, str]:
        """``{member: header name}`` for error members bound to headers (REST protocols)."""
        shape = self._shapes.get(code)
        if shape is None:
            return {}
        return {
            name: member.serialization.get("name", name)
            for name, member in shape.members.items()
            if member.serialization.get("location") == "header"
        }

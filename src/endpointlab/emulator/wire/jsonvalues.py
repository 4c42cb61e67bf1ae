"""JSON documents <-> Python values, shape by shape, as AWS JSON protocols define them.

``JsonShapes.decode`` turns a parsed request document into model values (timestamps become aware
``datetime``, blobs ``bytes``) and rejects wrong JSON types with the texts of Coral's
``SerializationException``; ``encode`` writes results back (epoch seconds, base64), dropping
members the model does not define. Timestamp helpers are shared with the REST bindings.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import email.utils
import enum
import math
import re
from typing import Any

from botocore.model import Shape

_UTC = datetime.UTC
_INT_RANGE = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
_JAVA_TYPE = {"integer": "Integer", "long": "Long", "float": "Float", "double": "Double"}
_NUMBER_CLASS = "class com.amazon.coral.value.json.numbers.TruncatingBigNumber"
_BASE64_BAD = re.compile(r"[^A-Za-z0-9+/=]|=[^=]")


class ShapeMismatchError(ValueError):
    """A JSON value of the wrong type; ``str(error)`` is the SerializationException message."""


class JsonShapes:
    """Decoder/encoder for one service's JSON documents, caching member-name tables."""

    def __init__(self, *, strict_output: bool = False) -> None:
        self._strict = strict_output
        self._wire: dict[int, tuple[Shape, dict[str, tuple[str, Shape]]]] = {}

    def wire_members(self, shape: Shape) -> dict[str, tuple[str, Shape]]:
        """``{json key: (member name, member shape)}`` for structure ``shape``."""
        cached = self._wire.get(id(shape))
        if cached is None:
            table = {
                member.serialization.get("name", name): (name, member)
                for name, member in shape.members.items()
            }
            cached = self._wire[id(shape)] = (shape, table)
        return cached[1]

    def decode(self, shape: Shape, value: Any) -> Any:
        """The Python value of ``shape`` for JSON ``value``; ``ShapeMismatchError`` if mistyped."""
        kind = shape.type_name
        if shape.metadata.get("document"):
            return value  # a document member holds any JSON value
        if kind == "structure":
            if not isinstance(value, dict):
                raise ShapeMismatchError(_structure_mismatch(value))
            out: dict[str, Any] = {}
            table = self.wire_members(shape)
            for key, raw in value.items():
                entry = table.get(key)
                if entry is not None and raw is not None:  # unknown keys and nulls are ignored
                    out[entry[0]] = self.decode(entry[1], raw)
            return out
        if kind == "list":
            if not isinstance(value, list):
                raise ShapeMismatchError(_container_mismatch(value, "list"))
            member = shape.member
            return [None if item is None else self.decode(member, item) for item in value]
        if kind == "map":
            if not isinstance(value, dict):
                raise ShapeMismatchError(_container_mismatch(value, "map"))
            target = shape.value
            return {k: None if v is None else self.decode(target, v) for k, v in value.items()}
        return decode_scalar(kind, value)

    def encode(self, shape: Shape, value: Any) -> Any:
        """Convert a Python result value of ``shape`` to its JSON form."""
        kind = shape.type_name
        if isinstance(value, enum.Enum):
            value = value.value
        if shape.metadata.get("document"):
            return value
        if kind == "structure":
            out: dict[str, Any] = {}
            members = shape.members
            for name, item in value.items():
                member = members.get(name)
                if member is None:
                    if self._strict:
                        raise ValueError(f"{shape.name} has no member {name!r}")
                    continue
                if item is not None:
                    out[member.serialization.get("name", name)] = self.encode(member, item)
            return out
        if kind == "list":
            return [self.encode(shape.member, item) for item in value if item is not None]
        if kind == "map":
            target = shape.value
            return {str(k): self.encode(target, v) for k, v in value.items() if v is not None}
        return encode_scalar(shape, value)


def decode_scalar(kind: str, value: Any) -> Any:
    """A JSON scalar as the Python value of a scalar shape kind (Coral's coercions)."""
    if isinstance(value, list):
        raise ShapeMismatchError("Start of list found where not expected")
    if isinstance(value, dict):
        raise ShapeMismatchError("Start of structure or map found where not expected.")
    if kind == "string":
        if isinstance(value, str):
            return value
        raise ShapeMismatchError(f"{_java_class(value)} can not be converted to an String")
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if isinstance(value, str):
            raise ShapeMismatchError(f"'{value.upper()}' can not be converted to an Boolean")
        raise ShapeMismatchError(f"{_java_class(value)} can not be converted to an Boolean")
    if kind in _JAVA_TYPE:
        return _number(kind, value)
    if kind == "blob":
        if isinstance(value, str):
            return decode_base64(value)
        raise ShapeMismatchError(f"{_java_class(value)} can not be converted to a Blob")
    if kind == "timestamp":
        try:
            return to_datetime(value)
        except (TypeError, ValueError, OverflowError, OSError) as exc:
            # UNCONFIRMED wording: Coral's text for an unreadable timestamp was not found.
            raise ShapeMismatchError(f"'{value}' can not be converted to a Timestamp") from exc
    return value  # document: any JSON value


def _number(kind: str, value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ShapeMismatchError(
            f"{_java_class(value)} can not be converted to an {_JAVA_TYPE[kind]}"
        )
    if not math.isfinite(value):
        raise ShapeMismatchError(f"Numeric value ({value}) out of range")
    if kind in _INT_RANGE:
        number = int(value)  # Coral's TruncatingBigNumber drops any fraction
        low, high = _INT_RANGE[kind]
        if not low <= number <= high:
            # UNCONFIRMED wording: Jackson's text for the same overflow.
            raise ShapeMismatchError(f"Numeric value ({number}) out of range of {kind}")
        return number
    return float(value)


def _java_class(value: Any) -> str:
    if isinstance(value, bool):
        return "class java.lang.Boolean"
    if isinstance(value, int | float):
        return _NUMBER_CLASS
    return "class java.lang.String"


def _structure_mismatch(value: Any) -> str:
    if isinstance(value, list):
        return "Start of list found where not expected"
    return "Expected null"


def _container_mismatch(value: Any, kind: str) -> str:
    if isinstance(value, dict):
        return "Start of structure or map found where not expected."
    if isinstance(value, list):
        return "Start of list found where not expected"
    return f"Expected {kind} or null"


def decode_base64(text: str) -> bytes:
    """Strict base64, failing with Coral's Blob messages."""
    if len(text) % 4:
        raise ShapeMismatchError(
            f"'{text}' can not be converted to a Blob: Base64 encoded length is expected a "
            f"multiple of 4 bytes but found: {len(text)}"
        )
    bad = _BASE64_BAD.search(text)
    if bad:
        char = bad.group(0)[-1] if bad.group(0)[0] == "=" else bad.group(0)[0]
        raise ShapeMismatchError(
            f"'{text}' can not be converted to a Blob: Invalid Base64 character: '{char}'"
        )
    try:
        data = base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise ShapeMismatchError(f"'{text}' can not be converted to a Blob: {exc}") from exc
    if base64.b64encode(data).decode() != text:
        raise ShapeMismatchError(
            f"'{text}' can not be converted to a Blob: Invalid last non-pad Base64 character "
            "dectected"  # sic: Coral's spelling
        )
    return data


def encode_scalar(shape: Shape, value: Any) -> Any:
    """A Python scalar as JSON for ``shape`` (timestamps per ``timestampFormat``)."""
    kind = shape.type_name
    if kind == "timestamp":
        moment = to_datetime(value)
        fmt = shape.serialization.get("timestampFormat") or shape.metadata.get("timestampFormat")
        if fmt == "iso8601":
            return iso8601(moment)
        if fmt == "rfc822":
            return rfc822(moment)
        return epoch_seconds(moment)
    if kind == "blob":
        raw = value.encode() if isinstance(value, str) else bytes(value)
        return base64.b64encode(raw).decode("ascii")
    if kind in ("float", "double"):
        return float(value)
    if kind in ("integer", "long"):
        return int(value)
    if kind == "boolean":
        return bool(value)
    if kind == "string":
        return value if isinstance(value, str) else str(value)
    return value


def to_datetime(value: Any) -> datetime.datetime:
    """An aware UTC datetime from a datetime, epoch number, numeric string, ISO 8601 or RFC 822."""
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=_UTC)
    if isinstance(value, bool):
        raise TypeError("a boolean is not a timestamp")
    if isinstance(value, int | float):
        return datetime.datetime.fromtimestamp(value, _UTC)
    if not isinstance(value, str):
        raise TypeError(f"{type(value).__name__} is not a timestamp")
    text = value.strip()
    try:
        return datetime.datetime.fromtimestamp(float(text), _UTC)
    except ValueError:
        pass
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        moment = email.utils.parsedate_to_datetime(text)  # raises ValueError when not RFC 822
    return moment if moment.tzinfo else moment.replace(tzinfo=_UTC)


def epoch_seconds(moment: datetime.datetime) -> float:
    """Epoch seconds with millisecond precision, as SageMaker writes them (``1529870369.986``)."""
    return round(moment.timestamp(), 3)


def iso8601(moment: datetime.datetime) -> str:
    """``2024-01-02T03:04:05.678Z`` (milliseconds, UTC)."""
    utc = moment.astimezone(_UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def rfc822(moment: datetime.datetime) -> str:
    """``Tue, 02 Jan 2024 03:04:05 GMT`` (the HTTP-date form of header timestamps)."""
    return email.utils.format_datetime(moment.astimezone(_UTC), usegmt=True)

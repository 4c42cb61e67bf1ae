"""One shape's constraints compiled once: bounds, Java pattern, enum, and Coral's wording.

``compile_rule`` reads a botocore shape's ``min``/``max``/``pattern``/``enum``/``sensitive``
traits into a ``Rule`` with a fast path-free predicate for scalars; ``show`` renders a value the
way Coral (Java ``toString``) prints it in messages, and ``java_number`` formats numbers.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from botocore.model import Shape

from endpointlab.emulator.wire.javaregex import UnsupportedPatternError, compile_java

NUMBERS = frozenset(("integer", "long", "float", "double"))
FLOATS = frozenset(("float", "double"))
CONTAINERS = frozenset(("structure", "list", "map"))
MEMO_ENTRIES = 1024  # accepted values remembered per string shape
MEMO_VALUE_CHARS = 256


@dataclass(slots=True)
class Rule:
    """The precomputed constraints of one shape."""

    shape: Shape
    kind: str
    sensitive: bool
    low: int | float | None
    high: int | float | None
    pattern: re.Pattern[str] | None
    enum: frozenset[str] | None
    members: tuple[tuple[str, str, Shape, bool], ...]  # name, path name, shape, required
    required: tuple[str, ...]
    shapes: dict[str, Shape]  # structure members by name
    texts: tuple[str, ...] = ()  # own constraints, in Coral's order inside "[...]"
    accepts: Callable[[Any], bool] | None = None  # scalars: type and own constraints hold
    children: dict[str, Rule] = field(default_factory=dict)  # resolved member rules


def compile_rule(
    shape: Shape,
    pattern_overrides: Mapping[str, str] | None = None,
    unbounded: frozenset[str] = frozenset(),
) -> Rule:
    """Read ``shape``'s traits once; ``pattern_overrides`` replaces the pattern of named shapes
    (a deliberate emulator extension, e.g. local paths as ModelDataUrl); the shapes named in
    ``unbounded`` lose their min/max (a service that checks a size itself, in its own words)."""
    meta = shape.metadata
    if pattern_overrides and shape.name in pattern_overrides:
        meta = {**meta, "pattern": pattern_overrides[shape.name]}
    if shape.name in unbounded:
        meta = {key: value for key, value in meta.items() if key not in ("min", "max")}
    kind = "document" if meta.get("document") else shape.type_name
    pattern = None
    if kind == "string" and "pattern" in meta:
        try:
            pattern = compile_java(meta["pattern"])
        except UnsupportedPatternError:
            pattern = None  # none in the emulated services' models (a test checks all of them)
    enum = frozenset(shape.enum) if kind == "string" and getattr(shape, "enum", None) else None
    members: tuple[tuple[str, str, Shape, bool], ...] = ()
    required: tuple[str, ...] = ()
    shapes: dict[str, Shape] = {}
    if kind == "structure":
        required = tuple(shape.required_members)
        shapes = dict(shape.members)
        members = tuple(
            (name, name[:1].lower() + name[1:], member, name in required)
            for name, member in shapes.items()
        )
    low, high = meta.get("min"), meta.get("max")
    rule = Rule(shape, kind, bool(meta.get("sensitive")), low, high, pattern, enum, members,
                required, shapes)  # fmt: skip
    rule.texts = _texts(rule)
    if kind not in CONTAINERS:
        rule.accepts = _predicate(rule)
    return rule


def _predicate(rule: Rule) -> Callable[[Any], bool]:
    """A closure answering "type right and own constraints met" without building messages."""
    kind, low, high = rule.kind, rule.low, rule.high
    if kind == "string":
        match = rule.pattern.fullmatch if rule.pattern is not None else None
        enum = rule.enum
        accepted: set[str] = set()  # bounded memo: endpoint names and content types repeat

        def string_ok(value: Any) -> bool:
            if type(value) is not str:
                return False
            if value in accepted:
                return True
            size = len(value) if value.isascii() else utf16_length(value)
            if (low is not None and size < low) or (high is not None and size > high):
                return False
            if match is not None and match(value) is None:
                return False
            if enum is not None and value not in enum:
                return False
            if len(accepted) < MEMO_ENTRIES and size <= MEMO_VALUE_CHARS:
                accepted.add(value)
            return True

        return string_ok

    def scalar_ok(value: Any) -> bool:
        if not type_ok(kind, value):
            return False
        if kind in NUMBERS or kind == "blob":
            size = len(value) if kind == "blob" else value
            return (low is None or size >= low) and (high is None or size <= high)
        return True

    return scalar_ok


def utf16_length(text: str) -> int:
    """Java's ``String.length()``: UTF-16 code units (astral characters count twice)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def type_ok(kind: str, value: Any) -> bool:
    """Whether ``value`` has the Python type the codecs produce for shape kind ``kind``."""
    if kind == "string":
        return type(value) is str
    if kind in ("integer", "long"):
        return type(value) is int
    if kind in FLOATS:
        return type(value) in (int, float)
    if kind == "boolean":
        return type(value) is bool
    if kind == "blob":
        return isinstance(value, bytes | bytearray | memoryview)
    if kind == "timestamp":
        return isinstance(value, datetime.datetime)
    if kind in {"structure", "map"}:
        return isinstance(value, Mapping)
    if kind == "list":
        return isinstance(value, list | tuple)
    return True  # document: any JSON value


def _texts(rule: Rule) -> tuple[str, ...]:
    what = "value" if rule.kind in NUMBERS else "length"
    texts = []
    if rule.high is not None:
        texts.append(f"Member must have {what} less than or equal to {bound_text(rule, rule.high)}")
    if rule.low is not None:
        texts.append(
            f"Member must have {what} greater than or equal to {bound_text(rule, rule.low)}"
        )
    if rule.kind == "string" and "pattern" in rule.shape.metadata:
        texts.append(
            f"Member must satisfy regular expression pattern: {rule.shape.metadata['pattern']}"
        )
    if rule.enum is not None:
        texts.append(f"Member must satisfy enum value set: [{', '.join(rule.shape.enum)}]")
    return tuple(texts)


def bound_text(rule: Rule, bound: float) -> str:
    """A bound as Coral prints it: ``200`` for integers, ``0.0`` for floating shapes."""
    return java_number(float(bound)) if rule.kind in FLOATS else java_number(bound)


def show(rule: Rule, value: Any) -> str:
    """The value quoted as Coral prints it, or ``""`` when it is withheld."""
    text = None if rule.sensitive else _java_text(rule.shape, value)
    return "" if text is None else f"'{text}'"


def _java_text(shape: Shape, value: Any) -> str | None:
    kind = shape.type_name
    if shape.metadata.get("sensitive"):
        return None  # Cognito: "Value at 'password' failed to satisfy constraint: ..."
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float) and kind in NUMBERS:
        return java_number(float(value) if kind in FLOATS else value)
    if kind == "list" and isinstance(value, list | tuple):
        parts = [("null" if v is None else _java_text(shape.member, v)) for v in value]
        texts = [p for p in parts if p is not None]
        return None if len(texts) < len(parts) else "[" + ", ".join(texts) + "]"
    if kind == "map" and isinstance(value, Mapping):
        pairs = []
        for key, item in value.items():
            text = "null" if item is None else _java_text(shape.value, item)
            if text is None:
                return None
            pairs.append(f"{key}={text}")
        return "{" + ", ".join(pairs) + "}"
    return None  # structures and blobs print as Java object ids; omit rather than invent


def java_number(value: float) -> str:
    """Format like Java's ``Integer``/``Double.toString``: ``42``, ``1.0``, ``1.0E7``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    magnitude = abs(value)
    if magnitude == 0 or 1e-3 <= magnitude < 1e7:
        return repr(value)  # Python spells this range like Java: no exponent
    sign, digits, exponent = Decimal(repr(value)).as_tuple()
    assert isinstance(exponent, int)
    scale = exponent + len(digits) - 1
    mantissa = "".join(map(str, digits)).rstrip("0") or "0"
    return f"{'-' if sign else ''}{mantissa[0]}.{mantissa[1:] or '0'}E{scale}"

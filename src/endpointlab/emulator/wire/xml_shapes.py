"""XML documents <-> Python values, shape by shape, as the restXml protocol spells them.

Element names follow botocore's rules: a member's ``locationName`` or its own name; flattened
lists repeat the element (named by the list member's ``locationName`` when it has one); wrapped
lists hold one child per item (``member`` unless named); ``xmlAttribute`` members are
attributes. Timestamps are ISO 8601 with milliseconds, booleans ``true``/``false``, blobs base64.
"""

from __future__ import annotations

import base64
import binascii
import enum
from collections.abc import Mapping
from typing import Any
from xml.etree import ElementTree
from xml.sax.saxutils import escape, quoteattr

from botocore.model import Shape

from endpointlab.emulator.wire.jsonvalues import ShapeMismatchError, iso8601, to_datetime

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
# Carriage returns would be normalised away by any XML parser; S3 writes them as references.
_ENTITIES = {"\r": "&#13;", '"': "&quot;"}


def element_name(member: str, shape: Shape) -> str:
    """The element name of ``member`` (botocore's ``_member_key_name``)."""
    if shape.type_name == "list" and shape.serialization.get("flattened"):
        named = shape.member.serialization.get("name")
        if named is not None:
            return str(named)
    return str(shape.serialization.get("name", member))


def local_name(tag: str) -> str:
    """``{namespace}Name`` -> ``Name``."""
    return tag.rsplit("}", 1)[-1]


# --- parsing ----------------------------------------------------------------------------------


def parse_document(shape: Shape, body: bytes) -> dict[str, Any]:
    """Decode an XML request payload of structure ``shape``; ``ShapeMismatchError`` if the
    document is not well formed or its values do not fit (S3: MalformedXML)."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise ShapeMismatchError(f"not well-formed XML: {exc}") from exc
    expected = str(shape.serialization.get("name", shape.name))
    if local_name(root.tag) != expected:
        raise ShapeMismatchError(f"the root element must be {expected}")
    value = decode_element(shape, root)
    assert isinstance(value, dict)
    return value


def decode_element(shape: Shape, element: ElementTree.Element) -> Any:
    kind = shape.type_name
    if kind == "structure":
        return _decode_structure(shape, element)
    if kind == "list":
        return [decode_element(shape.member, child) for child in element]
    if kind == "map":
        out: dict[str, Any] = {}
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        for entry in element:
            parts = {local_name(child.tag): child for child in entry}
            if key_name in parts and value_name in parts:
                key = decode_text(shape.key, parts[key_name].text or "")
                out[key] = decode_element(shape.value, parts[value_name])
        return out
    return decode_text(shape, element.text or "")


def _decode_structure(shape: Shape, element: ElementTree.Element) -> dict[str, Any]:
    table: dict[str, tuple[str, Shape]] = {}
    out: dict[str, Any] = {}
    for name, member in shape.members.items():
        if member.serialization.get("xmlAttribute"):
            attribute = element.get(str(member.serialization.get("name", name)))
            if attribute is not None:
                out[name] = decode_text(member, attribute)
        else:
            table[element_name(name, member)] = (name, member)
    for child in element:
        found = table.get(local_name(child.tag))
        if found is None:
            continue  # unknown elements are ignored, as botocore ignores them
        name, member = found
        if member.type_name == "list" and member.serialization.get("flattened"):
            out.setdefault(name, []).append(decode_element(member.member, child))
        else:
            out[name] = decode_element(member, child)
    return out


def decode_text(shape: Shape, text: str) -> Any:
    kind = shape.type_name
    try:
        if kind in ("integer", "long"):
            return int(text.strip())
        if kind in ("float", "double"):
            return float(text.strip())
        if kind == "boolean":
            lowered = text.strip().lower()
            if lowered not in ("true", "false"):
                raise ValueError(text)
            return lowered == "true"
        if kind == "timestamp":
            return to_datetime(text.strip())
        if kind == "blob":
            return base64.b64decode(text.strip(), validate=True)
    except (ValueError, TypeError, OverflowError, binascii.Error) as exc:
        raise ShapeMismatchError(f"{text!r} is not a valid {kind}") from exc
    return text


# --- serialising ------------------------------------------------------------------------------


def render_document(
    root: str, members: Mapping[str, Shape], value: Mapping[str, Any], namespace: str | None
) -> bytes:
    """``value`` (a structure with ``members``) as an XML document whose root is ``root``."""
    parts: list[str] = [XML_DECLARATION]
    _structure(parts, root, members, value, namespace)
    return "".join(parts).encode("utf-8")


def render_text_document(root: str, text: str | None, namespace: str | None = None) -> bytes:
    """A document whose root holds only text (S3's ``<LocationConstraint>``)."""
    xmlns = f" xmlns={quoteattr(namespace)}" if namespace else ""
    if not text:
        return f"{XML_DECLARATION}<{root}{xmlns}/>".encode()
    return f"{XML_DECLARATION}<{root}{xmlns}>{_escape(text)}</{root}>".encode()


def _structure(
    parts: list[str],
    tag: str,
    members: Mapping[str, Shape],
    value: Mapping[str, Any],
    namespace: str | None = None,
) -> None:
    attributes = f" xmlns={quoteattr(namespace)}" if namespace else ""
    children: list[str] = []
    for name, member in members.items():
        item = value.get(name)
        if item is None:
            continue
        if member.serialization.get("xmlAttribute"):
            attribute = str(member.serialization.get("name", name))
            attributes += f" {attribute}={quoteattr(_text(member, item))}"
        else:
            _member(children, element_name(name, member), member, item)
    if children:
        parts.append(f"<{tag}{attributes}>")
        parts.extend(children)
        parts.append(f"</{tag}>")
    else:
        parts.append(f"<{tag}{attributes}/>" if not attributes else f"<{tag}{attributes}></{tag}>")


def _member(parts: list[str], tag: str, shape: Shape, value: Any) -> None:
    kind = shape.type_name
    if kind == "structure":
        _structure(parts, tag, shape.members, value)
    elif kind == "list":
        if shape.serialization.get("flattened"):
            for item in value:
                if item is not None:
                    _member(parts, tag, shape.member, item)
        else:
            inner = str(shape.member.serialization.get("name", "member"))
            parts.append(f"<{tag}>")
            for item in value:
                if item is not None:
                    _member(parts, inner, shape.member, item)
            parts.append(f"</{tag}>")
    elif kind == "map":
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        parts.append(f"<{tag}>")
        for key, item in value.items():
            parts.append("<entry>")
            _member(parts, key_name, shape.key, key)
            _member(parts, value_name, shape.value, item)
            parts.append("</entry>")
        parts.append(f"</{tag}>")
    else:
        parts.append(f"<{tag}>{_escape(_text(shape, value))}</{tag}>")


def _text(shape: Shape, value: Any) -> str:
    kind = shape.type_name
    if isinstance(value, enum.Enum):
        value = value.value
    if kind == "timestamp":
        return iso8601(to_datetime(value))
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "blob":
        raw = value.encode() if isinstance(value, str) else bytes(value)
        return base64.b64encode(raw).decode("ascii")
    return str(value)


def _escape(text: str) -> str:
    return escape(text, _ENTITIES)


def render_fields(fields: Mapping[str, Any]) -> str:
    """Loose ``<Name>value</Name>`` elements (the extra members of an S3 ``<Error>``)."""
    out: list[str] = []
    for name, value in fields.items():
        if value is None:
            continue
        text = iso8601(value) if hasattr(value, "tzinfo") else str(value)
        out.append(f"<{name}>{_escape(text)}</{name}>")
    return "".join(out)

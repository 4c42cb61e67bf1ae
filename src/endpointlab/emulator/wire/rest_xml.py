"""The restXml codec (S3): routes, HTTP bindings, XML payloads and S3's error documents.

Routing reuses ``Router`` and then tells apart operations that share a template by what they
require (S3's PutObject / UploadPart / CopyObject / UploadPartCopy all live on
``PUT /{Bucket}/{Key+}``). Input members come from URI labels, headers (``x-amz-meta-*`` into
maps), query strings and XML payloads; output members go to headers and an XML document in
S3's namespace. Streaming blobs (object bodies) are left to the caller, which streams them.
Errors are ``<Error><Code/><Message/>...<RequestId/><HostId/></Error>``, with no body for HEAD.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from botocore.model import OperationModel, ServiceModel

from endpointlab.emulator.errors import ServiceError
from endpointlab.emulator.heads import Head
from endpointlab.emulator.wire.aws_chunked import RequestBody, is_aws_chunked
from endpointlab.emulator.wire.exchange import ParsedRequest, WireResponse
from endpointlab.emulator.wire.jsonvalues import ShapeMismatchError
from endpointlab.emulator.wire.rest_bindings import Bindings, bindings, clean_header
from endpointlab.emulator.wire.rest_bindings import header_text as render_header
from endpointlab.emulator.wire.rest_router import RouteMatch, Router, parse_query
from endpointlab.emulator.wire.xml_shapes import (
    XML_DECLARATION,
    element_name,
    parse_document,
    render_document,
    render_fields,
    render_text_document,
)

S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
XML_TYPE = "application/xml"
# The root elements of S3's responses: the model names only payload members, not these.
S3_ROOT_ELEMENTS = {
    "ListBucketsOutput": "ListAllMyBucketsResult",
    "ListObjectsOutput": "ListBucketResult",
    "ListObjectsV2Output": "ListBucketResult",
    "ListObjectVersionsOutput": "ListVersionsResult",
    "CreateMultipartUploadOutput": "InitiateMultipartUploadResult",
    "CompleteMultipartUploadOutput": "CompleteMultipartUploadResult",
    "ListPartsOutput": "ListPartsResult",
    "ListMultipartUploadsOutput": "ListMultipartUploadsResult",
    "DeleteObjectsOutput": "DeleteResult",
    "GetBucketLocationOutput": "LocationConstraint",
}
# Statuses whose responses never carry a body.
_BODILESS = frozenset({204, 304})


@dataclass(frozen=True, slots=True)
class _Requirement:
    """What an operation sharing a template needs: header names and query keys."""

    operation: str
    headers: frozenset[str]
    query: frozenset[str]


def new_s3_request_id() -> tuple[str, str]:
    """``(x-amz-request-id, x-amz-id-2)`` in S3's forms (16 hex digits; a base64 host id)."""
    return secrets.token_hex(8).upper(), base64.b64encode(secrets.token_bytes(54)).decode()


def malformed_xml() -> ServiceError:
    return ServiceError(
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published schema",
    )


def invalid_argument(name: str, value: str, kind: str) -> ServiceError:
    message = (
        f"Provided {name} not an integer or within integer range"
        if kind in ("integer", "long")
        else f"Invalid Argument: {name}"
    )
    return ServiceError(
        "InvalidArgument", message, fields={"ArgumentName": name, "ArgumentValue": value}
    )


class RestXmlCodec:
    """Parses and serialises one restXml service, driven by its botocore ``ServiceModel``."""

    def __init__(
        self,
        model: ServiceModel,
        *,
        namespace: str = S3_NAMESPACE,
        root_elements: Mapping[str, str] = S3_ROOT_ELEMENTS,
    ) -> None:
        self.model = model
        self._namespace = namespace
        self._roots = dict(root_elements)
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
        self._siblings = _siblings(self._operations)

    def operation(self, name: str) -> OperationModel:
        return self._operations[name]

    def enum(self, shape: str) -> frozenset[str]:
        """The values of an enum shape of the model (e.g. ``StorageClass``)."""
        return frozenset(self.model.shape_for(shape).enum)

    def new_request_id(self) -> tuple[str, str]:
        return new_s3_request_id()

    def match(self, method: str, path: str, query: str, headers: Mapping[str, str]) -> str | None:
        """The operation a request names (raw path, lower-case headers), or None."""
        found = self._match(method, path, query, headers)
        return None if found is None else found.operation

    def streams_input(self, operation: str) -> bool:
        """True if the operation's body is a streaming blob (PutObject, UploadPart)."""
        payload = self._inputs[operation].payload
        return payload is not None and bool(payload.shape.serialization.get("streaming"))

    def request_body(self, headers: Mapping[str, str], chunks: AsyncIterator[bytes]) -> RequestBody:
        """The body's decoded bytes (aws-chunked framing removed; trailers kept)."""
        return RequestBody(chunks, aws_chunked=is_aws_chunked(headers))

    def parse(self, head: Head, body: bytes) -> ParsedRequest:
        """Decode a request; a streaming payload is not read here (``body`` is then empty).

        Unreadable values raise S3's ``InvalidArgument``; an unreadable XML payload
        ``MalformedXML``."""
        headers, query = head.headers, head.query
        found = self._match(head.method, head.path, query, headers)
        if found is None:
            raise ServiceError(
                "MethodNotAllowed",
                "The specified method is not allowed against this resource.",
                status=405,
            )
        operation = self._operations[found.operation]
        spec = self._inputs[found.operation]
        params: dict[str, Any] = {}
        for item in spec.uri:
            params[item.member] = found.labels[item.wire]
        self._bind_headers(spec, headers, params)
        if spec.query or spec.query_map:
            self._bind_query(spec, query, found.literal_query, params)
        payload = spec.payload
        if payload is not None and not payload.shape.serialization.get("streaming"):
            if payload.shape.type_name == "structure":
                if body.strip():
                    try:
                        params[payload.member] = parse_document(payload.shape, body)
                    except ShapeMismatchError as exc:
                        raise malformed_xml() from exc
            elif body:
                params[payload.member] = body
        return ParsedRequest(operation, params)

    def serialize(
        self,
        operation: str,
        result: Mapping[str, Any],
        *,
        request_id: tuple[str, str],
        status: int | None = None,
    ) -> WireResponse:
        """Status, header members and the XML document (or raw payload bytes).

        A streaming payload (GetObject's ``Body``) is not rendered: the caller sends it."""
        op = self._operations[operation]
        spec = self._outputs[operation]
        code = status or int(op.http.get("responseCode", 200))
        headers = _id_headers(request_id)
        if spec.shape is None:
            return WireResponse(code, headers, b"")
        for item in spec.headers:
            value = result.get(item.member)
            if value is not None:
                text = value if isinstance(value, str) else render_header(item.shape, value)
                headers.append((item.wire, clean_header(text)))
        for item in spec.prefixed:
            for key, value in (result.get(item.member) or {}).items():
                headers.append((clean_header(item.wire + key), clean_header(str(value))))
        if code in _BODILESS:
            return WireResponse(code, headers, b"")
        payload = spec.payload
        body = b""
        if payload is None:
            body = self._document(spec, result) if spec.body else b""
        elif payload.shape.type_name == "structure":
            value = result.get(payload.member)
            if value is not None:
                root = element_name(payload.member, payload.shape)
                body = render_document(root, payload.shape.members, value, self._namespace)
        elif not payload.shape.serialization.get("streaming"):
            value = result.get(payload.member)
            if isinstance(value, bytes | str):
                return WireResponse(
                    code, headers, value.encode() if isinstance(value, str) else value
                )
        if body:
            headers.append(("Content-Type", XML_TYPE))
        return WireResponse(code, headers, body)

    def serialize_error(
        self, error: ServiceError, *, request_id: tuple[str, str], head: bool = False
    ) -> WireResponse:
        """S3's ``<Error>`` document with the status; HEAD and 304 answers have no body."""
        headers = _id_headers(request_id)
        if head or error.status in _BODILESS:
            return WireResponse(error.status, headers, b"")
        document = (
            f"{XML_DECLARATION}<Error><Code>{_text(error.code)}</Code>"
            f"<Message>{_text(error.message)}</Message>{render_fields(error.fields)}"
            f"<RequestId>{request_id[0]}</RequestId><HostId>{request_id[1]}</HostId></Error>"
        )
        headers.append(("Content-Type", XML_TYPE))
        return WireResponse(error.status, headers, document.encode("utf-8"))

    # --- internals ----------------------------------------------------------------------------

    def _match(
        self, method: str, path: str, query: str, headers: Mapping[str, str]
    ) -> RouteMatch | None:
        found = self._router.match(method, path, query, headers)
        if found is None:
            return None
        keys = parse_query(query)
        for option in self._siblings[found.operation]:
            if all(h in headers for h in option.headers) and all(k in keys for k in option.query):
                if option.operation == found.operation:
                    return found
                return RouteMatch(option.operation, found.labels, found.literal_query)
        return None

    def _bind_headers(
        self, spec: Bindings, headers: Mapping[str, str], params: dict[str, Any]
    ) -> None:
        for item in spec.headers:
            text = headers.get(item.wire)
            if text is None:
                continue
            if item.convert is None:
                params[item.member] = text
                continue
            try:
                params[item.member] = item.convert(text)
            except ShapeMismatchError as exc:
                if item.shape.type_name == "timestamp":
                    continue  # an unreadable date is ignored, as HTTP says (If-Modified-Since)
                raise invalid_argument(item.wire, text, item.shape.type_name) from exc
        for item in spec.prefixed:
            prefix = item.wire
            found = {k[len(prefix) :]: v for k, v in headers.items() if k.startswith(prefix)}
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
            try:
                if item.shape.type_name == "list":
                    params[item.member] = [item.convert(t) if item.convert else t for t in texts]
                else:
                    text = texts[0]
                    params[item.member] = text if item.convert is None else item.convert(text)
            except ShapeMismatchError as exc:
                raise invalid_argument(item.wire, texts[0], item.shape.type_name) from exc
        if spec.query_map is not None:
            claimed = literal | {item.wire for item in spec.query}
            rest = {k: v[0] for k, v in values.items() if k not in claimed}
            if rest:
                params[spec.query_map.member] = rest

    def _document(self, spec: Bindings, result: Mapping[str, Any]) -> bytes:
        shape = spec.shape
        assert shape is not None
        root = self._roots.get(shape.name, shape.name)
        body_members = {item.member: item for item in spec.body}
        if root in body_members and len(body_members) == 1:  # <LocationConstraint>text</...>
            value = result.get(root)
            text = None if value is None else str(value)
            return render_text_document(root, text, self._namespace)
        members = {name: shape.members[name] for name in body_members}
        return render_document(root, members, result, self._namespace)


def _siblings(operations: Mapping[str, OperationModel]) -> dict[str, tuple[_Requirement, ...]]:
    """Each operation's group of operations sharing its method and template, most demanding
    first; a request must send what one of them requires (headers and query keys)."""
    groups: dict[tuple[str, str], list[_Requirement]] = {}
    for name, op in operations.items():
        http = op.http
        template = (str(http.get("method", "POST")).upper(), str(http.get("requestUri", "/")))
        shape = op.input_shape
        headers: set[str] = set()
        query: set[str] = set()
        if shape is not None:
            for member in shape.required_members:
                serialization = shape.members[member].serialization
                location = serialization.get("location")
                if location == "header":
                    headers.add(str(serialization.get("name", member)).lower())
                elif location == "querystring":
                    query.add(str(serialization.get("name", member)))
        groups.setdefault(template, []).append(
            _Requirement(name, frozenset(headers), frozenset(query))
        )
    out: dict[str, tuple[_Requirement, ...]] = {}
    for group in groups.values():
        ordered = tuple(sorted(group, key=lambda r: -(len(r.headers) + len(r.query))))
        for requirement in group:
            out[requirement.operation] = ordered
    return out


def _id_headers(request_id: tuple[str, str]) -> list[tuple[str, str]]:
    return [("x-amz-request-id", request_id[0]), ("x-amz-id-2", request_id[1])]


def _text(text: str) -> str:
    return escape(text)

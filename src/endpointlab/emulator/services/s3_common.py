"""What the S3 operation modules share: the request and result types, conditional requests,
content integrity (Content-MD5, ``x-amz-checksum-*``, ``x-amz-content-sha256``), attributes.

Integrity is checked as S3 checks it: a Content-MD5 that is not base64 of 16 bytes is
InvalidDigest, a mismatch BadDigest; a checksum header (or aws-chunked trailer) that does not
match is BadDigest naming the algorithm; a payload hash that does not match is
XAmzContentSHA256Mismatch. Algorithms the store cannot compute are NotImplemented.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import hashlib
import re
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from endpointlab.emulator.objects import Checksum, ObjectAttributes, ObjectInfo, errors
from endpointlab.emulator.objects.files import CHECKSUM_ALGORITHMS, Blob, b64, new_hasher
from endpointlab.emulator.objects.model import DEFAULT_CONTENT_TYPE, STANDARD

# The canonical user of the emulator's one account (S3 shows it as every object's owner).
OWNER = {"ID": hashlib.sha256(b"endpointlab:123456789012").hexdigest()}
REPRESENTATION_HEADERS = (
    "CacheControl",
    "ContentDisposition",
    "ContentEncoding",
    "ContentLanguage",
    "Expires",
)
_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
# x-amz-checksum-* headers that are not checksums.
_NOT_CHECKSUMS = frozenset(
    {"x-amz-checksum-mode", "x-amz-checksum-type", "x-amz-checksum-algorithm"}
)


class Body(Protocol):
    """A request body as the wire hands it over: decoded chunks, then any trailers."""

    trailers: dict[str, str]

    def __aiter__(self) -> AsyncIterator[bytes]: ...


@dataclass(frozen=True)
class S3Request:
    """One parsed S3 request: operation, input members and what else handlers need."""

    operation: str
    params: Mapping[str, Any]
    headers: Mapping[str, str]  # lower-case names
    region: str  # the SigV4 scope's region, else the emulator's
    host: str
    body: Body | None = None  # streaming operations (PutObject, UploadPart)
    raw_body: bytes = b""  # everything else


@dataclass
class S3Result:
    """Output members, an optional status (206, 204) and a streamed body (GetObject)."""

    members: dict[str, Any]
    status: int | None = None
    stream: AsyncGenerator[bytes, None] | None = None


# --- attributes -------------------------------------------------------------------------------


def attributes_from(params: Mapping[str, Any], storage_classes: frozenset[str]) -> ObjectAttributes:
    """Content type, user metadata, representation headers and storage class of a write."""
    metadata = {str(k).lower(): str(v) for k, v in (params.get("Metadata") or {}).items()}
    size = sum(len(k.encode()) + len(v.encode()) for k, v in metadata.items())
    if size > errors.MAX_METADATA_BYTES:
        raise errors.metadata_too_large(size)
    headers: dict[str, str] = {}
    for name in REPRESENTATION_HEADERS:
        value = params.get(name)
        if value is None:
            continue
        if isinstance(value, datetime):
            value = email.utils.format_datetime(value, usegmt=True)
        if name == "ContentEncoding":  # S3 drops the transfer framing from what it stores
            value = ",".join(
                e.strip() for e in str(value).split(",") if e.strip().lower() != "aws-chunked"
            )
        if value:
            headers[name] = str(value)
    storage = params.get("StorageClass") or STANDARD
    if storage not in storage_classes:
        raise errors.invalid_storage_class()
    return ObjectAttributes(
        params.get("ContentType") or DEFAULT_CONTENT_TYPE, metadata, headers, storage
    )


def object_members(info: ObjectInfo) -> dict[str, Any]:
    """The header members GetObject and HeadObject share."""
    attributes = info.attributes
    members: dict[str, Any] = {
        "AcceptRanges": "bytes",
        "LastModified": info.last_modified,
        "ContentLength": info.size,
        "ETag": info.etag,
        "ContentType": attributes.content_type,
        "Metadata": dict(attributes.metadata),
        **attributes.headers,
    }
    if attributes.storage_class != STANDARD:
        members["StorageClass"] = attributes.storage_class
    return members


def checksum_members(checksum: Checksum | None) -> dict[str, Any]:
    if checksum is None:
        return {}
    return {f"Checksum{checksum.algorithm}": checksum.value, "ChecksumType": checksum.type}


# --- conditional requests ---------------------------------------------------------------------


def etag_matches(header: str, etag: str) -> bool:
    bare = etag.strip('"')
    return any(t.strip() in ("*", bare, f'"{bare}"') for t in header.split(","))


def check_conditions(
    info: ObjectInfo, params: Mapping[str, Any], prefix: str = "", *, copy: bool = False
) -> None:
    """If-Match / If-Unmodified-Since (412) then If-None-Match / If-Modified-Since (304, or
    412 for a copy source), with S3's precedence. ``prefix`` is ``CopySource`` for copies."""
    label = "x-amz-copy-source-" if copy else ""
    if_match = params.get(f"{prefix}IfMatch")
    unmodified = params.get(f"{prefix}IfUnmodifiedSince")
    if if_match is not None:
        if not etag_matches(if_match, info.etag):
            raise errors.precondition_failed(f"{label}If-Match")
    elif unmodified is not None and info.last_modified > unmodified:
        raise errors.precondition_failed(f"{label}If-Unmodified-Since")
    if_none_match = params.get(f"{prefix}IfNoneMatch")
    modified = params.get(f"{prefix}IfModifiedSince")
    failed = None
    if if_none_match is not None:
        if etag_matches(if_none_match, info.etag):
            failed = "If-None-Match"
    elif modified is not None and info.last_modified <= modified:
        failed = "If-Modified-Since"
    if failed is not None:
        raise errors.precondition_failed(label + failed) if copy else errors.not_modified()


# --- integrity --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Integrity:
    """What a request promises about its body, checked once the body has been read."""

    md5: str | None = None  # Content-MD5 as sent (base64)
    algorithm: str | None = None  # the x-amz-checksum-* algorithm sent (header or trailer)
    expected: str | None = None  # its base64 value when sent as a header
    trailer: str | None = None  # the trailer header that will carry it
    sha256: str | None = None  # x-amz-content-sha256 when it is a hex digest
    decoded_length: int | None = None  # x-amz-decoded-content-length (aws-chunked)

    def algorithms(self, extra: str | None = None) -> tuple[str, ...]:
        wanted = {a for a in (self.algorithm, extra) if a}
        return tuple(sorted(wanted))


def integrity_of(params: Mapping[str, Any], headers: Mapping[str, str]) -> Integrity:
    """Read and validate the integrity headers before the body is received."""
    md5 = headers.get("content-md5")
    if md5 is not None:
        try:
            if len(base64.b64decode(md5, validate=True)) != 16:
                raise ValueError(md5)
        except (binascii.Error, ValueError) as exc:
            raise errors.invalid_digest(md5) from exc
    sent = [h for h in headers if h.startswith("x-amz-checksum-") and h not in _NOT_CHECKSUMS]
    trailer = headers.get("x-amz-trailer", "").strip().lower() or None
    names = sent + ([trailer] if trailer and trailer.startswith("x-amz-checksum-") else [])
    if len(set(names)) > 1:
        raise errors.invalid_request(
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."
        )
    algorithm = names[0][len("x-amz-checksum-") :].upper() if names else None
    declared = params.get("ChecksumAlgorithm")
    if declared and not names and headers.get("x-amz-sdk-checksum-algorithm"):
        raise errors.invalid_request(
            "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or "
            "x-amz-trailer headers were found."
        )
    if algorithm is not None and algorithm not in CHECKSUM_ALGORITHMS:
        raise errors.not_implemented(names[0])
    expected = headers.get(sent[0]) if sent else None
    if expected is not None and algorithm is not None and not _valid_b64(expected, algorithm):
        raise errors.invalid_checksum_header(sent[0])
    content_sha = headers.get("x-amz-content-sha256", "")
    decoded = headers.get("x-amz-decoded-content-length")
    return Integrity(
        md5=md5,
        algorithm=algorithm,
        expected=expected,
        trailer=trailer if not sent else None,
        sha256=content_sha.lower() if _HEX_SHA256.fullmatch(content_sha) else None,
        decoded_length=int(decoded) if decoded and decoded.isdigit() else None,
    )


class Received(Protocol):
    """What was received: a ``Blob`` being written, or ``Digests`` of bytes in memory."""

    @property
    def size(self) -> int: ...

    @property
    def md5(self) -> bytes: ...

    @property
    def sha256_hex(self) -> str | None: ...

    def checksum(self, algorithm: str) -> bytes | None: ...


class Digests:
    """The digests of a small body held in memory (DeleteObjects' XML)."""

    def __init__(self, data: bytes, algorithms: tuple[str, ...] = ()) -> None:
        self.size = len(data)
        self.md5 = hashlib.md5(data, usedforsecurity=False).digest()
        self.sha256_hex: str | None = hashlib.sha256(data).hexdigest()
        self._checksums = {}
        for algorithm in algorithms:
            hasher = new_hasher(algorithm)
            hasher.update(data)
            self._checksums[algorithm] = hasher.digest()

    def checksum(self, algorithm: str) -> bytes | None:
        return self._checksums.get(algorithm)


def verify(integrity: Integrity, blob: Received, trailers: Mapping[str, str]) -> Checksum | None:
    """Check the received body against the request's promises; the checksum to store."""
    if integrity.decoded_length is not None and blob.size != integrity.decoded_length:
        raise errors.incomplete_body()
    if integrity.md5 is not None and b64(blob.md5) != integrity.md5:
        raise errors.bad_digest(integrity.md5, b64(blob.md5))
    if integrity.sha256 is not None and blob.sha256_hex not in (None, integrity.sha256):
        raise errors.content_sha256_mismatch(integrity.sha256, blob.sha256_hex or "")
    algorithm = integrity.algorithm
    if algorithm is None:
        return None
    digest = blob.checksum(algorithm)
    assert digest is not None
    expected = integrity.expected
    if integrity.trailer is not None:
        expected = trailers.get(integrity.trailer)
        if expected is None:
            raise errors.invalid_request(f"The {integrity.trailer} trailer was not sent.")
    if expected != b64(digest):
        raise errors.bad_checksum(algorithm)
    return Checksum(algorithm, b64(digest))


def check_size(request: S3Request, integrity: Integrity, limit: int) -> None:
    """EntityTooLarge before a byte is read if the declared size is over ``limit``
    (an aws-chunked body declares it in x-amz-decoded-content-length)."""
    declared = integrity.decoded_length
    framed = "aws-chunked" in request.headers.get("content-encoding", "").lower()
    length = request.params.get("ContentLength")
    if declared is None and length is not None and not framed:
        declared = int(length)
    if declared is not None and declared > limit:
        raise errors.entity_too_large(declared, limit)


async def receive(body: Body, blob: Blob, limit: int) -> None:
    """Stream the request body into ``blob``; EntityTooLarge past ``limit`` bytes."""
    async for chunk in body:
        blob.write(chunk)
        if blob.size > limit:
            raise errors.entity_too_large(blob.size, limit)


def _valid_b64(value: str, algorithm: str) -> bool:
    sizes = {"CRC32": 4, "SHA1": 20, "SHA256": 32}
    try:
        return len(base64.b64decode(value, validate=True)) == sizes[algorithm]
    except (binascii.Error, ValueError):
        return False

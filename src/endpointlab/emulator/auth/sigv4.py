"""Signature Version 4 as botocore computes it: auth parameters, canonical request, signature.

``parse_signature`` reads the header form (``Authorization: AWS4-HMAC-SHA256 Credential=...``)
or the presigned form (``X-Amz-*`` query parameters); ``canonical_request`` rebuilds what the
client signed from the raw request (non-S3 paths are URI-encoded a second time, S3 paths are
not); ``SigningKeys`` derives and caches the per-day HMAC key chain.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from urllib.parse import quote, unquote_to_bytes

from endpointlab.emulator.heads import Head

ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
PRESIGN_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
    "X-Amz-Expires",
)
HEADER_PARAMS = ("Credential", "Signature", "SignedHeaders")


# What verification reads of a request.
HttpRequest = Head


class Failure(Enum):
    """Why a request is not authentic; each dialect answers each kind its own way."""

    MISSING = "missing"  # no SigV4 authentication at all
    UNSUPPORTED = "unsupported"  # an Authorization header of another scheme (e.g. SigV2)
    INCOMPLETE = "incomplete"  # header form lacks parameters or a date; bad date; algorithm
    QUERY_INCOMPLETE = "query-incomplete"  # presigned form lacks parameters / bad X-Amz-Expires
    CREDENTIAL = "credential"  # Credential is not key/date/region/service/aws4_request
    SCOPE = "scope"  # wrong region, service, terminator or date in the credential scope
    SKEWED = "skewed"  # header form: request time too far from the server's clock
    EXPIRED = "expired"  # presigned form: past X-Amz-Date + X-Amz-Expires
    NOT_YET_VALID = "not-yet-valid"  # presigned form: X-Amz-Date in the future
    HOST_NOT_SIGNED = "host-not-signed"
    HEADERS_NOT_SIGNED = "headers-not-signed"  # S3: x-amz-* headers outside SignedHeaders
    UNKNOWN_KEY = "unknown-key"
    BAD_TOKEN = "bad-token"  # X-Amz-Security-Token absent, unexpected or wrong
    CONTENT_SHA256_MISSING = "content-sha256-missing"  # S3 header form needs it
    SIGNATURE = "signature"  # the signature does not match
    CONTENT_SHA256_MISMATCH = "content-sha256-mismatch"  # body differs from its claimed hash
    V2_MALFORMED = "v2-malformed"  # S3 SigV2: "Authorization: AWS <key>:<signature>" broken
    V2_QUERY_INCOMPLETE = "v2-query-incomplete"  # S3 SigV2 URL without all three parameters


class SigV4Error(Exception):
    """An authentication failure: its kind, a detail for the message, and extra fields."""

    def __init__(self, kind: Failure, detail: str = "", **fields: str) -> None:
        super().__init__(f"{kind.value}: {detail}" if detail else kind.value)
        self.kind = kind
        self.detail = detail
        self.fields = fields
        self.presigned = kind is Failure.QUERY_INCOMPLETE  # set by the verifier once known


@dataclass(frozen=True)
class Credential:
    access_key_id: str
    date: str
    region: str
    service: str
    terminator: str

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/{self.terminator}"


@dataclass(frozen=True)
class Signed:
    """The authentication parameters of one request, in either form."""

    algorithm: str
    credential_text: str
    signed_headers: tuple[str, ...]
    signature: str
    timestamp_text: str  # as sent: X-Amz-Date, or the Date header for the header form
    presigned: bool
    expires: str | None = None
    security_token: str | None = None
    raw_authorization: str = ""
    query: Sequence[tuple[str, str]] = field(default_factory=tuple)  # decoded pairs, in order


def query_pairs(query: str) -> list[tuple[str, str]]:
    """Raw ``k=v`` pairs of a query string, still percent-encoded; empty segments skipped."""
    pairs: list[tuple[str, str]] = []
    for segment in query.split("&"):
        if segment:
            key, _, value = segment.partition("=")
            pairs.append((key, value))
    return pairs


def _decode(text: str) -> str:
    return unquote_to_bytes(text).decode("utf-8", "replace")


def parse_signature(request: HttpRequest) -> Signed | None:
    """The SigV4 parameters of ``request``, or None when it carries no authentication."""
    authorization = request.headers.get("authorization")
    if authorization is not None and authorization.strip():
        return _parse_header(authorization.strip(), request.headers)
    if "X-Amz-" not in request.query:
        return None
    raw = query_pairs(request.query)
    decoded = {_decode(k): _decode(v) for k, v in raw}
    if not any(name in decoded for name in PRESIGN_PARAMS):
        return None
    missing = [name for name in PRESIGN_PARAMS if name not in decoded]
    if missing:
        raise SigV4Error(Failure.QUERY_INCOMPLETE, "missing", missing=",".join(missing))
    signed = decoded["X-Amz-SignedHeaders"]
    return Signed(
        algorithm=decoded["X-Amz-Algorithm"],
        credential_text=decoded["X-Amz-Credential"],
        signed_headers=tuple(signed.split(";")) if signed else (),
        signature=decoded["X-Amz-Signature"],
        timestamp_text=decoded["X-Amz-Date"],
        presigned=True,
        expires=decoded["X-Amz-Expires"],
        security_token=decoded.get("X-Amz-Security-Token"),
        query=[(k, v) for k, v in raw if _decode(k) != "X-Amz-Signature"],
    )


def _parse_header(authorization: str, headers: Mapping[str, str]) -> Signed:
    if not authorization.startswith("AWS4-"):
        raise SigV4Error(Failure.UNSUPPORTED, authorization.split(" ", 1)[0])
    algorithm, _, rest = authorization.partition(" ")
    params: dict[str, str] = {}
    for part in "".join(rest.split(" ")).split(","):
        key, equals, value = part.strip().partition("=")
        if equals:
            params[key] = value
    problems = [
        f"Authorization header requires '{name}' parameter."
        for name in HEADER_PARAMS
        if not params.get(name)
    ]
    date = headers.get("x-amz-date") or headers.get("date")
    if not date:
        problems.append(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    if problems:
        raise SigV4Error(Failure.INCOMPLETE, " ".join(problems) + f" Authorization={authorization}")
    assert date is not None
    return Signed(
        algorithm=algorithm,
        credential_text=params["Credential"],
        signed_headers=tuple(params["SignedHeaders"].split(";")),
        signature=params["Signature"],
        timestamp_text=date,
        presigned=False,
        security_token=headers.get("x-amz-security-token"),
        raw_authorization=authorization,
    )


def parse_credential(text: str) -> Credential:
    parts = text.split("/")
    if len(parts) != 5:
        raise SigV4Error(Failure.CREDENTIAL, text)
    return Credential(*parts)


def canonical_uri(path: str, *, s3: bool) -> str:
    """S3 signs the path as sent; other services normalise it and URI-encode it again."""
    if s3:
        return path or "/"
    return quote(_remove_dot_segments(path) or "/", safe="/~")


def _remove_dot_segments(path: str) -> str:
    # RFC 3986 5.2.4 plus AWS's removal of empty segments, exactly as botocore normalises.
    if not path:
        return ""
    output: list[str] = []
    for segment in path.split("/"):
        if segment and segment != ".":
            if segment == "..":
                if output:
                    output.pop()
            else:
                output.append(segment)
    first = "/" if path[0] == "/" else ""
    last = "/" if path[-1] == "/" and output else ""
    return first + "/".join(output) + last


def canonical_query(pairs: Sequence[tuple[str, str]]) -> str:
    """Each name and value decoded then encoded as SigV4 requires, sorted by name then value."""
    encoded = sorted(
        (quote(unquote_to_bytes(k), safe="-_.~"), quote(unquote_to_bytes(v), safe="-_.~"))
        for k, v in pairs
    )
    return "&".join(f"{k}={v}" for k, v in encoded)


def canonical_request(
    request: HttpRequest,
    signed: Signed,
    payload_hash: str,
    *,
    s3: bool,
) -> str:
    headers = request.headers
    lines = [
        request.method.upper(),
        canonical_uri(request.path, s3=s3),
        canonical_query(signed.query if signed.presigned else query_pairs(request.query)),
    ]
    lines.extend(
        f"{name}:{' '.join(headers.get(name, '').split())}" for name in signed.signed_headers
    )
    lines.append("")
    lines.append(";".join(signed.signed_headers))
    lines.append(payload_hash)
    return "\n".join(lines)


def string_to_sign(timestamp: str, scope: str, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{timestamp}\n{scope}\n{digest}"


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def derive_signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """``AWS4<secret>`` -> date -> region -> service -> ``aws4_request``."""
    key = _hmac(f"AWS4{secret}".encode(), date)
    return _hmac(_hmac(_hmac(key, region), service), TERMINATOR)


class SigningKeys:
    """Derived signing keys cached per (secret, date, region, service): four HMACs saved on
    every request after a key's first of the day."""

    def __init__(self, size: int = 1024) -> None:
        self._derive = lru_cache(maxsize=size)(derive_signing_key)

    def signature(self, secret: str, credential: Credential, to_sign: str) -> str:
        key = self._derive(secret, credential.date, credential.region, credential.service)
        return hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def same_signature(expected: str, provided: str) -> bool:
    """Constant-time comparison of two hex signatures."""
    return hmac.compare_digest(expected.encode(), provided.encode("utf-8", "replace"))

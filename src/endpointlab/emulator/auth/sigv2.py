"""S3's Signature Version 2, which boto3 still uses for ``generate_presigned_url`` on S3 unless
told ``signature_version="s3v4"``: ``Authorization: AWS <key>:<sig>`` or the
``AWSAccessKeyId``/``Signature``/``Expires`` query parameters, HMAC-SHA1 over the string
botocore's ``HmacV1Auth`` builds (verb, Content-MD5, Content-Type, Date or Expires, x-amz-*
headers, and the path with its sub-resources).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import unquote

from endpointlab.emulator.auth.settings import AccessKey
from endpointlab.emulator.auth.sigv4 import Failure, HttpRequest, SigV4Error, query_pairs

QUERY_PARAMS = ("AWSAccessKeyId", "Signature", "Expires")
# Sub-resources that take part in the string to sign (botocore's HmacV1Auth.QSAOfInterest).
# fmt: off
SUB_RESOURCES = frozenset({
    "accelerate", "acl", "cors", "defaultObjectAcl", "location", "logging", "partNumber",
    "policy", "requestPayment", "torrent", "versioning", "versionId", "versions", "website",
    "uploads", "uploadId", "response-content-type", "response-content-language",
    "response-expires", "response-cache-control", "response-content-disposition",
    "response-content-encoding", "delete", "lifecycle", "tagging", "restore", "storageClass",
    "notification", "replication", "analytics", "metrics", "inventory", "select",
    "select-type", "object-lock",
})
# fmt: on
ISO_TIME = "%Y-%m-%dT%H:%M:%SZ"


def is_sigv2(request: HttpRequest) -> bool:
    """True for S3 requests authenticated with Signature Version 2 (header or query)."""
    if request.headers.get("authorization", "").startswith("AWS "):
        return True
    if "X-Amz-Credential" in request.query or "Signature=" not in request.query:
        return False
    return any(unquote(name) in QUERY_PARAMS for name, _ in query_pairs(request.query))


def verify_sigv2(
    request: HttpRequest, keys: Mapping[str, AccessKey], now: datetime, skew_s: float
) -> AccessKey:
    """The key that signed ``request`` with SigV2, or a ``SigV4Error`` saying why not."""
    headers = dict(request.headers)
    authorization = headers.get("authorization", "")
    if authorization.startswith("AWS "):
        access_key_id, colon, signature = authorization[4:].strip().rpartition(":")
        if not colon or not access_key_id:
            raise SigV4Error(Failure.V2_MALFORMED)
        date = "" if "x-amz-date" in headers else headers.get("date", "")
        _check_date(headers.get("x-amz-date") or headers.get("date", ""), now, skew_s)
        query = request.query
    else:
        params = {unquote(k): unquote(v) for k, v in query_pairs(request.query)}
        if not all(name in params for name in QUERY_PARAMS):
            raise SigV4Error(Failure.V2_QUERY_INCOMPLETE)
        access_key_id, signature, date = (params[name] for name in QUERY_PARAMS)
        _check_expires(date, now)
        for name, value in params.items():  # signed as headers, sent as query parameters
            if name.lower().startswith("x-amz-") or name.lower() in ("content-md5", "content-type"):
                headers[name.lower()] = value
        query = request.query
    key = keys.get(access_key_id)
    if key is None:
        raise SigV4Error(Failure.UNKNOWN_KEY, AWSAccessKeyId=access_key_id)
    if headers.get("x-amz-security-token") != key.session_token:
        raise SigV4Error(Failure.BAD_TOKEN)
    to_sign = string_to_sign(request.method, request.path, query, headers, date)
    digest = hmac.new(key.secret_access_key.encode(), to_sign.encode("utf-8"), hashlib.sha1)
    expected = base64.b64encode(digest.digest()).decode()
    provided = signature.replace(" ", "+")  # a '+' that arrived unencoded reads as a space
    if not hmac.compare_digest(expected.encode(), provided.encode("utf-8", "replace")):
        raise SigV4Error(
            Failure.SIGNATURE,
            AWSAccessKeyId=access_key_id,
            StringToSign=to_sign,
            SignatureProvided=signature,
        )
    return key


def string_to_sign(
    method: str, path: str, query: str, headers: Mapping[str, str], date: str
) -> str:
    lines = [
        method.upper(),
        headers.get("content-md5", "").strip(),
        headers.get("content-type", "").strip(),
        date.strip(),
    ]
    lines.extend(
        f"{name}:{headers[name].strip()}" for name in sorted(headers) if name.startswith("x-amz-")
    )
    resource = path or "/"
    sub = sorted(
        (unquote(k), unquote(v) if equals else None)
        for k, equals, v in (pair.partition("=") for pair in query.split("&") if pair)
        if unquote(k) in SUB_RESOURCES
    )
    if sub:
        resource += "?" + "&".join(k if v is None else f"{k}={v}" for k, v in sub)
    lines.append(resource)
    return "\n".join(lines)


def _check_date(text: str, now: datetime, skew_s: float) -> None:
    try:
        stamp = parsedate_to_datetime(text).astimezone(UTC)
    except (TypeError, ValueError, IndexError):
        raise SigV4Error(Failure.INCOMPLETE, "", problem="date") from None
    if abs((now - stamp).total_seconds()) > skew_s:
        raise SigV4Error(
            Failure.SKEWED,
            RequestTime=text,
            ServerTime=now.strftime(ISO_TIME),
            MaxAllowedSkewMilliseconds=str(int(skew_s * 1000)),
        )


def _check_expires(text: str, now: datetime) -> None:
    if not text.isdigit():
        raise SigV4Error(Failure.V2_QUERY_INCOMPLETE)
    expires = int(text)
    if now.timestamp() > expires:
        error = SigV4Error(
            Failure.EXPIRED,
            Expires=datetime.fromtimestamp(expires, UTC).strftime(ISO_TIME),
            ServerTime=now.strftime(ISO_TIME),
        )
        error.presigned = True
        raise error

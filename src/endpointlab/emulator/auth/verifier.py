"""Verify one request's signature against the listed keys, in AWS's order of checks.

Format (parameters, date, algorithm), time (clock skew for the header form; X-Amz-Expires for
presigned URLs), Host signed, credential scope (region, service, terminator, date), access key,
session token, then the signature itself, compared in constant time. Every failure is a
``SigV4Error`` whose kind each protocol dialect answers in its own words. S3 also takes
Signature Version 2 (``sigv2``), which boto3's S3 presigner still produces by default.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from types import MappingProxyType
from urllib.parse import unquote

from endpointlab.emulator.auth.settings import AccessKey
from endpointlab.emulator.auth.sigv2 import is_sigv2, verify_sigv2
from endpointlab.emulator.auth.sigv4 import (
    ALGORITHM,
    TERMINATOR,
    UNSIGNED_PAYLOAD,
    Credential,
    Failure,
    HttpRequest,
    Signed,
    SigningKeys,
    SigV4Error,
    canonical_request,
    parse_credential,
    parse_signature,
    same_signature,
    string_to_sign,
)

SIGV4_TIME = "%Y%m%dT%H%M%SZ"
ISO_TIME = "%Y-%m-%dT%H:%M:%SZ"
# How far a request's time may be from the server's, either way, per signing service, from
# AWS's own answers pasted in public threads:
# - monitoring (CloudWatch): 5 min. ("(... - 5 min.)", aws-sdk-js-v3 5192; "+ 5 min." for
#   GetMetricStatistics, wawastein/zabbix-cloudwatch 10);
# - sts: 15 min. (GetCallerIdentity "(... - 15 min.)", aws/aws-cli 6676; "+ 15 min.", HTTP 403,
#   QT-DevOps/DevOpsIssues 989);
# - s3: 15 minutes (RequestTimeTooSkewed, MaxAllowedSkewMilliseconds 900000).
# For sagemaker (control plane and runtime) no capture was found: UNCONFIRMED, it takes the
# 5 minutes of the other Coral JSON front ends (Rekognition, Secrets Manager, Lambda, ...),
# as does any other service. Verifier(skews=...) overrides the table.
DEFAULT_SKEW = timedelta(minutes=5)
S3_SKEW = timedelta(minutes=15)
SKEW_BY_SERVICE: Mapping[str, timedelta] = MappingProxyType(
    {
        "monitoring": timedelta(minutes=5),
        "sagemaker": DEFAULT_SKEW,  # UNCONFIRMED
        "sts": timedelta(minutes=15),
        "s3": S3_SKEW,
    }
)
# A presigned URL lives at most a week.
MAX_PRESIGN_EXPIRES_S = 604800
_BASIC_ISO8601 = re.compile(r"\d{8}T\d{6}Z")
_HEX_SHA256 = re.compile(r"[0-9a-f]{64}")

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Verifier:
    """Checks signatures made with the keys in ``keys`` for services in ``region``."""

    def __init__(
        self,
        keys: Mapping[str, AccessKey],
        region: str,
        clock: Clock = utc_now,
        skews: Mapping[str, timedelta] = SKEW_BY_SERVICE,
    ) -> None:
        self._keys = keys
        self._region = region
        self._clock = clock
        self._skews = skews
        self._signing = SigningKeys()

    def skew(self, service: str) -> timedelta:
        """The clock skew ``service`` (a credential-scope name) allows either way."""
        return self._skews.get(service, DEFAULT_SKEW)

    def verify(self, request: HttpRequest, service: str, body: bytes | None) -> AccessKey:
        """The key that signed ``request`` for ``service`` (its credential-scope name).

        ``body`` is the whole request body, hashed when no ``X-Amz-Content-SHA256`` header
        stands for it; pass None for a streamed body (S3), whose hash must then be in that
        header and is checked by the caller once the body has been read.
        """
        if service == "s3" and is_sigv2(request):
            return verify_sigv2(request, self._keys, self._clock(), self.skew("s3").total_seconds())
        signed = parse_signature(request)
        if signed is None:
            raise SigV4Error(Failure.MISSING)
        try:
            return self._verify(request, signed, service, body)
        except SigV4Error as error:
            error.presigned = signed.presigned
            raise

    def _verify(
        self, request: HttpRequest, signed: Signed, service: str, body: bytes | None
    ) -> AccessKey:
        s3 = service == "s3"
        stamp, timestamp = _request_time(signed)
        now = self._clock()
        skew = self.skew(service)
        if signed.presigned:
            _check_presigned_time(signed, stamp, now, skew)
        else:
            _check_skew(signed, stamp, now, skew)
        if "host" not in signed.signed_headers:
            raise SigV4Error(Failure.HOST_NOT_SIGNED)
        if signed.algorithm != ALGORITHM:
            raise SigV4Error(
                Failure.QUERY_INCOMPLETE if signed.presigned else Failure.INCOMPLETE,
                f"Unsupported AWS 'algorithm': '{signed.algorithm}' (only {ALGORITHM} for now). ",
                problem="algorithm",
            )
        credential = parse_credential(signed.credential_text)
        self._check_scope(credential, service, timestamp)
        key = self._keys.get(credential.access_key_id)
        if key is None:
            raise SigV4Error(Failure.UNKNOWN_KEY, AWSAccessKeyId=credential.access_key_id)
        if signed.security_token != key.session_token:
            raise SigV4Error(Failure.BAD_TOKEN)
        if s3:
            _check_all_amz_headers_signed(request.headers, signed)
        claimed = _claimed_payload_hash(request, signed, s3)
        payload_hash = claimed if claimed is not None else _sha256(body)
        canonical = canonical_request(request, signed, payload_hash, s3=s3)
        to_sign = string_to_sign(timestamp, credential.scope, canonical)
        expected = self._signing.signature(key.secret_access_key, credential, to_sign)
        if not same_signature(expected, signed.signature):
            raise SigV4Error(
                Failure.SIGNATURE,
                AWSAccessKeyId=credential.access_key_id,
                StringToSign=to_sign,
                SignatureProvided=signed.signature,
                CanonicalRequest=canonical,
            )
        if claimed is not None and body is not None and _HEX_SHA256.fullmatch(claimed):
            computed = hashlib.sha256(body).hexdigest()
            if computed != claimed:
                raise content_mismatch(claimed, computed)
        return key

    def _check_scope(self, credential: Credential, service: str, timestamp: str) -> None:
        problems: list[tuple[str, str, str]] = []  # (what, Coral's sentence, value)
        if credential.region != self._region:
            text = f"Credential should be scoped to a valid region, not '{credential.region}'."
            problems.append(("region", text, credential.region))
        if credential.service != service:
            text = f"Credential should be scoped to correct service: '{service}'."
            problems.append(("service", text, credential.service))
        if credential.terminator != TERMINATOR:
            text = (
                f"Credential should be scoped with a valid terminator: '{TERMINATOR}', "
                f"not '{credential.terminator}'."
            )
            problems.append(("terminator", text, credential.terminator))
        if credential.date != timestamp[:8]:
            text = (
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
                f"from HTTP: '{credential.date}' != '{timestamp[:8]}', from '{timestamp}'."
            )
            problems.append(("date", text, credential.date))
        if problems:
            what, _, value = problems[0]
            raise SigV4Error(
                Failure.SCOPE,
                " ".join(text for _, text, _ in problems),
                problem=what,
                value=value,
                expected=self._region if what == "region" else service,
            )


def content_mismatch(claimed: str, computed: str) -> SigV4Error:
    """The body's SHA-256 differs from the X-Amz-Content-SHA256 it was signed with."""
    return SigV4Error(
        Failure.CONTENT_SHA256_MISMATCH,
        ClientComputedContentSHA256=claimed,
        S3ComputedContentSHA256=computed,
    )


def _request_time(signed: Signed) -> tuple[datetime, str]:
    """The request time and its SigV4 spelling (``yyyymmddThhmmssZ``)."""
    text = signed.timestamp_text
    if _BASIC_ISO8601.fullmatch(text):
        try:  # by hand: strptime costs more than the rest of verification together
            stamp = datetime(
                int(text[0:4]), int(text[4:6]), int(text[6:8]),
                int(text[9:11]), int(text[11:13]), int(text[13:15]), tzinfo=UTC,
            )  # fmt: skip
        except ValueError:
            pass
        else:
            return stamp, text
    elif not signed.presigned:  # an RFC 1123 Date header stands in for X-Amz-Date
        try:
            stamp = parsedate_to_datetime(text).astimezone(UTC)
        except (TypeError, ValueError, IndexError):
            pass
        else:
            return stamp, stamp.strftime(SIGV4_TIME)
    raise SigV4Error(
        Failure.QUERY_INCOMPLETE if signed.presigned else Failure.INCOMPLETE,
        f"Date must be in ISO-8601 'basic format'. Got '{text}'. "
        "See http://en.wikipedia.org/wiki/ISO_8601",
        problem="date",
    )


def _check_skew(signed: Signed, stamp: datetime, now: datetime, skew: timedelta) -> None:
    if now - skew <= stamp <= now + skew:
        return
    minutes = int(skew.total_seconds() // 60)
    fields = {
        "RequestTime": signed.timestamp_text,
        "ServerTime": now.strftime(ISO_TIME),
        "MaxAllowedSkewMilliseconds": str(int(skew.total_seconds() * 1000)),
    }
    if stamp < now - skew:
        detail = (
            f"Signature expired: {stamp.strftime(SIGV4_TIME)} is now earlier than "
            f"{(now - skew).strftime(SIGV4_TIME)} ({now.strftime(SIGV4_TIME)} - {minutes} min.)"
        )
        raise SigV4Error(Failure.SKEWED, detail, **fields)
    if stamp > now + skew:
        detail = (
            f"Signature not yet current: {stamp.strftime(SIGV4_TIME)} is still later than "
            f"{(now + skew).strftime(SIGV4_TIME)} ({now.strftime(SIGV4_TIME)} + {minutes} min.)"
        )
        raise SigV4Error(Failure.SKEWED, detail, **fields)


def _check_presigned_time(signed: Signed, stamp: datetime, now: datetime, skew: timedelta) -> None:
    text = signed.expires or ""
    if not text.lstrip("-").isdigit():
        raise SigV4Error(
            Failure.QUERY_INCOMPLETE, "X-Amz-Expires should be a number", problem="expires"
        )
    expires = int(text)
    if expires < 0:
        raise SigV4Error(
            Failure.QUERY_INCOMPLETE, "X-Amz-Expires must be non-negative", problem="expires"
        )
    if expires > MAX_PRESIGN_EXPIRES_S:
        raise SigV4Error(
            Failure.QUERY_INCOMPLETE,
            f"X-Amz-Expires must be less than a week (in seconds) that is {MAX_PRESIGN_EXPIRES_S}",
            problem="expires",
        )
    deadline = stamp + timedelta(seconds=expires)
    if now > deadline:
        detail = (
            f"Signature expired: {stamp.strftime(SIGV4_TIME)} is now earlier than "
            f"{(now - timedelta(seconds=expires)).strftime(SIGV4_TIME)} "
            f"({now.strftime(SIGV4_TIME)} - {expires} sec.)"
        )
        raise SigV4Error(
            Failure.EXPIRED,
            detail,
            **{
                "X-Amz-Expires": str(expires),
                "Expires": deadline.strftime(ISO_TIME),
                "ServerTime": now.strftime(ISO_TIME),
            },
        )
    if stamp > now + skew:
        detail = (
            f"Signature not yet current: {stamp.strftime(SIGV4_TIME)} is still later than "
            f"{(now + skew).strftime(SIGV4_TIME)} ({now.strftime(SIGV4_TIME)} + "
            f"{int(skew.total_seconds() // 60)} min.)"
        )
        raise SigV4Error(Failure.NOT_YET_VALID, detail)


def _check_all_amz_headers_signed(headers: Mapping[str, str], signed: Signed) -> None:
    signed_names = set(signed.signed_headers)
    extra = [
        name
        for name in headers
        if name.startswith("x-amz-")
        and name not in signed_names
        and not (signed.presigned and name == "x-amz-content-sha256")
    ]
    if extra:
        raise SigV4Error(Failure.HEADERS_NOT_SIGNED, HeadersNotSigned=", ".join(extra))


def _claimed_payload_hash(request: HttpRequest, signed: Signed, s3: bool) -> str | None:
    """The payload hash the client put in the canonical request instead of hashing the body."""
    if signed.presigned and s3:
        for key, value in signed.query:
            if key.lower() == "x-amz-content-sha256":
                return unquote(value)
        return UNSIGNED_PAYLOAD
    claimed = request.headers.get("x-amz-content-sha256")
    if claimed is None and s3 and not signed.presigned:
        raise SigV4Error(Failure.CONTENT_SHA256_MISSING)
    return claimed


def _sha256(body: bytes | None) -> str:
    return hashlib.sha256(body or b"").hexdigest()

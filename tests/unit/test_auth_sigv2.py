"""S3's Signature Version 2 (emulator/auth/sigv2.py), as boto3's default S3 presigner and
``HmacV1Auth`` make it: header and query forms, sub-resources, odd keys, expiry, refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.auth import HmacV1Auth, HmacV1QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from endpointlab.emulator.auth import parse_auth_document
from endpointlab.emulator.auth.sigv2 import is_sigv2
from endpointlab.emulator.auth.sigv4 import Failure, SigV4Error
from endpointlab.emulator.auth.verifier import Verifier
from tests.unit.auth_support import HOST, KEY, SECRET, Raw

CONFIG = parse_auth_document(
    {"keys": [{"access_key_id": KEY, "secret_access_key": SECRET, "policies": []}]}
)


def verifier(offset: timedelta = timedelta(0)) -> Verifier:
    return Verifier(CONFIG.keys, "us-east-1", clock=lambda: datetime.now(UTC) + offset)


def refused(
    raw: Raw, service: str = "s3", offset: timedelta = timedelta(0), body: bytes | None = None
) -> SigV4Error:
    with pytest.raises(SigV4Error) as caught:
        verifier(offset).verify(raw, service, body)
    return caught.value


def signed(signer: Any, method: str, target: str, headers: dict[str, str] | None = None) -> Raw:
    request = AWSRequest(method=method, url=f"http://{HOST}{target}", headers=headers or {})
    signer.add_auth(request)
    parts = urlsplit(request.url)
    lowered = {k.lower(): v for k, v in request.headers.items()}
    lowered["host"] = parts.netloc
    return Raw(method, parts.path, parts.query, lowered)


def header_form(method: str, target: str, secret: str = SECRET, **headers: str) -> Raw:
    return signed(HmacV1Auth(Credentials(KEY, secret)), method, target, headers)


def query_form(target: str, expires: int = 60, key: str = KEY, **headers: str) -> Raw:
    raw = signed(HmacV1QueryAuth(Credentials(key, SECRET), expires), "GET", target, headers)
    return Raw(raw.method, raw.path, raw.query, {"host": HOST})  # a browser sends just the URL


TARGETS = [
    "/bucket/key",
    "/bucket/a%20b/%E2%82%AC%2B%3D.txt",
    "/bucket/k?versionId=3&x-id=GetObject",
    "/bucket/k?uploadId=u1&partNumber=2",
    "/bucket?uploads",
    "/bucket/k?response-content-type=text%2Fplain",
]


@pytest.mark.parametrize("target", TARGETS)
def test_boto3_s3_presigned_urls_verify(target: str) -> None:
    raw = query_form(target)
    assert "Signature=" in raw.query
    assert is_sigv2(raw)
    assert verifier().verify(raw, "s3", None).access_key_id == KEY


@pytest.mark.parametrize("target", TARGETS)
def test_sigv2_headers_verify(target: str) -> None:
    raw = header_form("PUT", target, **{"Content-Type": "text/plain", "x-amz-meta-a": " b "})
    assert raw.headers["authorization"].startswith(f"AWS {KEY}:")
    assert verifier().verify(raw, "s3", None).access_key_id == KEY


def test_signed_x_amz_headers_travel_in_the_url() -> None:
    raw = query_form("/bucket/k", **{"x-amz-acl": "private"})
    assert "x-amz-acl=private" in raw.query
    assert verifier().verify(raw, "s3", None).access_key_id == KEY


def test_expired_urls_are_refused_with_the_expiry() -> None:
    raw = query_form("/bucket/k", expires=60)
    error = refused(raw, offset=timedelta(seconds=120))
    assert error.kind is Failure.EXPIRED
    assert set(error.fields) == {"Expires", "ServerTime"}


def test_wrong_secret_unknown_key_and_tampering_are_refused() -> None:
    wrong = header_form("GET", "/bucket/k", secret="other")
    error = refused(wrong)
    assert error.kind is Failure.SIGNATURE
    assert error.fields["StringToSign"].startswith("GET\n\n\n")
    assert error.fields["StringToSign"].endswith("\n/bucket/k")
    unknown = query_form("/bucket/k", key="AKIDNOBODY")
    error = refused(unknown)
    assert (error.kind, error.fields) == (Failure.UNKNOWN_KEY, {"AWSAccessKeyId": "AKIDNOBODY"})
    raw = query_form("/bucket/k")
    moved = Raw(raw.method, "/bucket/other", raw.query, raw.headers)
    assert refused(moved).kind is Failure.SIGNATURE


def test_a_date_more_than_fifteen_minutes_off_is_skewed() -> None:
    raw = header_form("GET", "/bucket/k")
    error = refused(raw, offset=timedelta(minutes=16))
    assert error.kind is Failure.SKEWED
    assert error.fields["MaxAllowedSkewMilliseconds"] == "900000"


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (Raw("GET", "/b/k", "", {"authorization": "AWS justakey", "date": "x"}),
         Failure.V2_MALFORMED),
        (Raw("GET", "/b/k", "AWSAccessKeyId=a&Signature=b", {}), Failure.V2_QUERY_INCOMPLETE),
        (Raw("GET", "/b/k", "", {"authorization": "AWS a:b", "date": "yesterday"}),
         Failure.INCOMPLETE),
    ],
)  # fmt: skip
def test_malformed_sigv2_is_refused(raw: Raw, kind: Failure) -> None:
    assert refused(raw).kind is kind


def test_sigv2_is_s3_only() -> None:
    raw = header_form("GET", "/")
    error = refused(raw, "sagemaker", body=b"")
    assert error.kind is Failure.UNSUPPORTED
    assert not is_sigv2(Raw("GET", "/b", "prefix=Signature%3D", {}))

"""Signature verification (emulator/auth/verifier.py) of requests signed by botocore: header and
presigned forms, odd characters, wrong secrets, tampering, clock skew, expiry and scope."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from urllib.parse import quote

import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.utils import percent_encode_sequence
from hypothesis import given, settings
from hypothesis import strategies as st

from endpointlab.emulator.auth import parse_auth_document
from endpointlab.emulator.auth.sigv4 import Failure, SigV4Error
from endpointlab.emulator.auth.verifier import Verifier
from tests.unit.auth_support import KEY, NOW, SECRET, Raw, sign

TOKEN_KEY = "AKIDTOKEN"
CONFIG = parse_auth_document(
    {
        "keys": [
            {"access_key_id": KEY, "secret_access_key": SECRET, "policies": []},
            {
                "access_key_id": TOKEN_KEY,
                "secret_access_key": SECRET,
                "session_token": "the-token",
                "policies": [],
            },
        ]
    }
)


def verifier(offset: timedelta = timedelta(0)) -> Verifier:
    return Verifier(CONFIG.keys, "us-east-1", clock=lambda: NOW + offset)


def failure(raw: Raw, service: str, body: bytes | None = None, **kw: timedelta) -> SigV4Error:
    with pytest.raises(SigV4Error) as caught:
        verifier(**kw).verify(raw, service, raw.body if body is None else body)
    return caught.value


# --- valid requests ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "target", "body"),
    [
        ("POST", "/", b'{"EndpointName":"e"}'),
        ("POST", "/endpoints/my-endpoint/invocations", b"1,2,3"),
        ("POST", "/endpoints/a%20b%21/invocations?x=%E2%82%AC&y=%2F", b"\x00\xff"),
        ("GET", "/a//b/./c/../d/", b""),
    ],
)
def test_header_form_from_sigv4auth_verifies(method: str, target: str, body: bytes) -> None:
    raw = sign(
        SigV4Auth,
        method,
        target,
        service="sagemaker",
        body=body,
        headers={"Content-Type": "text/csv", "X-Amz-Target": "SageMaker.ListModels"},
    )
    assert verifier().verify(raw, "sagemaker", raw.body).access_key_id == KEY


@pytest.mark.parametrize(
    "target",
    [
        "/bucket/key",
        "/bucket/dir/sub%20dir/file%2Bname%3D1%26x%3F.txt",
        "/bucket/%E2%82%AC/~tilde/%21%24%27%28%29%2A%2C%3B%3A%40",
        "/bucket?list-type=2&prefix=a%2Fb%20c&delimiter=%2F",
        "/bucket/k?uploads",
    ],
)
def test_s3_header_form_verifies_without_double_encoding(target: str) -> None:
    raw = sign(S3SigV4Auth, "PUT", target, service="s3", body=b"data")
    assert verifier().verify(raw, "s3", None).access_key_id == KEY  # hash from the header
    assert verifier().verify(raw, "s3", b"data").access_key_id == KEY


@pytest.mark.parametrize(
    "target", ["/bucket/key", "/bucket/a%20b/%E2%82%AC%2B%3D", "/bucket/k?versionId=3&x=%2F"]
)
def test_presigned_s3_urls_verify(target: str) -> None:
    raw = sign(S3SigV4QueryAuth, "GET", target, service="s3", expires=300)
    assert "X-Amz-Signature=" in raw.query
    assert verifier(timedelta(seconds=299)).verify(raw, "s3", None).access_key_id == KEY


def test_presigned_form_verifies_for_other_services_too() -> None:
    raw = sign(SigV4QueryAuth, "POST", "/endpoints/e/invocations", service="sagemaker", expires=60)
    assert verifier().verify(raw, "sagemaker", b"").access_key_id == KEY


@settings(max_examples=40, deadline=None)
@given(
    segments=st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=3),
    params=st.dictionaries(st.text(min_size=1, max_size=6), st.text(max_size=8), max_size=3),
    presigned=st.booleans(),
)
def test_any_s3_key_and_query_verifies(
    segments: list[str], params: dict[str, str], presigned: bool
) -> None:
    path = "/bucket/" + "/".join(quote(s.encode(), safe="~") for s in segments)
    query = percent_encode_sequence({k.encode(): v.encode() for k, v in params.items()})
    target = path + (f"?{query}" if query else "")
    if presigned:
        raw = sign(S3SigV4QueryAuth, "GET", target, service="s3", expires=60)
    else:
        raw = sign(S3SigV4Auth, "GET", target, service="s3")
    assert verifier().verify(raw, "s3", None).access_key_id == KEY


def test_a_date_header_can_stand_in_for_x_amz_date() -> None:
    raw = sign(SigV4Auth, "POST", "/", service="sagemaker", headers={"Date": "x"})
    assert "x-amz-date" not in raw.headers
    assert verifier().verify(raw, "sagemaker", b"").access_key_id == KEY


def test_session_tokens_must_match_the_listed_one() -> None:
    good = sign(SigV4Auth, "POST", "/", service="sagemaker", key=TOKEN_KEY, token="the-token")
    assert verifier().verify(good, "sagemaker", b"").access_key_id == TOKEN_KEY
    wrong = sign(SigV4Auth, "POST", "/", service="sagemaker", key=TOKEN_KEY, token="other")
    assert failure(wrong, "sagemaker").kind is Failure.BAD_TOKEN
    missing = sign(SigV4Auth, "POST", "/", service="sagemaker", key=TOKEN_KEY)
    assert failure(missing, "sagemaker").kind is Failure.BAD_TOKEN
    unexpected = sign(SigV4Auth, "POST", "/", service="sagemaker", token="t")
    assert failure(unexpected, "sagemaker").kind is Failure.BAD_TOKEN


# --- refused requests ----------------------------------------------------------------------


def test_unsigned_requests_are_missing_authentication() -> None:
    assert failure(Raw("POST", "/", "", {"host": "h"}), "sagemaker").kind is Failure.MISSING


def test_unknown_keys_are_named() -> None:
    raw = sign(SigV4Auth, "POST", "/", service="sagemaker", key="AKIDUNKNOWN")
    error = failure(raw, "sagemaker")
    assert error.kind is Failure.UNKNOWN_KEY
    assert error.fields == {"AWSAccessKeyId": "AKIDUNKNOWN"}


def test_a_wrong_secret_does_not_match_and_reports_what_was_signed() -> None:
    raw = sign(SigV4Auth, "POST", "/", service="sagemaker", secret="not-the-secret", body=b"{}")
    error = failure(raw, "sagemaker")
    assert error.kind is Failure.SIGNATURE
    assert error.fields["AWSAccessKeyId"] == KEY
    assert error.fields["StringToSign"].startswith("AWS4-HMAC-SHA256\n20260101T120000Z\n")
    assert error.fields["CanonicalRequest"].startswith("POST\n/\n\nhost:")


@pytest.mark.parametrize(
    "tamper",
    [
        lambda r: Raw(r.method, r.path, r.query, r.headers, b'{"EndpointName":"other"}'),
        lambda r: Raw(r.method, "/endpoints/other/invocations", r.query, r.headers, r.body),
        lambda r: Raw(r.method, r.path, "a=2", r.headers, r.body),
        lambda r: Raw("PUT", r.path, r.query, r.headers, r.body),
        lambda r: r.with_headers(content_type="application/json"),
        lambda r: r.with_headers(host="evil.example:80"),
    ],
    ids=["body", "path", "query", "method", "signed-header", "host"],
)
def test_any_tampering_breaks_the_signature(tamper: object) -> None:
    raw = sign(
        SigV4Auth,
        "POST",
        "/endpoints/e/invocations?a=1",
        service="sagemaker",
        body=b'{"EndpointName":"e"}',
        headers={"Content-Type": "text/csv"},
    )
    assert callable(tamper)
    assert failure(tamper(raw), "sagemaker").kind is Failure.SIGNATURE


def test_unsigned_headers_may_change_outside_s3() -> None:
    raw = sign(SigV4Auth, "POST", "/", service="sagemaker").with_headers(user_agent="other")
    assert verifier().verify(raw, "sagemaker", b"").access_key_id == KEY


def test_s3_refuses_x_amz_headers_that_were_not_signed() -> None:
    raw = sign(S3SigV4Auth, "GET", "/b/k", service="s3").with_headers(x_amz_meta_x="1")
    error = failure(raw, "s3")
    assert error.kind is Failure.HEADERS_NOT_SIGNED
    assert error.fields == {"HeadersNotSigned": "x-amz-meta-x"}


def test_s3_header_form_needs_a_content_sha256() -> None:
    raw = sign(S3SigV4Auth, "GET", "/b/k", service="s3").with_headers(x_amz_content_sha256=None)
    assert failure(raw, "s3").kind is Failure.CONTENT_SHA256_MISSING


def test_a_body_that_differs_from_its_signed_hash_is_refused() -> None:
    raw = sign(S3SigV4Auth, "PUT", "/b/k", service="s3", body=b"data")
    error = failure(raw, "s3", body=b"other")
    assert error.kind is Failure.CONTENT_SHA256_MISMATCH
    assert error.fields == {
        "ClientComputedContentSHA256": hashlib.sha256(b"data").hexdigest(),
        "S3ComputedContentSHA256": hashlib.sha256(b"other").hexdigest(),
    }


@pytest.mark.parametrize(
    ("offset", "message"),
    [
        (
            timedelta(minutes=20),
            "Signature expired: 20260101T120000Z is now earlier than 20260101T121500Z "
            "(20260101T122000Z - 5 min.)",
        ),
        (
            timedelta(minutes=-20),
            "Signature not yet current: 20260101T120000Z is still later than 20260101T114500Z "
            "(20260101T114000Z + 5 min.)",
        ),
    ],
    ids=["signed-20-minutes-ago", "signed-20-minutes-ahead"],
)
def test_clock_skew_beyond_five_minutes_is_refused(offset: timedelta, message: str) -> None:
    raw = sign(SigV4Auth, "POST", "/", service="sagemaker")
    error = failure(raw, "sagemaker", offset=offset)
    assert (error.kind, error.detail) == (Failure.SKEWED, message)
    assert verifier(timedelta(minutes=4, seconds=59)).verify(raw, "sagemaker", b"")


def test_s3_allows_fifteen_minutes_of_skew_and_reports_it() -> None:
    raw = sign(S3SigV4Auth, "GET", "/b/k", service="s3")
    assert verifier(timedelta(minutes=14)).verify(raw, "s3", None)
    error = failure(raw, "s3", offset=timedelta(minutes=20))
    assert error.kind is Failure.SKEWED
    assert error.fields == {
        "RequestTime": "20260101T120000Z",
        "ServerTime": "2026-01-01T12:20:00Z",
        "MaxAllowedSkewMilliseconds": "900000",
    }


def test_presigned_urls_expire_after_x_amz_expires() -> None:
    raw = sign(S3SigV4QueryAuth, "GET", "/b/k", service="s3", expires=60)
    error = failure(raw, "s3", offset=timedelta(seconds=61))
    assert error.kind is Failure.EXPIRED
    assert error.presigned
    assert error.fields == {
        "X-Amz-Expires": "60",
        "Expires": "2026-01-01T12:01:00Z",
        "ServerTime": "2026-01-01T12:01:01Z",
    }
    ahead = failure(raw, "s3", offset=timedelta(minutes=-20))
    assert ahead.kind is Failure.NOT_YET_VALID


@pytest.mark.parametrize(
    ("expires", "detail"),
    [
        ("604801", "X-Amz-Expires must be less than a week (in seconds) that is 604800"),
        ("-1", "X-Amz-Expires must be non-negative"),
        ("soon", "X-Amz-Expires should be a number"),
    ],
)
def test_presigned_expiry_must_be_at_most_a_week(expires: str, detail: str) -> None:
    raw = sign(S3SigV4QueryAuth, "GET", "/b/k", service="s3", expires=60)
    raw = Raw(
        raw.method,
        raw.path,
        raw.query.replace("X-Amz-Expires=60", f"X-Amz-Expires={expires}"),
        raw.headers,
    )
    error = failure(raw, "s3")
    assert (error.kind, error.detail) == (Failure.QUERY_INCOMPLETE, detail)


def test_host_must_be_signed() -> None:
    raw = sign(SigV4Auth, "POST", "/", service="sagemaker")
    authorization = raw.headers["authorization"].replace("SignedHeaders=host;", "SignedHeaders=")
    error = failure(raw.with_headers(authorization=authorization), "sagemaker")
    assert error.kind is Failure.HOST_NOT_SIGNED


def test_malformed_dates_are_incomplete_signatures() -> None:
    raw = sign(SigV4Auth, "POST", "/", service="sagemaker").with_headers(x_amz_date="201")
    error = failure(raw, "sagemaker")
    assert error.kind is Failure.INCOMPLETE
    assert error.detail == (
        "Date must be in ISO-8601 'basic format'. Got '201'. See http://en.wikipedia.org/wiki/ISO_8601"
    )


@pytest.mark.parametrize(
    ("service", "region", "problem", "message"),
    [
        (
            "sagemaker",
            "eu-west-1",
            "region",
            "Credential should be scoped to a valid region, not 'eu-west-1'.",
        ),
        (
            "monitoring",
            "us-east-1",
            "service",
            "Credential should be scoped to correct service: 'sagemaker'.",
        ),
    ],
)
def test_the_credential_scope_must_name_this_region_and_service(
    service: str, region: str, problem: str, message: str
) -> None:
    raw = sign(SigV4Auth, "POST", "/", service=service, region=region)
    error = failure(raw, "sagemaker")
    assert (error.kind, error.detail, error.fields["problem"]) == (Failure.SCOPE, message, problem)


def test_the_scope_date_must_be_the_request_date() -> None:
    raw = sign(SigV4Auth, "POST", "/", service="sagemaker")
    authorization = raw.headers["authorization"].replace("/20260101/", "/20251231/")
    error = failure(raw.with_headers(authorization=authorization), "sagemaker")
    assert error.detail == (
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
        "HTTP: '20251231' != '20260101', from '20260101T120000Z'."
    )


def test_unsupported_algorithms_are_named() -> None:
    raw = sign(SigV4Auth, "POST", "/", service="sagemaker")
    authorization = raw.headers["authorization"].replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1")
    error = failure(raw.with_headers(authorization=authorization), "sagemaker")
    assert (
        error.detail
        == "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA1' (only AWS4-HMAC-SHA256 for now). "
    )

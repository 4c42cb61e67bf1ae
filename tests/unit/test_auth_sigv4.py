"""SigV4 primitives (emulator/auth/sigv4.py) against botocore's own signer: canonical URI (S3
single-encoded, others double-encoded), canonical query, canonical request, signing keys."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.utils import percent_encode_sequence
from hypothesis import given, settings
from hypothesis import strategies as st

from endpointlab.emulator.auth.sigv4 import (
    Failure,
    SigningKeys,
    SigV4Error,
    canonical_query,
    canonical_request,
    canonical_uri,
    derive_signing_key,
    parse_credential,
    parse_signature,
    query_pairs,
    same_signature,
)
from tests.unit.auth_support import HOST, KEY, NOW, SECRET, Raw, sign

ODD_PATHS = [
    "/",
    "",
    "/endpoints/my-endpoint/invocations",
    "/endpoints/a%20b/invocations",
    "/bucket/dir/sub%20dir/file%2Bname%3D1%26x%3F.txt",
    "/bucket/%E2%82%AC/~tilde/%21%2A%27%28%29",
    "/a//b/./c/../d/",
    "/trailing/",
    "/%25percent",
]
ODD_QUERIES = [
    "",
    "a=1",
    "b=2&a=1&a=0",
    "prefix=a%2Fb%20c&list-type=2&delimiter=%2F",
    "uploads=",
    "x=%E2%82%AC&y=%2B%26%3D&z=~-_.",
]


class Capturing(SigV4Auth):
    captured = ""

    def canonical_request(self, request: Any) -> str:
        self.captured = str(super().canonical_request(request))
        return self.captured


class CapturingS3(S3SigV4Auth):
    captured = ""

    def canonical_request(self, request: Any) -> str:
        self.captured = str(super().canonical_request(request))
        return self.captured


@pytest.mark.parametrize("path", ODD_PATHS)
def test_canonical_uri_matches_botocore(path: str) -> None:
    assert canonical_uri(path, s3=False) == SigV4Auth(None, "x", "y")._normalize_url_path(path)
    assert canonical_uri(path, s3=True) == (path or "/")


def test_non_s3_paths_are_encoded_twice_and_s3_paths_once() -> None:
    assert canonical_uri("/endpoints/a%20b/invocations", s3=False) == (
        "/endpoints/a%2520b/invocations"
    )
    assert canonical_uri("/bucket/a%20b", s3=True) == "/bucket/a%20b"


@pytest.mark.parametrize("query", ODD_QUERIES)
def test_canonical_query_matches_botocore(query: str) -> None:
    signer = SigV4Auth(None, "x", "y")
    expected = signer._canonical_query_string_url(urlsplit(f"http://h/p?{query}"))
    assert canonical_query(query_pairs(query)) == expected


def test_canonical_query_encodes_what_a_client_left_unencoded() -> None:
    # Another client may send '/' or a space raw; AWS canonicalises by re-encoding.
    assert canonical_query(query_pairs("b=a/b&a=x y")) == "a=x%20y&b=a%2Fb"


@pytest.mark.parametrize(
    ("signer", "service", "path", "query"),
    [
        (Capturing, "sagemaker", "/endpoints/a%20b/invocations", "x=%E2%82%AC"),
        (Capturing, "sagemaker", "/", ""),
        (CapturingS3, "s3", "/bucket/dir/sub%20dir/%E2%82%AC%21", "versionId=1&a=%2F"),
    ],
)
def test_canonical_request_is_the_one_botocore_signed(
    signer: type[Any], service: str, path: str, query: str
) -> None:
    url = f"http://{HOST}{path}" + (f"?{query}" if query else "")
    request = AWSRequest(method="PUT", url=url, data=b"payload", headers={"X-Custom": " a   b "})
    auth = signer(_credentials(), service, "us-east-1")
    auth.add_auth(request)
    raw = _raw(request)
    signed = parse_signature(raw)
    assert signed is not None
    payload = raw.headers.get("x-amz-content-sha256") or _sha256(b"payload")
    assert canonical_request(raw, signed, payload, s3=service == "s3") == auth.captured


@settings(max_examples=60, deadline=None)
@given(
    segments=st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=4),
    params=st.dictionaries(st.text(min_size=1, max_size=6), st.text(max_size=8), max_size=4),
    s3=st.booleans(),
)
def test_any_path_and_query_botocore_signs_canonicalise_identically(
    segments: list[str], params: dict[str, str], s3: bool
) -> None:
    path = "/" + "/".join(quote(s.encode(), safe="~") for s in segments)
    query = percent_encode_sequence({k.encode(): v.encode() for k, v in params.items()})
    raw = sign(
        CapturingS3 if s3 else Capturing,
        "GET",
        path + (f"?{query}" if query else ""),
        service="s3" if s3 else "sagemaker",
    )
    assert canonical_uri(raw.path, s3=s3) == (
        path if s3 else SigV4Auth(None, "x", "y")._normalize_url_path(path)
    )
    assert canonical_query(query_pairs(raw.query)) == SigV4Auth(
        None, "x", "y"
    )._canonical_query_string_url(urlsplit(f"http://h/?{raw.query}"))


def test_header_form_is_parsed() -> None:
    raw = sign(SigV4Auth, "POST", "/", service="sagemaker", body=b"{}")
    signed = parse_signature(raw)
    assert signed is not None
    assert not signed.presigned
    assert signed.signed_headers == ("host", "x-amz-date")
    assert signed.timestamp_text == NOW.strftime("%Y%m%dT%H%M%SZ")
    credential = parse_credential(signed.credential_text)
    assert (credential.access_key_id, credential.region, credential.service) == (
        KEY,
        "us-east-1",
        "sagemaker",
    )


def test_unsigned_requests_carry_no_signature() -> None:
    assert parse_signature(Raw("GET", "/", "a=1", {"host": HOST})) is None


def test_incomplete_header_names_every_missing_part() -> None:
    raw = Raw("POST", "/", "", {"authorization": "AWS4-HMAC-SHA256 Signature=abc"})
    with pytest.raises(SigV4Error) as caught:
        parse_signature(raw)
    assert caught.value.kind is Failure.INCOMPLETE
    assert caught.value.detail == (
        "Authorization header requires 'Credential' parameter. "
        "Authorization header requires 'SignedHeaders' parameter. "
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
        "Authorization=AWS4-HMAC-SHA256 Signature=abc"
    )


def test_other_authorization_schemes_are_unsupported() -> None:
    raw = Raw("GET", "/", "", {"authorization": "AWS AKID:c2lnbmF0dXJl"})
    with pytest.raises(SigV4Error) as caught:
        parse_signature(raw)
    assert caught.value.kind is Failure.UNSUPPORTED


def test_presigned_form_missing_a_parameter_says_which() -> None:
    raw = Raw("GET", "/b/k", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=ab", {})
    with pytest.raises(SigV4Error) as caught:
        parse_signature(raw)
    assert caught.value.kind is Failure.QUERY_INCOMPLETE
    assert caught.value.fields["missing"] == (
        "X-Amz-Credential,X-Amz-Date,X-Amz-SignedHeaders,X-Amz-Expires"
    )


def test_credential_needs_five_parts() -> None:
    with pytest.raises(SigV4Error) as caught:
        parse_credential("AKID/20260101/us-east-1/sagemaker")
    assert caught.value.kind is Failure.CREDENTIAL


def test_signing_keys_are_cached_and_equal_to_the_derived_chain() -> None:
    keys = SigningKeys(size=4)
    credential = parse_credential(f"{KEY}/20260101/us-east-1/sagemaker/aws4_request")
    first = keys.signature(SECRET, credential, "to sign")
    assert keys.signature(SECRET, credential, "to sign") == first
    assert keys._derive.cache_info().hits == 1
    derived = derive_signing_key(SECRET, "20260101", "us-east-1", "sagemaker")
    assert len(derived) == 32
    assert same_signature(first, first)
    assert not same_signature(first, "0" * 64)


def _credentials() -> Any:
    from botocore.credentials import Credentials

    return Credentials(KEY, SECRET)


def _raw(request: AWSRequest) -> Raw:
    prepared = request.prepare()
    parts = urlsplit(prepared.url)
    headers = {k.lower(): v for k, v in prepared.headers.items()}
    headers["host"] = parts.netloc
    return Raw(request.method, parts.path, parts.query, headers, prepared.body or b"")


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()

"""Presigned URLs under ``serve --auth`` (emulator/auth/verifier.py, sigv2.py): a URL botocore
presigned is honoured as made, and refused with each front end's signature error when it was
signed with a wrong secret or its path or query was changed afterwards (SageMaker control plane,
runtime and S3, SigV4 and S3's SigV2)."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.auth_support import (
    ALLOWED,
    OTHER,
    PUBLIC_KEY,
    as_user,
    auth_emulator,
    fetch,
    fill_bucket,
    two_endpoints,
)
from tests.api.support import raw_request

WRONG_SECRET = "not-the-secret"
MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details."
)
S3_MISMATCH = b"<Code>SignatureDoesNotMatch</Code>"
COMPUTED = "The Canonical String for this request should have been\n'"


def short(message: str) -> str:
    """A signature mismatch's first paragraph; Coral's JSON and REST front ends go on with the
    canonical request and string to sign they computed."""
    first, _, rest = message.partition("\n\n")
    assert not rest or rest.startswith(COMPUTED), rest[:80]
    return first


# Tampering a user could try on a URL that was handed to them.
LONGER_LIFE = ("X-Amz-Expires=60", "X-Amz-Expires=604800")


@pytest.fixture(scope="module")
def auth_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with auth_emulator(tmp_path_factory.mktemp("auth-presigned")) as url:
        yield url


@pytest.fixture(scope="module")
def endpoints(auth_url: str, probe: Path) -> Iterator[str]:
    with two_endpoints(auth_url, probe) as config:
        yield config


@pytest.fixture(scope="module")
def bucket(auth_url: str) -> str:
    return fill_bucket(auth_url)


def changed(url: str, old: str, new: str) -> str:
    assert old in url, f"{old!r} not in {url}"
    return url.replace(old, new, 1)


# --- SageMaker control plane (awsJson 1.1) ------------------------------------------------------


def presigned_list_endpoints(url: str, **secret: str) -> str:
    sagemaker = as_user("sagemaker", url, "admin", **secret)
    return str(sagemaker.generate_presigned_url("list_endpoints", Params={}, ExpiresIn=60))


def post_control_plane(url: str, presigned: str) -> tuple[int, str, str]:
    """POST a presigned ListEndpoints with the headers it signed; (status, error code, message).

    botocore's presigner moves a JSON body into the query string and signs an empty payload,
    so the request carries no body; one that passes authentication reaches the JSON codec."""
    assert presigned.startswith(url)
    headers = {
        "X-Amz-Target": "SageMaker.ListEndpoints",
        "Content-Type": "application/x-amz-json-1.1",
    }
    reply = raw_request(url, "POST", presigned[len(url) :], headers, b"")
    code = reply.headers.get("x-amzn-errortype", "").split(":")[0] or reply.error_type
    return reply.status, code, str(reply.json().get("message", ""))


def test_a_presigned_control_plane_request_passes_authentication(auth_url: str) -> None:
    status, code, _ = post_control_plane(auth_url, presigned_list_endpoints(auth_url))
    assert (status, code) == (400, "SerializationException")  # the codec's answer, not auth's


def test_a_control_plane_url_signed_with_a_wrong_secret_is_refused(auth_url: str) -> None:
    presigned = presigned_list_endpoints(auth_url, secret=WRONG_SECRET)
    status, code, message = post_control_plane(auth_url, presigned)
    assert (status, code, short(message)) == (400, "InvalidSignatureException", MISMATCH)


@pytest.mark.parametrize(
    ("change", "status"),
    # A path other than "/" is not an awsJson request: the runtime's front end answers (403).
    [(("/?", "/other/?"), 403), (LONGER_LIFE, 400), (("/?", "/?Extra=1&"), 400)],
    ids=["path", "expires", "added"],
)
def test_a_changed_control_plane_url_is_refused(
    auth_url: str, change: tuple[str, str], status: int
) -> None:
    presigned = changed(presigned_list_endpoints(auth_url), *change)
    answered, code, message = post_control_plane(auth_url, presigned)
    assert (answered, code, short(message)) == (status, "InvalidSignatureException", MISMATCH)


# --- SageMaker runtime (restJson) --------------------------------------------------------------


def presigned_invoke(url: str, endpoint: str = ALLOWED, **secret: str) -> str:
    runtime = as_user("sagemaker-runtime", url, "admin", **secret)
    params = {"EndpointName": endpoint, "Body": b""}
    return str(runtime.generate_presigned_url("invoke_endpoint", Params=params, ExpiresIn=60))


def post_invoke(presigned: str) -> tuple[int, str, Any]:
    """POST an empty body to a presigned InvokeEndpoint URL: (status, error type, JSON body)."""
    request = urllib.request.Request(presigned, data=b"", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, "", json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers["x-amzn-ErrorType"] or "", json.loads(error.read())


def test_a_presigned_invoke_reaches_its_endpoint(auth_url: str, endpoints: str) -> None:
    status, _, answer = post_invoke(presigned_invoke(auth_url))
    assert (status, answer["length"]) == (200, 0)


def test_an_invoke_url_signed_with_a_wrong_secret_is_refused(auth_url: str, endpoints: str) -> None:
    presigned = presigned_invoke(auth_url, secret=WRONG_SECRET)
    status, code, answer = post_invoke(presigned)
    assert (status, code, short(answer["message"])) == (403, "InvalidSignatureException", MISMATCH)


@pytest.mark.parametrize(
    "change",
    [(f"/endpoints/{ALLOWED}/", f"/endpoints/{OTHER}/"), LONGER_LIFE, ("?", "?Extra=1&")],
    ids=["path", "expires", "added"],
)
def test_a_changed_invoke_url_is_refused(
    auth_url: str, endpoints: str, change: tuple[str, str]
) -> None:
    presigned = changed(presigned_invoke(auth_url), *change)
    status, code, answer = post_invoke(presigned)
    assert (status, code, short(answer["message"])) == (403, "InvalidSignatureException", MISMATCH)


# --- S3 (restXml), SigV4 and SigV2 ---------------------------------------------------------------


def presigned_get(url: str, signature_version: str, key: str = PUBLIC_KEY, **secret: str) -> str:
    s3 = as_user("s3", url, "admin", signature_version=signature_version, **secret)
    params = {"Bucket": "auth-bucket", "Key": key}
    return str(s3.generate_presigned_url("get_object", Params=params, ExpiresIn=60))


def later_expiry(presigned: str) -> str:
    """The URL with its expiry a day later: X-Amz-Expires (SigV4) or Expires (SigV2)."""
    if "X-Amz-Expires=" in presigned:
        return changed(presigned, *LONGER_LIFE)
    expires = re.search(r"[?&]Expires=(\d+)", presigned)
    assert expires is not None, presigned
    return changed(presigned, f"Expires={expires[1]}", f"Expires={int(expires[1]) + 86400}")


SIGNATURE_VERSIONS = pytest.mark.parametrize(
    "version", ["s3v4", "s3"], ids=["sigv4", "sigv2-default"]
)


@SIGNATURE_VERSIONS
def test_a_presigned_s3_get_returns_its_object(auth_url: str, bucket: str, version: str) -> None:
    assert fetch(presigned_get(auth_url, version)) == (200, b"public bytes")
    assert fetch(presigned_get(auth_url, version, "private.txt")) == (200, b"private bytes")


@SIGNATURE_VERSIONS
def test_an_s3_url_signed_with_a_wrong_secret_is_refused(
    auth_url: str, bucket: str, version: str
) -> None:
    status, body = fetch(presigned_get(auth_url, version, secret=WRONG_SECRET))
    assert status == 403
    assert S3_MISMATCH in body


@SIGNATURE_VERSIONS
@pytest.mark.parametrize("change", ["path", "expires", "added"])
def test_a_changed_s3_url_is_refused(auth_url: str, bucket: str, version: str, change: str) -> None:
    presigned = presigned_get(auth_url, version)
    if change == "path":  # to an object the URL's holder was not given
        presigned = re.sub(r"/auth-bucket/[^?]+", "/auth-bucket/private.txt", presigned, count=1)
    elif change == "expires":
        presigned = later_expiry(presigned)
    else:  # a response override S3 would apply (SigV2 signs it as a sub-resource)
        presigned = changed(presigned, "?", "?response-content-type=text%2Fhtml&")
    status, body = fetch(presigned)
    assert status == 403
    assert S3_MISMATCH in body

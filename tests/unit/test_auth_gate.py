"""The gate (emulator/auth/gate.py): each API's dialect and scope name from its botocore model,
and authenticate -> authorize on requests signed by botocore, with the errors AWS answers."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from botocore.auth import S3SigV4Auth, SigV4Auth

from endpointlab.emulator.auth import Api, Authenticator, Dialect, parse_auth_document
from endpointlab.emulator.errors import ServiceError
from endpointlab.emulator.wire import service_model
from tests.unit.auth_support import KEY, NOW, SECRET, sign

EP = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/prod"
CONFIG = parse_auth_document(
    {
        "keys": [
            {
                "access_key_id": KEY,
                "secret_access_key": SECRET,
                "user": "invoker",
                "policies": [
                    {
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": "sagemaker:InvokeEndpoint",
                                "Resource": EP,
                            },
                            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                        ]
                    }
                ],
            }
        ]
    }
)


def gate(offset: timedelta = timedelta(0)) -> Authenticator:
    return Authenticator(CONFIG, "us-east-1", clock=lambda: NOW + offset)


@pytest.mark.parametrize(
    ("service", "signing_name", "dialect"),
    [
        ("sagemaker", "sagemaker", Dialect.JSON),
        ("sagemaker-runtime", "sagemaker", Dialect.REST_JSON),
        ("cloudwatch", "monitoring", Dialect.QUERY),
        ("application-autoscaling", "application-autoscaling", Dialect.JSON),
        ("s3", "s3", Dialect.S3),
    ],
)
def test_each_api_is_authenticated_in_its_own_terms(
    service: str, signing_name: str, dialect: Dialect
) -> None:
    assert Api.of(service_model(service)) == Api(service, signing_name, dialect)


def test_a_listed_key_is_allowed_what_its_policy_allows() -> None:
    runtime = Api.of(service_model("sagemaker-runtime"))
    raw = sign(SigV4Auth, "POST", "/endpoints/Prod/invocations", service="sagemaker", body=b"1")
    principal = gate().authenticate(raw, runtime, raw.body)
    assert principal.user_arn == "arn:aws:iam::123456789012:user/invoker"
    gate().authorize(principal, runtime, "InvokeEndpoint", {"EndpointName": "Prod"})
    with pytest.raises(ServiceError) as caught:
        gate().authorize(principal, runtime, "InvokeEndpoint", {"EndpointName": "other"})
    assert (caught.value.code, caught.value.status) == ("AccessDeniedException", 403)
    assert "sagemaker:InvokeEndpoint on resource: arn:aws:sagemaker:us-east-1:" in (
        caught.value.message
    )


def test_control_plane_calls_are_denied_to_an_invoke_only_key() -> None:
    sagemaker = Api.of(service_model("sagemaker"))
    raw = sign(SigV4Auth, "POST", "/", service="sagemaker", body=b"{}")
    principal = gate().authenticate(raw, sagemaker, raw.body)
    with pytest.raises(ServiceError) as caught:
        gate().authorize(principal, sagemaker, "ListEndpoints", {})
    assert (caught.value.code, caught.value.status) == ("AccessDeniedException", 400)
    assert caught.value.message == (
        "User: arn:aws:iam::123456789012:user/invoker is not authorized to perform: "
        "sagemaker:ListEndpoints because no identity-based policy allows the "
        "sagemaker:ListEndpoints action"
    )


def test_authentication_errors_come_in_the_api_dialect() -> None:
    raw = sign(SigV4Auth, "POST", "/", service="monitoring", key="AKIDOTHER")
    with pytest.raises(ServiceError) as caught:
        gate().authenticate(raw, Api.of(service_model("cloudwatch")), b"")
    assert (caught.value.code, caught.value.status) == ("InvalidClientTokenId", 403)
    skewed = sign(SigV4Auth, "POST", "/", service="sagemaker")
    with pytest.raises(ServiceError) as caught:
        gate(timedelta(minutes=20)).authenticate(skewed, Api.of(service_model("sagemaker")), b"")
    assert caught.value.code == "InvalidSignatureException"
    assert caught.value.message.startswith("Signature expired: 20260101T120000Z is now earlier")


def test_streamed_s3_bodies_are_checked_against_their_signed_hash() -> None:
    s3 = Api.of(service_model("s3"))
    raw = sign(S3SigV4Auth, "PUT", "/b/k", service="s3", body=b"data")
    gate().authenticate(raw, s3, None)
    gate().check_content_sha256(raw, s3, hashlib.sha256(b"data").hexdigest())
    with pytest.raises(ServiceError) as caught:
        gate().check_content_sha256(raw, s3, hashlib.sha256(b"else").hexdigest())
    assert (caught.value.code, caught.value.status) == ("XAmzContentSHA256Mismatch", 400)
    assert caught.value.fields["S3ComputedContentSHA256"] == hashlib.sha256(b"else").hexdigest()


def test_require_checks_one_action_directly() -> None:
    principal = gate().authenticate(
        sign(S3SigV4Auth, "GET", "/b/k", service="s3"), Api.of(service_model("s3")), None
    )
    gate().require(principal, "s3:GetObject", "arn:aws:s3:::b/k", Dialect.S3)
    with pytest.raises(ServiceError) as caught:
        gate().require(principal, "sagemaker:DeleteModel", "*", Dialect.S3)
    assert caught.value.code == "AccessDenied"

"""How each front end words authentication and authorization failures
(emulator/auth/dialects.py): Coral awsJson (400), Coral restJson (403), query-compatible
CloudWatch (query codes) and S3 (its codes, statuses and extra fields)."""

from __future__ import annotations

import pytest

from endpointlab.emulator.auth.dialects import (
    INVALID_TOKEN,
    MISSING_TOKEN,
    S3_SIGNATURE_MISMATCH,
    SIGNATURE_MISMATCH,
    Dialect,
    access_denied,
    auth_error,
)
from endpointlab.emulator.auth.sigv4 import Failure, SigV4Error

JSON, REST, QUERY, S3 = Dialect.JSON, Dialect.REST_JSON, Dialect.QUERY, Dialect.S3
EXPIRED = "Signature expired: 20260101T120000Z is now earlier than ..."

CASES = [
    # (error, dialect, code, status, message)
    (SigV4Error(Failure.MISSING), JSON, "MissingAuthenticationTokenException", 400, MISSING_TOKEN),
    (SigV4Error(Failure.MISSING), REST, "MissingAuthenticationTokenException", 403, MISSING_TOKEN),
    (SigV4Error(Failure.MISSING), QUERY, "MissingAuthenticationToken", 403, MISSING_TOKEN),
    (SigV4Error(Failure.MISSING), S3, "AccessDenied", 403, "Access Denied"),
    (SigV4Error(Failure.UNKNOWN_KEY), JSON, "UnrecognizedClientException", 400, INVALID_TOKEN),
    (SigV4Error(Failure.UNKNOWN_KEY), REST, "UnrecognizedClientException", 403, INVALID_TOKEN),
    (SigV4Error(Failure.UNKNOWN_KEY), QUERY, "InvalidClientTokenId", 403, INVALID_TOKEN),
    (
        SigV4Error(Failure.UNKNOWN_KEY, AWSAccessKeyId="AK"),
        S3,
        "InvalidAccessKeyId",
        403,
        "The AWS Access Key Id you provided does not exist in our records.",
    ),
    (SigV4Error(Failure.SIGNATURE), JSON, "InvalidSignatureException", 400, SIGNATURE_MISMATCH),
    (SigV4Error(Failure.SIGNATURE), REST, "InvalidSignatureException", 403, SIGNATURE_MISMATCH),
    (SigV4Error(Failure.SIGNATURE), QUERY, "SignatureDoesNotMatch", 403, SIGNATURE_MISMATCH),
    (SigV4Error(Failure.SIGNATURE), S3, "SignatureDoesNotMatch", 403, S3_SIGNATURE_MISMATCH),
    (SigV4Error(Failure.SKEWED, EXPIRED), JSON, "InvalidSignatureException", 400, EXPIRED),
    (SigV4Error(Failure.SKEWED, EXPIRED), QUERY, "SignatureDoesNotMatch", 403, EXPIRED),
    (
        SigV4Error(Failure.SKEWED, EXPIRED),
        S3,
        "RequestTimeTooSkewed",
        403,
        "The difference between the request time and the current time is too large.",
    ),
    (SigV4Error(Failure.EXPIRED, EXPIRED), S3, "AccessDenied", 403, "Request has expired"),
    (SigV4Error(Failure.EXPIRED, EXPIRED), REST, "InvalidSignatureException", 403, EXPIRED),
    (
        SigV4Error(Failure.INCOMPLETE, "Authorization header requires ..."),
        JSON,
        "IncompleteSignatureException",
        400,
        "Authorization header requires ...",
    ),
    (SigV4Error(Failure.INCOMPLETE, "x"), QUERY, "IncompleteSignature", 400, "x"),
    (
        SigV4Error(Failure.CREDENTIAL, "a/b"),
        JSON,
        "IncompleteSignatureException",
        400,
        "Credential must have exactly 5 slash-delimited elements, e.g. "
        "keyid/date/region/service/term, got 'a/b'",
    ),
    (
        SigV4Error(Failure.HOST_NOT_SIGNED),
        JSON,
        "InvalidSignatureException",
        400,
        "'Host' must be a 'SignedHeader' in the AWS Authorization.",
    ),
    (
        SigV4Error(Failure.BAD_TOKEN),
        JSON,
        "UnrecognizedClientException",
        400,
        "The security token included in the request is invalid",
    ),
    (
        SigV4Error(Failure.BAD_TOKEN),
        S3,
        "InvalidToken",
        400,
        "The provided token is malformed or otherwise invalid.",
    ),
    (
        SigV4Error(Failure.UNSUPPORTED),
        S3,
        "InvalidRequest",
        400,
        "The authorization mechanism you have provided is not supported. "
        "Please use AWS4-HMAC-SHA256.",
    ),
    (
        SigV4Error(Failure.CONTENT_SHA256_MISSING),
        S3,
        "InvalidRequest",
        400,
        "Missing required header for this request: x-amz-content-sha256",
    ),
    (
        SigV4Error(Failure.CONTENT_SHA256_MISMATCH),
        S3,
        "XAmzContentSHA256Mismatch",
        400,
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
    ),
    (
        SigV4Error(Failure.HEADERS_NOT_SIGNED),
        S3,
        "AccessDenied",
        403,
        "There were headers present in the request which were not signed",
    ),
    (
        SigV4Error(Failure.CREDENTIAL, "a/b"),
        S3,
        "AuthorizationHeaderMalformed",
        400,
        "The authorization header is malformed; the Credential is mal-formed; expecting "
        '"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
    ),
    (
        SigV4Error(Failure.SCOPE, "...", problem="service", value="sagemaker", expected="s3"),
        S3,
        "AuthorizationHeaderMalformed",
        400,
        'The authorization header is malformed; incorrect service "sagemaker". '
        'This endpoint belongs to "s3".',
    ),
    (
        SigV4Error(Failure.INCOMPLETE, "...", problem="date"),
        S3,
        "AccessDenied",
        403,
        "AWS authentication requires a valid Date or x-amz-date header",
    ),
]


@pytest.mark.parametrize(("error", "dialect", "code", "status", "message"), CASES)
def test_each_front_end_words_each_failure(
    error: SigV4Error, dialect: Dialect, code: str, status: int, message: str
) -> None:
    answer = auth_error(error, dialect)
    assert (answer.code, answer.status, answer.message) == (code, status, message)
    assert answer.sender_fault


def test_s3_signature_mismatch_shows_what_it_computed() -> None:
    error = SigV4Error(
        Failure.SIGNATURE,
        AWSAccessKeyId="AK",
        StringToSign="AB",
        SignatureProvided="f00",
        CanonicalRequest="GET",
    )
    assert dict(auth_error(error, S3).fields) == {
        "AWSAccessKeyId": "AK",
        "StringToSign": "AB",
        "SignatureProvided": "f00",
        "CanonicalRequest": "GET",
        "StringToSignBytes": "41 42",
        "CanonicalRequestBytes": "47 45 54",
    }


def test_s3_presigned_region_errors_name_the_expected_region() -> None:
    error = SigV4Error(
        Failure.SCOPE, "...", problem="region", value="eu-west-1", expected="us-east-1"
    )
    error.presigned = True
    answer = auth_error(error, S3)
    assert (answer.code, answer.message, dict(answer.fields)) == (
        "AuthorizationQueryParametersError",
        "Error parsing the X-Amz-Credential parameter; the region 'eu-west-1' is wrong; "
        "expecting 'us-east-1'",
        {"Region": "us-east-1"},
    )


def test_missing_presigned_parameters_are_listed() -> None:
    error = SigV4Error(Failure.QUERY_INCOMPLETE, "missing", missing="X-Amz-Date,X-Amz-Expires")
    assert auth_error(error, JSON).message == (
        "AWS query-string parameters must include 'X-Amz-Date'. AWS query-string parameters "
        "must include 'X-Amz-Expires'. Re-examine the query-string parameters."
    )
    assert auth_error(error, S3).code == "AuthorizationQueryParametersError"


USER = "arn:aws:iam::123456789012:user/alice"
EP = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep"


def test_access_denied_names_the_action_and_resource() -> None:
    answer = access_denied(USER, "sagemaker:CreateEndpoint", EP, explicit=False, dialect=JSON)
    assert (answer.code, answer.status) == ("AccessDeniedException", 400)
    assert answer.message == (
        f"User: {USER} is not authorized to perform: sagemaker:CreateEndpoint on resource: {EP} "
        "because no identity-based policy allows the sagemaker:CreateEndpoint action"
    )
    explicit = access_denied(USER, "sagemaker:InvokeEndpoint", EP, explicit=True, dialect=REST)
    assert (explicit.code, explicit.status) == ("AccessDeniedException", 403)
    assert explicit.message == (
        f"User: {USER} is not authorized to perform: sagemaker:InvokeEndpoint on resource: {EP} "
        "with an explicit deny in an identity-based policy"
    )


def test_account_wide_actions_name_no_resource() -> None:
    answer = access_denied(USER, "cloudwatch:GetMetricData", "*", explicit=False, dialect=QUERY)
    assert (answer.code, answer.status) == ("AccessDenied", 403)
    assert answer.message == (
        f"User: {USER} is not authorized to perform: cloudwatch:GetMetricData because no "
        "identity-based policy allows the cloudwatch:GetMetricData action"
    )


def test_s3_quotes_the_resource() -> None:
    answer = access_denied(USER, "s3:GetObject", "arn:aws:s3:::b/k", explicit=False, dialect=S3)
    assert (answer.code, answer.status) == ("AccessDenied", 403)
    assert answer.message == (
        f'User: {USER} is not authorized to perform: s3:GetObject on resource: "arn:aws:s3:::b/k" '
        "because no identity-based policy allows the s3:GetObject action"
    )

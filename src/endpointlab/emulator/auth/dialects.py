"""How each AWS front end words an authentication or authorization failure, as ``ServiceError``.

Coral's awsJson front end (SageMaker control plane, Application Auto Scaling) answers 400 with
``MissingAuthenticationTokenException``, ``IncompleteSignatureException``,
``UnrecognizedClientException``, ``InvalidSignatureException``, ``AccessDeniedException``; its
REST front end (SageMaker Runtime) uses the same codes with 403. Query-compatible CloudWatch uses
the query codes (InvalidClientTokenId, SignatureDoesNotMatch, AccessDenied); S3 has its own.
"""

from __future__ import annotations

from enum import Enum

from endpointlab.emulator.auth.sigv4 import Failure, SigV4Error
from endpointlab.emulator.errors import ServiceError


class Dialect(Enum):
    JSON = "json"  # Coral awsJson: SageMaker control plane, Application Auto Scaling
    REST_JSON = "rest-json"  # Coral restJson: SageMaker Runtime
    QUERY = "query"  # awsQuery and query-compatible JSON/CBOR: CloudWatch
    S3 = "s3"


MISSING_TOKEN = "Request is missing Authentication Token"
INVALID_TOKEN = "The security token included in the request is invalid."
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
S3_SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method."
)
CREDENTIAL_FORMAT = (
    "Credential must have exactly 5 slash-delimited elements, "
    "e.g. keyid/date/region/service/term, got '{}'"
)
S3_CREDENTIAL_FORMAT = (
    'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'
)
HOST_NOT_SIGNED = "'Host' must be a 'SignedHeader' in the AWS Authorization."
QUERY_PARAMS = (
    "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
    "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
)


def auth_error(error: SigV4Error, dialect: Dialect) -> ServiceError:
    """The answer of ``dialect``'s front end to an authentication failure."""
    if dialect is Dialect.S3:
        return _s3(error)
    return _coral(error, dialect)


def access_denied(
    user_arn: str, action: str, resource: str, *, explicit: bool, dialect: Dialect
) -> ServiceError:
    """``User: <arn> is not authorized to perform: <action> on resource: <arn> because ...``.

    AWS leaves out ``on resource`` for actions without resource-level permissions ("*") and
    quotes the resource in S3's wording.
    """
    shown = f'"{resource}"' if dialect is Dialect.S3 else resource
    where = "" if resource == "*" else f" on resource: {shown}"
    reason = (
        "with an explicit deny in an identity-based policy"
        if explicit
        else f"because no identity-based policy allows the {action} action"
    )
    message = f"User: {user_arn} is not authorized to perform: {action}{where} {reason}"
    if dialect is Dialect.S3:
        return ServiceError("AccessDenied", message, status=403)
    if dialect is Dialect.QUERY:
        return ServiceError("AccessDenied", message, status=403)
    return ServiceError("AccessDeniedException", message, status=_coral_status(dialect))


def _coral_status(dialect: Dialect) -> int:
    return 400 if dialect is Dialect.JSON else 403


def _coral(error: SigV4Error, dialect: Dialect) -> ServiceError:
    kind = error.kind
    query = dialect is Dialect.QUERY
    status = 403 if query else _coral_status(dialect)
    if kind in (Failure.MISSING, Failure.UNSUPPORTED, Failure.V2_MALFORMED):
        code = "MissingAuthenticationToken" if query else "MissingAuthenticationTokenException"
        return ServiceError(code, MISSING_TOKEN, status=status)
    if kind in (
        Failure.INCOMPLETE,
        Failure.QUERY_INCOMPLETE,
        Failure.CREDENTIAL,
        Failure.V2_QUERY_INCOMPLETE,
    ):
        code = "IncompleteSignature" if query else "IncompleteSignatureException"
        return ServiceError(code, _incomplete_message(error), status=400 if query else status)
    if kind in (Failure.UNKNOWN_KEY, Failure.BAD_TOKEN):
        code = "InvalidClientTokenId" if query else "UnrecognizedClientException"
        message = INVALID_TOKEN if kind is Failure.UNKNOWN_KEY else INVALID_TOKEN.rstrip(".")
        return ServiceError(code, message, status=status)
    code = "SignatureDoesNotMatch" if query else "InvalidSignatureException"
    if kind is Failure.HOST_NOT_SIGNED:
        return ServiceError(code, HOST_NOT_SIGNED, status=status)
    if kind in (Failure.SKEWED, Failure.EXPIRED, Failure.NOT_YET_VALID, Failure.SCOPE):
        return ServiceError(code, error.detail, status=status)
    if kind is Failure.SIGNATURE and not query:
        return ServiceError(code, signature_mismatch(error), status=status)
    return ServiceError(code, SIGNATURE_MISMATCH, status=status)


def signature_mismatch(error: SigV4Error) -> str:
    """Coral's JSON and REST front ends go on to show what they computed, which is how people
    debug their signers (SageMaker Runtime: DavidMuller/aws-requests-auth 33; DynamoDB:
    boto/boto 1552; Lambda: aws/aws-sdk-js 168). Query services (CloudWatch, STS) do not
    (grafana/grafana 46365)."""
    canonical = error.fields.get("CanonicalRequest")
    to_sign = error.fields.get("StringToSign")
    if canonical is None or to_sign is None:
        return SIGNATURE_MISMATCH
    return (
        f"{SIGNATURE_MISMATCH}\n\nThe Canonical String for this request should have been\n"
        f"'{canonical}'\n\nThe String-to-Sign should have been\n'{to_sign}'\n"
    )


def _incomplete_message(error: SigV4Error) -> str:
    if error.kind is Failure.CREDENTIAL:
        return CREDENTIAL_FORMAT.format(error.detail)
    if error.kind is Failure.QUERY_INCOMPLETE and "missing" in error.fields:
        return (
            " ".join(
                f"AWS query-string parameters must include '{name}'."
                for name in error.fields["missing"].split(",")
            )
            + " Re-examine the query-string parameters."
        )
    return error.detail


def _s3(error: SigV4Error) -> ServiceError:
    kind = error.kind
    fields = dict(error.fields)
    if kind is Failure.MISSING:
        return ServiceError("AccessDenied", "Access Denied", status=403)
    if kind is Failure.UNSUPPORTED:
        return ServiceError(
            "InvalidRequest",
            "The authorization mechanism you have provided is not supported. "
            "Please use AWS4-HMAC-SHA256.",
        )
    if kind is Failure.UNKNOWN_KEY:
        return ServiceError(
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
            status=403,
            fields=fields,
        )
    if kind is Failure.BAD_TOKEN:
        return ServiceError("InvalidToken", "The provided token is malformed or otherwise invalid.")
    if kind is Failure.SIGNATURE:
        for name in ("StringToSign", "CanonicalRequest"):
            if name in fields:
                fields[f"{name}Bytes"] = _hex_bytes(fields[name])
        return ServiceError(
            "SignatureDoesNotMatch", S3_SIGNATURE_MISMATCH, status=403, fields=fields
        )
    if kind is Failure.SKEWED:
        return ServiceError(
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
            status=403,
            fields=fields,
        )
    if kind is Failure.EXPIRED:
        return ServiceError("AccessDenied", "Request has expired", status=403, fields=fields)
    if kind is Failure.NOT_YET_VALID:
        return ServiceError("AccessDenied", "Request is not yet valid", status=403)
    if kind is Failure.HEADERS_NOT_SIGNED:
        return ServiceError(
            "AccessDenied",
            "There were headers present in the request which were not signed",
            status=403,
            fields=fields,
        )
    if kind is Failure.V2_MALFORMED:
        return ServiceError(
            "InvalidArgument",
            "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature",
        )
    if kind is Failure.V2_QUERY_INCOMPLETE:
        return ServiceError(
            "AccessDenied",
            "Query-string authentication requires the Signature, Expires and AWSAccessKeyId "
            "parameters",
            status=403,
        )
    if kind is Failure.CONTENT_SHA256_MISSING:
        return ServiceError(
            "InvalidRequest", "Missing required header for this request: x-amz-content-sha256"
        )
    if kind is Failure.CONTENT_SHA256_MISMATCH:
        return ServiceError(
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
            fields=fields,
        )
    return _s3_malformed(error)


def _s3_malformed(error: SigV4Error) -> ServiceError:
    """Malformed authentication: AuthorizationHeaderMalformed for the header form,
    AuthorizationQueryParametersError for presigned URLs."""
    presigned = error.presigned
    code = "AuthorizationQueryParametersError" if presigned else "AuthorizationHeaderMalformed"
    lead = (
        "Error parsing the X-Amz-Credential parameter; "
        if presigned
        else "The authorization header is malformed; "
    )
    fields: dict[str, str] = {}
    problem = error.fields.get("problem", "")
    if error.kind is Failure.QUERY_INCOMPLETE and "missing" in error.fields:
        return ServiceError(code, QUERY_PARAMS)
    if error.kind is Failure.CREDENTIAL:
        message = lead + S3_CREDENTIAL_FORMAT
    elif error.kind is Failure.SCOPE and problem == "region":
        message = f"{lead}the region '{error.fields['value']}' is wrong; expecting "
        message += f"'{error.fields['expected']}'"
        fields["Region"] = error.fields["expected"]
    elif error.kind is Failure.SCOPE and problem == "service":
        message = (
            f'{lead}incorrect service "{error.fields["value"]}". This endpoint belongs to "s3".'
        )
    elif error.kind is Failure.SCOPE and problem == "terminator":
        terminal = error.fields["value"]
        message = f'{lead}incorrect terminal "{terminal}". This endpoint uses "aws4_request".'
    elif error.kind is Failure.SCOPE:
        message = f"{lead}Invalid credential date. Date is not the same as X-Amz-Date."
    elif problem == "date" and presigned:
        message = "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""
    elif problem == "date":
        return ServiceError(
            "AccessDenied",
            "AWS authentication requires a valid Date or x-amz-date header",
            status=403,
        )
    elif error.kind is Failure.HOST_NOT_SIGNED:
        return ServiceError("SignatureDoesNotMatch", S3_SIGNATURE_MISMATCH, status=403)
    else:  # missing header parameters, bad X-Amz-Expires, unsupported algorithm
        message = error.detail if presigned else lead + error.detail
    return ServiceError(code, message, fields=fields)


def _hex_bytes(text: str) -> str:
    return " ".join(f"{byte:02x}" for byte in text.encode("utf-8"))

"""SageMaker's and SageMaker Runtime's errors: code, HTTP status and message template, in one place.

Every SageMaker or runtime error the emulator raises is one of these entries, called with the
template's values (``ENDPOINT_NOT_FOUND(endpoint=..., account=...)``); S3's live in
``objects/errors.py``. A leaf: the control plane, the endpoint kinds and the services all use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from endpointlab.emulator.errors import ServiceError


@dataclass(frozen=True)
class SageMakerError:
    """One error of the catalogue: ``code`` as botocore reports it, ``status``, ``template``."""

    code: str
    status: int
    template: str

    def __call__(self, *, fields: Mapping[str, Any] | None = None, **values: Any) -> ServiceError:
        return ServiceError(
            self.code, self.template.format(**values), status=self.status, fields=fields
        )


# --- control plane (awsJson 1.1, service "sagemaker") ----------------------------------------
# Every request SageMaker refuses as invalid, with the operation's own sentence.
VALIDATION = SageMakerError("ValidationException", 400, "{message}")
# An account quota (control/quotas.py words the sentence; the kinds name the quotas).
RESOURCE_LIMIT_EXCEEDED = SageMakerError("ResourceLimitExceeded", 400, "{message}")
# A tag ARN naming no resource (wording UNCONFIRMED, see control/tags.py).
TAG_RESOURCE_NOT_FOUND = SageMakerError(
    "ValidationException", 400, 'Could not find {label} "{arn}".'
)
RESERVED_TAG_KEY = SageMakerError(
    "ValidationException", 400, "System prefix '{prefix}' reserved for AWS usage in tag key: {key}"
)
# UNCONFIRMED wording: no capture of SageMaker refusing a 51st tag was found.
TOO_MANY_TAGS = SageMakerError(
    "ValidationException",
    400,
    "Resource {arn} would have {count} tags; a resource can have at most {limit} tags.",
)
UNKNOWN_OPERATION = SageMakerError(
    "UnknownOperationException", 400, "The emulator does not implement {service} {operation}."
)

# --- runtime (restJson, service "sagemaker-runtime") -------------------------------------------
ENDPOINT_NOT_FOUND = SageMakerError(
    "ValidationError", 400, "Endpoint {endpoint} of account {account} not found."
)
VARIANT_NOT_FOUND = SageMakerError(
    "ValidationError", 400, "Variant {variant} not found for this endpoint."
)
# What an endpoint kind with 4 MB payloads answers (sagemaker-python-sdk issue 4271).
OVERSIZE_BODY = SageMakerError("ValidationError", 400, "Request {request_id} has oversize body.")
# UNCONFIRMED wording: the only captures of AWS refusing a large body date from the 5 MB limit
# (2018: HTTP 413, no error type, "HTTP content length exceeded 5246976 bytes."); the emulator
# keeps a 400 ValidationError in its own words.
PAYLOAD_TOO_LARGE = SageMakerError(
    "ValidationError",
    400,
    "Received payload of {size} bytes, which exceeds the maximum payload size of {limit} bytes.",
)
# As SageMaker answers: 400, ThrottlingException and {"message": null}, which botocore retries
# in both retry modes (facts 2.2 and 2.4); call with fields={"message": None}.
THROTTLING = SageMakerError("ThrottlingException", 400, "")
MODEL_ERROR = SageMakerError(
    "ModelError",
    424,
    'Received {side} error ({status}) from primary with message "{text}". See '
    "https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
    "#logEventViewer:group={group} in account {account} for more information.",
)

# --- asynchronous inference (InvokeEndpointAsync) ----------------------------------------------
# Every wording below is UNCONFIRMED: no capture of SageMaker's answer was found; the code is
# the runtime's ValidationError (the only client error InvokeEndpointAsync models).
NOT_ASYNC_ENDPOINT = SageMakerError(
    "ValidationError",
    400,
    "Endpoint {endpoint} is not an asynchronous inference endpoint; {operation} is supported "
    "only for endpoints created with an AsyncInferenceConfig.",
)
ASYNC_ONLY_ENDPOINT = SageMakerError(
    "ValidationError",
    400,
    "Endpoint {endpoint} is an asynchronous inference endpoint; use InvokeEndpointAsync "
    "instead of {operation}.",
)
ASYNC_INPUT_MISSING = SageMakerError(
    "ValidationError", 400, "Either InputLocation or Body must be provided."
)
ASYNC_INPUT_BOTH = SageMakerError(
    "ValidationError", 400, "InputLocation and Body cannot both be provided."
)
ASYNC_INPUT_NOT_FOUND = SageMakerError(
    "ValidationError", 400, "Could not find input at {location}: {reason}"
)
ASYNC_INPUT_TOO_LARGE = SageMakerError(
    "ValidationError",
    400,
    "The input at {location} is {size} bytes, which exceeds the maximum input size of "
    "{limit} bytes.",
)
ASYNC_BAD_LOCATION = SageMakerError(
    "ValidationError", 400, "{location} is not an S3 URL naming a bucket and key."
)

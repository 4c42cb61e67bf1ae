"""What the CloudWatch operations share: the error codes, metric keys, periods and NextTokens.

Errors use CloudWatch's awsQuery codes (InvalidParameterValue, MissingParameter,
InvalidParameterCombination); a NextToken encodes an offset and a digest of the request it
was issued for, so a token replayed with other parameters is refused as InvalidNextToken.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from endpointlab.emulator.errors import ServiceError
from endpointlab.emulator.metrics import MetricKey, periods


def invalid(message: str) -> ServiceError:
    return ServiceError("InvalidParameterValue", message)


def missing(message: str) -> ServiceError:
    return ServiceError("MissingParameter", message)


def combination(message: str) -> ServiceError:
    return ServiceError("InvalidParameterCombination", message)


def check_period(period: int, where: str, code: str = "InvalidParameterValue") -> None:
    """1, 5, 10, 20, 30 or a multiple of 60 seconds."""
    if not periods.valid_period(period):
        raise ServiceError(
            code, f"The parameter {where} must be 1, 5, 10, 20, 30, or a multiple of 60."
        )  # UNCONFIRMED


def metric_key(
    namespace: str, name: str, dimensions: Sequence[Mapping[str, str]] | None
) -> MetricKey:
    return MetricKey.of(namespace, name, [(d["Name"], d["Value"]) for d in dimensions or []])


def timestamp(epoch: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC)


def request_digest(params: Mapping[str, Any], *, exclude: str) -> str:
    """A short digest of a request, so a NextToken is only honoured for the same request."""
    rest = {k: v for k, v in params.items() if k != exclude}
    text = json.dumps(rest, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def make_token(offset: int, digest: str) -> str:
    return base64.urlsafe_b64encode(f"{offset}:{digest}".encode()).decode()


def read_token(token: str | None, digest: str) -> int:
    """The offset a NextToken stands for; InvalidNextToken if it is not one we issued."""
    if token is None:
        return 0
    try:
        offset, _, issued_for = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if issued_for == digest and int(offset) >= 0:
            return int(offset)
    except (ValueError, UnicodeDecodeError):
        pass
    # UNCONFIRMED wording
    raise ServiceError("InvalidNextToken", "The service couldn't process the NextToken provided.")

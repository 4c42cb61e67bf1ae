"""The account's serverless quotas, and the ResourceLimitExceeded message SageMaker gives.

A pure function of the endpoints already allocated: the registry asks it before it stores a new
or updated serverless endpoint.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Usage:
    """One endpoint's claim on the account's serverless quotas."""

    endpoint: str
    max_concurrency: int


@dataclass(frozen=True)
class QuotaBreach:
    """A quota a new or updated serverless endpoint would exceed, in AWS's terms."""

    name: str
    limit: int
    current: int
    delta: int
    unit: str


SERVERLESS_ENDPOINTS_QUOTA = "Maximum number of serverless endpoints"
SERVERLESS_CONCURRENCY_QUOTA = (
    "Maximum total concurrency that can be allocated across all serverless endpoints"
)


def quota_breach(
    others: Sequence[Usage], wanted: Usage, max_endpoints: int, max_total_concurrency: int
) -> QuotaBreach | None:
    """The first account quota ``wanted`` breaks given the ``others`` already allocated."""
    if len(others) + 1 > max_endpoints:
        return QuotaBreach(SERVERLESS_ENDPOINTS_QUOTA, max_endpoints, len(others), 1, "Endpoints")
    used = sum(usage.max_concurrency for usage in others)
    if used + wanted.max_concurrency > max_total_concurrency:
        return QuotaBreach(
            SERVERLESS_CONCURRENCY_QUOTA,
            max_total_concurrency,
            used,
            wanted.max_concurrency,
            "Concurrency",
        )
    return None


def quota_message(breach: QuotaBreach) -> str:
    """ResourceLimitExceeded's message, in the form SageMaker gives for every quota."""
    unit = breach.unit
    return (
        f"The account-level service limit '{breach.name}' is {breach.limit} {unit}, with current "
        f"utilization of {breach.current} {unit} and a request delta of {breach.delta} {unit}. "
        "Please use AWS Service Quotas to request an increase for this quota. If AWS Service "
        "Quotas is not available, contact AWS support to request an increase for this quota."
    )

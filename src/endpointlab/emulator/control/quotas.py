"""The account's quotas as SageMaker enforces them, and the ResourceLimitExceeded message it gives.

Each endpoint kind names its quotas and what its endpoints claim of them (``EndpointKind.quotas``
and ``claims_on_quotas``); this is a pure function of the claims already allocated: the registry
asks it before it stores a new or updated endpoint.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from endpointlab.emulator.endpoints.base import AccountQuota

# What one endpoint claims of the account's quotas: quota name -> amount.
Claims = Mapping[str, int]


@dataclass(frozen=True)
class QuotaBreach:
    """A quota a new or updated endpoint would exceed, in AWS's terms."""

    name: str
    limit: int
    current: int
    delta: int
    unit: str


def quota_breach(
    others: Sequence[Claims], wanted: Claims, quotas: Sequence[AccountQuota]
) -> QuotaBreach | None:
    """The first of ``quotas`` that ``wanted`` breaks given the ``others`` already allocated."""
    for quota in quotas:
        delta = wanted.get(quota.name)
        if delta is None:
            continue
        used = sum(claims.get(quota.name, 0) for claims in others)
        if used + delta > quota.limit:
            return QuotaBreach(quota.name, quota.limit, used, delta, quota.unit)
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

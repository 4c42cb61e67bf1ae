"""AWS STS as far as the emulator answers it: GetCallerIdentity (awsQuery, signed for ``sts``).

boto3 code commonly builds ARNs from ``sts.get_caller_identity()["Account"]``. The emulator's
account is ``123456789012``. Without ``serve --auth`` any credentials are accepted and may do
anything, so every caller is the account's root (``arn:aws:iam::123456789012:root``, whose
UserId is the account id, as STS reports for root credentials). With ``--auth`` the caller is
the IAM user its access key belongs to in the auth file (``arn:aws:iam::123456789012:user/NAME``)
with a stable IAM-style unique id (``AIDA`` and 17 characters derived from the name).
GetCallerIdentity needs no permission, as on AWS. Other STS actions are ``InvalidAction``.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import Any

from endpointlab.emulator.caller import Caller, current_caller
from endpointlab.emulator.errors import ServiceError
from endpointlab.emulator.records import ACCOUNT_ID

ROOT_ARN = f"arn:aws:iam::{ACCOUNT_ID}:root"


class StsService:
    """Answers GetCallerIdentity for the current request's caller."""

    async def handle(self, operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
        if operation == "GetCallerIdentity":
            return caller_identity(current_caller())
        raise ServiceError(
            "InvalidAction",
            f"The endpointlab emulator does not implement STS {operation}: of STS it answers "
            "GetCallerIdentity only.",
        )


def caller_identity(caller: Caller) -> dict[str, Any]:
    """GetCallerIdentity's output members for ``caller``."""
    if caller.user_arn is None or caller.user_name is None:
        return {"UserId": ACCOUNT_ID, "Account": ACCOUNT_ID, "Arn": ROOT_ARN}
    return {"UserId": user_id(caller.user_name), "Account": ACCOUNT_ID, "Arn": caller.user_arn}


def user_id(user_name: str) -> str:
    """An IAM user's unique id as IAM spells them (``AIDA`` + 17 of A-Z, 2-7), stable per name."""
    digest = hashlib.sha256(f"{ACCOUNT_ID}/{user_name}".encode()).digest()
    return "AIDA" + base64.b32encode(digest).decode("ascii")[:17]

"""Requests signed by botocore's own signers, as the emulator receives them (raw path/query).

``sign`` runs ``SigV4Auth``/``S3SigV4Auth`` (header form) or ``SigV4QueryAuth``/
``S3SigV4QueryAuth`` (presigned) at a fixed time and returns the method, still-encoded path and
query, lower-case headers (plus the Host the HTTP client would add) and the body.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
KEY = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"
HOST = "127.0.0.1:4566"


@dataclass(frozen=True)
class Raw:
    """A request as the emulator's ASGI app sees it."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes = b""

    def with_headers(self, **changes: str | None) -> Raw:
        headers = dict(self.headers)
        for attribute, value in changes.items():
            name = attribute.replace("_", "-")
            if value is None:
                headers.pop(name, None)
            else:
                headers[name] = value
        return replace(self, headers=headers)


def sign(
    signer: type[Any],
    method: str,
    path_and_query: str,
    *,
    service: str,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    key: str = KEY,
    secret: str = SECRET,
    token: str | None = None,
    region: str = REGION,
    at: datetime = NOW,
    **signer_options: Any,
) -> Raw:
    """Sign ``method http://HOST<path_and_query>`` with ``signer`` at time ``at``."""
    request = AWSRequest(
        method=method, url=f"http://{HOST}{path_and_query}", data=body, headers=dict(headers or {})
    )
    auth = signer(Credentials(key, secret, token), service, region, **signer_options)
    with mock.patch.object(
        botocore.auth, "get_current_datetime", return_value=at.replace(tzinfo=None)
    ):
        auth.add_auth(request)
    prepared = request.prepare()
    parts = urlsplit(prepared.url)
    lowered = {name.lower(): value for name, value in prepared.headers.items()}
    lowered["host"] = parts.netloc
    return Raw(method, parts.path, parts.query, lowered, prepared.body or b"")

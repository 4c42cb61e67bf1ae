"""The gate every request passes when ``serve --auth`` is on: who signed it, and may they.

``Authenticator.authenticate`` verifies the SigV4 signature (from the request head and body)
and returns the ``Principal``; ``authorize`` maps the parsed operation to IAM action/resource
pairs and evaluates the principal's policies; ``require`` checks one pair directly (for routes
that speak HTTP themselves, such as S3). Failures are ``ServiceError`` in the API's dialect.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.model import ServiceModel

from endpointlab.emulator.auth.actions import access_checks
from endpointlab.emulator.auth.dialects import Dialect, access_denied, auth_error
from endpointlab.emulator.auth.policy import Decision, Policy, evaluate
from endpointlab.emulator.auth.settings import AuthConfig
from endpointlab.emulator.auth.sigv4 import HttpRequest, SigV4Error
from endpointlab.emulator.auth.verifier import Clock, Verifier, content_mismatch, utc_now


@dataclass(frozen=True)
class Api:
    """How one API is authenticated: its botocore name, SigV4 scope name and error dialect."""

    service: str
    signing_name: str
    dialect: Dialect

    @classmethod
    def of(cls, model: ServiceModel) -> Api:
        metadata = model.metadata
        name = str(model.service_name)
        if name == "s3":
            dialect = Dialect.S3
        elif "awsQueryCompatible" in metadata or metadata.get("protocol") == "query":
            dialect = Dialect.QUERY
        elif metadata.get("protocol") == "rest-json":
            dialect = Dialect.REST_JSON
        else:
            dialect = Dialect.JSON
        return cls(name, str(model.signing_name), dialect)


@dataclass(frozen=True)
class Principal:
    """The IAM user behind a verified request."""

    access_key_id: str
    user_arn: str
    policies: tuple[Policy, ...]


class Authenticator:
    """Verifies signatures made with the listed keys and enforces their policies."""

    def __init__(self, config: AuthConfig, region: str, clock: Clock = utc_now) -> None:
        self._config = config
        self._region = region
        self._verifier = Verifier(config.keys, region, clock)

    def authenticate(self, request: HttpRequest, api: Api, body: bytes | None) -> Principal:
        """The principal who signed ``request``, or the API's authentication error.

        Pass ``body=None`` when the body is streamed (S3): its hash is then taken from
        ``X-Amz-Content-SHA256``; call ``check_content_sha256`` once the body has been read.
        """
        try:
            key = self._verifier.verify(request, api.signing_name, body)
        except SigV4Error as error:
            raise auth_error(error, api.dialect) from None
        return Principal(key.access_key_id, key.user_arn, key.policies)

    def check_content_sha256(self, request: HttpRequest, api: Api, computed: str) -> None:
        """Refuse a streamed body whose SHA-256 is not the one the request was signed with."""
        claimed = request.headers.get("x-amz-content-sha256", "")
        if len(claimed) == 64 and claimed.lower() == claimed and claimed != computed:
            raise auth_error(content_mismatch(claimed, computed), api.dialect)

    def authorize(
        self, principal: Principal, api: Api, operation: str, params: Mapping[str, Any]
    ) -> None:
        """Refuse unless the principal's policies allow everything ``operation`` needs."""
        for check in access_checks(api.service, operation, params, self._region):
            self.require(principal, check.action, check.resource, api.dialect)

    def require(self, principal: Principal, action: str, resource: str, dialect: Dialect) -> None:
        """Refuse unless ``action`` on ``resource`` is allowed (an explicit Deny always wins)."""
        decision = evaluate(principal.policies, action, resource)
        if decision is not Decision.ALLOW:
            raise access_denied(
                principal.user_arn,
                action,
                resource,
                explicit=decision is Decision.EXPLICIT_DENY,
                dialect=dialect,
            )

"""SigV4 authentication and IAM-style access policies for ``endpointlab serve --auth FILE``.

``load_auth_file`` reads the key file into frozen ``AuthConfig``; ``Authenticator`` verifies
each request's signature (header or presigned form) and evaluates the signer's policies, raising
``ServiceError`` worded as the answering AWS API words it. Without ``--auth`` nothing here runs.
"""

from endpointlab.emulator.auth.actions import Check, access_checks, s3_arn
from endpointlab.emulator.auth.dialects import Dialect
from endpointlab.emulator.auth.gate import Api, Authenticator, Principal
from endpointlab.emulator.auth.policy import Decision, Policy, PolicyError, evaluate, parse_policy
from endpointlab.emulator.auth.settings import (
    AccessKey,
    AuthConfig,
    AuthFileError,
    load_auth_file,
    parse_auth_document,
)

__all__ = [
    "AccessKey",
    "Api",
    "AuthConfig",
    "AuthFileError",
    "Authenticator",
    "Check",
    "Decision",
    "Dialect",
    "Policy",
    "PolicyError",
    "Principal",
    "access_checks",
    "evaluate",
    "load_auth_file",
    "parse_auth_document",
    "parse_policy",
    "s3_arn",
]

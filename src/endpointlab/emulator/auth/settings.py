"""The ``serve --auth FILE`` document, read once at start into frozen settings.

``{"keys": [{"access_key_id", "secret_access_key", "policies": [...]}]}`` (optionally "user" and
"session_token" per key). Anything malformed (bad JSON, a missing or unknown field, a duplicate
access key id, a policy element the emulator cannot honour) is refused with one line naming it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from endpointlab.config import SettingsError
from endpointlab.emulator.auth.policy import Policy, PolicyError, parse_policy
from endpointlab.emulator.records import ACCOUNT_ID

KEY_FIELDS = frozenset({"access_key_id", "secret_access_key", "policies", "user", "session_token"})
REQUIRED_KEY_FIELDS = ("access_key_id", "secret_access_key", "policies")
# IAM's user-name alphabet; access key ids must survive the '/'-separated credential scope.
_USER_NAME = re.compile(r"[\w+=,.@-]{1,64}")
_ACCESS_KEY_ID = re.compile(r"[A-Za-z0-9_+=.@-]{1,128}")


class AuthFileError(SettingsError):
    """The auth file cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class AccessKey:
    """One listed credential: its secret, the IAM user it stands for, and that user's policies."""

    access_key_id: str
    secret_access_key: str
    user_name: str
    policies: tuple[Policy, ...]
    session_token: str | None = None

    @property
    def user_arn(self) -> str:
        return f"arn:aws:iam::{ACCOUNT_ID}:user/{self.user_name}"


@dataclass(frozen=True)
class AuthConfig:
    """Every listed key by access key id."""

    keys: Mapping[str, AccessKey]

    @classmethod
    def of(cls, keys: list[AccessKey]) -> AuthConfig:
        return cls(MappingProxyType({key.access_key_id: key for key in keys}))


def load_auth_file(path: Path) -> AuthConfig:
    """Read and validate ``path``; raises ``AuthFileError`` with a one-line message."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise AuthFileError(f"cannot read auth file {path}: {reason}") from exc
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AuthFileError(
            f"auth file {path}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    try:
        return parse_auth_document(document)
    except (PolicyError, ValueError) as exc:
        raise AuthFileError(f"auth file {path}: {exc}") from exc


def parse_auth_document(document: Any) -> AuthConfig:
    """Validate a decoded auth document; raises ``ValueError`` naming the element at fault."""
    if not isinstance(document, Mapping):
        raise ValueError('the document must be a JSON object with a "keys" list')
    unknown = sorted(set(document) - {"keys"})
    if unknown:
        raise ValueError(f'unknown top-level field {unknown[0]!r} (only "keys" is allowed)')
    raw_keys = document.get("keys")
    if not isinstance(raw_keys, list) or not raw_keys:
        raise ValueError('"keys" must be a non-empty list of key objects')
    keys: list[AccessKey] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_keys):
        key = _key(raw, f"keys[{index}]")
        if key.access_key_id in seen:
            raise ValueError(f"keys[{index}]: duplicate access_key_id {key.access_key_id!r}")
        seen.add(key.access_key_id)
        keys.append(key)
    return AuthConfig.of(keys)


def _key(raw: Any, where: str) -> AccessKey:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: must be a JSON object")
    unknown = sorted(set(raw) - KEY_FIELDS)
    if unknown:
        raise ValueError(f"{where}: unknown field {unknown[0]!r}")
    for name in REQUIRED_KEY_FIELDS:
        if name not in raw:
            raise ValueError(f"{where}: missing {name!r}")
    access_key_id = _text(raw, "access_key_id", where)
    if not _ACCESS_KEY_ID.fullmatch(access_key_id):
        raise ValueError(
            f"{where}: access_key_id {access_key_id!r} must be 1-128 letters, digits or _+=.@-"
        )
    secret = _text(raw, "secret_access_key", where)
    user = _text(raw, "user", where) if "user" in raw else access_key_id
    if not _USER_NAME.fullmatch(user):
        raise ValueError(f"{where}: user {user!r} is not a valid IAM user name")
    token = _text(raw, "session_token", where) if "session_token" in raw else None
    policies = raw["policies"]
    if not isinstance(policies, list):
        raise ValueError(f"{where}: policies must be a list of policy documents")
    parsed = tuple(parse_policy(doc, f"{where}.policies[{i}]") for i, doc in enumerate(policies))
    return AccessKey(access_key_id, secret, user, parsed, token)


def _text(raw: Mapping[str, Any], name: str, where: str) -> str:
    value = raw[name]
    if not isinstance(value, str) or not value:
        raise ValueError(f"{where}: {name} must be a non-empty string")
    return value

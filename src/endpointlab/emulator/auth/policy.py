"""IAM identity-policy documents: strict parsing and AWS's evaluation order.

A document is Version/Id/Statement; each statement has Sid, Effect, Action or NotAction and
Resource or NotResource. Anything the emulator would otherwise have to ignore (Condition,
Principal, policy variables, unknown elements) is refused with a message naming it. Evaluation:
an explicit Deny wins, then any Allow, otherwise the request is implicitly denied.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

VERSIONS = ("2012-10-17", "2008-10-17")
DOCUMENT_ELEMENTS = frozenset({"Version", "Id", "Statement"})
STATEMENT_ELEMENTS = frozenset({"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource"})
# Elements IAM knows but the emulator cannot honour: refusing them beats silently widening access.
UNSUPPORTED_ELEMENTS = {
    "Condition": "conditions are not supported by the emulator",
    "Principal": "identity policies cannot name a Principal",
    "NotPrincipal": "identity policies cannot name a NotPrincipal",
}
_SERVICE_PREFIX = re.compile(r"[a-z0-9-]+")


class PolicyError(ValueError):
    """A policy document the emulator refuses; the message names the element at fault."""


class Effect(Enum):
    ALLOW = "Allow"
    DENY = "Deny"


class Decision(Enum):
    """The outcome of evaluating every policy of a principal for one action and resource."""

    ALLOW = "allow"
    IMPLICIT_DENY = "implicit-deny"
    EXPLICIT_DENY = "explicit-deny"


@dataclass(frozen=True)
class Pattern:
    """An IAM wildcard pattern (``*`` any run of characters, ``?`` exactly one)."""

    text: str
    regex: re.Pattern[str]

    @classmethod
    def compile(cls, text: str, *, ignore_case: bool) -> Pattern:
        parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text)
        flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
        return cls(text, re.compile("".join(parts), flags))

    def matches(self, value: str) -> bool:
        return self.regex.fullmatch(value) is not None


@dataclass(frozen=True)
class Statement:
    effect: Effect
    actions: tuple[Pattern, ...]
    resources: tuple[Pattern, ...]
    not_action: bool = False
    not_resource: bool = False
    sid: str | None = None

    def applies(self, action: str, resource: str) -> bool:
        """True when both the action and the resource fall under this statement."""
        action_hit = any(p.matches(action) for p in self.actions)
        resource_hit = any(p.matches(resource) for p in self.resources)
        return (action_hit != self.not_action) and (resource_hit != self.not_resource)


@dataclass(frozen=True)
class Policy:
    statements: tuple[Statement, ...]
    version: str | None = None


def evaluate(policies: Iterable[Policy], action: str, resource: str) -> Decision:
    """AWS's identity-policy logic: explicit Deny beats Allow; no match is an implicit deny."""
    allowed = False
    for policy in policies:
        for statement in policy.statements:
            if not statement.applies(action, resource):
                continue
            if statement.effect is Effect.DENY:
                return Decision.EXPLICIT_DENY
            allowed = True
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY


def parse_policy(document: Any, where: str) -> Policy:
    """Validate one policy document (already decoded from JSON); ``where`` prefixes errors."""
    if not isinstance(document, Mapping):
        raise PolicyError(f"{where}: a policy must be a JSON object")
    _refuse_unknown(document, DOCUMENT_ELEMENTS, where)
    version = document.get("Version")
    if version is not None and version not in VERSIONS:
        raise PolicyError(f"{where}: Version must be one of {', '.join(VERSIONS)}, got {version!r}")
    if "Statement" not in document:
        raise PolicyError(f"{where}: missing Statement")
    raw = document["Statement"]
    items: Sequence[Any] = [raw] if isinstance(raw, Mapping) else raw
    if not isinstance(items, list) or not items:
        raise PolicyError(f"{where}: Statement must be an object or a non-empty list of objects")
    statements = tuple(_statement(item, f"{where}.Statement[{i}]") for i, item in enumerate(items))
    return Policy(statements, version)


def _statement(item: Any, where: str) -> Statement:
    if not isinstance(item, Mapping):
        raise PolicyError(f"{where}: a statement must be a JSON object")
    _refuse_unknown(item, STATEMENT_ELEMENTS, where)
    sid = item.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise PolicyError(f"{where}: Sid must be a string")
    effect_text = item.get("Effect")
    if effect_text not in ("Allow", "Deny"):
        raise PolicyError(f'{where}: Effect must be "Allow" or "Deny", got {effect_text!r}')
    action_key = _exactly_one(item, "Action", "NotAction", where)
    resource_key = _exactly_one(item, "Resource", "NotResource", where)
    actions = tuple(
        _action(text, f"{where}.{action_key}")
        for text in _strings(item[action_key], f"{where}.{action_key}")
    )
    resources = tuple(
        _resource(text, f"{where}.{resource_key}")
        for text in _strings(item[resource_key], f"{where}.{resource_key}")
    )
    return Statement(
        Effect(effect_text),
        actions,
        resources,
        not_action=action_key == "NotAction",
        not_resource=resource_key == "NotResource",
        sid=sid,
    )


def _refuse_unknown(element: Mapping[str, Any], known: frozenset[str], where: str) -> None:
    for key in element:
        if key in UNSUPPORTED_ELEMENTS:
            raise PolicyError(f"{where}: {key} is not allowed: {UNSUPPORTED_ELEMENTS[key]}")
        if key not in known:
            raise PolicyError(f"{where}: unknown element {key!r}")


def _exactly_one(item: Mapping[str, Any], first: str, second: str, where: str) -> str:
    present = [key for key in (first, second) if key in item]
    if len(present) != 1:
        raise PolicyError(f"{where}: needs exactly one of {first} or {second}")
    return present[0]


def _strings(value: Any, where: str) -> list[str]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise PolicyError(f"{where}: must be a string or a non-empty list of strings")
    return values


def _action(text: str, where: str) -> Pattern:
    if text != "*":
        prefix, colon, name = text.partition(":")
        if not colon or not name or not _SERVICE_PREFIX.fullmatch(prefix.lower()):
            raise PolicyError(
                f'{where}: action {text!r} must be "*" or "<service>:<action>" '
                '(e.g. "sagemaker:InvokeEndpoint")'
            )
    return Pattern.compile(text, ignore_case=True)


def _resource(text: str, where: str) -> Pattern:
    if "${" in text:
        raise PolicyError(f"{where}: policy variables such as {text!r} are not supported")
    if text != "*" and not text.startswith("arn:"):
        raise PolicyError(f'{where}: resource {text!r} must be an ARN or "*"')
    return Pattern.compile(text, ignore_case=False)

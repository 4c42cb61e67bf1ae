"""Server-side input validation driven by model constraints, reported in AWS's Coral wording.

``validate(shape, params)`` checks what the service checks and botocore does not: required
members, types, length and value ranges, whole-string ``pattern`` matches and enums. Violations
format as ``1 validation error detected: Value 'X' at 'productionVariants.1.member.modelName'
failed to satisfy constraint: Member must satisfy regular expression pattern: ...``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.model import Shape

from endpointlab.emulator.errors import ServiceError
from endpointlab.emulator.wire.constraints import (
    CONTAINERS,
    NUMBERS,
    Rule,
    bound_text,
    compile_rule,
    show,
    type_ok,
    utf16_length,
)

# DynamoDB's Coral front end stops after ten violations (reproduced by dynalite's
# validations.js); the cap also keeps a hostile request from producing a megabyte of message.
MAX_REPORTED = 10


@dataclass(frozen=True, slots=True)
class Violation:
    """One failed constraint: Coral path, constraint text and the value as Coral shows it.

    ``shown`` is ``"'X'"``, ``"null"``, or ``""`` when the value is withheld: sensitive members
    (Cognito answers ``Value at 'password'``) and values Java would print as object ids.
    """

    path: str
    constraint: str
    shown: str

    def __str__(self) -> str:
        value = f"Value {self.shown}" if self.shown else "Value"
        return f"{value} at '{self.path}' failed to satisfy constraint: {self.constraint}"


def format_violations(violations: list[Violation]) -> str:
    """The Coral message: ``N validation error(s) detected: <v1>; <v2>``."""
    count = len(violations)
    noun = "error" if count == 1 else "errors"
    return f"{count} validation {noun} detected: " + "; ".join(map(str, violations))


def validation_error(code: str, violations: list[Violation]) -> ServiceError:
    """The 400 ``ServiceError`` a service returns for these violations."""
    return ServiceError(code, format_violations(violations), status=400)


def validate(shape: Shape, params: Mapping[str, Any]) -> list[Violation]:
    """Check ``params`` (model member names) against input structure ``shape``."""
    return Validator().validate(shape, params)


class _EnoughError(Exception):
    """Raised internally once ``MAX_REPORTED`` violations are collected."""


class Validator:
    """Validates values against botocore shapes, caching each shape's compiled ``Rule``.

    A quick pass answers "all good?" without building paths; only a failing request is walked
    again, in model member order, to collect Coral-worded violations.
    """

    def __init__(
        self,
        pattern_overrides: Mapping[str, str] | None = None,
        unbounded: frozenset[str] = frozenset(),
    ) -> None:
        self._rules: dict[int, Rule] = {}
        self._pattern_overrides = dict(pattern_overrides or {})
        self._unbounded = unbounded

    def validate(self, shape: Shape, params: Mapping[str, Any]) -> list[Violation]:
        """Violations of ``params`` against structure ``shape``, at most ``MAX_REPORTED``."""
        return [] if self.accepts(shape, params) else self.violations(shape, params)

    def accepts(self, shape: Shape, params: Mapping[str, Any]) -> bool:
        """The quick pass alone: True when ``params`` break no constraint."""
        return self._ok(self._rule(shape), params)

    def violations(self, shape: Shape, params: Mapping[str, Any]) -> list[Violation]:
        """The reporting walk alone, in model member order (empty exactly when ``accepts``)."""
        out: list[Violation] = []
        with contextlib.suppress(_EnoughError):
            self._check(self._rule(shape), params, "", out)
        return out

    def _rule(self, shape: Shape) -> Rule:
        rule = self._rules.get(id(shape))
        if rule is None:
            # rule.shape keeps id(shape) valid for as long as the cache holds the rule.
            rule = compile_rule(shape, self._pattern_overrides, self._unbounded)
            self._rules[id(shape)] = rule
        return rule

    def _child(self, rule: Rule, name: str) -> Rule:
        child = rule.children.get(name)
        if child is None:
            child = rule.children[name] = self._rule(rule.shapes[name])
        return child

    def _ok(self, rule: Rule, value: Any) -> bool:
        if rule.accepts is not None:
            return rule.accepts(value)
        if not type_ok(rule.kind, value) or not _size_ok(rule, len(value)):
            return False
        if rule.kind == "structure":
            for name in rule.required:
                if value.get(name) is None:
                    return False
            children = rule.children
            for name, item in value.items():
                child = children.get(name)
                if child is None:
                    if item is None or name not in rule.shapes:
                        continue  # absent, or not a member: Coral ignores unknown members
                    child = self._child(rule, name)
                elif item is None:
                    continue
                accepts = child.accepts
                if not (accepts(item) if accepts is not None else self._ok(child, item)):
                    return False
            return True
        if rule.kind == "list":
            member = self._rule(rule.shape.member)
            return all(item is not None and self._ok(member, item) for item in value)
        keys, values = self._rule(rule.shape.key), self._rule(rule.shape.value)
        return all(
            self._ok(keys, key) and item is not None and self._ok(values, item)
            for key, item in value.items()
        )

    def _check(self, rule: Rule, value: Any, path: str, out: list[Violation]) -> None:
        if _own(rule, value, path, out):
            self._children(rule, value, path, out)

    def _children(self, rule: Rule, value: Any, path: str, out: list[Violation]) -> None:
        if rule.kind == "structure":
            for name, lname, member, required in rule.members:
                item = value.get(name)
                where = f"{path}.{lname}" if path else lname
                if item is not None:
                    self._check(self._rule(member), item, where, out)
                elif required:
                    _add(out, where, "Member must not be null", "null")
        elif rule.kind == "list":
            child = self._rule(rule.shape.member)
            for index, item in enumerate(value, 1):
                where = f"{path}.{index}.member"
                if item is None:
                    _add(out, where, "Member must not be null", "null")
                else:
                    self._check(child, item, where, out)
        elif rule.kind == "map":
            self._entries(rule, value, path, out)

    def _entries(self, rule: Rule, value: Mapping[Any, Any], path: str, out: list[Any]) -> None:
        """Map keys and values: own constraints once per map, then each value's contents."""
        keys, values = self._rule(rule.shape.key), self._rule(rule.shape.value)
        if not all(_own_ok(keys, key) for key in value):
            constraint = f"Map keys must satisfy constraint: [{', '.join(keys.texts)}]"
            _add(out, path, constraint, show(rule, value))
        if not all(item is not None and _own_ok(values, item) for item in value.values()):
            constraint = f"Map value must satisfy constraint: [{', '.join(values.texts)}]"
            _add(out, path, constraint, show(rule, value))
        if values.kind in CONTAINERS:
            for key, item in value.items():
                if item is not None and _own_ok(values, item):
                    self._children(values, item, f"{path}.{key}.member", out)


def _size_ok(rule: Rule, size: int) -> bool:
    return (rule.low is None or size >= rule.low) and (rule.high is None or size <= rule.high)


def _own(rule: Rule, value: Any, path: str, out: list[Violation]) -> bool:
    """Check the value's type and its own constraints; False when the type is wrong."""
    kind = rule.kind
    if not type_ok(kind, value):
        _add(out, path, f"Member must be of type {kind}", "")
        return False
    if kind in ("list", "map", "blob"):
        _bounds(rule, len(value), value, path, out, what="length")
    elif kind == "string":
        size = len(value) if value.isascii() else utf16_length(value)
        _bounds(rule, size, value, path, out, what="length")
        if rule.pattern is not None and rule.pattern.fullmatch(value) is None:
            text = rule.shape.metadata["pattern"]
            constraint = f"Member must satisfy regular expression pattern: {text}"
            _add(out, path, constraint, show(rule, value))
        if rule.enum is not None and value not in rule.enum:
            constraint = f"Member must satisfy enum value set: [{', '.join(rule.shape.enum)}]"
            _add(out, path, constraint, show(rule, value))
    elif kind in NUMBERS:
        _bounds(rule, value, value, path, out, what="value")
    return True


def _own_ok(rule: Rule, value: Any) -> bool:
    probe: list[Violation] = []
    try:
        _own(rule, value, "", probe)
    except _EnoughError:
        return False
    return not probe


def _bounds(
    rule: Rule, size: Any, value: Any, path: str, out: list[Violation], *, what: str
) -> None:
    if rule.low is not None and size < rule.low:
        constraint = (
            f"Member must have {what} greater than or equal to {bound_text(rule, rule.low)}"
        )
        _add(out, path, constraint, show(rule, value))
    if rule.high is not None and size > rule.high:
        constraint = f"Member must have {what} less than or equal to {bound_text(rule, rule.high)}"
        _add(out, path, constraint, show(rule, value))


def _add(out: list[Violation], path: str, constraint: str, shown: str) -> None:
    out.append(Violation(path, constraint, shown))
    if len(out) >= MAX_REPORTED:
        raise _EnoughError

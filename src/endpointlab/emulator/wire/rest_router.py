"""Routing of REST requests to operations from the model's ``http.method`` and ``requestUri``.

Each template (``/endpoints/{EndpointName}/invocations``, S3's ``/{Bucket}/{Key+}?uploads``)
becomes one compiled regex matched against the raw, still percent-encoded path; labels are
decoded after the match, so an encoded ``/`` stays inside a label. Greedy ``{Label+}`` labels
span slashes; literal query keys must be present; identical templates (S3's PutObject and
CopyObject) are told apart by their required header members. Shared by REST codecs.
"""

from __future__ import annotations

import re
from collections.abc import Container, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote

from botocore.model import ServiceModel, Shape

_LABEL = re.compile(r"\{([^}]+)\}")
_MISSING = object()
MEMO_ENTRIES = 4096  # remembered (method, path) matches; cleared when full


@dataclass(frozen=True, slots=True)
class Route:
    """One operation's template: method, path regex, label names and what else must be sent."""

    operation: str
    method: str
    template: str
    regex: re.Pattern[str]
    labels: tuple[str, ...]  # label names, in regex group order
    query: tuple[tuple[str, str | None], ...]  # literal query keys and, if given, their values
    literal_chars: int
    headers: frozenset[str] = frozenset()  # lower-case names of required header members


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """A matched operation, its decoded URI labels and the template's literal query keys."""

    operation: str
    labels: dict[str, str]
    literal_query: frozenset[str] = frozenset()


class Router:
    """Finds the operation for a method and path, most specific template first."""

    def __init__(self, model: ServiceModel) -> None:
        routes: dict[str, list[Route]] = {}
        for name in model.operation_names:
            operation = model.operation_model(name)
            http = operation.http
            route = compile_route(name, http.get("method", "POST"), http.get("requestUri", "/"))
            shape = operation.input_shape
            if shape is not None:
                required = set(shape.required_members)
                route = _with_headers(route, shape.members, required)
            routes.setdefault(route.method, []).append(route)
        for found in routes.values():
            found.sort(key=lambda r: (-len(r.query), -r.literal_chars, -len(r.headers)))
        self._routes = {method: tuple(found) for method, found in routes.items()}
        # Where the path alone decides, memoise path -> match: endpoint names repeat, and the
        # memo turns a regex scan into one dictionary look-up.
        self._memoisable = {m for m, found in routes.items() if _path_decides(found)}
        self._memo: dict[tuple[str, str], RouteMatch | None] = {}

    def match(
        self, method: str, path: str, query: str = "", headers: Container[str] | None = None
    ) -> RouteMatch | None:
        """The operation for ``method`` and raw ``path`` (query string apart), or None.

        ``headers`` (lower-case names) breaks ties between identical templates; without it the
        first of them wins. The returned ``labels`` may be shared: read, do not modify them.
        """
        key = (method, path)
        found = self._memo.get(key, _MISSING)
        if found is not _MISSING:
            return found  # type: ignore[return-value]
        upper = method.upper()
        result = self._scan(upper, path, query, headers)
        if upper in self._memoisable:
            if len(self._memo) >= MEMO_ENTRIES:
                self._memo.clear()
            self._memo[key] = result
        return result

    def _scan(
        self, method: str, path: str, query: str, headers: Container[str] | None
    ) -> RouteMatch | None:
        keys: dict[str, list[str]] | None = None
        for route in self._routes.get(method, ()):
            found = route.regex.fullmatch(path)
            if found is None:
                continue
            if route.query:
                keys = parse_query(query) if keys is None else keys
                if not _query_matches(route.query, keys):
                    continue
            if headers is not None and not all(name in headers for name in route.headers):
                continue
            labels = {
                label: unquote(value) if "%" in value else value
                for label, value in zip(route.labels, found.groups(), strict=True)
            }
            return RouteMatch(route.operation, labels, frozenset(k for k, _ in route.query))
        return None


def compile_route(operation: str, method: str, request_uri: str) -> Route:
    """Compile one ``requestUri`` template."""
    path, _, query_text = request_uri.partition("?")
    pattern: list[str] = []
    labels: list[str] = []
    position = literal = 0
    for found in _LABEL.finditer(path):
        text = path[position : found.start()]
        pattern.append(re.escape(text))
        literal += len(text)
        label = found.group(1)
        labels.append(label.rstrip("+"))
        pattern.append("(.+)" if label.endswith("+") else "([^/]+)")
        position = found.end()
    pattern.append(re.escape(path[position:]))
    literal += len(path) - position
    query: list[tuple[str, str | None]] = []
    for part in filter(None, query_text.split("&")):
        key, eq, value = part.partition("=")
        query.append((key, value if eq else None))
    regex = re.compile("".join(pattern), re.DOTALL)
    return Route(
        operation, method.upper(), request_uri, regex, tuple(labels), tuple(query), literal
    )


def parse_query(query: str) -> dict[str, list[str]]:
    """``a=1&a=2&b`` -> ``{"a": ["1", "2"], "b": [""]}`` (percent-decoded)."""
    if not query:
        return {}
    return parse_qs(query, keep_blank_values=True)


def _with_headers(route: Route, members: Mapping[str, Shape], required: set[str]) -> Route:
    names = frozenset(
        str(member.serialization.get("name", name)).lower()
        for name, member in members.items()
        if name in required and member.serialization.get("location") == "header"
    )
    return Route(
        route.operation, route.method, route.template, route.regex, route.labels,
        route.query, route.literal_chars, names,
    )  # fmt: skip


def _path_decides(routes: list[Route]) -> bool:
    templates = [route.template for route in routes]
    return not any(route.query for route in routes) and len(set(templates)) == len(templates)


def _query_matches(
    required: tuple[tuple[str, str | None], ...], keys: dict[str, list[str]]
) -> bool:
    for key, value in required:
        present = keys.get(key)
        if present is None or (value is not None and value not in present):
            return False
    return True

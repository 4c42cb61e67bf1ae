"""A request before its body, as every layer that reads one sees it (the wire codecs, the
signature verifier): method, raw (percent-encoded) path, raw query string, and headers with
lower-case names, as ASGI delivers them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class Head(Protocol):
    """A request before its body."""

    @property
    def method(self) -> str: ...

    @property
    def path(self) -> str: ...

    @property
    def query(self) -> str: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

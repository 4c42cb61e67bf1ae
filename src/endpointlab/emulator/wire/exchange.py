"""What a wire codec hands inward and outward: the parsed request and the HTTP response.

``ParsedRequest`` carries the botocore ``OperationModel`` and input members keyed by their model
names (PascalCase), already converted to Python values; ``WireResponse`` is status, headers and
body bytes ready for the HTTP server, which adds only framing headers such as Content-Length.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from botocore.model import OperationModel


@dataclass(frozen=True, slots=True)
class ParsedRequest:
    """One decoded, validated request: the operation and its input members."""

    operation: OperationModel
    params: dict[str, Any]

    @property
    def name(self) -> str:
        """The operation name, e.g. ``InvokeEndpoint``."""
        return str(self.operation.name)


@dataclass(frozen=True, slots=True)
class WireResponse:
    """An HTTP response as the wire sends it; header names keep AWS's spelling."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)


def new_request_id() -> str:
    """A fresh request id in the UUID form SageMaker uses for ``x-amzn-RequestId``."""
    return str(uuid.uuid4())

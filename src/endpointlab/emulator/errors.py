"""The one error type every emulator layer raises, carrying what the wire needs to answer.

Domain code raises ``ServiceError`` with the AWS error code, HTTP status and fault side; each wire
codec serialises it in exactly one place for its protocol. No layer builds error bodies itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class ServiceError(Exception):
    """An AWS error: ``code`` as botocore reports it, ``status`` and who is at fault.

    ``fields`` are extra members of a modeled error shape (e.g. ModelError's
    ``OriginalStatusCode``), written into the error body so botocore surfaces them.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int = 400,
        sender_fault: bool = True,
        fields: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.sender_fault = sender_fault
        self.fields = MappingProxyType(dict(fields)) if fields else _EMPTY

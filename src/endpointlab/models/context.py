"""The ``context`` argument handler functions may take, shaped like the model server's Context.

SageMaker's toolkit passes MMS's ``Context`` as an optional trailing argument. Handlers use it to
read ``system_properties["model_dir"]``, request headers (custom attributes among them) and to set
response headers; this class offers that surface for one request at a time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class RequestProcessor:
    """Request headers in, response headers and status out, for one request of a batch."""

    def __init__(self, request_headers: dict[str, str]) -> None:
        self._request = {key.lower(): value for key, value in request_headers.items()}
        self._response: dict[str, str] = {}
        self.status_code = 200
        self.reason_phrase: str | None = None

    def get_request_property(self, key: str) -> str | None:
        return self._request.get(key.lower())

    def get_request_properties(self) -> dict[str, str]:
        return dict(self._request)

    def add_response_property(self, key: str, value: str) -> None:
        self._response[key.lower()] = value

    def get_response_headers(self) -> dict[str, str]:
        return dict(self._response)

    def report_status(self, code: int, reason: str | None = None) -> None:
        self.status_code = code
        self.reason_phrase = reason


class InvocationContext:
    """Per-request context with the methods handler code written for SageMaker calls."""

    def __init__(self, model_dir: Path, request_headers: dict[str, str]) -> None:
        self.model_name = "model"
        self.system_properties: dict[str, Any] = {
            "model_dir": str(model_dir),
            "gpu_id": None,
            "batch_size": 1,
            "server_name": "endpointlab",
        }
        self.request_processor = [RequestProcessor(request_headers)]
        self.metrics = None

    @classmethod
    def for_loading(cls, model_dir: Path) -> InvocationContext:
        return cls(model_dir, {})

    @classmethod
    def for_request(
        cls,
        model_dir: Path,
        *,
        content_type: str | None,
        accept: str | None,
        custom_attributes: str | None,
    ) -> InvocationContext:
        headers: dict[str, str] = {}
        if content_type:
            headers["Content-Type"] = content_type
        if accept:
            headers["Accept"] = accept
        if custom_attributes is not None:
            headers["X-Amzn-SageMaker-Custom-Attributes"] = custom_attributes
        return cls(model_dir, headers)

    def get_request_header(self, idx: int, key: str) -> str | None:
        return self.request_processor[idx].get_request_property(key)

    def get_all_request_header(self, idx: int) -> dict[str, str]:
        return self.request_processor[idx].get_request_properties()

    def set_response_header(self, idx: int, key: str, value: str) -> None:
        self.request_processor[idx].add_response_property(key, value)

    def set_response_content_type(self, idx: int, value: str) -> None:
        self.set_response_header(idx, "Content-Type", value)

    def get_response_content_type(self, idx: int) -> str | None:
        return self.request_processor[idx].get_response_headers().get("content-type")

    def response_header(self, key: str) -> str | None:
        """The value a handler set for ``key`` on the (single) response, if any."""
        return self.request_processor[0].get_response_headers().get(key.lower())

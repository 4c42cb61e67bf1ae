"""Errors raised while unpacking a model artifact or serving a request through its handler."""

from __future__ import annotations


class ArtifactError(Exception):
    """A model artifact that cannot be used: broken archive, unsafe entry, no loadable model.

    The message is one line fit for an API answer; ``details`` adds what only the owner of the
    files should see (e.g. which file of a host directory broke the rule), for logs and the CLI.
    """

    def __init__(self, message: str, details: str | None = None) -> None:
        super().__init__(message)
        self.extra = details

    @property
    def details(self) -> str:
        return f"{self} ({self.extra})" if self.extra else str(self)


class InferenceError(Exception):
    """A request the handler refuses, carrying the HTTP status the container answers with.

    Mirrors the inference toolkit's ``GenericInferenceToolkitError``: 415 for an unsupported
    content type, 406 for an unsupported accept, 400 for a body that cannot be decoded.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

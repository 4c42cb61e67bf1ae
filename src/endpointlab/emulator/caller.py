"""Who sent the request being served, for the services that answer with it (STS
GetCallerIdentity).

The app records the caller of each request in a context variable once it has authenticated it
(each request runs in its own task, so its own context): with ``serve --auth``, the IAM user the
signing key belongs to; without, nobody in particular.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Caller:
    """``user_arn`` and ``user_name`` of the verified key's IAM user with ``serve --auth``, else
    None (any credentials are accepted and may do anything, as the account's root could)."""

    user_arn: str | None = None

    @property
    def user_name(self) -> str | None:
        return None if self.user_arn is None else self.user_arn.rsplit("/", 1)[-1]


_ANONYMOUS = Caller()
_CALLER: ContextVar[Caller | None] = ContextVar("endpointlab_request_caller", default=None)


def set_caller(caller: Caller) -> None:
    """Record the caller of the current request."""
    _CALLER.set(caller)


def current_caller() -> Caller:
    """The caller of the current request (an anonymous one if the app recorded none)."""
    return _CALLER.get() or _ANONYMOUS

"""When the request being served arrived, for latencies measured end to end (OverheadLatency).

The app stamps each request with ``time.perf_counter()`` as it starts handling it, in a context
variable (each request runs in its own task, so its own context); a service reads how long
the request has been in the emulator without that value passing through every layer.
"""

from __future__ import annotations

import time
from contextvars import ContextVar

_ARRIVAL: ContextVar[float | None] = ContextVar("endpointlab_request_arrival", default=None)


def mark_arrival(at: float | None = None) -> None:
    """Record that the current request arrived now (or at ``at``, a perf_counter value)."""
    _ARRIVAL.set(time.perf_counter() if at is None else at)


def arrival() -> float | None:
    """The current request's arrival (``time.perf_counter()`` seconds), if the app stamped it."""
    return _ARRIVAL.get()

"""What a supervisor and one worker process say to each other over their pipe.

The parent only pings; the child reports that its model loaded (or why it did not), answers
pings from its event loop, and announces when it retires itself (a request outlived the timeout).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Ping:
    """Parent -> child: answer with a Pong carrying the same stamp."""

    sent_at: float


@dataclass(frozen=True)
class Pong:
    """Child -> parent: the child's event loop is alive."""

    sent_at: float


@dataclass(frozen=True)
class Ready:
    """Child -> parent: the model is loaded and the child is about to serve."""

    pid: int
    load_s: float


@dataclass(frozen=True)
class LoadFailed:
    """Child -> parent: the model could not be loaded; ``message`` is one line, ``details`` more."""

    pid: int
    message: str
    details: str = ""


@dataclass(frozen=True)
class Retiring:
    """Child -> parent: this worker stops taking requests and exits; start a replacement now."""

    pid: int
    reason: str


ChildMessage = Pong | Ready | LoadFailed | Retiring
ParentMessage = Ping

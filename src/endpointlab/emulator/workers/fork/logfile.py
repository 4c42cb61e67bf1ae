"""Append-only text logs: what a model's container would print to its log stream.

Worker processes and their host append entries (model load failures, invocation exceptions with
their tracebacks, worker exits) to one file per endpoint variant. Each entry is one ``write`` on a
file opened with ``O_APPEND``, so the entries of several processes do not interleave.
"""

from __future__ import annotations

import os
import time


def append_log(path: str, text: str) -> None:
    """Append ``text`` as one entry, its first line stamped with the UTC time and the writer's
    pid; an empty ``path`` means no log. Never raises: a log that cannot be written must not
    fail the request or the worker that wanted to write it."""
    if not path:
        return
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
    entry = f"{stamp}.{int(now % 1 * 1000):03d}Z [pid {os.getpid()}] {text.rstrip()}\n"
    try:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError:
        return
    try:
        os.write(descriptor, entry.encode("utf-8", errors="replace"))
    except OSError:
        pass
    finally:
        os.close(descriptor)

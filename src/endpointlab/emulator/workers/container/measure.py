"""Resident memory of worker processes: RSS, PSS and USS from psutil.

Forked workers share the parent's preloaded libraries copy-on-write, so RSS counts those pages in
every worker while PSS splits them among the sharers: the sum of PSS over a container's processes
is the memory the container really occupies.
"""

from __future__ import annotations

from dataclasses import dataclass

import psutil  # type: ignore[import-untyped]


@dataclass(frozen=True)
class MemoryUsage:
    """One process's memory in bytes; PSS and USS are None where the OS does not report them."""

    pid: int
    rss_bytes: int
    pss_bytes: int | None
    uss_bytes: int | None


def memory_usage(pid: int) -> MemoryUsage:
    """RSS, PSS and USS of process ``pid`` (PSS needs Linux and permission to read smaps)."""
    process = psutil.Process(pid)
    try:
        full = process.memory_full_info()
    except (psutil.AccessDenied, NotImplementedError):
        return MemoryUsage(pid, int(process.memory_info().rss), None, None)
    pss = getattr(full, "pss", None)
    uss = getattr(full, "uss", None)
    return MemoryUsage(
        pid,
        int(full.rss),
        None if pss is None else int(pss),
        None if uss is None else int(uss),
    )


def child_pids(pid: int) -> list[int]:
    """Direct children of ``pid`` (a container's workers), oldest first."""
    children = psutil.Process(pid).children(recursive=False)
    return [child.pid for child in sorted(children, key=lambda child: child.create_time())]

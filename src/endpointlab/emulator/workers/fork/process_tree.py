"""Own every process a model starts: subreapers, and killing a whole tree of descendants.

A model may fork, ``setsid()`` and double-fork to leave a daemon behind. ``become_subreaper``
(Linux's PR_SET_CHILD_SUBREAPER) makes such orphans children of the calling process instead of
PID 1, so they stay in its tree: ``serve`` and the fork server both call it, and
``kill_descendants`` then finds and SIGKILLs everything below them (process groups and sessions
do not hide a process from its ancestors). Elsewhere both are no-ops.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psutil  # type: ignore[import-untyped]

log = logging.getLogger(__name__)

PR_SET_CHILD_SUBREAPER = 36
ROUNDS = 20  # a process forking as fast as it is killed is caught within a few rounds


def become_subreaper() -> bool:
    """Adopt this process's orphaned descendants (Linux only); False where impossible."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def kill_descendants(pid: int | None = None) -> int:
    """SIGKILL every process below ``pid`` (default: this one), again until none is left
    (children forked meanwhile), and reap those that were this process's children. Returns how
    many were killed."""
    import psutil  # not at import time: the fork server imports this module before it forks

    root = os.getpid() if pid is None else pid
    killed: set[int] = set()
    for _ in range(ROUNDS):
        try:
            found = [p for p in psutil.Process(root).children(recursive=True) if _running(p)]
        except psutil.Error:
            break
        if not found:
            break
        for process in found:
            with contextlib.suppress(psutil.Error):
                process.kill()
                killed.add(process.pid)
        psutil.wait_procs(found, timeout=1.0)  # also reaps those that are our children
    if killed:
        log.info("killed %d leftover processes below pid %d", len(killed), root)
    _reap_orphans()
    return len(killed)


def _running(process: psutil.Process) -> bool:
    import psutil

    try:
        return bool(process.status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def _reap_orphans() -> None:
    """Collect the exit status of adopted orphans (a subreaper must, or they stay zombies)."""
    import psutil

    for child in psutil.Process().children():
        with contextlib.suppress(ChildProcessError, OSError, psutil.Error):
            if child.status() == psutil.STATUS_ZOMBIE:
                os.waitpid(child.pid, os.WNOHANG)

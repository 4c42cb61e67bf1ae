"""Hold a worker process to a share of the CPUs with the cgroup v1 ``cpu`` controller, if it can.

``CpuQuotas.detect()`` finds the emulator's own group in the ``cpu`` hierarchy; ``limit(pid,
cpus)`` puts one process in a new group beside it (``endpointlab-<emulator pid>-c<token>-<n>``,
the token drawn per ``CpuQuotas``, so two emulators in one process never share a group) whose CFS
quota is ``cpus`` periods per period, so it never runs faster than ``cpus`` cores on average and,
under contention, weighs what a process would. Where that is impossible (not Linux, not root,
cgroup v2 only, controller not mounted) ``detect`` returns quotas that do nothing and whose
``mechanism`` says so; callers size thread pools either way.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from endpointlab.emulator.workers.fork.cgroup_v1 import PREFIX, writable_parent

log = logging.getLogger(__name__)

CGROUP_ROOT = Path("/sys/fs/cgroup")
OWN_CGROUPS = Path("/proc/self/cgroup")
PERIOD_US = 100_000
MIN_QUOTA_US = 1_000  # the kernel refuses quotas under 1 ms
NO_QUOTA = "none: thread pools sized to the share, cores shared by every process"
CGROUP_QUOTA = "cgroup v1 cpu.cfs_quota_us per instance"


@dataclass
class CpuLimit:
    """One process's quota group; ``release`` removes it once the process has exited."""

    path: Path | None = None

    def release(self) -> None:
        if self.path is not None:
            with contextlib.suppress(OSError):
                self.path.rmdir()
            self.path = None


class CpuQuotas:
    """Per-process CPU quotas in groups beside the emulator's own (or none at all)."""

    def __init__(self, parent: Path | None) -> None:
        self._parent = parent
        self._prefix = f"{PREFIX}{os.getpid()}-c{secrets.token_hex(4)}-"
        self._numbers = itertools.count(1)  # limit() runs in several threads at once

    @property
    def mechanism(self) -> str:
        """How instance CPU shares are enforced, in words for logs and the README."""
        return CGROUP_QUOTA if self._parent is not None else NO_QUOTA

    @property
    def enforced(self) -> bool:
        return self._parent is not None

    @classmethod
    def detect(cls, root: Path = CGROUP_ROOT, own: Path = OWN_CGROUPS) -> CpuQuotas:
        """Quotas beside this process's cgroup v1 ``cpu`` group if groups can be made there
        (``root`` is where the hierarchies are mounted, ``own`` lists this process's groups)."""
        return cls(writable_parent(root, own, "cpu", "cpu.cfs_quota_us", ""))

    def limit(self, pid: int, cpus: float) -> CpuLimit:
        """Hold process ``pid`` to ``cpus`` cores on average (no-op without cgroups)."""
        if self._parent is None:
            return CpuLimit()
        path = self._parent / f"{self._prefix}{next(self._numbers)}"
        quota = max(MIN_QUOTA_US, round(cpus * PERIOD_US))
        try:
            path.mkdir()
            (path / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (path / "cpu.cfs_quota_us").write_text(str(quota))
            (path / "cgroup.procs").write_text(str(pid))
        except OSError as exc:  # the process already exited, or the group went away
            log.debug("no CPU quota for pid %d: %s", pid, exc)
            CpuLimit(path).release()
            return CpuLimit()
        return CpuLimit(path)

    def close(self) -> None:
        """Remove the emulator's groups left (their processes have exited by now)."""
        if self._parent is None:
            return
        for group in self._parent.glob(f"{self._prefix}*"):
            with contextlib.suppress(OSError):
                group.rmdir()

"""Hold an instance's worker processes to its memory with the cgroup v1 ``memory`` controller.

``MemoryLimits.detect()`` finds the emulator's own group in the ``memory`` hierarchy; ``group(
limit_bytes)`` makes a group beside it (``endpointlab-<emulator pid>-m<token>-<n>``) whose
``memory.limit_in_bytes`` (and ``memsw``, so swap is no way out) is the limit: the kernel
reclaims, then kills a process of the group the moment the group needs more, so nothing runs
past its memory. ``add(pid)`` puts a worker in (the processes it starts follow it) and
``oom_kills()`` counts the kernel's kills, so a dead worker can be told apart from a crashed one.

A worker is forked from the fork server and shares its pages (the preloaded libraries) without
being charged for them, as a container would be: the group's limit is the instance's memory less
the worker's resident set when it joins. Where groups cannot be made (not Linux, not root, no v1
``memory`` hierarchy: a pure cgroup v2 host would need a delegated subtree) groups are sampled
instead: a thread reads the members' resident memory every ``SAMPLE_S`` and SIGKILLs the largest
of a group over its limit (no rlimit: the workers reserve 4-5 times the address space they use).
A process that cannot join its group's cgroup is sampled the same way (with a warning), against
the limit less what the cgroup's members use: no worker runs without a limit.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import secrets
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from endpointlab.emulator.workers.fork.cgroup_v1 import PREFIX, writable_parent

log = logging.getLogger(__name__)

CGROUP_ROOT = Path("/sys/fs/cgroup")
OWN_CGROUPS = Path("/proc/self/cgroup")
CGROUP_LIMIT = "cgroup v1 memory.limit_in_bytes per instance (the kernel stops a worker at it)"
SAMPLE_S = 0.02
NO_LIMIT = (
    f"resident memory sampled every {SAMPLE_S * 1000:.0f} ms per instance "
    "(no writable cgroup v1 memory controller here)"
)
MIN_LIMIT = 16 * 1024 * 1024  # a group with less cannot even run a Python process


@dataclass(eq=False)
class MemoryGroup:
    """One instance's memory group: a cgroup (``path``), or processes ``sampler`` watches, or
    (neither) nothing enforced; ``release`` kills what is left in it and removes it."""

    path: Path | None = None
    limit_bytes: int = 0
    members: list[int] = field(default_factory=list)
    released_kills: int = 0  # oom_kills() once the group is gone
    sampler: MemorySampler | None = None
    sampled_kills: int = 0
    _baselines: dict[int, int] = field(default_factory=dict)
    _budget: int | None = None  # the limit less what the first member shared
    _limited: bool = False  # the cgroup's limit is written
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def enforced(self) -> bool:
        """Whether the kernel enforces the limit (a cgroup), not sampling."""
        return self.path is not None

    def add(self, pid: int) -> None:
        """Put process ``pid`` (and what it starts from now on) in the group; a process that
        cannot join the cgroup has its memory sampled instead (never left unlimited)."""
        with self._lock:  # an instance's workers start concurrently, each adding itself
            if self._budget is None:
                # The first member sets the limit: the instance's memory less what it already
                # shares with the fork server (its resident set now), never below MIN_LIMIT.
                self._budget = max(MIN_LIMIT, self.limit_bytes - _resident_bytes(pid))
            if self.path is None:
                self._sample(pid)
                return
            try:
                if not self._limited:
                    # Once: cgroup v1 refuses (EINVAL) a memory limit above the memsw limit.
                    _write(self.path, "memory.limit_in_bytes", self._budget)
                    _write(self.path, "memory.memsw.limit_in_bytes", self._budget, optional=True)
                    self._limited = True
                (self.path / "cgroup.procs").write_text(str(pid))
            except ProcessLookupError:
                return  # the process has exited already
            except OSError as exc:
                log.warning(
                    "pid %d could not join memory group %s (sampling its memory instead): %s",
                    pid,
                    self.path.name,
                    exc,
                )
                self._sample(pid)
                return
            self.members.append(pid)

    def _sample(self, pid: int) -> None:
        if self.sampler is None:
            log.warning("pid %d runs without a memory limit: no sampler for its group", pid)
            return
        self._baselines[pid] = _resident_bytes(pid)  # what it shares at the start
        self.members.append(pid)
        self.sampler.watch(self)

    def oom_kills(self) -> int:
        """How many processes of the group were killed for memory so far."""
        return self._cgroup_kills() + self.sampled_kills

    def _cgroup_kills(self) -> int:
        if self.path is None:
            return self.released_kills
        try:
            lines = (self.path / "memory.oom_control").read_text().splitlines()
        except OSError:
            return 0
        for line in lines:
            name, _, value = line.partition(" ")
            if name == "oom_kill" and value.strip().isdigit():
                return int(value)
        return 0

    def usage_bytes(self) -> int | None:
        if self.path is None:
            return None
        try:
            return int((self.path / "memory.max_usage_in_bytes").read_text())
        except (OSError, ValueError):
            return None

    def check(self) -> None:
        """(Sampling) SIGKILL the largest sampled member if the group is over its limit: its
        sampled members' resident memory less what each shared at the start (plus the usage of
        its cgroup, if some members are in one), against the limit less what the first shared,
        as a cgroup counts it."""
        usage = {pid: _resident_bytes(pid) for pid in list(self._baselines)}
        for pid, resident in usage.items():
            if resident == 0:  # exited
                self._baselines.pop(pid, None)
        usage = {pid: r - self._baselines.get(pid, 0) for pid, r in usage.items() if r}
        if not usage:
            return
        in_cgroup = self._cgroup_usage()
        if sum(usage.values()) + in_cgroup <= (self._budget or MIN_LIMIT):
            return
        victim = max(usage, key=lambda pid: usage[pid])
        with contextlib.suppress(OSError):
            os.kill(victim, signal.SIGKILL)
            self.sampled_kills += 1
        self._baselines.pop(victim, None)

    def _cgroup_usage(self) -> int:
        if self.path is None:
            return 0
        try:
            return int((self.path / "memory.usage_in_bytes").read_text())
        except (OSError, ValueError):
            return 0

    def release(self) -> None:
        """Kill what is left in the group (processes the model started) and remove it."""
        if self.sampler is not None:
            self.sampler.forget(self)
        if self.path is None:
            return
        for _ in range(10):
            try:
                pids = [int(p) for p in (self.path / "cgroup.procs").read_text().split()]
            except (OSError, ValueError):
                break
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.01)  # letting the kernel remove the killed processes from the group
        self.released_kills = self._cgroup_kills()
        with contextlib.suppress(OSError):
            self.path.rmdir()
        self.path = None


class MemorySampler:
    """The fallback: a thread checking every watched group every ``interval_s``."""

    def __init__(self, interval_s: float = SAMPLE_S) -> None:
        self._interval_s = interval_s
        self._groups: set[MemoryGroup] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, group: MemoryGroup) -> None:
        with self._lock:
            self._groups.add(group)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="memory-sampler", daemon=True
                )
                self._thread.start()

    def forget(self, group: MemoryGroup) -> None:
        with self._lock:
            self._groups.discard(group)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):  # the sampling interval, not work
            with self._lock:
                groups = list(self._groups)
            for group in groups:
                group.check()


class MemoryLimits:
    """Memory groups beside the emulator's own, or sampled groups where cgroups are missing."""

    def __init__(self, parent: Path | None) -> None:
        self._parent = parent
        # Several emulators may run in one process (tests): each names its groups apart.
        self._prefix = f"{PREFIX}{os.getpid()}-m{secrets.token_hex(4)}-"
        self._numbers = itertools.count(1)
        # Without cgroups every group is sampled; with them, a process that cannot join its
        # group is (the thread starts with the first sampled process).
        self._sampler = MemorySampler()

    @property
    def mechanism(self) -> str:
        """How instance memory is enforced, in words for the start-up banner and the README."""
        return CGROUP_LIMIT if self._parent is not None else NO_LIMIT

    @property
    def enforced(self) -> bool:
        return self._parent is not None

    @classmethod
    def detect(cls, root: Path = CGROUP_ROOT, own: Path = OWN_CGROUPS) -> MemoryLimits:
        """Groups beside this process's cgroup v1 ``memory`` group if they can be made there."""
        return cls(writable_parent(root, own, "memory", "memory.limit_in_bytes", "m"))

    def group(self, limit_bytes: int) -> MemoryGroup:
        """A new, empty group for one instance of ``limit_bytes`` (sampled without cgroups)."""
        if self._parent is None:
            return MemoryGroup(limit_bytes=limit_bytes, sampler=self._sampler)
        path = self._parent / f"{self._prefix}{next(self._numbers)}"
        try:
            path.mkdir()
        except OSError as exc:
            log.warning("no memory group for an instance (sampling its memory instead): %s", exc)
            return MemoryGroup(limit_bytes=limit_bytes, sampler=self._sampler)
        return MemoryGroup(path, limit_bytes, sampler=self._sampler)

    def close(self) -> None:
        """Remove the emulator's groups left (their processes have exited by now)."""
        self._sampler.close()
        if self._parent is None:
            return
        for group in self._parent.glob(f"{self._prefix}*"):
            with contextlib.suppress(OSError):
                group.rmdir()


def _write(group: Path, name: str, value: int, *, optional: bool = False) -> None:
    path = group / name
    if optional and not path.exists():
        return  # memsw files exist only where swap accounting is on
    path.write_text(str(value))


def _resident_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return 0
    return 0

"""What the cgroup v1 CPU quotas and memory groups share: this process's group in a controller's
hierarchy, and the removal of groups left behind by emulators that died without cleaning up.

Groups are named ``endpointlab-<emulator pid>-...``; a group whose emulator is gone is empty once
its workers have exited, so it can be removed (``rmdir``) safely.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

PREFIX = "endpointlab-"


def own_group(root: Path, own: Path, controller: str, control_file: str) -> Path | None:
    """This process's group in the v1 ``controller`` hierarchy under ``root`` (from ``own``, a
    /proc/<pid>/cgroup file), if it is mounted here and has ``control_file``."""
    try:
        lines = own.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.count(":") < 2:
            continue
        _, controllers, relative = line.split(":", 2)
        if controller in controllers.split(","):
            group = root / controller / relative.lstrip("/")
            return group if (group / control_file).is_file() else None
    return None


def writable_parent(
    root: Path, own: Path, controller: str, control_file: str, mark: str
) -> Path | None:
    """Where this emulator can make its ``controller`` groups: beside this process's own group,
    once groups left by dead emulators (names ``endpointlab-<pid>-<mark>...``) are removed and a
    probe group could be made; None otherwise."""
    parent = own_group(root, own, controller, control_file)
    if parent is None:
        return None
    remove_stale(parent, f"{PREFIX}*-{mark}*")
    probe = parent / f"{PREFIX}{os.getpid()}-probe{'-' + mark if mark else ''}"
    try:
        probe.mkdir(exist_ok=True)
        probe.rmdir()
    except OSError as exc:
        log.info("cgroup v1 %s groups unavailable (%s): %s", controller, parent, exc)
        return None
    return parent


def remove_stale(parent: Path, pattern: str) -> None:
    """Remove the groups under ``parent`` matching ``pattern`` whose emulator is gone."""
    for group in parent.glob(pattern):
        pid = group.name[len(PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and not alive(int(pid)):
            with contextlib.suppress(OSError):
                group.rmdir()


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists (a process of another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

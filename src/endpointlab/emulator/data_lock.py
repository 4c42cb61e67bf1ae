"""One server per data directory: an OS lock on ``<data dir>/serve.lock``.

``lock_data_dir`` takes a POSIX record lock (``fcntl.lockf``) on the file and writes the holder's
PID into it. The kernel drops the lock when the process ends, however it ends (kill -9
included), and forked children (workers) do not inherit it, so a crashed server's leftover
workers never keep the directory locked. A second server finds the lock taken and names the
holder.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from endpointlab.config import SettingsError

LOCK_NAME = "serve.lock"


class DataDirInUseError(SettingsError):
    """Another process holds the data directory's lock."""


class DataDirLock:
    """The held lock; it lasts until ``release`` or the end of the process."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None


def lock_data_dir(data_dir: Path) -> DataDirLock:
    """Lock ``data_dir`` for this process, or raise ``DataDirInUseError`` naming the holder."""
    path = data_dir / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = _holder(fd)
        os.close(fd)
        who = f"PID {holder}" if holder is not None else "a process whose PID is not recorded yet"
        raise DataDirInUseError(
            f"the data dir {data_dir} is in use by another endpointlab serve ({who}); "
            "stop it or choose another --data-dir"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return DataDirLock(path, fd)


def _holder(fd: int) -> int | None:
    """The PID the holder wrote into the lock file (None if it has not written it yet)."""
    with contextlib.suppress(OSError, ValueError):
        return int(os.pread(fd, 32, 0).decode("ascii").strip())
    return None

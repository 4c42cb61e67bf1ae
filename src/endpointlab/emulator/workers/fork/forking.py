"""The emulator's side of the fork server (``zygote``): start it, have it fork workers, watch them.

One fork server per ``WorkerHost``, which owns it and stops it (``WorkerHost.close``); nothing
starts at import. It is started on first use with one native thread per pool in its environment,
and restarted if it has died. ``ForkServer.fork(sock)`` hands it a worker's end of a socket pair
and returns a ``ForkedProcess``: the worker's pid, and a sentinel that becomes readable when it
has exited (then ``exitcode`` is its exit code, negative for a signal, as multiprocessing
reports it).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import weakref
from collections.abc import Sequence

from endpointlab.config import DEFAULT_PRELOAD
from endpointlab.emulator.workers.fork.process_tree import kill_descendants
from endpointlab.emulator.workers.fork.zygote import EXIT_CODE, PID

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
UNKNOWN_EXIT = 255  # the fork server died before it could report the exit code


class ForkServerError(OSError):
    """The fork server could not start a worker."""


class ForkedProcess:
    """A worker forked by the fork server: its pid, its exit sentinel and exit code."""

    def __init__(self, pid: int, sentinel: int) -> None:
        self.pid = pid
        self.sentinel = sentinel
        self._exitcode: int | None = None
        os.set_blocking(sentinel, False)
        weakref.finalize(self, os.close, sentinel)

    @property
    def exitcode(self) -> int | None:
        """None while the worker runs; then its exit code (negative: the signal that ended it)."""
        if self._exitcode is None:
            try:
                data = os.read(self.sentinel, EXIT_CODE.size)
            except BlockingIOError:
                return None  # nothing written yet: still running
            except OSError:
                data = b""
            (code,) = EXIT_CODE.unpack(data) if len(data) == EXIT_CODE.size else (UNKNOWN_EXIT,)
            self._exitcode = code
        return self._exitcode

    def is_alive(self) -> bool:
        return self.exitcode is None


class ForkServer:
    """The fork-server process and the control socket to it; ``fork`` is thread-safe."""

    def __init__(self, preload: Sequence[str] = DEFAULT_PRELOAD) -> None:
        self._preload = tuple(preload)  # what the fork server imports before its first fork
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        self._fork_requested = False

    def close(self) -> None:
        """Stop the fork server (its owner does, at shutdown): it exits at end of stream, its
        workers with it. Without the lock: a thread still waiting for a fork gets an error, not
        a hang."""
        control, process = self._control, self._process
        self._control = self._process = None
        if process is not None and not self._fork_requested:
            # Never asked to fork, so no worker below it: stop it even mid-import, at once.
            process.terminate()
        if control is not None:
            with contextlib.suppress(OSError):
                control.shutdown(socket.SHUT_RDWR)
            control.close()
        if process is not None:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def kill_workers(self) -> int:
        """SIGKILL every worker and every process below one (a shutdown out of time); the
        fork server stays. Returns how many processes were killed."""
        process = self._process
        if process is None or process.poll() is not None:
            return 0
        return kill_descendants(process.pid)

    def ensure_running(self) -> None:
        """Start the fork server unless it runs (it imports and warms up in the background)."""
        with self._lock:
            self._ensure_running()

    def fork(self, worker_sock: socket.socket) -> ForkedProcess:
        """Fork a worker that will serve ``worker_sock`` (the caller may close its copy)."""
        if worker_sock.fileno() < 0:  # not the fork server's failure: keep it running
            raise ValueError("the worker's socket is closed")
        with self._lock:
            control = self._ensure_running()
            self._fork_requested = True
            try:
                socket.send_fds(control, [b"f"], [worker_sock.fileno()])
                reply, fds, _, _ = socket.recv_fds(control, PID.size, 1)
            except OSError as exc:
                self._stop()
                raise ForkServerError(f"the fork server is gone: {exc}") from exc
            if len(reply) != PID.size:
                self._stop()
                raise ForkServerError("the fork server is gone")
            (pid,) = PID.unpack(reply)
            if pid < 0 or not fds:
                for fd in fds:
                    os.close(fd)
                raise ForkServerError(-pid, f"could not fork a worker: {os.strerror(-pid)}")
            return ForkedProcess(pid, fds[0])

    def _ensure_running(self) -> socket.socket:
        if self._control is not None and self._process is not None:
            if self._process.poll() is None:
                return self._control
            self._stop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        environment = dict(os.environ)
        # The fork server and its workers start with one native thread per pool; a worker with a
        # larger CPU share raises its own limit (framed_child). No OpenMP team is ever started in
        # the fork server, so a worker can start one.
        environment.update(dict.fromkeys(THREAD_VARIABLES, "1"))
        code = (
            "from endpointlab.emulator.workers.fork.zygote import main; "
            f"main({theirs.fileno()}, {list(self._preload)!r})"
        )
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-c", code],
                pass_fds=[theirs.fileno()],
                env=environment,
                stdin=subprocess.DEVNULL,
            )
        finally:
            theirs.close()
        self._control = ours
        return ours

    def _stop(self) -> None:
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._process is not None:
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait()
            self._process = None

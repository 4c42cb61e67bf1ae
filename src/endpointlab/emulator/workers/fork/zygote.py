"""The fork server: a process that imports and warms the model libraries once, then forks workers.

``python -c "...zygote import main; main(fd)"``, started by ``forking.ForkServer``, with ``fd``
its end of a SOCK_SEQPACKET control socket. Each message on it carries one file descriptor, a
worker's end of its socket pair: the fork server forks, the child becomes a worker that serves
that socket (``framed_child.serve_spawned``), and the reply is the child's pid with the read end
of a status pipe on which the child's exit code (``os.waitstatus_to_exitcode``) is written when
it has been reaped (end of file without it: the fork server is gone). End of file on the control
socket, that is the emulator gone, stops the fork server; it kills every process left below it
first. It is a subreaper, so processes a model detached (setsid, double fork) stay below it.

Why not ``multiprocessing``'s fork server: memory. A forked worker shares the fork server's pages
until either of them writes to one, and a page the *fork server* writes after a fork stays behind
as a private page of the child. multiprocessing's fork-server loop (selectors, connection objects)
and its child bootstrap (unpickling the process object, ``_bootstrap``) cost each rtb-ctr worker
about 0.7 MB more than this loop, which writes about 75 pages per fork (mostly ``os.fork``'s own
at-fork hooks and interpreter state), and a worker that goes straight to its socket.
"""

from __future__ import annotations

import contextlib
import gc
import os
import select
import signal
import socket
import struct
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from endpointlab.config import DEFAULT_PRELOAD
from endpointlab.emulator.workers.fork.framed_child import serve_spawned
from endpointlab.emulator.workers.fork.process_tree import become_subreaper, kill_descendants
from endpointlab.emulator.workers.fork.warmup import preload, warm_up

PID = struct.Struct("=q")  # the reply: the child's pid, or -errno if it could not fork
EXIT_CODE = struct.Struct("=q")  # written on a child's status pipe when it has been reaped
FD = struct.Struct("=i")  # a file descriptor in SCM_RIGHTS ancillary data


def main(control_fd: int, libraries: Sequence[str] = DEFAULT_PRELOAD) -> None:
    """The fork server's life: preload, warm up, then fork on request until the host is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the group; the host decides
    become_subreaper()
    # Until it serves, SIGTERM (a host stopping before any fork) ends it cleanly, even mid-import,
    # and a host that is gone (crashed) ends it between two imports.
    signal.signal(signal.SIGTERM, _exit_at_once)
    if not preload(libraries, stop=lambda: _host_gone(control_fd)):
        return
    warm_up()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # Objects that exist now are never collected again: no collection, in the fork server or in
    # a worker, walks them and writes to their GC headers (which would copy their pages into
    # the worker). A worker whose model makes many objects may run a full collection.
    gc.collect()
    gc.freeze()
    control = socket.socket(fileno=control_fd)
    try:
        _serve(control)
    finally:
        # The emulator is gone (or stopped every worker it wanted): nothing below may outlive it.
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        kill_descendants()


def _host_gone(control_fd: int) -> bool:
    """Whether the host has closed its end of the control socket (a request waiting: no)."""
    poller = select.poll()  # not select.select: the descriptor may be past 1023
    poller.register(control_fd, select.POLLIN)
    if not poller.poll(0):
        return False
    with socket.socket(fileno=os.dup(control_fd)) as control:
        try:
            return not control.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return False
        except OSError:
            return True


def _exit_at_once(signum: int, frame: object) -> NoReturn:
    raise SystemExit(0)


def _serve(control: socket.socket) -> None:
    # SIGCHLD only wakes the poll below (through the wakeup pipe); children are reaped there.
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, _ignore)
    poller = select.poll()
    poller.register(control.fileno(), select.POLLIN)
    poller.register(wake_r, select.POLLIN)
    forker = _Forker(control, [control.fileno(), wake_r, wake_w])
    while True:
        for fd, _ in poller.poll():
            if fd == wake_r:
                _drain(wake_r)
                _reap(forker.statuses)
            elif not forker.fork_one():
                return


class _Forker:
    """Serves fork requests. Between two forks the fork server runs only this: every object it
    touches is one more page copied into the worker just forked, so it calls the socket's own
    methods (not ``socket.recv_fds``, which builds arrays) on values made in advance."""

    def __init__(self, control: socket.socket, inherited: list[int]) -> None:
        self.statuses: dict[int, int] = {}  # pid -> write end of its status pipe
        self._inherited = inherited
        self._recvmsg = control.recvmsg
        self._sendmsg = control.sendmsg
        self._fd_space = socket.CMSG_SPACE(FD.size)

    def fork_one(self) -> bool:
        """Serve one request; False once the host has closed the control socket."""
        try:
            message, ancillary, _, _ = self._recvmsg(PID.size, self._fd_space)
        except OSError:
            return False
        if not message:
            return False
        fds = [FD.unpack_from(data)[0] for level, kind, data in ancillary if len(data) >= FD.size]
        if not fds:
            return self._reply(-22, None)  # EINVAL: a request without a socket
        worker_fd = fds[0]
        try:
            status_r, status_w = os.pipe()
        except OSError as exc:  # out of descriptors: refuse this worker, keep the others
            os.close(worker_fd)
            return self._reply(-(exc.errno or 24), None)
        try:
            pid = os.fork()
        except OSError as exc:
            os.close(status_r)
            os.close(status_w)
            os.close(worker_fd)
            return self._reply(-(exc.errno or 12), None)
        if pid == 0:
            _child(worker_fd, [status_r, status_w, *self._inherited, *self.statuses.values()])
        os.close(worker_fd)
        self.statuses[pid] = status_w
        replied = self._reply(pid, status_r)
        os.close(status_r)
        return replied

    def _reply(self, pid: int, fd: int | None) -> bool:
        """Send the reply; False if the host has gone meanwhile."""
        rights = [] if fd is None else [(socket.SOL_SOCKET, socket.SCM_RIGHTS, FD.pack(fd))]
        try:
            self._sendmsg([PID.pack(pid)], rights)
        except OSError:
            return False
        return True


def _child(worker_fd: int, close: list[int]) -> NoReturn:
    """The forked worker: drop the fork server's descriptors and signal handling, serve, exit
    with the code multiprocessing would give (SystemExit's code, 1 for an exception)."""
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # SIGINT stays ignored, as in a worker
        for fd in close:
            os.close(fd)
        serve_spawned(socket.socket(fileno=worker_fd))
        code = 0
    except SystemExit as exc:
        if exc.code is None:
            code = 0
        elif isinstance(exc.code, int):
            code = exc.code
        else:
            print(exc.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(AttributeError, ValueError, OSError):
                stream.flush()
        os._exit(code)


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass


def _reap(statuses: dict[int, int]) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        status_w = statuses.pop(pid, None)
        if status_w is not None:
            # OSError: the host has closed its end, nobody is waiting for this exit code.
            with contextlib.suppress(OSError):
                os.write(status_w, EXIT_CODE.pack(os.waitstatus_to_exitcode(status)))
            os.close(status_w)


def _ignore(signum: int, frame: object) -> None:
    """SIGCHLD's handler: the wakeup pipe does the work."""

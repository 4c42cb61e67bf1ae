"""Run a container as a subprocess (``python -m endpointlab.emulator.workers.container``), stop it.

For tests, benchmarks and demos: start it with a full environment (SAGEMAKER_* included), wait for
the line that names its URL, find its worker processes, and stop it with SIGTERM (then SIGKILL).
Output is drained by background threads so a chatty model can never block the container.
"""

from __future__ import annotations

import collections
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

from endpointlab.emulator.workers.container.measure import child_pids

_READY = re.compile(r" at (http://\S+)")


class ContainerStartError(RuntimeError):
    """The container process exited or stayed silent instead of announcing its URL."""


class ContainerProcess:
    """One container subprocess; a context manager that always stops what it started."""

    def __init__(
        self,
        archive: Path,
        env: Mapping[str, str] | None = None,
        *,
        cpus: Sequence[int] | None = None,
        python: str = sys.executable,
    ) -> None:
        self.archive = archive
        self._command = [python, "-m", "endpointlab.emulator.workers.container", str(archive)]
        self._env = dict(env) if env is not None else None
        self._cpus = cpus
        self._process: subprocess.Popen[str] | None = None
        self._announced = threading.Event()
        self.url: str | None = None
        self.stdout: collections.deque[str] = collections.deque(maxlen=500)
        self.stderr: collections.deque[str] = collections.deque(maxlen=500)

    def start(self) -> ContainerProcess:
        """Spawn the process (pinned to ``cpus`` if given; its workers inherit the pinning)."""
        self._process = subprocess.Popen(
            self._command,
            env=self._env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        if self._cpus is not None:
            os.sched_setaffinity(self._process.pid, set(self._cpus))
        assert self._process.stdout is not None and self._process.stderr is not None
        self._drain(self._process.stdout, self.stdout, announces=True)
        self._drain(self._process.stderr, self.stderr, announces=False)
        return self

    def wait_ready(self, timeout_s: float = 120.0) -> str:
        """Block until the container prints its URL; raise ContainerStartError if it never does."""
        self._announced.wait(timeout_s)
        if self.url is not None:
            return self.url
        process = self._require()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.stop()
            raise ContainerStartError(
                f"the container did not announce its URL within {timeout_s:g} s"
            ) from None
        raise ContainerStartError(self.last_error() or f"exited with code {process.returncode}")

    def last_error(self) -> str:
        """The last non-empty line the container wrote to stderr."""
        lines = [line for line in list(self.stderr) if line.strip()]
        return lines[-1].strip() if lines else ""

    @property
    def pid(self) -> int:
        return self._require().pid

    def worker_pids(self) -> list[int]:
        return child_pids(self.pid)

    def signal(self, signum: int) -> None:
        self._require().send_signal(signum)

    def stop(self, timeout_s: float = 30.0) -> int:
        """SIGTERM, wait up to ``timeout_s``, then SIGKILL; returns the exit status."""
        process = self._require()
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return process.returncode

    def __enter__(self) -> ContainerProcess:
        return self.start() if self._process is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._process is not None:
            self.stop()

    def _require(self) -> subprocess.Popen[str]:
        if self._process is None:
            raise RuntimeError("the container process has not been started")
        return self._process

    def _drain(self, stream: IO[str], lines: collections.deque[str], *, announces: bool) -> None:
        def read() -> None:
            for line in stream:
                lines.append(line)
                match = _READY.search(line) if announces and self.url is None else None
                if match:
                    self.url = match.group(1)
                    self._announced.set()
            if announces:
                self._announced.set()  # end of output: the process is gone

        threading.Thread(target=read, name="container-output", daemon=True).start()

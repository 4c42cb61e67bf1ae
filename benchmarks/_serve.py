"""Start ``endpointlab serve`` for a benchmark and wait for its listening line: shared by the
benchmark scripts (run as ``python benchmarks/NAME.py``, so this directory is on sys.path)."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

LISTENING = "endpointlab emulator listening on "


@dataclass
class Serving:
    process: subprocess.Popen[bytes]
    url: str


@contextlib.contextmanager
def serve(
    data_dir: Path,
    *flags: str,
    core: int | None = None,
    python: str = sys.executable,
    cwd: Path | None = None,
    stop_signal: int = signal.SIGTERM,
    timeout_s: float = 120.0,
) -> Iterator[Serving]:
    """``endpointlab serve --port 0 --data-dir DATA_DIR FLAGS`` (pinned to ``core`` with taskset
    if given), its output in ``DATA_DIR.parent/serve-<name>.log``; stopped with ``stop_signal``
    on the way out (killed if it takes over a minute)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir.parent / f"serve-{data_dir.name}.log"
    pin = ["taskset", "-c", str(core)] if core is not None else []
    command = [*pin, python, "-m", "endpointlab", "serve", "--port", "0"]
    command += ["--data-dir", str(data_dir), *flags]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=cwd)
    try:
        deadline = time.monotonic() + timeout_s
        while not (found := [ln for ln in log.read_text().splitlines() if LISTENING in ln]):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"endpointlab serve did not start:\n{log.read_text()}")
            time.sleep(0.05)  # waiting for the announcement line
        yield Serving(process, found[0].split(LISTENING, 1)[1].split()[0])
    finally:
        if process.poll() is None:
            process.send_signal(stop_signal)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

"""The local target's emulator never outlives the run: a process bench starts is told to stop
(SIGTERM: serve's bounded shutdown) when bench dies, even by SIGKILL, where no ``finally``
runs; and it has a session of its own, so a terminal's Ctrl-C reaches bench first."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil

from tests.api.support import still_running

# A stand-in for bench: it starts a child as it starts `endpointlab serve`, says its pid, waits.
RUNNER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from endpointlab.bench.targets import spawn_tied

    child = spawn_tied([sys.executable, "-c", "import time; time.sleep(120)"], Path(sys.argv[1]))
    print(child.pid, flush=True)
    time.sleep(120)
    """
)


def test_what_bench_starts_stops_when_bench_is_killed(tmp_path: Path) -> None:
    runner = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(tmp_path / "child.log")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert runner.stdout is not None
        child = int(runner.stdout.readline())
        assert os.getsid(child) == child != os.getsid(runner.pid)
        command = [sys.executable, "-c", "import time; time.sleep(120)"]
        deadline = time.monotonic() + 30
        while psutil.Process(child).cmdline() != command:  # until it has exec'd the command
            assert time.monotonic() < deadline
            time.sleep(0.02)
        runner.send_signal(signal.SIGKILL)
        runner.wait(timeout=10)
        assert still_running([child], timeout=20) == []
    finally:
        runner.kill()
        runner.wait()

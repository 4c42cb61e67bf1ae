"""The local target's emulator never outlives the run: killed with the runner (SIGKILL, where no
``finally`` runs), it shuts down with every process below it."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil

from tests.api.support import still_running

RUNNER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from endpointlab.bench.targets import LocalEmulator

    emulator = LocalEmulator([], Path(sys.argv[1]), [])
    emulator.start()
    print(emulator.process.pid, flush=True)
    time.sleep(120)
    """
)


def test_the_emulator_stops_when_the_runner_is_killed(tmp_path: Path) -> None:
    runner = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(tmp_path / "emulator.log")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert runner.stdout is not None
        emulator = int(runner.stdout.readline())
        tree = [emulator, *(p.pid for p in psutil.Process(emulator).children(recursive=True))]
        assert "endpointlab" in " ".join(psutil.Process(emulator).cmdline())
        runner.send_signal(signal.SIGKILL)
        runner.wait(timeout=10)
        # serve's shutdown is bounded at 10 s; the margin is for a loaded host.
        assert still_running(tree, timeout=30) == []
    finally:
        runner.kill()
        runner.wait()

"""``endpointlab serve`` owns every process its models start (emulator/server.py,
workers/fork/process_tree.py): after SIGINT the server is gone within its shutdown bound and so is
every process below it, even one a model detached with setsid() or one that ignores SIGTERM."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil
from botocore.exceptions import BotoCoreError, ClientError

from endpointlab.emulator.workers.fork.memory_limit import MemoryLimits
from tests.api.support import (
    LIGHT,
    Deployer,
    ServeProcess,
    client,
    handler_archive,
    invoke_json,
    still_running,
)

# Shutdown must finish within 10 s whatever the models do; the margin is for a loaded host.
SHUTDOWN_BOUND_S = 10.0
MARGIN_S = 8.0

# model_fn leaves a daemon behind: forked, setsid(), forked again (so it is nobody's child but
# the first fork's, which exits), ignoring SIGTERM. Its pid goes to PIDS for the test.
DETACHING_SOURCE = """
import os
import signal
import time

PIDS = {pids!r}


def model_fn(model_dir):
    first = os.fork()
    if first == 0:
        os.setsid()
        if os.fork() == 0:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            with open(PIDS, "a") as out:
                out.write(f"{{os.getpid()}}\\n")
            while True:
                time.sleep(1)
        os._exit(0)
    os.waitpid(first, 0)
    return "detached"


def transform_fn(model, data, content_type, accept, context):
    return '{{"pid": %d}}' % os.getpid(), "application/json"
"""

# A worker that ignores SIGTERM, keeps a child that ignores it too, and sleeps when asked.
STUBBORN_SOURCE = """
import os
import signal
import time

PIDS = {pids!r}


def model_fn(model_dir):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if os.fork() == 0:
        with open(PIDS, "a") as out:
            out.write(f"{{os.getpid()}}\\n")
        while True:
            time.sleep(1)
    return "stubborn"


def transform_fn(model, data, content_type, accept, context):
    text = data.decode() if isinstance(data, bytes) else data
    if text.startswith("sleep "):
        time.sleep(float(text.split()[1]))
    return '{{"pid": %d}}' % os.getpid(), "application/json"
"""


def _pids(path: Path, count: int) -> list[int]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if path.exists():
            pids = [int(line) for line in path.read_text().split()]
            if len(pids) >= count:
                return pids
        time.sleep(0.05)  # waiting for the model to write its children's pids
    raise AssertionError(f"the model did not start its children ({path})")


def test_sigint_stops_the_server_and_every_process_its_models_started(
    serve: Callable[..., ServeProcess], tmp_path: Path
) -> None:
    detached_pids = tmp_path / "detached.pids"
    stubborn_pids = tmp_path / "stubborn.pids"
    detaching = handler_archive(tmp_path / "a", DETACHING_SOURCE.format(pids=str(detached_pids)))
    stubborn = handler_archive(tmp_path / "b", STUBBORN_SOURCE.format(pids=str(stubborn_pids)))
    server = serve(tmp_path / "data", *LIGHT)
    url = server.start()
    assert server.process is not None
    # The start-up banner says how instance memory is held (workers/fork/memory_limit.py).
    assert f"Instance memory limits: {MemoryLimits.detect().mechanism}" in server.output()
    deployer = Deployer(client("sagemaker", url))
    runtime = client("sagemaker-runtime", url)
    first = deployer.deploy(detaching)
    second = deployer.deploy(stubborn)
    workers = [invoke_json(runtime, e)["pid"] for e in (first.endpoint, second.endpoint)]
    daemons = _pids(detached_pids, 1) + _pids(stubborn_pids, 1)
    for daemon in daemons:
        assert psutil.pid_exists(daemon)

    # A request the stubborn worker is busy with (5 minutes) when the server is told to stop.
    def busy() -> None:
        slow = client("sagemaker-runtime", url, read_timeout=120)
        with contextlib.suppress(BotoCoreError, ClientError):
            slow.invoke_endpoint(EndpointName=second.endpoint, Body=b"sleep 300")

    caller = threading.Thread(target=busy, daemon=True)
    caller.start()
    time.sleep(1.0)  # lets the request reach the worker (not simulated work)
    below = {p.pid for p in server.descendants()} | set(daemons) | set(workers)

    sent = time.monotonic()
    server.process.send_signal(signal.SIGINT)
    try:
        code = server.process.wait(timeout=SHUTDOWN_BOUND_S + MARGIN_S)
    finally:
        took = time.monotonic() - sent
        left = still_running(below, timeout=2)
        for pid in left:
            with contextlib.suppress(psutil.Error):
                psutil.Process(pid).kill()
        if server.process.poll() is None:
            server.process.kill()
        server.process = None
    assert code == 0, server.output()
    assert took < SHUTDOWN_BOUND_S + MARGIN_S
    assert not left, f"processes left behind after {took:.1f} s: {left}"
    assert "shutdown did not finish" not in server.output()  # bounded without the last resort

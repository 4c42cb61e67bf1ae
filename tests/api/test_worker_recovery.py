"""Worker processes killed with SIGKILL (endpoints/realtime.py, endpoints/serverless.py): a
real-time instance's worker and a provisioned serverless instance are always replaced, even when
the replacement is killed too while it loads; an on-demand serverless instance frees its slot."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from botocore.exceptions import ClientError

from endpointlab.config import EmulatorSettings
from tests.api.serverless_support import ServerlessDeployer, cold_start_ms
from tests.api.support import Deployer, client, handler_archive, running_emulator

RECOVERY_S = 30.0  # the bound; replacements take about a second here

# Loads for LOAD_S (so a replacement can be caught while it loads), answers its pid, sleeps
# on request.
SLOW_LOADING_SOURCE = """
import json
import os
import time


def model_fn(model_dir):
    time.sleep(1.0)
    return "m"


def transform_fn(model, data, content_type, accept, context):
    text = data.decode() if isinstance(data, bytes) else data
    if text.startswith("sleep "):
        time.sleep(float(text.split()[1]))
    return json.dumps({"pid": os.getpid()}), "application/json"
"""


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = EmulatorSettings(port=0, data_dir=tmp_path_factory.mktemp("recovery-data"))
    with running_emulator(settings) as running:
        yield running


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return handler_archive(tmp_path_factory.mktemp("slow-loading"), SLOW_LOADING_SOURCE)


def workers() -> set[int]:
    """Live worker processes of this test process's emulators (the fork server's children)."""
    found = set()
    for child in psutil.Process().children():
        with contextlib.suppress(psutil.Error):
            found |= {p.pid for p in child.children() if p.status() != psutil.STATUS_ZOMBIE}
    return found


def kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def new_worker(known: set[int], timeout: float = RECOVERY_S) -> int:
    """The pid of a worker started after ``known`` were (waiting for it up to ``timeout``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fresh = workers() - known
        if fresh:
            return min(fresh)
        time.sleep(0.01)  # polling the process table, not simulating work
    raise AssertionError(f"no worker started within {timeout:g} s")


def invoke(runtime: Any, endpoint: str, body: str = "pid") -> tuple[int, float | None]:
    response = runtime.invoke_endpoint(EndpointName=endpoint, Body=body, ContentType="text/plain")
    return json.loads(response["Body"].read())["pid"], cold_start_ms(response)


class Load:
    """Threads invoking an endpoint back to back until stopped; counts answers and errors."""

    def __init__(self, url: str, endpoint: str, threads: int) -> None:
        self.ok = 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._runtime = client("sagemaker-runtime", url)
        self._threads = [
            threading.Thread(target=self._run, args=(endpoint,)) for _ in range(threads)
        ]

    def _run(self, endpoint: str) -> None:
        while not self._stop.is_set():
            try:
                invoke(self._runtime, endpoint, "sleep 0.02")
                self.ok += 1
            except ClientError as exc:
                self.errors.append(exc.response["Error"]["Code"])

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=120)


def test_killed_real_time_workers_are_always_replaced_under_load(url: str, model: Path) -> None:
    deployer = Deployer(client("sagemaker", url))
    try:
        name = deployer.model(model, environment={"SAGEMAKER_MODEL_SERVER_WORKERS": "2"})
        endpoint = deployer.endpoint(deployer.config(name))
        runtime = client("sagemaker-runtime", url)
        with Load(url, endpoint, threads=3) as load:
            for round_ in range(5):
                serving = workers()
                assert len(serving) == 2, serving
                victim = invoke(runtime, endpoint)[0]
                kill(victim)
                replacement = new_worker(serving)
                if round_ % 2:  # the replacement is killed too, while it loads its model
                    kill(replacement)
                    replacement = new_worker(serving | {replacement})
                deadline = time.monotonic() + RECOVERY_S
                while len(workers()) < 2 and time.monotonic() < deadline:
                    time.sleep(0.05)  # waiting for the replacement, not simulating work
                assert len(workers()) == 2, f"round {round_}: the instance has {workers()}"
                answered = {invoke(runtime, endpoint, "sleep 0.2")[0] for _ in range(2)}
                assert victim not in answered
        assert load.ok > 0
        assert set(load.errors) <= {"ModelError"}  # requests the killed workers held
    finally:
        deployer.cleanup()


def test_a_killed_provisioned_instance_is_replaced_even_if_its_replacement_dies(
    url: str, model: Path
) -> None:
    deployer = ServerlessDeployer(client("sagemaker", url), model)
    try:
        endpoint = deployer.endpoint(max_concurrency=2, provisioned=1)
        runtime = client("sagemaker-runtime", url)
        for _ in range(2):
            provisioned, cold = invoke(runtime, endpoint)
            assert cold is None
            known = workers()
            kill(provisioned)
            replacement = new_worker(known)
            kill(replacement)  # while it loads its model
            final = new_worker(known | {replacement})
            deadline = time.monotonic() + RECOVERY_S
            while time.monotonic() < deadline:
                pid, cold = invoke(runtime, endpoint) if _loaded(final) else (0, 0.0)
                if pid == final:
                    break
                time.sleep(0.05)  # waiting for the replacement to load, not simulating work
            assert (pid, cold) == (final, None)  # warm: the provisioned instance is back
    finally:
        deployer.cleanup()


def _loaded(pid: int) -> bool:
    """Whether worker ``pid`` has had time to load (the model takes a second)."""
    with contextlib.suppress(psutil.Error):
        return time.time() - psutil.Process(pid).create_time() > 2.0
    return False


def test_a_killed_on_demand_instance_frees_its_slot(url: str, model: Path) -> None:
    deployer = ServerlessDeployer(client("sagemaker", url), model)
    try:
        endpoint = deployer.endpoint(max_concurrency=1)
        runtime = client("sagemaker-runtime", url)
        slow = client("sagemaker-runtime", url, read_timeout=120)

        # Killed while idle: the next request cold-starts.
        idle, cold = invoke(runtime, endpoint)
        assert cold is not None
        kill(idle)
        pid, cold = invoke(runtime, endpoint)
        assert pid != idle and cold is not None

        # Killed while busy, then while starting: each request fails, the next one succeeds
        # (MaxConcurrency is 1: a slot still held would throttle it).
        failures: list[str] = []

        def call(body: str) -> None:
            try:
                invoke(slow, endpoint, body)
            except ClientError as exc:
                failures.append(exc.response["Error"]["Code"])

        busy = threading.Thread(target=call, args=("sleep 60",))
        busy.start()
        time.sleep(0.5)  # lets the request reach the worker (not simulated work)
        kill(pid)
        busy.join(timeout=60)
        known = workers()
        starting = threading.Thread(target=call, args=("pid",))
        starting.start()
        kill(new_worker(known))
        starting.join(timeout=60)
        assert failures == ["ModelError", "ModelError"]

        again, cold = invoke(runtime, endpoint)
        assert cold is not None and again != pid
        assert workers() >= {again}
    finally:
        deployer.cleanup()

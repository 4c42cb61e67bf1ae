"""Fixtures of the black-box API tests: built examples, emulators, boto3 clients, deployments.

The session shares one in-process emulator (uvicorn on a free port, in a thread) and builds each
example model once, when first needed; tests that need other settings or a real
``endpointlab serve`` process start their own and stop them before they end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from endpointlab.config import EmulatorSettings
from tests.api.support import (
    SHARED_HOST,
    Deployer,
    EmulatorThread,
    Example,
    Examples,
    ServeProcess,
    client,
    probe_archive,
    running_emulator,
)


@pytest.fixture(scope="session")
def examples() -> Examples:
    return Examples()


@pytest.fixture(scope="session")
def rtb(examples: Examples) -> Example:
    return examples["rtb-ctr"]


@pytest.fixture(scope="session")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The probe model (reports version and pid, sleeps or exits on request), label v1."""
    return probe_archive(tmp_path_factory.mktemp("probe-v1"), "v1")


@pytest.fixture(scope="session", autouse=True)
def _stop_the_shared_fork_server() -> Iterator[None]:
    yield
    SHARED_HOST.close()


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorThread]:
    """The session's in-process emulator with SageMaker's default limits."""
    settings = EmulatorSettings(port=0, data_dir=tmp_path_factory.mktemp("emulator-data"))
    thread = EmulatorThread(settings)
    thread.start()
    try:
        yield thread
    finally:
        thread.stop()


@pytest.fixture(scope="session")
def emulator_url(emulator: EmulatorThread) -> str:
    return emulator.url


@pytest.fixture(scope="session")
def sagemaker(emulator_url: str) -> Any:
    return client("sagemaker", emulator_url)


@pytest.fixture(scope="session")
def runtime(emulator_url: str) -> Any:
    return client("sagemaker-runtime", emulator_url)


@pytest.fixture
def deployer(sagemaker: Any) -> Iterator[Deployer]:
    """Deploys through boto3; everything it made is deleted when the test ends."""
    made = Deployer(sagemaker)
    try:
        yield made
    finally:
        made.cleanup()


@pytest.fixture(scope="module")
def quick_timeout_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An in-process emulator whose containers must answer within one second."""
    settings = EmulatorSettings(
        port=0, data_dir=tmp_path_factory.mktemp("quick-timeout"), invocation_timeout_s=1.0
    )
    with running_emulator(settings) as url:
        yield url


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., ServeProcess]]:
    """Start real ``endpointlab serve`` processes (``serve(data_dir, *flags)``); any still
    running at the end is killed."""
    started: list[ServeProcess] = []

    def make(data_dir: Path, *args: str) -> ServeProcess:
        logs = tmp_path / f"logs-{len(started)}"
        logs.mkdir()
        process = ServeProcess(data_dir, logs, args)
        started.append(process)
        return process

    try:
        yield make
    finally:
        for process in started:
            process.kill()


@pytest.fixture(scope="module")
def s3(emulator_url: str) -> Any:
    return client("s3", emulator_url)

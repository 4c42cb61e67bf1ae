"""Local ModelDataUrls (control/artifacts.py): only under the allowed model roots, directories
under the same rules as archives, size and time capped, and no error naming the host's files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, WaiterError

from endpointlab.config import EmulatorSettings
from tests.api.support import (
    IMAGE,
    ONE_WORKER,
    PROBE_SOURCE,
    ROLE,
    Deployer,
    EmulatorThread,
    client,
    error_of,
    handler_archive,
    invoke_json,
    unique,
)

OUTSIDE_ROOTS = (
    "Could not access model data at {url}: a local ModelDataUrl must be under a directory the "
    "emulator allows models from (the directory `endpointlab serve` was started in, its data "
    "directory, or a directory given with `serve --model-root`)."
)
# A readable file outside every root these tests' emulators allow (the working directory, the
# system temp directory and the data directories).
OUTSIDE_FILE = Path("/etc/hostname") if Path("/etc/hostname").is_file() else Path("/etc/passwd")

# A model that answers with the bytes of one of its files (to show what it could read).
READER_SOURCE = """
from pathlib import Path


def model_fn(model_dir):
    return Path(model_dir, "secret.txt").read_bytes()


def transform_fn(model, data, content_type, accept):
    return model, "application/octet-stream"
"""


def create_model(sagemaker: Any, url: str) -> str:
    name = unique("model")
    sagemaker.create_model(
        ModelName=name,
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": url, "Environment": ONE_WORKER},
    )
    return name


def failed_reason(deployer: Deployer, url: str) -> str:
    """Deploy ``url`` and return the FailureReason of the endpoint, which must fail."""
    model = create_model(deployer.sagemaker, url)
    deployer.models.append(model)
    endpoint = deployer.endpoint(deployer.config(model), wait=False)
    with pytest.raises(WaiterError):
        deployer.wait_in_service(endpoint)
    described = deployer.sagemaker.describe_endpoint(EndpointName=endpoint)
    assert described["EndpointStatus"] == "Failed"
    reason: str = described["FailureReason"]
    assert reason.startswith(
        f'Failed to extract model data archive for container "container_1" from URL "{url}". '
        "Please ensure that the object located at the URL is a valid tar.gz archive. ("
    )
    return reason


def model_directory(directory: Path, source: str) -> Path:
    (directory / "code").mkdir(parents=True)
    (directory / "code" / "inference.py").write_text(source)
    return directory


@pytest.mark.parametrize(
    "url", ["/etc", OUTSIDE_FILE.as_uri(), "/nowhere/model.tar.gz", "file:///root/model.tar.gz"]
)
def test_a_local_path_outside_the_model_roots_is_refused_by_create_model(
    sagemaker: Any, url: str
) -> None:
    with pytest.raises(ClientError) as caught:
        create_model(sagemaker, url)
    assert error_of(caught) == {
        "Code": "ValidationException",
        "Message": OUTSIDE_ROOTS.format(url=url),
        "Status": 400,
    }


def test_a_link_under_a_root_to_a_file_outside_is_outside(sagemaker: Any, tmp_path: Path) -> None:
    link = tmp_path / "model.tar.gz"
    link.symlink_to(OUTSIDE_FILE)
    with pytest.raises(ClientError) as caught:
        create_model(sagemaker, link.as_uri())
    assert error_of(caught)["Message"] == OUTSIDE_ROOTS.format(url=link.as_uri())


def test_a_directory_model_holding_a_link_fails_without_reading_it(
    deployer: Deployer, emulator: EmulatorThread, tmp_path: Path
) -> None:
    directory = model_directory(tmp_path / "model", READER_SOURCE)
    (directory / "secret.txt").symlink_to(OUTSIDE_FILE)
    url = directory.as_uri()
    reason = failed_reason(deployer, url)
    assert reason.endswith("(the model directory holds a symbolic link)")
    logs = emulator.emulator.settings.data_dir / "logs"
    [endpoint] = deployer.endpoints
    log = (logs / endpoint / "AllTraffic" / "primary.log").read_text()
    assert "the model directory holds a symbolic link (secret.txt)" in log


def test_a_directory_model_with_a_hard_link_is_refused_too(
    deployer: Deployer, tmp_path: Path
) -> None:
    directory = model_directory(tmp_path / "model", READER_SOURCE)
    (tmp_path / "elsewhere.txt").write_text("not part of the model")
    os.link(tmp_path / "elsewhere.txt", directory / "secret.txt")
    reason = failed_reason(deployer, directory.as_uri())
    assert reason.endswith("(the model directory holds a hard-linked file)")


def test_a_directory_model_serves_like_its_archive(
    deployer: Deployer, runtime: Any, tmp_path: Path
) -> None:
    source = PROBE_SOURCE.format(version="from-a-directory", load_delay_s=0.0)
    directory = model_directory(tmp_path / "model", source)
    (directory / "nested").mkdir()
    (directory / "nested" / "weights.bin").write_bytes(b"\0" * 4096)
    model = create_model(deployer.sagemaker, str(directory))
    deployer.models.append(model)
    endpoint = deployer.endpoint(deployer.config(model))
    assert invoke_json(runtime, endpoint)["version"] == "from-a-directory"


def test_a_failed_directory_model_names_none_of_its_files(
    deployer: Deployer, emulator: EmulatorThread, tmp_path: Path
) -> None:
    # A host directory that holds no model (issue 16.1: the FailureReason listed its entries).
    directory = tmp_path / "home"
    directory.mkdir()
    for name in ("notes-of-the-host.txt", "id_host_key", "budget.xlsx"):
        (directory / name).write_text(name)
    model = create_model(deployer.sagemaker, directory.as_uri())
    deployer.models.append(model)
    endpoint = deployer.endpoint(deployer.config(model), wait=False)
    with pytest.raises(WaiterError):
        deployer.wait_in_service(endpoint)
    reason = deployer.sagemaker.describe_endpoint(EndpointName=endpoint)["FailureReason"]
    assert reason == (
        "The primary container for production variant AllTraffic did not pass the ping health "
        "check. Please check CloudWatch logs for this endpoint."
    )
    logs = emulator.emulator.settings.data_dir / "logs"
    assert "no model file" in (logs / endpoint / "AllTraffic" / "primary.log").read_text()


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[Deployer]:
    """An emulator that unpacks at most 8 KiB per model; the model roots are ``tmp/allowed``
    and the data directory only (not the system temp directory the other tests use)."""
    (tmp_path / "allowed").mkdir()
    settings = EmulatorSettings(
        port=0,
        data_dir=tmp_path / "data",
        model_roots=(tmp_path / "allowed",),
        max_model_bytes=8 * 1024,
    )
    thread = EmulatorThread(settings, test_artifacts=False)
    deployer = Deployer(client("sagemaker", thread.start()))
    try:
        yield deployer
    finally:
        deployer.cleanup()
        thread.stop()


def test_only_the_model_roots_and_the_data_directory_are_allowed(
    limited: Deployer, tmp_path: Path
) -> None:
    allowed = handler_archive(tmp_path / "allowed", READER_SOURCE, files={"secret.txt": "a"})
    in_data = tmp_path / "data" / "model.tar.gz"
    shutil.copy(allowed, in_data)
    create_model(limited.sagemaker, allowed.as_uri())
    create_model(limited.sagemaker, str(in_data))
    other = handler_archive(tmp_path / "other", READER_SOURCE, files={"secret.txt": "a"})
    with pytest.raises(ClientError) as caught:
        create_model(limited.sagemaker, other.as_uri())
    assert error_of(caught)["Message"] == OUTSIDE_ROOTS.format(url=other.as_uri())


def test_an_artifact_over_the_size_limit_fails_the_endpoint(
    limited: Deployer, tmp_path: Path
) -> None:
    archive = tmp_path / "allowed" / "big.tar.gz"
    source = model_directory(tmp_path / "big", READER_SOURCE)
    (source / "weights.bin").write_bytes(b"\0" * 9000)  # compresses to a few bytes
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(source, arcname=".")
    reason = failed_reason(limited, archive.as_uri())
    assert reason.endswith(
        "(the model artifact is larger than the limit of 8192 bytes (serve --max-model-size))"
    )
    directory = model_directory(tmp_path / "allowed" / "big-dir", READER_SOURCE)
    (directory / "weights.bin").write_bytes(b"\0" * 9000)
    reason = failed_reason(limited, directory.as_uri())
    assert "larger than the limit of 8192 bytes" in reason
    assert not any((tmp_path / "data" / "artifacts").glob("*/model"))  # nothing left behind


def test_a_model_directory_holding_the_data_directory_is_refused(tmp_path: Path) -> None:
    settings = EmulatorSettings(port=0, data_dir=tmp_path / "model" / "data")
    thread = EmulatorThread(settings)
    deployer = Deployer(client("sagemaker", thread.start()))
    try:
        model_directory(tmp_path / "model", READER_SOURCE)
        reason = failed_reason(deployer, str(tmp_path / "model"))
        assert reason.endswith("(the model directory holds the emulator's data directory)")
    finally:
        deployer.cleanup()
        thread.stop()


def test_unpacking_that_takes_too_long_fails_the_endpoint(tmp_path: Path) -> None:
    settings = EmulatorSettings(port=0, data_dir=tmp_path / "data", model_unpack_timeout_s=1e-6)
    thread = EmulatorThread(settings)
    deployer = Deployer(client("sagemaker", thread.start()))
    try:
        archive = handler_archive(tmp_path, READER_SOURCE, files={"secret.txt": "a"})
        reason = failed_reason(deployer, archive.as_uri())
        assert reason.endswith(
            "(unpacking the model artifact took longer than 1e-06 s (serve --model-unpack-timeout))"
        )
    finally:
        deployer.cleanup()
        thread.stop()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--model-root", "/nowhere/at/all"], "--model-root /nowhere/at/all is not a directory"),
        (["--max-model-size", "huge"], "'huge' is not a size (e.g. 500M, 50G)"),
        (["--model-unpack-timeout", "0"], "the duration '0' must be positive"),
    ],
)
def test_bad_artifact_options_are_one_line_errors(
    tmp_path: Path, flags: list[str], message: str
) -> None:
    command = [sys.executable, "-m", "endpointlab", "serve", "--port", "0"]
    finished = subprocess.run(
        [*command, "--data-dir", str(tmp_path / "data"), *flags],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 2
    assert finished.stderr == f"endpointlab: error: {message}\n"


def test_the_reader_model_serves_its_own_file(limited: Deployer, tmp_path: Path) -> None:
    """The model the refusals use works when its file is its own (so they refuse the link)."""
    archive = handler_archive(tmp_path / "allowed", READER_SOURCE, files={"secret.txt": "mine"})
    model = create_model(limited.sagemaker, archive.as_uri())
    limited.models.append(model)
    endpoint = limited.endpoint(limited.config(model))
    runtime = client("sagemaker-runtime", limited.sagemaker.meta.endpoint_url)
    answer = runtime.invoke_endpoint(EndpointName=endpoint, Body=b"x")
    assert answer["Body"].read() == b"mine"

"""The real ``endpointlab serve`` process (emulator/server.py, cli.py): it announces its URL,
serves unmodified boto3 code pointed at it by AWS_ENDPOINT_URL, and stops cleanly on SIGINT
or SIGTERM with every worker gone."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import psutil
import pytest
from botocore.config import Config

from endpointlab.models.artifact import extract_model_archive
from endpointlab.models.contract import InvocationRequest, load_handler
from tests.api.support import (
    LIGHT,
    Deployer,
    Example,
    ServeProcess,
    client,
    descendants,
    invoke_json,
)


def test_serve_runs_a_model_and_stops_cleanly_on_ctrl_c(
    serve: Callable[..., ServeProcess], tmp_path: Path, probe: Path
) -> None:
    """(SIGTERM is how the persistence tests stop it.)"""
    server = serve(tmp_path / "data", *LIGHT)
    url = server.start()
    assert url.startswith("http://127.0.0.1:")
    output = server.output()
    assert f"export AWS_ENDPOINT_URL={url}" in output
    assert "export AWS_DEFAULT_REGION=us-east-1" in output

    deployer = Deployer(client("sagemaker", url))
    deployment = deployer.deploy(probe)
    pid = invoke_json(client("sagemaker-runtime", url), deployment.endpoint)["pid"]
    assert pid in descendants(server.process.pid if server.process else None)
    # --preload numpy: the fork server (the worker's parent) imported no XGBoost, and the model
    # runs all the same.
    fork_server = psutil.Process(pid).ppid()
    assert "libxgboost" not in Path(f"/proc/{fork_server}/maps").read_text()

    assert server.stop(signal.SIGINT) == 0  # stop() also checks that no worker is left behind
    assert (tmp_path / "data" / "state.sqlite3").exists()


def test_unmodified_boto3_finds_the_emulator_through_aws_endpoint_url(
    emulator_url: str, rtb: Example, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator_url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    session = boto3.session.Session()
    sagemaker: Any = session.client("sagemaker", config=Config(retries={"total_max_attempts": 1}))
    runtime: Any = session.client("sagemaker-runtime")
    deployer = Deployer(sagemaker)
    deployment = deployer.deploy(rtb.archive)
    # The answers are the model's own: what its handler answers in this process.
    handler = load_handler(extract_model_archive(rtb.archive, tmp_path / "model"), {}, 1)
    for request in rtb.requests[:5]:
        response = runtime.invoke_endpoint(EndpointName=deployment.endpoint, **request)
        expected = handler.invoke(
            InvocationRequest(
                request["Body"].encode(), request["ContentType"], request.get("Accept")
            )
        )
        assert expected.status == 200
        assert (response["ContentType"], response["Body"].read()) == (
            expected.content_type,
            expected.body,
        )
    deployer.cleanup()


def test_a_busy_port_is_a_one_line_usage_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        command = [sys.executable, "-m", "endpointlab", "serve", "--port", str(port)]
        finished = subprocess.run(
            [*command, "--data-dir", str(tmp_path / "data")],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert finished.returncode == 2
    assert finished.stderr.startswith(f"endpointlab: error: cannot serve on 127.0.0.1:{port}")
    assert len(finished.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("flags", "error"),
    [
        (["--model-root", "/nowhere/at/all"], "--model-root /nowhere/at/all"),
        (["--preload", "numpy,no_such_library"], "--preload: no module named 'no_such_library'"),
        (["--preload", "numpy,3d"], "--preload: '3d' is not a module name"),
    ],
)
def test_a_bad_flag_is_refused_before_the_emulator_is_even_imported(
    flags: list[str], error: str
) -> None:
    """A usage error answers at once: none of the emulator (uvicorn, botocore's models, the
    worker host) is imported to refuse a flag, only the flags' own parser."""
    code = (
        "import sys\n"
        "from endpointlab.cli import main\n"
        "try:\n"
        f"    main(['serve', '--port', '0', *{flags!r}])\n"
        "finally:\n"
        "    heavy = ('endpointlab.emulator.', 'uvicorn', 'botocore')\n"
        "    print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    finished = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert finished.returncode == 2
    assert finished.stderr.startswith(f"endpointlab: error: {error}")
    assert len(finished.stderr.strip().splitlines()) == 1
    # The provisioning-time model reads its own flags; it is light (asyncio, yaml).
    assert finished.stdout.strip() == "['endpointlab.emulator.provisioning']"

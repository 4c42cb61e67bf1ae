"""Where ``endpointlab serve`` may listen (config.py, cli.py, emulator/server.py): without --auth
only on a loopback address unless --allow-unauthenticated-remote says otherwise, loudly; a
wildcard bind announces a URL a client can use, not ``http://0.0.0.0:PORT``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest

from tests.api.support import ServeProcess, client

ERROR = "endpointlab: error: "


def serve_once(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``serve`` expected to refuse at once (the timeout guards a server that started)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    command = [sys.executable, "-m", "endpointlab", "serve", "--port", "0"]
    return subprocess.run(
        [*command, "--data-dir", str(tmp_path / "data"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_a_public_bind_without_auth_is_refused_in_one_line(tmp_path: Path, host: str) -> None:
    finished = serve_once(tmp_path, "--host", host)
    assert finished.returncode == 2
    assert finished.stdout == ""
    assert finished.stderr.startswith(f"{ERROR}refusing to listen on {host} without --auth")
    assert "--allow-unauthenticated-remote" in finished.stderr
    assert len(finished.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "data").exists()  # refused before anything was made


def test_loopback_names_need_no_override(
    serve: Callable[..., ServeProcess], tmp_path: Path
) -> None:
    server = serve(tmp_path / "data", "--host", "localhost")
    url = server.start()
    assert client("sts", url).get_caller_identity()["Account"] == "123456789012"
    assert server.stop() == 0


def test_the_override_serves_on_all_interfaces_with_a_usable_url_and_a_warning(
    serve: Callable[..., ServeProcess], tmp_path: Path
) -> None:
    server = serve(tmp_path / "data", "--host", "0.0.0.0", "--allow-unauthenticated-remote")
    url = server.start()
    assert url.startswith("http://127.0.0.1:")
    output = server.output()
    assert f"export AWS_ENDPOINT_URL={url}" in output
    assert "0.0.0.0" not in output.split("WARNING")[0].split("export")[1]
    assert "on all interfaces" in output
    assert "WARNING: listening on 0.0.0.0 without --auth" in output
    assert client("sts", url).get_caller_identity()["Account"] == "123456789012"
    assert server.stop() == 0


def test_a_public_bind_with_auth_needs_no_override(
    serve: Callable[..., ServeProcess], tmp_path: Path
) -> None:
    keys = tmp_path / "auth.json"
    allow_all = {"Effect": "Allow", "Action": "*", "Resource": "*"}
    key = {
        "access_key_id": "AKIDADMIN",
        "secret_access_key": "admin-secret",
        "policies": [{"Version": "2012-10-17", "Statement": [allow_all]}],
    }
    keys.write_text(json.dumps({"keys": [key]}))
    server = serve(tmp_path / "data", "--host", "0.0.0.0", "--auth", str(keys))
    url = server.start()
    assert url.startswith("http://127.0.0.1:")
    assert "WARNING" not in server.output()
    session = boto3.session.Session(
        aws_access_key_id="AKIDADMIN", aws_secret_access_key="admin-secret", region_name="us-east-1"
    )
    sts = session.client("sts", endpoint_url=url)
    assert sts.get_caller_identity()["Arn"].endswith(":user/AKIDADMIN")
    assert server.stop() == 0

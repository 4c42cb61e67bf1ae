"""The container's edges: payload limit from SAGEMAKER_MAX_PAYLOAD_IN_MB, the bound socket, the URL.

A port that cannot be bound and a bad SAGEMAKER_* value fail as SettingsError with one line,
so the CLI can print it; the socket stays unlistened until a worker has its model.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from endpointlab.config import ContainerSettings, SettingsError
from endpointlab.emulator.workers.container import run_container
from endpointlab.emulator.workers.container.run import (
    THREAD_VARIABLES,
    bind_socket,
    container_url,
    limit_native_threads,
    max_payload_bytes,
    supervisor_options,
)
from endpointlab.models.errors import ArtifactError


def test_the_payload_limit_defaults_to_6_mb_and_follows_the_variable() -> None:
    assert max_payload_bytes({}) == 6 * 1024 * 1024
    assert max_payload_bytes({"SAGEMAKER_MAX_PAYLOAD_IN_MB": "1"}) == 1024 * 1024
    assert max_payload_bytes({"SAGEMAKER_MAX_PAYLOAD_IN_MB": "0.5"}) == 512 * 1024


@pytest.mark.parametrize("raw", ["0", "-2", "six"])
def test_a_bad_payload_limit_is_a_settings_error(raw: str) -> None:
    with pytest.raises(SettingsError, match="SAGEMAKER_MAX_PAYLOAD_IN_MB"):
        max_payload_bytes({"SAGEMAKER_MAX_PAYLOAD_IN_MB": raw})


def test_port_0_binds_a_free_port_that_refuses_connections_until_a_worker_listens() -> None:
    sock = bind_socket("127.0.0.1", 0)
    try:
        url = container_url(sock)
        port = sock.getsockname()[1]
        assert port > 0 and url == f"http://127.0.0.1:{port}"
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
    finally:
        sock.close()


def test_a_port_in_use_is_a_settings_error_naming_it() -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        port = taken.getsockname()[1]
        with pytest.raises(SettingsError, match=f"cannot listen on 127.0.0.1:{port}"):
            bind_socket("127.0.0.1", port)
    finally:
        taken.close()


def test_a_wildcard_address_is_reported_as_loopback() -> None:
    sock = bind_socket("0.0.0.0", 0)
    try:
        assert container_url(sock).startswith("http://127.0.0.1:")
    finally:
        sock.close()


def test_thread_variables_are_set_to_the_worker_share(monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy  # noqa: F401  (already imported: the limits come too late for this process)

    for name in THREAD_VARIABLES:
        monkeypatch.setenv(name, "99")  # restored after the test
    assert limit_native_threads(3) is True
    assert [os.environ[name] for name in THREAD_VARIABLES] == ["3", "3", "3"]


def test_supervision_timings_follow_the_request_timeout() -> None:
    options = supervisor_options(ContainerSettings(workers=3, timeout_s=7))
    assert options.workers == 3
    assert options.unresponsive_after_s > 7
    assert options.startup_timeout_s == 240


def test_a_missing_archive_fails_before_any_fork(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in THREAD_VARIABLES:
        monkeypatch.setenv(name, "1")  # run_container sets them; restore afterwards
    settings = ContainerSettings(port=0, workers=1)
    with pytest.raises(ArtifactError, match="does not exist"):
        run_container(tmp_path / "missing.tar.gz", settings)

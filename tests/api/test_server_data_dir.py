"""One ``endpointlab serve`` per data directory (emulator/data_lock.py): a second server on the
same directory refuses to start, naming the directory and the holder's PID, and the lock of a
server killed with SIGKILL is free again at once."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import psutil

from tests.api.support import ServeProcess, client, still_running


def serve_once(data_dir: Path) -> subprocess.CompletedProcess[str]:
    """A second ``serve`` on ``data_dir``; it must exit on its own (the timeout guards a hang)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    command = [sys.executable, "-m", "endpointlab", "serve", "--port", "0"]
    return subprocess.run(
        [*command, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


def test_a_second_server_on_the_same_data_dir_refuses_to_start(
    serve: Callable[..., ServeProcess], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    first = serve(data_dir)
    url = first.start()
    client("s3", url).create_bucket(Bucket="only-on-the-first")
    assert first.process is not None

    second = serve_once(data_dir)

    assert second.returncode == 2
    assert second.stdout == ""
    assert second.stderr.startswith("endpointlab: error: ")
    assert len(second.stderr.strip().splitlines()) == 1
    assert str(data_dir) in second.stderr
    assert f"PID {first.process.pid}" in second.stderr
    # The first server is untouched.
    buckets = client("s3", url).list_buckets()["Buckets"]
    assert [b["Name"] for b in buckets] == ["only-on-the-first"]
    assert first.stop() == 0


def test_a_killed_servers_data_dir_is_free_again(
    serve: Callable[..., ServeProcess], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    crashed = serve(data_dir)
    url = crashed.start()
    client("s3", url).create_bucket(Bucket="kept")
    assert crashed.process is not None
    children = [p.pid for p in crashed.descendants()]
    crashed.process.kill()  # SIGKILL: nothing of the server runs to release the lock
    crashed.process.wait(timeout=30)
    crashed.process = None
    try:
        # At once, even while the dead server's workers may still be exiting: they never
        # held the lock.
        after = serve(data_dir)
        url = after.start()
        buckets = client("s3", url).list_buckets()["Buckets"]
        assert [b["Name"] for b in buckets] == ["kept"]
        assert after.stop() == 0
    finally:
        for orphan in still_running(children, timeout=15):
            with contextlib.suppress(psutil.Error):
                psutil.Process(orphan).kill()


def test_a_stopped_servers_data_dir_is_free_again(
    serve: Callable[..., ServeProcess], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    first = serve(data_dir)
    first.start()
    assert first.stop() == 0
    again = serve(data_dir)
    again.start()
    assert again.stop() == 0

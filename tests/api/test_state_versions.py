"""The data dir's state file is versioned (control/schema.py): a data dir written before versions
existed comes back whole and is stamped; a newer or unreadable one is refused in one line and
left exactly as it was.

``data/state-v0.sql`` is the state file endpointlab 0.1.0 wrote (commit 95c2697, dumped with
``sqlite3.Connection.iterdump``): a probe model with a tag, a real-time and a serverless config,
and both endpoints InService. Its model path is the placeholder ``{model_data_url}``.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from endpointlab.config import EmulatorSettings
from endpointlab.emulator.control.schema import SCHEMA_VERSION
from tests.api.support import EmulatorThread, client, invoke_json, probe_archive

V0_DUMP = Path(__file__).parent / "data" / "state-v0.sql"


def write_v0_data_dir(root: Path) -> Path:
    archive = probe_archive(root / "model", "v0")
    data_dir = root / "data"
    data_dir.mkdir()
    db = sqlite3.connect(data_dir / "state.sqlite3")
    db.executescript(V0_DUMP.read_text().replace("{model_data_url}", str(archive)))
    db.close()
    return data_dir


def user_version(data_dir: Path) -> int:
    db = sqlite3.connect(data_dir / "state.sqlite3")
    try:
        return int(db.execute("PRAGMA user_version").fetchone()[0])
    finally:
        db.close()


def serve_once(data_dir: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "endpointlab", "serve", "--port", "0"]
    return subprocess.run(
        [*command, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_data_dir_from_before_versions_comes_back_whole(tmp_path: Path) -> None:
    data_dir = write_v0_data_dir(tmp_path)
    assert user_version(data_dir) == 0
    thread = EmulatorThread(EmulatorSettings(port=0, data_dir=data_dir))
    thread.start()
    try:
        sagemaker: Any = client("sagemaker", thread.url)
        runtime: Any = client("sagemaker-runtime", thread.url)
        for name in ("rt", "sls"):
            described = sagemaker.describe_endpoint(EndpointName=name)
            assert described["EndpointStatus"] == "InService"
            reply = invoke_json(runtime, name, "who")
            assert reply["version"] == "v0"
        variant = sagemaker.describe_endpoint(EndpointName="sls")["ProductionVariants"][0]
        assert variant["CurrentServerlessConfig"] == {"MemorySizeInMB": 1024, "MaxConcurrency": 2}
        model = sagemaker.describe_model(ModelName="probe")
        tags = sagemaker.list_tags(ResourceArn=model["ModelArn"])["Tags"]
        assert tags == [{"Key": "team", "Value": "ml"}]
        endpoint_arn = sagemaker.describe_endpoint(EndpointName="rt")["EndpointArn"]
        assert sagemaker.list_tags(ResourceArn=endpoint_arn)["Tags"] == [
            {"Key": "stage", "Value": "dev"}
        ]
    finally:
        thread.stop()
    assert user_version(data_dir) == SCHEMA_VERSION


def test_a_data_dir_from_a_newer_version_is_refused_and_left_alone(tmp_path: Path) -> None:
    data_dir = write_v0_data_dir(tmp_path)
    db = sqlite3.connect(data_dir / "state.sqlite3")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    before = (data_dir / "state.sqlite3").read_bytes()
    finished = serve_once(data_dir)
    assert finished.returncode == 2
    [line] = finished.stderr.strip().splitlines()
    assert line.startswith("endpointlab: error: the state file ")
    assert str(data_dir / "state.sqlite3") in line
    assert f"layout version {SCHEMA_VERSION + 1}" in line
    assert "newer endpointlab" in line
    assert (data_dir / "state.sqlite3").read_bytes() == before


def test_a_state_file_that_is_not_sqlite_is_refused_and_left_alone(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    content = b"not a database at all\n" * 100
    (data_dir / "state.sqlite3").write_bytes(content)
    finished = serve_once(data_dir)
    assert finished.returncode == 2
    [line] = finished.stderr.strip().splitlines()
    assert "cannot be read" in line
    assert str(data_dir / "state.sqlite3") in line
    assert (data_dir / "state.sqlite3").read_bytes() == content

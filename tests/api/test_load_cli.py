"""``endpointlab load`` as a user runs it, against the emulator: throttles counted exactly
against a serverless MaxConcurrency, records on disk, sample requests, one-line errors."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from endpointlab.results import CSV_COLUMNS, read_records
from endpointlab.results.store import parts_dir
from tests.api.serverless_support import MEMORY_SOURCE, ServerlessDeployer
from tests.api.support import Deployer, Example, handler_archive, probe_archive


def load(
    url: str, tmp: Path, *args: str, credentials: bool = True
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ENDPOINT_URL=url,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(tmp / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp / "no-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    if credentials:
        env.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test")
    command = [sys.executable, "-m", "endpointlab", "load", *args]
    return subprocess.run(
        command, check=False, env=env, capture_output=True, text=True, timeout=120
    )


def write_args(tmp: Path, *requests: dict[str, str]) -> Path:
    path = tmp / "args.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in requests))
    return path


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def serverless(
    sagemaker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerlessDeployer]:
    archive = handler_archive(tmp_path_factory.mktemp("sleepy"), MEMORY_SOURCE)
    made = ServerlessDeployer(sagemaker, archive)
    try:
        yield made
    finally:
        made.cleanup()


@pytest.mark.slow
def test_a_burst_past_max_concurrency_counts_every_throttle(
    emulator_url: str, serverless: ServerlessDeployer, tmp_path: Path
) -> None:
    endpoint = serverless.endpoint(max_concurrency=2)
    args = write_args(tmp_path, {"Body": "sleep 1", "ContentType": "text/plain"})
    out = tmp_path / "burst.csv"
    ran = load(
        emulator_url,
        tmp_path,
        "--endpoint",
        endpoint,
        "-n",
        "6",
        "--retries",
        "0",
        "--invoke-args",
        str(args),
        "--out",
        str(out),
        "--out",
        str(tmp_path / "b.parquet"),
    )
    assert ran.returncode == 0, ran.stderr
    rows = csv_rows(out)
    assert len(rows) == 6
    assert sorted(r["error_code"] for r in rows) == [""] * 2 + ["ThrottlingException"] * 4
    assert [r["throttled"] for r in rows].count("True") == 4
    assert {r["attempts"] for r in rows} == {"1"}
    assert {r["status_response"] for r in rows} == {"200", "400"}
    # The two admitted requests each started an instance: the emulator flagged a cold start.
    assert sorted(r["cold_start"] for r in rows if r["error_code"] == "") == ["True", "True"]
    assert "4 requests, 4 attempts" in ran.stdout
    assert len(read_records(tmp_path / "b.parquet")) == 6


@pytest.mark.slow
def test_enough_retries_leave_no_throttled_request(
    emulator_url: str, serverless: ServerlessDeployer, tmp_path: Path
) -> None:
    endpoint = serverless.endpoint(max_concurrency=2)
    args = write_args(tmp_path, {"Body": "sleep 0.3", "ContentType": "text/plain"})
    out = tmp_path / "retried.parquet"
    ran = load(
        emulator_url,
        tmp_path,
        "--endpoint",
        endpoint,
        "-n",
        "4",
        "--retry-mode",
        "standard",
        "--max-attempts",
        "12",
        "--invoke-args",
        str(args),
        "--out",
        str(out),
    )
    assert ran.returncode == 0, ran.stderr
    records = read_records(out)
    assert [r.error_code for r in records] == [""] * 4
    assert not any(r.throttled for r in records)
    throttled_attempts = sum(r.throttled_attempts for r in records)
    assert throttled_attempts >= 2
    assert sum(r.attempts for r in records) == 4 + throttled_attempts


@pytest.mark.slow
def test_the_csv_has_the_issue_columns_and_the_examples_sample_requests_are_used(
    emulator_url: str, deployer: Deployer, rtb: Example, tmp_path: Path
) -> None:
    endpoint = deployer.deploy(rtb.archive).endpoint
    out = tmp_path / "rtb.csv"
    ran = load(
        emulator_url,
        tmp_path,
        "--endpoint",
        endpoint,
        "--clients",
        "2",
        "--duration",
        "1",
        "--out",
        str(out),
    )
    assert ran.returncode == 0, ran.stderr
    assert "sample requests" in ran.stderr
    with out.open(newline="") as handle:
        header = next(csv.reader(handle))
    assert tuple(header) == CSV_COLUMNS
    rows = csv_rows(out)
    assert rows and all(r["status_response"] == "200" for r in rows)
    assert {r["variant"] for r in rows} == {"AllTraffic"}
    assert "p99.9" in ran.stdout and "throughput" in ran.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--endpoint", "e", "--out", "x.csv"], "pass one load shape"),
        (["--endpoint", "e", "--rate", "5", "--out", "x.csv"], "--rate needs --duration"),
        (
            [
                "--endpoint",
                "e",
                "-n",
                "2",
                "--retries",
                "1",
                "--max-attempts",
                "2",
                "--out",
                "x.csv",
            ],
            "not both",
        ),
        (["--endpoint", "e", "-n", "2", "--out", "x.txt"], "must end in .csv or .parquet"),
        (["--endpoint", "e", "-n", "2", "--processes", "0", "--out", "x.csv"], "at least 1"),
    ],
)
def test_bad_arguments_fail_in_one_line(
    emulator_url: str, tmp_path: Path, args: list[str], message: str
) -> None:
    ran = load(emulator_url, tmp_path, *args)
    assert ran.returncode == 2
    assert message in ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1
    assert "Traceback" not in ran.stderr


def test_a_missing_endpoint_fails_in_one_line(emulator_url: str, tmp_path: Path) -> None:
    ran = load(
        emulator_url, tmp_path, "--endpoint", "nope", "-n", "1", "--out", str(tmp_path / "o.csv")
    )
    assert ran.returncode == 2
    (line,) = ran.stderr.strip().splitlines()
    assert line.startswith("endpointlab: error: endpoint 'nope': Could not find endpoint")


def test_an_unreachable_url_fails_in_one_line(tmp_path: Path) -> None:
    ran = load(
        "http://127.0.0.1:9",
        tmp_path,
        "--endpoint",
        "e",
        "-n",
        "1",
        "--out",
        str(tmp_path / "o.csv"),
    )
    assert ran.returncode == 2
    assert "cannot reach http://127.0.0.1:9" in ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1


def test_missing_credentials_fail_in_one_line(emulator_url: str, tmp_path: Path) -> None:
    ran = load(
        emulator_url,
        tmp_path,
        "--endpoint",
        "e",
        "-n",
        "1",
        "--out",
        str(tmp_path / "o.csv"),
        credentials=False,
    )
    assert ran.returncode == 2
    assert "no AWS credentials found" in ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1


def test_without_invoke_args_it_says_what_to_pass(
    emulator_url: str, deployer: Deployer, tmp_path: Path
) -> None:
    endpoint = deployer.deploy(probe_archive(tmp_path, "v1")).endpoint
    ran = load(
        emulator_url, tmp_path, "--endpoint", endpoint, "-n", "1", "--out", str(tmp_path / "o.csv")
    )
    assert ran.returncode == 2
    assert "pass --invoke-args FILE" in ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1


@pytest.mark.slow
@pytest.mark.parametrize("processes", ["1", "2"])
def test_ctrl_c_ends_the_run_and_keeps_its_records(
    emulator_url: str, deployer: Deployer, tmp_path: Path, processes: str
) -> None:
    endpoint = deployer.deploy(probe_archive(tmp_path, "v1")).endpoint
    args = write_args(tmp_path, {"Body": "hi", "ContentType": "text/plain"})
    out = tmp_path / "o.csv"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ENDPOINT_URL=emulator_url, AWS_DEFAULT_REGION="us-east-1")
    env.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test")
    command = [sys.executable, "-m", "endpointlab", "load", "--endpoint", endpoint]
    command += ["--rate", "20", "--duration", "120", "--processes", processes]
    command += ["--invoke-args", str(args), "--out", str(out)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not list(parts_dir(out).rglob("part-*.parquet")):
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.05)  # polling for the run's first records, not simulating work
        process.send_signal(signal.SIGINT)  # as Ctrl-C, to the command only
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, stderr
    assert b"interrupted: keeping the requests recorded so far" in stderr
    assert b"Traceback" not in stderr
    rows = csv_rows(out)
    assert 0 < len(rows) < 20 * 120
    assert [line.split() for line in stdout.decode().splitlines()][1] == [
        "requests",
        str(len(rows)),
    ]
    assert not parts_dir(out).exists()

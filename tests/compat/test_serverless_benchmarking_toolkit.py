"""AWS's own SageMaker Serverless Inference Benchmarking Toolkit (``sm-serverless-benchmarking``,
PyPI), run unmodified against the emulator as a user would run it against AWS: it creates an
endpoint per memory size, invokes it, reads ModelSetupTime, ModelLatency, OverheadLatency and
MemoryUtilization back from CloudWatch, deletes what it made, and writes its report."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from endpointlab.config import EmulatorSettings
from tests.api.support import ROLE, client, running_emulator
from tests.example_models import example_model

MEMORY_SIZES = ("1024", "2048")
INVOCATIONS = 10


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = EmulatorSettings(
        port=0, data_dir=tmp_path_factory.mktemp("toolkit-data"), metrics_sample_interval_s=0.5
    )
    with running_emulator(settings) as running:
        yield running


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_toolkit_runs_unmodified_and_reports(url: str, tmp_path: Path) -> None:
    rtb = example_model("rtb-ctr")
    sagemaker = client("sagemaker", url)
    sagemaker.create_model(
        ModelName="rtb-ctr",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": "toolkit", "ModelDataUrl": rtb.archive.as_uri()},
    )
    out = tmp_path / "results"
    environment = {
        **os.environ,
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "toolkit",
        "AWS_SECRET_ACCESS_KEY": "toolkit",
        "AWS_DEFAULT_REGION": "us-east-1",
        "MPLBACKEND": "Agg",
    }
    environment.pop("AWS_PROFILE", None)
    command = [
        sys.executable, "-m", "sm_serverless_benchmarking", "rtb-ctr", str(rtb.invoke_args),
        "--memory_sizes", *MEMORY_SIZES,
        "--stability_benchmark_invocations", str(INVOCATIONS),
        "--concurrency_benchmark_max_conc", "2", "4",  # one value crashes the toolkit itself
        "--concurrency_benchmark_invocations", str(INVOCATIONS),
        "--concurrency_num_clients_multiplier", "1", "2",
        "--result_save_path", str(out),
    ]  # fmt: skip
    done = subprocess.run(
        command,
        check=False,
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert done.returncode == 0, done.stderr[-3000:]

    stability = rows(out / "stability_benchmark_raw_results/invocation_benchmark_results.csv")
    assert len(stability) == INVOCATIONS * len(MEMORY_SIZES)
    assert all(float(r["invocation_latency"]) > 0 for r in stability)  # -1 marks a failure
    concurrency = rows(out / "concurrency_benchmark_raw_results/invocation_benchmark_results.csv")
    assert concurrency and all(r["other_model_error"] == "0" for r in concurrency)
    metrics = rows(out / "stability_benchmark_summary_results/endpoint_metrics_summary.csv")
    assert {r["memory_size"] for r in metrics} == set(MEMORY_SIZES)
    for row in metrics:
        assert float(row["ModelSetupTime"]) > 0  # one cold start per endpoint
        assert float(row["ModelLatency"]) > 0
        assert float(row["OverheadLatency"]) > 0
    assert (out / "benchmarking_report/benchmarking_report.html").stat().st_size > 0
    assert sagemaker.list_endpoints()["Endpoints"] == []  # the toolkit cleaned up

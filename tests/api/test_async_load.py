"""``endpointlab load --async`` as a user runs it, against the emulator: each request is an
InvokeEndpointAsync whose answer the engine finds by polling S3, recorded with its submit
latency, its time to the answer and its outcome (completed, failed, lost to the deadline); then
the server's queue/processing split of those requests as ``bench`` pulls it from CloudWatch."""

from __future__ import annotations

import csv
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from endpointlab.bench.asynchronous import server_split
from endpointlab.cli import main
from endpointlab.loadgen.async_client import async_invocation
from endpointlab.results import CSV_COLUMNS, read_records
from tests.api.support import INSTANCE, Deployer, client, unique
from tests.api.test_load_cli import write_args

BUCKET = "load-async"


@pytest.fixture
def endpoint(sagemaker: Any, s3: Any, probe: Path) -> Iterator[str]:
    s3.create_bucket(Bucket=BUCKET)
    deployer = Deployer(sagemaker)
    try:
        model = deployer.model(probe, environment={"SAGEMAKER_MODEL_SERVER_WORKERS": "3"})
        config = unique("async-load")
        sagemaker.create_endpoint_config(
            EndpointConfigName=config,
            ProductionVariants=[
                {"VariantName": "AllTraffic", "ModelName": model, "InstanceType": INSTANCE,
                 "InitialInstanceCount": 1}
            ],
            AsyncInferenceConfig={
                "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 3},
                "OutputConfig": {"S3OutputPath": f"s3://{BUCKET}/out",
                                 "S3FailurePath": f"s3://{BUCKET}/failed"},
            },
        )  # fmt: skip
        deployer.configs.append(config)
        yield deployer.endpoint(config)
    finally:
        deployer.cleanup()


def test_load_async_records_submit_time_time_to_output_and_outcome(
    emulator_url: str, endpoint: str, s3: Any, tmp_path: Path
) -> None:
    s3.put_object(Bucket=BUCKET, Key="in/hello.txt", Body=b"hello from S3")
    args = write_args(
        tmp_path,
        {"InputLocation": f"s3://{BUCKET}/in/hello.txt", "ContentType": "text/plain"},
        {"Body": "fail", "ContentType": "text/plain"},
        {"Body": "sleep 1.5", "ContentType": "text/plain"},  # past the 1 s deadline
    )
    parquet, as_csv = tmp_path / "async.parquet", tmp_path / "async.csv"
    began = time.time()
    # In-process, as the CLI runs (a subprocess would double the test's time for imports).
    environment = {
        "AWS_ENDPOINT_URL": emulator_url, "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
    }  # fmt: skip
    ran = CliRunner().invoke(
        main,
        ["load", "--endpoint", endpoint, "--async", "-n", "3", "--invoke-args", str(args),
         "--deadline", "1", "--poll-interval", "0.05", "--no-progress",
         "--out", str(parquet), "--out", str(as_csv)],
        env=environment,
    )  # fmt: skip
    assert ran.exit_code == 0, ran.output
    completed, failed, lost = read_records(parquet)  # in execution order: the args' order
    assert completed.async_outcome == "Completed"
    assert completed.ok and completed.status_response == 202
    assert '"body": "hello from S3"' in completed.body_response
    assert completed.submit_ms is not None and completed.output_ms is not None
    assert 0 < completed.submit_ms < completed.service_ms
    assert completed.output_ms < completed.service_ms
    assert failed.async_outcome == "Failed"
    assert failed.error_code == "AsyncInferenceFailed"
    assert "asked to fail" in failed.body_response
    assert lost.async_outcome == "DeadlineExceeded"
    assert lost.error_code == "DeadlineExceeded" and lost.output_ms is None
    with as_csv.open(newline="") as handle:
        header = next(csv.reader(handle))
    assert tuple(header) == CSV_COLUMNS
    assert header[-3:] == ["submit_ms", "output_ms", "async_outcome"]

    # The server's split (CloudWatch, per request), once it has finished the lost request too.
    cloudwatch = client("cloudwatch", emulator_url)
    records = [completed, failed, lost]
    for _ in range(100):
        split, problem = server_split(cloudwatch, endpoint, (began, time.time()), records)
        assert split is not None, problem
        if split.total.samples == 3:
            break
        time.sleep(0.05)  # waiting for the request past the deadline to finish (1.5 s)
    queue, total, model = split.queue, split.total, split.model
    assert (queue.samples, total.samples, split.answered) == (3, 3, 2)
    assert split.findings == [
        f"{metric} has 3 samples but the client found 2 answers (1 lost to the caller's "
        "deadline may have finished after it)"
        for metric in ("TimeInBacklog", "TotalProcessingTime")
    ]
    assert model is not None and model.samples == 3 and model.max is not None
    # ModelLatency is in microseconds, the split in ms: the sleeping request ran 1.5 s.
    assert 1500 <= model.max <= total.max
    assert total.p99 == total.max and total.p99 is not None and total.p99 >= 1500
    # p50 is the slower of the two answered requests: the server's view within the client's.
    answered = [completed, failed]
    assert queue.p50 is not None and total.p50 is not None
    assert 0 <= queue.p50 <= total.p50
    assert min(r.output_ms or 0 for r in answered) - 100 <= total.p50
    assert total.p50 <= max(r.service_ms for r in answered) + 250
    assert split.processing_mean == pytest.approx((total.mean or 0) - (queue.mean or 0))
    assert split.processing_mean is not None and split.processing_mean >= 1500 / 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"ContentType": "text/plain"}, "needs an InputLocation or a Body"),
        ({"Body": "x", "InputLocation": "s3://b/k"}, "needs an InputLocation or a Body"),
        ({"Body": "x", "InferenceId": "fixed"}, "InferenceId cannot be fixed"),
        ({"Body": "x", "TargetModel": "m"}, "unknown InvokeEndpointAsync arguments: TargetModel"),
    ],
)
def test_async_invoke_args_are_checked(args: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        async_invocation(args)

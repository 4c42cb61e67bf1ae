"""kill -9 of a real ``endpointlab serve`` with async requests queued and in flight: after a
restart every request is processed, each output exists exactly once with its own answer, none
is lost and no failure object appears (interrupted requests simply run again)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.api.support import INSTANCE, LIGHT, ROLE, ServeProcess, client, handler_archive

REQUESTS = 200
BUCKET = "durable"
TOPIC = "arn:aws:sns:us-east-1:123456789012:done"
# Each request takes 10 ms of the model's time and leaves a line in runs.log (its run count).
SOURCE = """
import time


def model_fn(model_dir):
    return None


def transform_fn(model, data, content_type, accept, context):
    text = data.decode("utf-8")
    time.sleep(0.01)
    with open({log!r}, "a") as out:
        out.write(text + "\\n")
    return "answer to " + text, "text/plain"
"""


def keys(s3: Any, prefix: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)  # polling S3 as an async client does


def test_kill_9_with_requests_queued_and_in_flight_loses_and_duplicates_nothing(
    serve: Callable[..., ServeProcess], tmp_path: Path
) -> None:
    runs = tmp_path / "runs.log"
    archive = handler_archive(tmp_path / "model", SOURCE.format(log=str(runs)))
    server = serve(tmp_path / "data", *LIGHT)
    url = server.start()
    sm, rt, s3 = (client(name, url) for name in ("sagemaker", "sagemaker-runtime", "s3"))
    s3.create_bucket(Bucket=BUCKET)
    sm.create_model(
        ModelName="durable",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={
            "ModelDataUrl": archive.as_uri(),
            "Environment": {"SAGEMAKER_MODEL_SERVER_WORKERS": "2"},
        },
    )
    sm.create_endpoint_config(
        EndpointConfigName="durable",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "durable",
                "InstanceType": INSTANCE,
                "InitialInstanceCount": 1,
            }
        ],
        AsyncInferenceConfig={
            "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 2},
            "OutputConfig": {
                "S3OutputPath": f"s3://{BUCKET}/out",
                "S3FailurePath": f"s3://{BUCKET}/failed",
                "NotificationConfig": {"SuccessTopic": TOPIC, "ErrorTopic": TOPIC},
            },
        },
    )
    sm.create_endpoint(EndpointName="durable", EndpointConfigName="durable")
    sm.get_waiter("endpoint_in_service").wait(
        EndpointName="durable", WaiterConfig={"Delay": 0.2, "MaxAttempts": 300}
    )

    def submit(i: int) -> None:
        """Every tenth request's input is in S3, the others inline."""
        body = f"request {i}".encode()
        if i % 10:
            rt.invoke_endpoint_async(EndpointName="durable", Body=body, InferenceId=f"r{i}")
            return
        s3.put_object(Bucket=BUCKET, Key=f"in/{i}", Body=body)
        rt.invoke_endpoint_async(
            EndpointName="durable", InputLocation=f"s3://{BUCKET}/in/{i}", InferenceId=f"r{i}"
        )

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(submit, range(REQUESTS)))
    wait_for(lambda: len(keys(s3, "out/")) >= 20, 30, "no output before the kill")
    server.kill()  # SIGKILL: no shutdown code runs
    before = len(runs.read_text().splitlines())
    assert before < REQUESTS, "every request finished before the kill"

    url = server.start()
    s3 = client("s3", url)
    wait_for(lambda: len(keys(s3, "out/")) >= REQUESTS, 60, "requests lost after the restart")
    assert sorted(keys(s3, "out/")) == sorted(f"out/r{i}.out" for i in range(REQUESTS))
    for i in range(REQUESTS):
        body = s3.get_object(Bucket=BUCKET, Key=f"out/r{i}.out")["Body"].read()
        assert body == f"answer to request {i}".encode()
    assert keys(s3, "failed/") == []
    ran = runs.read_text().splitlines()
    assert set(ran) == {f"request {i}" for i in range(REQUESTS)}
    # Each request ran once, or twice when the kill interrupted it: only the few running then
    # (two in the model, a few writing their output) ran again, not the queued ones.
    assert REQUESTS <= len(ran) <= REQUESTS + 10
    lines = (tmp_path / "data" / "async" / "notifications.jsonl").read_text().splitlines()
    notified = {json.loads(json.loads(line)["Message"])["inferenceId"] for line in lines}
    assert notified == {f"r{i}" for i in range(REQUESTS)}
    server.stop()

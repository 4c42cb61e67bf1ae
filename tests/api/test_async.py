"""Asynchronous inference through boto3: InvokeEndpointAsync answers 202 at once, the request
waits in the durable queue, its output (or failure) appears in S3 where the reply said, and its
notification in the JSONL file, on Prometheus and at the notify URL. Every refusal is checked
with AWS's error code; the per-instance concurrency is measured from the model's own clock."""

from __future__ import annotations

import http.server
import json
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from endpointlab.config import AsyncOptions, EmulatorSettings
from tests.api.support import (
    INSTANCE,
    Deployer,
    client,
    error_of,
    handler_archive,
    running_emulator,
    unique,
)

# A model that reports when it ran and in which process, sleeps or fails on request.
TIMED_SOURCE = """
import json
import os
import time


def model_fn(model_dir):
    return None


def transform_fn(model, data, content_type, accept, context):
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    started = time.time()
    if text.startswith("sleep "):
        time.sleep(float(text.split()[1]))
    elif text == "fail":
        raise ValueError("asked to fail")
    answer = {
        "pid": os.getpid(),
        "start": started,
        "end": time.time(),
        "body": text,
        "content_type": content_type,
        "accept": accept,
    }
    return json.dumps(answer), "application/json"
"""
BUCKET = "async-bucket"
SUCCESS_TOPIC = "arn:aws:sns:us-east-1:123456789012:async-success"
ERROR_TOPIC = "arn:aws:sns:us-east-1:123456789012:async-error"
TTL_SCALE = 0.02  # RequestTTLSeconds=60 expires after 1.2 s


class Receiver(http.server.ThreadingHTTPServer):
    """Collects the notifications POSTed to --notify-url."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], dict[str, Any]]] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(handler) -> None:  # noqa: N805
                length = int(handler.headers["Content-Length"])
                body = json.loads(handler.rfile.read(length))
                headers = {k.lower(): v for k, v in handler.headers.items()}
                self.received.append((headers, body))
                handler.send_response(200)
                handler.end_headers()

            def log_message(handler, *args: Any) -> None:  # noqa: N805
                pass

        super().__init__(("127.0.0.1", 0), Handler)


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("async-data")


@pytest.fixture(scope="module")
def url(data_dir: Path, receiver: Receiver) -> Iterator[str]:
    options = AsyncOptions(
        notify_url=f"http://127.0.0.1:{receiver.server_address[1]}/", ttl_scale=TTL_SCALE
    )
    settings = EmulatorSettings(
        port=0, data_dir=data_dir, metrics_sample_interval_s=0.25, asynchronous=options
    )
    with running_emulator(settings) as started:
        s3 = client("s3", started)
        s3.create_bucket(Bucket=BUCKET)
        yield started


@pytest.fixture(scope="module")
def sm(url: str) -> Any:
    return client("sagemaker", url)


@pytest.fixture(scope="module")
def rt(url: str) -> Any:
    return client("sagemaker-runtime", url)


@pytest.fixture(scope="module")
def unchecked(url: str) -> tuple[Any, Any]:
    """SageMaker and runtime clients that send what they are given (no client-side checks),
    so that the emulator's own validation answers."""
    return (
        client("sagemaker", url, parameter_validation=False),
        client("sagemaker-runtime", url, parameter_validation=False),
    )


@pytest.fixture(scope="module")
def s3(url: str) -> Any:
    return client("s3", url)


@pytest.fixture(scope="module")
def made(sm: Any) -> Iterator[Deployer]:
    deployer = Deployer(sm)
    try:
        yield deployer
    finally:
        deployer.cleanup()


@pytest.fixture(scope="module")
def timed(tmp_path_factory: pytest.TempPathFactory, made: Deployer) -> str:
    archive = handler_archive(tmp_path_factory.mktemp("timed"), TIMED_SOURCE)
    return made.model(archive, environment={"SAGEMAKER_MODEL_SERVER_WORKERS": "3"})


def async_config(**overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 2},
        "OutputConfig": {
            "S3OutputPath": f"s3://{BUCKET}/out",
            "S3FailurePath": f"s3://{BUCKET}/failed",
            "NotificationConfig": {
                "SuccessTopic": SUCCESS_TOPIC,
                "ErrorTopic": ERROR_TOPIC,
                "IncludeInferenceResponseIn": ["SUCCESS_NOTIFICATION_TOPIC"],
            },
        },
    }
    config.update(overrides)
    return config


def deploy_async(made: Deployer, model: str, config: dict[str, Any], instances: int = 1) -> str:
    name = unique("async-config")
    made.sagemaker.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": model,
                "InstanceType": INSTANCE,
                "InitialInstanceCount": instances,
            }
        ],
        AsyncInferenceConfig=config,
    )
    made.configs.append(name)
    return made.endpoint(name)


@pytest.fixture(scope="module")
def endpoint(made: Deployer, timed: str) -> str:
    return deploy_async(made, timed, async_config())


def upload(s3: Any, body: str) -> str:
    key = f"in/{uuid.uuid4().hex}.txt"
    s3.put_object(Bucket=BUCKET, Key=key, Body=body.encode())
    return f"s3://{BUCKET}/{key}"


def split(location: str) -> tuple[str, str]:
    bucket, _, key = location.removeprefix("s3://").partition("/")
    return bucket, key


def wait_object(s3: Any, location: str, timeout: float = 30.0) -> bytes:
    """Poll S3 for an object as an async client does; its bytes."""
    bucket, key = split(location)
    deadline = time.monotonic() + timeout
    while True:
        try:
            return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "NoSuchKey" or time.monotonic() > deadline:
                raise
        time.sleep(0.05)  # polling S3 for the result, as a client would


def exists(s3: Any, location: str) -> bool:
    bucket, key = split(location)
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError:
        return False
    return True


def notifications(data_dir: Path, inference_id: str) -> list[dict[str, Any]]:
    path = data_dir / "async" / "notifications.jsonl"
    deadline = time.monotonic() + 10
    while True:
        lines = path.read_text().splitlines() if path.exists() else []
        records = [json.loads(line) for line in lines]
        found = [r for r in records if json.loads(r["Message"])["inferenceId"] == inference_id]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)  # the notification follows the output object


def test_a_request_is_accepted_at_once_and_its_output_appears_where_the_reply_said(
    rt: Any, s3: Any, sm: Any, endpoint: str, data_dir: Path, receiver: Receiver, url: str
) -> None:
    location = upload(s3, "hello async")
    reply = rt.invoke_endpoint_async(
        EndpointName=endpoint,
        InputLocation=location,
        ContentType="text/plain",
        Accept="application/json",
        InferenceId="happy-1",
        S3OutputPathExtension="run-7",
    )
    assert reply["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert reply["InferenceId"] == "happy-1"
    assert reply["OutputLocation"] == f"s3://{BUCKET}/out/run-7/happy-1.out"
    assert reply["FailureLocation"] == f"s3://{BUCKET}/failed/run-7/happy-1-error.out"
    answer = json.loads(wait_object(s3, reply["OutputLocation"]))
    assert (answer["body"], answer["content_type"], answer["accept"]) == (
        "hello async",
        "text/plain",
        "application/json",
    )
    bucket, key = split(reply["OutputLocation"])
    assert s3.head_object(Bucket=bucket, Key=key)["ContentType"] == "application/json"
    assert not exists(s3, reply["FailureLocation"])

    [record] = notifications(data_dir, "happy-1")
    assert (record["Type"], record["TopicArn"]) == ("Notification", SUCCESS_TOPIC)
    message = json.loads(record["Message"])
    assert message["invocationStatus"] == "Completed"
    assert message["eventName"] == "InferenceResult"
    assert message["eventSource"] == "aws:sagemaker"
    assert message["requestParameters"]["inputLocation"] == location
    assert message["requestParameters"]["endpointName"] == endpoint
    assert message["responseParameters"]["outputLocation"] == reply["OutputLocation"]
    assert json.loads(message["responseBody"]["content"])["body"] == "hello async"
    posted = [body for _, body in receiver.received if body["MessageId"] == record["MessageId"]]
    assert posted and posted[0]["Message"] == record["Message"]
    headers = next(h for h, b in receiver.received if b["MessageId"] == record["MessageId"])
    assert headers["x-amz-sns-message-type"] == "Notification"
    with urllib.request.urlopen(f"{url}/metrics") as response:
        text = response.read().decode()
    assert (
        f'endpointlab_async_notifications_total{{endpoint_name="{endpoint}",'
        f'status="Completed",variant_name="AllTraffic"}}' in text
    )
    assert "# TYPE sagemaker_approximate_backlog_size gauge" in text
    assert f'sagemaker_has_backlog_without_capacity{{endpoint_name="{endpoint}"}} 0.0' in text

    config = sm.describe_endpoint_config(EndpointConfigName=sm.describe_endpoint(
        EndpointName=endpoint)["EndpointConfigName"])  # fmt: skip
    assert config["AsyncInferenceConfig"] == async_config()
    described = sm.describe_endpoint(EndpointName=endpoint)
    assert described["AsyncInferenceConfig"] == async_config()
    assert described["ProductionVariants"][0]["CurrentInstanceCount"] == 1


def test_an_inline_body_and_a_filename(rt: Any, s3: Any, endpoint: str) -> None:
    reply = rt.invoke_endpoint_async(
        EndpointName=endpoint, Body=b"inline", ContentType="text/plain", Filename="r.json"
    )
    assert reply["OutputLocation"] == f"s3://{BUCKET}/out/r.json"
    assert json.loads(wait_object(s3, reply["OutputLocation"]))["body"] == "inline"
    uuid.UUID(reply["InferenceId"])  # generated when the client gives none


def test_a_model_error_writes_the_failure_object_and_notifies_the_error_topic(
    rt: Any, s3: Any, endpoint: str, data_dir: Path
) -> None:
    reply = rt.invoke_endpoint_async(
        EndpointName=endpoint, InputLocation=upload(s3, "fail"), InferenceId="fails-1"
    )
    text = wait_object(s3, reply["FailureLocation"]).decode()
    assert text.startswith("Received server error (500) from primary")
    assert "asked to fail" in text
    assert not exists(s3, reply["OutputLocation"])
    [record] = notifications(data_dir, "fails-1")
    message = json.loads(record["Message"])
    assert record["TopicArn"] == ERROR_TOPIC
    assert message["invocationStatus"] == "Failed"
    assert "asked to fail" in message["failureReason"]
    assert message["responseParameters"]["failureLocation"] == reply["FailureLocation"]
    assert "responseBody" not in message  # IncludeInferenceResponseIn names only success


def test_a_request_over_its_invocation_timeout_fails(rt: Any, s3: Any, endpoint: str) -> None:
    reply = rt.invoke_endpoint_async(
        EndpointName=endpoint, InputLocation=upload(s3, "sleep 5"), InvocationTimeoutSeconds=1
    )
    text = wait_object(s3, reply["FailureLocation"], timeout=20).decode()
    assert "timed out after 1 seconds" in text
    assert not exists(s3, reply["OutputLocation"])


def statistic(cw: Any, name: str, dimensions: dict[str, str], stat: str) -> float | None:
    end = time.time() + 60
    points = cw.get_metric_statistics(
        Namespace="AWS/SageMaker",
        MetricName=name,
        Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
        StartTime=end - 600,
        EndTime=end,
        Period=60,
        Statistics=[stat],
    )["Datapoints"]
    if not points:
        return None
    values = [float(p[stat]) for p in points]
    return max(values) if stat == "Maximum" else sum(values)


def test_a_request_that_waits_past_its_ttl_expires_unprocessed(
    rt: Any, s3: Any, made: Deployer, timed: str, url: str
) -> None:
    one_at_a_time = async_config(ClientConfig={"MaxConcurrentInvocationsPerInstance": 1})
    endpoint = deploy_async(made, timed, one_at_a_time)
    busy = rt.invoke_endpoint_async(EndpointName=endpoint, InputLocation=upload(s3, "sleep 2"))
    late = rt.invoke_endpoint_async(
        EndpointName=endpoint, InputLocation=upload(s3, "late"), RequestTTLSeconds=60
    )
    text = wait_object(s3, late["FailureLocation"], timeout=20).decode()
    assert "expired" in text and "TTL of 60 seconds" in text
    assert not exists(s3, late["OutputLocation"])
    assert json.loads(wait_object(s3, busy["OutputLocation"]))["body"] == "sleep 2"
    cw = client("cloudwatch", url)
    dimensions = {"EndpointName": endpoint, "VariantName": "AllTraffic"}
    assert statistic(cw, "ExpiredRequests", dimensions, "Sum") == 1.0
    assert statistic(cw, "InvocationsProcesssed", dimensions, "Sum") == 1.0
    assert statistic(cw, "InvocationFailures", dimensions, "Sum") == 1.0


def test_no_instance_runs_more_than_its_max_concurrent_invocations(
    rt: Any, s3: Any, endpoint: str, url: str
) -> None:
    """Three workers per instance could run three at once; the config allows two."""
    replies = [
        rt.invoke_endpoint_async(EndpointName=endpoint, InputLocation=upload(s3, "sleep 0.4"))
        for _ in range(8)
    ]
    runs = [json.loads(wait_object(s3, r["OutputLocation"])) for r in replies]
    edges = sorted([(run["start"], 1) for run in runs] + [(run["end"], -1) for run in runs])
    running, peak = 0, 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    assert peak == 2
    cw = client("cloudwatch", url)
    backlog = statistic(cw, "ApproximateBacklogSize", {"EndpointName": endpoint}, "Maximum")
    assert backlog is not None and backlog >= 2
    dimensions = {"EndpointName": endpoint, "VariantName": "AllTraffic"}
    for name in ("TimeInBacklog", "TotalProcessingTime", "ModelLatency"):
        assert statistic(cw, name, dimensions, "Maximum"), name
    assert statistic(cw, "Invocations", dimensions, "Sum") is None  # not published for async


def test_requests_wait_at_zero_instances_and_run_once_capacity_returns(
    rt: Any, s3: Any, sm: Any, made: Deployer, timed: str, url: str
) -> None:
    endpoint = deploy_async(made, timed, async_config())
    sm.update_endpoint_weights_and_capacities(
        EndpointName=endpoint,
        DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredInstanceCount": 0}],
    )
    made.wait_in_service(endpoint)
    assert sm.describe_endpoint(EndpointName=endpoint)["ProductionVariants"][0][
        "CurrentInstanceCount"
    ] == 0  # fmt: skip
    reply = rt.invoke_endpoint_async(EndpointName=endpoint, InputLocation=upload(s3, "waits"))
    cw = client("cloudwatch", url)
    deadline = time.monotonic() + 10
    while statistic(cw, "HasBacklogWithoutCapacity", {"EndpointName": endpoint}, "Maximum") != 1:
        assert time.monotonic() < deadline, "HasBacklogWithoutCapacity never became 1"
        time.sleep(0.1)  # the backlog metrics are published every tick
    assert not exists(s3, reply["OutputLocation"])
    sm.update_endpoint_weights_and_capacities(
        EndpointName=endpoint,
        DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredInstanceCount": 1}],
    )
    assert json.loads(wait_object(s3, reply["OutputLocation"]))["body"] == "waits"


# --- refusals ------------------------------------------------------------------------------------

ASYNC_REFUSALS = [
    ("no input", {}),
    ("input and body", {"InputLocation": "s3://async-bucket/x", "Body": b"x"}),
    ("missing object", {"InputLocation": "s3://async-bucket/no/such.txt"}),
    ("missing bucket", {"InputLocation": "s3://no-such-bucket/in.txt"}),
    ("not an S3 URL", {"InputLocation": "ftp://async-bucket/in.txt"}),
    ("no key", {"InputLocation": "s3://async-bucket"}),
    ("TTL too short", {"Body": b"x", "RequestTTLSeconds": 59}),
    ("TTL too long", {"Body": b"x", "RequestTTLSeconds": 21601}),
    ("timeout too long", {"Body": b"x", "InvocationTimeoutSeconds": 3601}),
    ("timeout zero", {"Body": b"x", "InvocationTimeoutSeconds": 0}),
    ("two dots in Filename", {"Body": b"x", "Filename": "a.b.c"}),
    ("extension names a URL", {"Body": b"x", "S3OutputPathExtension": "s3://elsewhere"}),
    ("InferenceId too long", {"Body": b"x", "InferenceId": "i" * 65}),
    ("body over 128,000 bytes", {"Body": b"x" * 128_001}),
]


@pytest.mark.parametrize(("case", "params"), ASYNC_REFUSALS, ids=[c for c, _ in ASYNC_REFUSALS])
def test_invoke_endpoint_async_refusals_are_validation_errors(
    unchecked: tuple[Any, Any], endpoint: str, case: str, params: dict[str, Any]
) -> None:
    with pytest.raises(ClientError) as caught:
        unchecked[1].invoke_endpoint_async(EndpointName=endpoint, **params)
    assert (error_of(caught)["Code"], error_of(caught)["Status"]) == ("ValidationError", 400)


def test_each_kind_answers_only_its_own_invoke_operation(
    rt: Any, made: Deployer, timed: str, endpoint: str
) -> None:
    with pytest.raises(ClientError) as caught:
        rt.invoke_endpoint(EndpointName=endpoint, Body=b"x")
    error = error_of(caught)
    assert (error["Code"], error["Status"]) == ("ValidationError", 400)
    assert "InvokeEndpointAsync" in error["Message"]
    realtime = made.endpoint(made.config(timed))
    with pytest.raises(ClientError) as caught:
        rt.invoke_endpoint_async(EndpointName=realtime, Body=b"x")
    error = error_of(caught)
    assert (error["Code"], error["Status"]) == ("ValidationError", 400)
    assert "not an asynchronous inference endpoint" in error["Message"]
    with pytest.raises(ClientError) as caught:
        rt.invoke_endpoint_async(EndpointName="no-such-endpoint", Body=b"x")
    message = "Endpoint no-such-endpoint of account 123456789012 not found."
    assert error_of(caught)["Message"] == message


def without(path: str) -> dict[str, Any]:
    """The test's async config without the member at ``path`` (dotted)."""
    config = json.loads(json.dumps(async_config()))
    *parents, last = path.split(".")
    node = config
    for part in parents:
        node = node[part]
    del node[last]
    return config


def replaced(path: str, value: Any) -> dict[str, Any]:
    config = without(path)
    *parents, last = path.split(".")
    node = config
    for part in parents:
        node = node[part]
    node[last] = value
    return config


CONFIG_REFUSALS = [
    ("concurrency 0", replaced("ClientConfig.MaxConcurrentInvocationsPerInstance", 0)),
    ("concurrency 1001", replaced("ClientConfig.MaxConcurrentInvocationsPerInstance", 1001)),
    ("no OutputConfig", without("OutputConfig")),
    ("no S3OutputPath", without("OutputConfig.S3OutputPath")),
    ("output path not S3", replaced("OutputConfig.S3OutputPath", "ftp://bucket/out")),
    (
        "topic not an SNS ARN",
        replaced("OutputConfig.NotificationConfig.SuccessTopic", "arn:aws:sqs:x"),
    ),
    (
        "response in a topic not given",
        without("OutputConfig.NotificationConfig.SuccessTopic"),
    ),
    (
        "unknown topic type",
        replaced("OutputConfig.NotificationConfig.IncludeInferenceResponseIn", ["BOTH"]),
    ),
]


@pytest.mark.parametrize(("case", "config"), CONFIG_REFUSALS, ids=[c for c, _ in CONFIG_REFUSALS])
def test_create_endpoint_config_refuses_a_bad_async_inference_config(
    unchecked: tuple[Any, Any], timed: str, case: str, config: dict[str, Any]
) -> None:
    variant = {
        "VariantName": "AllTraffic",
        "ModelName": timed,
        "InstanceType": INSTANCE,
        "InitialInstanceCount": 1,
    }
    with pytest.raises(ClientError) as caught:
        unchecked[0].create_endpoint_config(
            EndpointConfigName=unique("bad"),
            ProductionVariants=[variant],
            AsyncInferenceConfig=config,
        )
    assert (error_of(caught)["Code"], error_of(caught)["Status"]) == ("ValidationException", 400)


def test_async_inference_is_refused_for_serverless_variants(sm: Any, timed: str) -> None:
    variant = {
        "VariantName": "AllTraffic",
        "ModelName": timed,
        "ServerlessConfig": {"MemorySizeInMB": 1024, "MaxConcurrency": 1},
    }
    with pytest.raises(ClientError) as caught:
        sm.create_endpoint_config(
            EndpointConfigName=unique("bad"),
            ProductionVariants=[variant],
            AsyncInferenceConfig=async_config(),
        )
    assert error_of(caught)["Code"] == "ValidationException"

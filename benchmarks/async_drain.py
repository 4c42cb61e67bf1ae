"""How fast the emulator's async queue drains, and what the queue costs per request, in one run.

Starts ``endpointlab serve`` and, on the ``image-classifier`` example (ONNX CNN, tens of ms):
1. two async endpoints, one and two ml.m5.large instances, each instance with one worker and
   MaxConcurrentInvocationsPerInstance 1; each is scaled to zero instances, 500 requests are
   queued (InvokeEndpointAsync, input in the emulator's S3), then it is scaled back up: the
   drain time runs from the endpoint being InService again to the last request's notification
   (eventTime in <data dir>/async/notifications.jsonl); printed with the 2/1 speed-up;
2. the queue's overhead per request: the one-instance drain time per request (requests run one
   at a time, each read from S3, its answer written to S3 and notified) against 500 InvokeEndpoint
   calls one after another to a real-time endpoint of one instance with one worker.
3. scale from zero through AWS's recipe with the scaling clock compressed (``serve
   --scaling-clock``, default 60x: an alarm period of 60 s lasts 1 s): an async endpoint at zero
   instances, registered with MinCapacity 0, a StepScaling policy (+1) on an alarm over
   HasBacklogWithoutCapacity (2 of 2 periods >= 1); one InvokeEndpointAsync, then the time to
   DescribeEndpoint showing InService with one instance and to its output in S3. The alarm's
   periods are compressed; the instance start and model load are measured (no provisioning
   delay is modelled).
The server is not pinned: two instances need both cores.

    uv run python benchmarks/async_drain.py [--requests 500] [--scaling-clock 60]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from _serve import serve
from endpointlab.models.examples import build_examples

BUCKET = "drain"
TOPIC = "arn:aws:sns:us-east-1:123456789012:drained"
ONE_WORKER = {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"}


def client(url: str, service: str) -> Any:
    return boto3.client(
        service, endpoint_url=url, region_name="us-east-1", aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(retries={"total_max_attempts": 1}, max_pool_connections=16),
    )  # fmt: skip


def deploy(sm: Any, name: str, archive: Path, instances: int, asynchronous: bool) -> None:
    sm.create_model(
        ModelName=name,
        PrimaryContainer={"Image": "bench", "ModelDataUrl": str(archive),
                          "Environment": ONE_WORKER},
    )  # fmt: skip
    extra: dict[str, Any] = {}
    if asynchronous:
        extra["AsyncInferenceConfig"] = {
            "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 1},
            "OutputConfig": {
                "S3OutputPath": f"s3://{BUCKET}/{name}",
                "NotificationConfig": {"SuccessTopic": TOPIC, "ErrorTopic": TOPIC},
            },
        }
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": name, "InstanceType": "ml.m5.large",
             "InitialInstanceCount": instances},
        ],
        **extra,
    )  # fmt: skip
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    wait(sm, name)


def wait(sm: Any, name: str) -> None:
    sm.get_waiter("endpoint_in_service").wait(
        EndpointName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 3000}
    )


def scale(sm: Any, name: str, instances: int) -> None:
    desired = {"VariantName": "AllTraffic", "DesiredInstanceCount": instances}
    sm.update_endpoint_weights_and_capacities(
        EndpointName=name, DesiredWeightsAndCapacities=[desired]
    )
    wait(sm, name)


def finished_at(data_dir: Path, endpoint: str, count: int) -> float:
    """The eventTime of the last of ``count`` notifications of ``endpoint`` (waits for them)."""
    path = data_dir / "async" / "notifications.jsonl"
    while True:
        times = []
        failed = 0
        for line in path.read_text().splitlines() if path.exists() else []:
            message = json.loads(json.loads(line)["Message"])
            if message["requestParameters"]["endpointName"] == endpoint:
                moment = datetime.fromisoformat(message["eventTime"].replace("Z", "+00:00"))
                times.append(moment.timestamp())
                failed += message["invocationStatus"] != "Completed"
        if len(times) >= count:
            if failed:
                raise SystemExit(f"{failed} requests of {endpoint} failed")
            return max(times)
        time.sleep(0.05)  # polling the notification file


def drain(
    url: str, data_dir: Path, name: str, instances: int, requests: int, body: dict[str, str]
) -> float:
    sm, rt = client(url, "sagemaker"), client(url, "sagemaker-runtime")
    scale(sm, name, 0)

    def submit(i: int) -> None:
        rt.invoke_endpoint_async(
            EndpointName=name, InputLocation=f"s3://{BUCKET}/input.json",
            ContentType=body["ContentType"], InferenceId=f"{name}-{i}",
        )  # fmt: skip

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(submit, range(requests)))
    scale(sm, name, instances)
    ready = time.time()
    return finished_at(data_dir, name, requests) - ready


def direct(url: str, name: str, requests: int, body: dict[str, str]) -> float:
    """Seconds per InvokeEndpoint, one after another, after a warm-up."""
    rt = client(url, "sagemaker-runtime")
    for _ in range(20):
        rt.invoke_endpoint(EndpointName=name, **body)["Body"].read()
    began = time.perf_counter()
    for _ in range(requests):
        rt.invoke_endpoint(EndpointName=name, **body)["Body"].read()
    return (time.perf_counter() - began) / requests


def from_zero(url: str, name: str, body: dict[str, str]) -> tuple[float, float]:
    """Seconds from InvokeEndpointAsync at zero instances to InService with one instance, and
    to the request's output in S3, through the step-scaling-on-alarm recipe."""
    sm, rt = client(url, "sagemaker"), client(url, "sagemaker-runtime")
    aas, cw, s3 = (
        client(url, "application-autoscaling"),
        client(url, "cloudwatch"),
        client(url, "s3"),
    )
    scale(sm, name, 0)
    target = {"ServiceNamespace": "sagemaker", "ResourceId": f"endpoint/{name}/variant/AllTraffic",
              "ScalableDimension": "sagemaker:variant:DesiredInstanceCount"}  # fmt: skip
    aas.register_scalable_target(**target, MinCapacity=0, MaxCapacity=2)
    policy = aas.put_scaling_policy(
        **target, PolicyName="from-zero", PolicyType="StepScaling",
        StepScalingPolicyConfiguration={
            "AdjustmentType": "ChangeInCapacity", "MetricAggregationType": "Average",
            "Cooldown": 300,
            "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
        },
    )  # fmt: skip
    cw.put_metric_alarm(
        AlarmName=f"{name}-has-backlog", MetricName="HasBacklogWithoutCapacity",
        Namespace="AWS/SageMaker", Dimensions=[{"Name": "EndpointName", "Value": name}],
        Statistic="Average", Period=60, EvaluationPeriods=2, DatapointsToAlarm=2, Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="missing",
        AlarmActions=[policy["PolicyARN"]],
    )  # fmt: skip
    began = time.monotonic()
    reply = rt.invoke_endpoint_async(
        EndpointName=name, InputLocation=f"s3://{BUCKET}/input.json",
        ContentType=body["ContentType"],
    )  # fmt: skip
    key = reply["OutputLocation"].removeprefix(f"s3://{BUCKET}/")
    in_service = answered = None
    while answered is None or in_service is None:
        if time.monotonic() - began > 600:
            raise SystemExit(f"{name} did not scale out from zero within 10 minutes")
        if in_service is None:
            described = sm.describe_endpoint(EndpointName=name)
            current = described["ProductionVariants"][0]["CurrentInstanceCount"]
            if described["EndpointStatus"] == "InService" and current == 1:
                in_service = time.monotonic() - began
        if answered is None:
            found = s3.list_objects_v2(Bucket=BUCKET, Prefix=key).get("KeyCount", 0)
            if found:
                answered = time.monotonic() - began
        time.sleep(0.02)  # polling as a client watching the endpoint and S3 does
    return in_service, answered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--scaling-clock", type=float, default=60.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="async-drain-") as temp:
        root = Path(temp)
        [example] = build_examples(root / "examples", ["image-classifier"])
        lines = example.invoke_args.read_text().splitlines()
        request = json.loads(lines[0])
        body = {"Body": request["Body"], "ContentType": request["ContentType"]}
        data_dir = root / "data"
        clock_flag = ("--scaling-clock", f"{args.scaling_clock:g}")
        with serve(data_dir, "--model-root", str(root), *clock_flag) as serving:
            url = serving.url
            sm, s3 = client(url, "sagemaker"), client(url, "s3")
            s3.create_bucket(Bucket=BUCKET)
            s3.put_object(Bucket=BUCKET, Key="input.json", Body=body["Body"].encode())
            deploy(sm, "drain-1", example.archive, 1, asynchronous=True)
            deploy(sm, "drain-2", example.archive, 2, asynchronous=True)
            deploy(sm, "direct", example.archive, 1, asynchronous=False)
            deploy(sm, "from-zero", example.archive, 1, asynchronous=True)
            one = drain(url, data_dir, "drain-1", 1, args.requests, body)
            two = drain(url, data_dir, "drain-2", 2, args.requests, body)
            per_direct = direct(url, "direct", args.requests, body)
            ready, answered = from_zero(url, "from-zero", body)
    per_queued = one / args.requests
    print(f"async drain of {args.requests} queued image-classifier requests")
    print(f"  1 instance : {one:7.2f} s ({args.requests / one:6.1f} req/s)")
    print(
        f"  2 instances: {two:7.2f} s ({args.requests / two:6.1f} req/s)  speed-up {one / two:.2f}x"
    )
    print("queue overhead per request (one at a time, one worker)")
    print(f"  async (S3 in, S3 out, notified): {per_queued * 1e3:7.2f} ms")
    print(f"  direct InvokeEndpoint (boto3)  : {per_direct * 1e3:7.2f} ms")
    print(f"  overhead                       : {(per_queued - per_direct) * 1e3:7.2f} ms")

    clock = f"{args.scaling_clock:g}x"
    print(f"scale from zero (step scaling on HasBacklogWithoutCapacity, scaling clock {clock})")
    print(f"  InvokeEndpointAsync -> InService with 1 instance: {ready:7.2f} s")
    print(f"  InvokeEndpointAsync -> output in S3             : {answered:7.2f} s")


if __name__ == "__main__":
    main()

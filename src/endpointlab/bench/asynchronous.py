"""Async configurations of a bench plan: their output bucket and AsyncInferenceConfig, AWS's
scale-to-zero recipe as their scaling policy, a watcher of the instance count, and the figures
of an async run.

The policy: a scalable target from ``min_instances`` to ``instance_count``, target tracking on
ApproximateBacklogSizePerInstance (``backlog_target``) and, when ``min_instances`` is 0, a
StepScaling policy (+1) on an alarm over HasBacklogWithoutCapacity that brings an instance back
when requests wait at zero. The figures, from the records and the watched instance counts:
the drain time (first send to last answer found), the scale-from-zero time (first send at zero
instances to an instance in service), the requests lost to the caller's deadline and the
client's view of the backlog (accepted, answer not yet found) over time; afterwards the server's
own split of each request's time into queue and processing (CloudWatch, per request).
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from endpointlab.analysis import queueing
from endpointlab.bench.deploy import VARIANT, Names
from endpointlab.bench.observe import pull_per_request
from endpointlab.bench.plan import Async
from endpointlab.bench.targets import Connection
from endpointlab.loadgen.async_client import (
    COMPLETED,
    FAILED,
    LOST,
    AsyncRuntimeClient,
    s3_endpoint_url,
)
from endpointlab.loadgen.retries import RetryMode, RetrySettings
from endpointlab.results import RequestRecord
from endpointlab.results.run_result import AsyncSplit, TimelinePoint

DIMENSION = "sagemaker:variant:DesiredInstanceCount"


def bucket_name(names: Names) -> str:
    return f"{names.endpoint}-async".lower()[:63]


def inference_config(names: Names, config: Async) -> dict[str, Any]:
    """The endpoint config's AsyncInferenceConfig: outputs and failures in the run's bucket."""
    bucket = bucket_name(names)
    result: dict[str, Any] = {
        "OutputConfig": {
            "S3OutputPath": f"s3://{bucket}/output",
            "S3FailurePath": f"s3://{bucket}/failure",
        }
    }
    if config.max_concurrent_invocations_per_instance is not None:
        result["ClientConfig"] = {
            "MaxConcurrentInvocationsPerInstance": config.max_concurrent_invocations_per_instance
        }
    return result


def _alarm(names: Names) -> str:
    return f"{names.endpoint}-has-backlog-without-capacity"


def _target(names: Names) -> dict[str, str]:
    return {
        "ServiceNamespace": "sagemaker",
        "ResourceId": f"endpoint/{names.endpoint}/variant/{VARIANT}",
        "ScalableDimension": DIMENSION,
    }


def client(connection: Connection, endpoint: str, max_attempts: int | None) -> AsyncRuntimeClient:
    """The load engine's async client for ``endpoint``, polling the connection's S3."""
    s3_url = (
        str(connection.s3.meta.endpoint_url)
        if connection.s3 is not None
        else s3_endpoint_url(connection.runtime)
    )
    retry = RetrySettings(RetryMode.LEGACY, max_attempts)
    return AsyncRuntimeClient(connection.runtime, endpoint, retry, s3_url=s3_url)


def create_bucket(connection: Connection, names: Names) -> None:
    with contextlib.suppress(connection.s3.exceptions.BucketAlreadyOwnedByYou):
        connection.s3.create_bucket(Bucket=bucket_name(names))


def scaling_policy(connection: Connection, names: Names, config: Async) -> None:
    """Register the variant and put the recipe's policies (and alarm) on it."""
    aas, target = connection.autoscaling, _target(names)
    aas.register_scalable_target(
        **target, MinCapacity=config.min_instances, MaxCapacity=config.instance_count
    )
    aas.put_scaling_policy(
        **target,
        PolicyName="backlog-per-instance",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": config.backlog_target,
            "CustomizedMetricSpecification": {
                "MetricName": "ApproximateBacklogSizePerInstance",
                "Namespace": "AWS/SageMaker",
                "Dimensions": [{"Name": "EndpointName", "Value": names.endpoint}],
                "Statistic": "Average",
            },
        },
    )
    if config.min_instances > 0:
        return
    step = aas.put_scaling_policy(
        **target,
        PolicyName="from-zero",
        PolicyType="StepScaling",
        StepScalingPolicyConfiguration={
            "AdjustmentType": "ChangeInCapacity",
            "MetricAggregationType": "Average",
            "Cooldown": 300,
            "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
        },
    )
    connection.cloudwatch.put_metric_alarm(
        AlarmName=_alarm(names),
        MetricName="HasBacklogWithoutCapacity",
        Namespace="AWS/SageMaker",
        Dimensions=[{"Name": "EndpointName", "Value": names.endpoint}],
        Statistic="Average",
        Period=60,
        EvaluationPeriods=2,
        DatapointsToAlarm=2,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="missing",
        AlarmActions=[step["PolicyARN"]],
    )


def cleanup(connection: Connection, names: Names) -> list[str]:
    """Remove the scaling target (its policies and their alarms go with it), the alarm and the
    bucket with its objects; the problems, if any."""
    problems: list[str] = []
    steps: list[tuple[Any, dict[str, Any]]] = [
        (connection.autoscaling.deregister_scalable_target, _target(names)),
        (connection.cloudwatch.delete_alarms, {"AlarmNames": [_alarm(names)]}),
        (_delete_bucket, {"s3": connection.s3, "bucket": bucket_name(names)}),
    ]
    for call, arguments in steps:
        try:
            call(**arguments)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code not in ("ObjectNotFoundException", "NoSuchBucket", "ResourceNotFound"):
                problems.append(str(error))
        except BotoCoreError as error:
            problems.append(str(error))
    return problems


def _delete_bucket(s3: Any, bucket: str) -> None:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys})
    s3.delete_bucket(Bucket=bucket)


def wait_for_instances(
    connection: Connection, endpoint: str, count: int, timeout_s: float, poll_s: float
) -> bool:
    """Wait until the endpoint is InService with ``count`` instances; whether it got there."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        described = connection.sagemaker.describe_endpoint(EndpointName=endpoint)
        current = described["ProductionVariants"][0].get("CurrentInstanceCount")
        if described["EndpointStatus"] == "InService" and current == count:
            return True
        time.sleep(poll_s)  # polling DescribeEndpoint, as a client watching scaling does
    return False


class InstanceWatcher:
    """Samples the variant's CurrentInstanceCount (Unix time, count) on a thread."""

    def __init__(self, connection: Connection, endpoint: str, every_s: float = 0.25) -> None:
        self.samples: list[tuple[float, int]] = []
        self._sagemaker = connection.sagemaker
        self._endpoint = endpoint
        self._every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> InstanceWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(ClientError, BotoCoreError, KeyError, IndexError):
                described = self._sagemaker.describe_endpoint(EndpointName=self._endpoint)
                count = described["ProductionVariants"][0]["CurrentInstanceCount"]
                self.samples.append((time.time(), int(count)))
            self._stop.wait(self._every_s)


def server_split(
    cloudwatch: Any,
    endpoint: str,
    window: tuple[float, float],
    records: Sequence[RequestRecord],
    warmed: int = 0,
) -> tuple[AsyncSplit | None, str]:
    """The server's queue/processing split of the requests in ``window`` (Unix s), from
    CloudWatch, checked against the answers the client found (``warmed``: warm-up ones); None
    and a one-line problem when CloudWatch could not answer."""
    datapoints, problem = pull_per_request(cloudwatch, endpoint, queueing.METRICS, *window)
    if problem:
        return None, problem
    answered = warmed + sum(r.async_outcome in (COMPLETED, FAILED) for r in records)
    lost = sum(r.async_outcome == LOST for r in records)
    return queueing.async_split(datapoints, answered, lost), ""


def _answered(record: RequestRecord) -> float:
    return record.sent_at + record.elapsed_time


def figures(
    records: Sequence[RequestRecord], samples: Sequence[tuple[float, int]]
) -> dict[str, float | None]:
    """The async figures of a configuration's records and watched instance counts."""
    if not records:
        return {}
    first = min(r.sent_at for r in records)
    answered = [r for r in records if r.async_outcome in ("Completed", "Failed")]
    drain = max(_answered(r) for r in answered) - first if answered else None
    at_zero = [t for t, count in samples if count == 0 and t <= first]
    back = [t for t, count in samples if count > 0 and t > first]
    from_zero = back[0] - first if at_zero and back else None
    outputs = sorted(r.output_ms for r in answered if r.output_ms is not None)
    submits = sorted(r.submit_ms for r in records if r.submit_ms is not None)
    return {
        "requests": float(len(records)),
        "completed": float(sum(r.async_outcome == "Completed" for r in records)),
        "failed": float(sum(r.async_outcome == "Failed" for r in records)),
        "lost_to_deadline": float(sum(r.async_outcome == LOST for r in records)),
        "drain_s": drain,
        "scale_from_zero_s": from_zero,
        "submit_p50_ms": submits[len(submits) // 2] if submits else None,
        "queue_and_processing_p50_ms": outputs[len(outputs) // 2] if outputs else None,
        "queue_and_processing_max_ms": outputs[-1] if outputs else None,
        "peak_instances": float(max((c for _, c in samples), default=0)),
    }


def describe(found: dict[str, float | None]) -> str:
    """The figures in one line."""

    def shown(name: str, unit: str, scale: float = 1.0) -> str:
        value = found.get(name)
        return "-" if value is None else f"{value * scale:.1f} {unit}"

    return (
        f"async: drain {shown('drain_s', 's')}, scale from zero {shown('scale_from_zero_s', 's')}"
        f", queue+processing p50 {shown('queue_and_processing_p50_ms', 's', 1e-3)}, "
        f"{found.get('lost_to_deadline', 0) or 0:g} lost to the deadline, "
        f"peak {found.get('peak_instances', 0) or 0:g} instances"
    )


def with_instances_and_backlog(
    points: Sequence[TimelinePoint],
    start: float,
    records: Sequence[RequestRecord],
    samples: Sequence[tuple[float, int]],
) -> list[TimelinePoint]:
    """``points`` (from ``start``, Unix s) with ``instances`` (the mean of the counts watched
    in each interval, else the last one before it) and ``backlog`` (requests accepted whose
    answer was not yet found, at each interval's middle)."""
    result = []
    steps = [b.t - a.t for a, b in itertools.pairwise(points)] or [1.0]
    for index, point in enumerate(points):
        step = steps[min(index, len(steps) - 1)]
        left, right = start + point.t, start + point.t + step
        inside = [c for t, c in samples if left <= t < right]
        before = [c for t, c in samples if t < left]
        instances = sum(inside) / len(inside) if inside else (float(before[-1]) if before else None)
        middle = (left + right) / 2
        backlog = sum(
            1
            for r in records
            if r.submit_ms is not None and r.sent_at + r.submit_ms / 1e3 <= middle < _answered(r)
        )
        result.append(point.model_copy(update={"instances": instances, "backlog": backlog}))
    return result

"""What the runner watches besides the requests: the host's load and the endpoint's instance
count (DescribeEndpoint) while a configuration runs, and the endpoint's CloudWatch metrics
afterwards (through boto3, as on AWS): one-minute series, and an async endpoint's per-request
metrics over the whole window.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from endpointlab.bench.deploy import VARIANT

SAMPLE_EVERY_S = 1.0
PERIOD_S = 60  # SageMaker's endpoint metrics are one-minute metrics
# (namespace, metric, statistic): the invocation metrics and the instance utilisation.
ENDPOINT_METRICS = (
    ("AWS/SageMaker", "Invocations", "Sum"),
    ("AWS/SageMaker", "Invocation4XXErrors", "Sum"),
    ("AWS/SageMaker", "Invocation5XXErrors", "Sum"),
    ("AWS/SageMaker", "ModelLatency", "Average"),
    ("AWS/SageMaker", "OverheadLatency", "Average"),
    ("AWS/SageMaker", "ModelSetupTime", "Average"),
    ("/aws/sagemaker/Endpoints", "CPUUtilization", "Average"),
    ("/aws/sagemaker/Endpoints", "MemoryUtilization", "Average"),
)


class LoadSampler:
    """Samples the host's 1-minute load average every second on a daemon thread."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="load-sampler", daemon=True)

    def _run(self) -> None:
        while True:
            self.samples.append(os.getloadavg()[0])
            if self._stop.wait(SAMPLE_EVERY_S):
                return

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


class InstancePoller:
    """Polls DescribeEndpoint every ``every_s`` on a daemon thread while the phases run:
    ``samples`` holds (Unix s, the variant's CurrentInstanceCount); a poll that fails or finds
    no count (a serverless variant has none) adds nothing."""

    def __init__(self, sagemaker: Any, endpoint: str, every_s: float) -> None:
        self.samples: list[tuple[float, float]] = []
        self._sagemaker, self._endpoint, self._every_s = sagemaker, endpoint, every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="instance-poller", daemon=True)

    def _poll(self) -> None:
        try:
            described = self._sagemaker.describe_endpoint(EndpointName=self._endpoint)
        except (ClientError, BotoCoreError):
            return
        for variant in described.get("ProductionVariants", []):
            count = variant.get("CurrentInstanceCount")
            if variant.get("VariantName") == VARIANT and count is not None:
                self.samples.append((time.time(), float(count)))

    def _run(self) -> None:
        while True:
            self._poll()
            if self._stop.wait(self._every_s):
                return

    def __enter__(self) -> InstancePoller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._poll()  # the count as the phases ended


def _variant(endpoint: str) -> list[dict[str, str]]:
    """The dimensions of the bench's one variant of ``endpoint``."""
    return [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": VARIANT}]


def _whole_periods(start: float, end: float) -> tuple[int, int]:
    """``start`` and ``end`` (Unix s) widened to whole CloudWatch periods."""
    return int(start - start % PERIOD_S), int(end - end % PERIOD_S) + PERIOD_S


def pull_metrics(
    cloudwatch: Any, endpoint: str, start: float, end: float
) -> tuple[dict[str, list[tuple[float, float]]], str]:
    """The endpoint's metrics between ``start`` and ``end`` (Unix s), keyed ``Metric:Stat``;
    and a one-line problem when CloudWatch could not answer ("" otherwise)."""
    queries = [
        {
            "Id": f"m{index}",
            "MetricStat": {
                "Metric": {
                    "Namespace": namespace,
                    "MetricName": name,
                    "Dimensions": _variant(endpoint),
                },
                "Period": PERIOD_S,
                "Stat": stat,
            },
            "Label": f"{name}:{stat}",
        }
        for index, (namespace, name, stat) in enumerate(ENDPOINT_METRICS)
    ]
    first, last = (datetime.fromtimestamp(t, UTC) for t in _whole_periods(start, end))
    series: dict[str, list[tuple[float, float]]] = {}
    token: str | None = None
    try:
        while True:
            page = cloudwatch.get_metric_data(
                MetricDataQueries=queries,
                StartTime=first,
                EndTime=last,
                ScanBy="TimestampAscending",
                **({"NextToken": token} if token else {}),
            )
            for item in page.get("MetricDataResults", []):
                points = zip(item.get("Timestamps", []), item.get("Values", []), strict=False)
                series.setdefault(item["Label"], []).extend(
                    (stamp.timestamp(), float(value)) for stamp, value in points
                )
            token = page.get("NextToken")
            if not token:
                break
    except (ClientError, BotoCoreError) as error:
        return series, f"CloudWatch metrics not pulled: {error}"
    return {name: sorted(points) for name, points in series.items() if points}, ""


def pull_per_request(
    cloudwatch: Any, endpoint: str, metrics: Sequence[str], start: float, end: float
) -> tuple[dict[str, list[dict[str, Any]]], str]:
    """Per-request metrics of the endpoint's variant (namespace AWS/SageMaker) between
    ``start`` and ``end`` (Unix s) as one period spanning the window, since percentiles of
    several periods cannot be combined: each metric's datapoints with SampleCount, Average,
    Maximum, Unit and ExtendedStatistics p50/p90/p99; and a one-line problem ("" if none)."""
    first, last = _whole_periods(start, end)
    common = {
        "Namespace": "AWS/SageMaker",
        "Dimensions": _variant(endpoint),
        "StartTime": datetime.fromtimestamp(first, UTC),
        "EndTime": datetime.fromtimestamp(last, UTC),
        "Period": last - first,
    }
    found: dict[str, list[dict[str, Any]]] = {}
    try:
        for metric in metrics:
            points: dict[tuple[Any, str], dict[str, Any]] = {}
            # The API reference takes Statistics or ExtendedStatistics, not both: two calls.
            for asked in (
                {"Statistics": ["SampleCount", "Average", "Maximum"]},
                {"ExtendedStatistics": ["p50", "p90", "p99"]},
            ):
                answer = cloudwatch.get_metric_statistics(MetricName=metric, **common, **asked)
                for point in answer.get("Datapoints", []):
                    key = (point["Timestamp"], point.get("Unit", ""))
                    points.setdefault(key, {}).update(point)
            found[metric] = [points[key] for key in sorted(points, key=str)]
    except (ClientError, BotoCoreError) as error:
        return found, f"CloudWatch per-request metrics not pulled: {error}"
    return found, ""

"""The same metrics for Prometheus: ``GET /metrics`` in the text exposition format.

SageMaker's metrics become ``sagemaker_<snake name>`` families labelled by their dimensions
(``endpoint_name``, ``variant_name``): time metrics are histograms in seconds, ``Percent``
ones and the async backlog levels gauges of the latest sample, counts counters of the running
Sum. Metrics of other
namespaces (PutMetricData) appear as ``cloudwatch_metric`` summaries plus a latest gauge.
``endpointlab_throttled_requests_total`` counts the requests serverless variants refused,
``endpointlab_async_notifications_total`` the notifications of finished async requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector, CollectorRegistry

from endpointlab.emulator.metrics.catalogue import (
    ENDPOINTS_NAMESPACE,
    LEVELS,
    SAGEMAKER_NAMESPACE,
    SECONDS_PER_UNIT,
    UNIT_PERCENT,
    snake_case,
)
from endpointlab.emulator.metrics.recorder import MetricsRecorder
from endpointlab.emulator.metrics.totals import SeriesTotal

if TYPE_CHECKING:
    from endpointlab.emulator.app import Receive, RequestHead, Scope, Send

SAGEMAKER_NAMESPACES = (SAGEMAKER_NAMESPACE, ENDPOINTS_NAMESPACE)
CUSTOM_LABELS = ["namespace", "metric_name", "dimensions", "unit"]


class TotalsCollector(Collector):
    """Turns the recorder's running totals into Prometheus metric families at scrape time."""

    def __init__(self, recorder: MetricsRecorder) -> None:
        self._recorder = recorder

    def collect(self) -> Iterator[Metric]:
        families: dict[str, Metric] = {}
        custom = SummaryMetricFamily(
            "cloudwatch_metric", "Samples put with PutMetricData, by metric.", labels=CUSTOM_LABELS
        )
        latest = GaugeMetricFamily(
            "cloudwatch_metric_latest",
            "The latest value put for each custom metric (mean of its last second).",
            labels=CUSTOM_LABELS,
        )
        for entry in self._recorder.totals.snapshot():
            if entry.key.namespace in SAGEMAKER_NAMESPACES:
                _add_sagemaker(families, entry)
            else:
                labels = [
                    entry.key.namespace,
                    entry.key.name,
                    ",".join(f"{n}={v}" for n, v in entry.key.dimensions),
                    entry.unit,
                ]
                custom.add_metric(labels, round(entry.count), entry.total)
                latest.add_metric(labels, entry.latest_mean)
        yield from families.values()
        throttled = CounterMetricFamily(
            "endpointlab_throttled_requests",
            "Requests refused with ThrottlingException at a serverless variant's MaxConcurrency "
            "(an emulator counter: SageMaker publishes no CloudWatch metric for them).",
            labels=["endpoint_name", "variant_name"],
        )
        for (endpoint, variant), count in sorted(self._recorder.throttled.items()):
            throttled.add_metric([endpoint, variant], count)
        if throttled.samples:
            yield throttled
        notifications = CounterMetricFamily(
            "endpointlab_async_notifications",
            "Notifications of finished async requests (SuccessTopic/ErrorTopic), as recorded in "
            "<data dir>/async/notifications.jsonl.",
            labels=["endpoint_name", "variant_name", "status"],
        )
        for (endpoint, variant, status), count in sorted(self._recorder.notifications.items()):
            notifications.add_metric([endpoint, variant, status], count)
        if notifications.samples:
            yield notifications
        if custom.samples:
            yield custom
            yield latest


def _add_sagemaker(families: dict[str, Metric], entry: SeriesTotal) -> None:
    base = f"sagemaker_{snake_case(entry.key.name)}"
    label_names = [snake_case(name) for name, _ in entry.key.dimensions]
    values = [value for _, value in entry.key.dimensions]
    what = f"SageMaker {entry.key.name} ({entry.key.namespace})"
    family: Any
    if entry.key.name in LEVELS:  # the async backlog: its latest value
        family = families.get(base)
        if family is None:
            family = families[base] = GaugeMetricFamily(base, what, labels=label_names)
        family.add_metric(values, entry.latest_mean)
    elif entry.unit in SECONDS_PER_UNIT:
        family = families.get(base + "_seconds")
        if family is None:
            family = HistogramMetricFamily(base + "_seconds", what, labels=label_names)
            families[base + "_seconds"] = family
        scale = SECONDS_PER_UNIT[entry.unit]
        family.add_metric(values, entry.cumulative_buckets(), entry.total * scale)
    elif entry.unit == UNIT_PERCENT:
        family = families.get(base + "_percent")
        if family is None:
            family = GaugeMetricFamily(base + "_percent", what, labels=label_names)
            families[base + "_percent"] = family
        family.add_metric(values, entry.latest_mean)
    else:
        family = families.get(base)
        if family is None:
            family = families[base] = CounterMetricFamily(base, what, labels=label_names)
        family.add_metric(values, entry.total)


class PrometheusRoute:
    """``GET /metrics`` (unsigned; a signed request is S3's ``metrics`` bucket)."""

    def __init__(self, recorder: MetricsRecorder) -> None:
        self._recorder = recorder
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(TotalsCollector(recorder))

    def claims(self, head: RequestHead) -> bool:
        return (
            head.method in ("GET", "HEAD")
            and head.path == "/metrics"
            and (head.signing_service is None)
        )

    def exposition(self) -> bytes:
        """The text exposition of every metric (what a scrape returns)."""
        return generate_latest(self._registry)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._recorder.flush()
        body = await asyncio.to_thread(self.exposition)
        headers = [
            (b"content-type", CONTENT_TYPE_LATEST.encode()),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        payload = b"" if scope["method"] == "HEAD" else body
        await send({"type": "http.response.body", "body": payload})

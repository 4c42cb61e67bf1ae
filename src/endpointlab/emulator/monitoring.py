"""CloudWatch and Prometheus, assembled: the recorder, its background tasks and their routes.

CloudWatch answers on every protocol a current SDK may pick: awsJson 1.0 (``X-Amz-Target:
GraniteServiceVersion20100801.*``, what botocore sends), rpc-v2-cbor (``/service/
GraniteServiceVersion20100801/operation/*``) and awsQuery (form posts signed for
``monitoring``). Prometheus scrapes unsigned ``GET /metrics``. The sampler measures the worker
processes of every running instance each endpoint kind reports.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable

from endpointlab.config import EmulatorSettings
from endpointlab.emulator.app import JsonRoute, ProtocolRoute, RequestHead
from endpointlab.emulator.control.registry import Registry
from endpointlab.emulator.endpoints.fleet import FleetManager
from endpointlab.emulator.metrics import (
    InstanceProcesses,
    MetricsRecorder,
    MetricStore,
    UtilizationSampler,
)
from endpointlab.emulator.metrics.prometheus import PrometheusRoute
from endpointlab.emulator.services.cloudwatch import CloudWatchService
from endpointlab.emulator.services.cloudwatch_alarms import CloudWatchAlarms
from endpointlab.emulator.wire import CborCodec, JsonRpcCodec, QueryCodec, service_model

FORM = "application/x-www-form-urlencoded"


class Monitoring:
    """The metrics side of the emulator: recorder, sampler, CloudWatch and Prometheus routes."""

    def __init__(
        self,
        settings: EmulatorSettings,
        instances: Callable[[], Iterable[InstanceProcesses]],
        alarms: Callable[[MetricsRecorder], CloudWatchAlarms] | None = None,
    ) -> None:
        """``alarms`` makes the alarm operations over the recorder (none: metrics only)."""
        store = MetricStore(settings.data_dir / "metrics.sqlite3")
        self.recorder = MetricsRecorder(store, retention_s=settings.metrics_retention_s)
        self.sampler = UtilizationSampler(
            self.recorder,
            instances,
            interval_s=settings.metrics_sample_interval_s,
            disk_path=settings.data_dir,
        )
        model = service_model("cloudwatch")
        service = CloudWatchService(self.recorder, alarms(self.recorder) if alarms else None)
        # CloudWatch's Coral front end reports constraint violations as ValidationError (the
        # query code of its ValidationException shape).
        json_codec = JsonRpcCodec(model, validation_code="ValidationError")
        cbor = CborCodec(model, validation_code="ValidationError")
        query = QueryCodec(model, validation_code="ValidationError")
        self.json_routes = {str(model.metadata["targetPrefix"]): JsonRoute(json_codec, service)}
        self.protocol_routes = [
            ProtocolRoute(
                lambda head: head.method == "POST" and cbor.claims_path(head.path), cbor, service
            ),
            ProtocolRoute(_is_query, query, service),
        ]
        self.asgi_routes = [PrometheusRoute(self.recorder)]
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Start flushing samples and sampling utilisation (on the running loop)."""
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self.recorder.run()), loop.create_task(self.sampler.run())]

    async def stop(self) -> None:
        """Stop the background tasks, write what is pending and close the store."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self.recorder.close()


def _is_query(head: RequestHead) -> bool:
    """An awsQuery call to CloudWatch: a form post (or GET with Action) to ``/``, signed for
    ``monitoring`` or unsigned (no other emulated service speaks awsQuery)."""
    if head.path != "/" or "x-amz-target" in head.headers:
        return False
    if head.signing_service not in (None, "monitoring"):
        return False
    if head.method == "POST":
        return head.headers.get("content-type", "").startswith(FORM)
    return head.method == "GET" and "Action=" in head.query


def running_instances(registry: Registry, fleets: FleetManager) -> list[InstanceProcesses]:
    """Every running instance with its memory and its worker pids, as each variant's kind
    reports them (``VariantRuntime.processes``)."""
    out: list[InstanceProcesses] = []
    for endpoint in registry.endpoints():
        fleet = fleets.get(endpoint.name)
        if fleet is None or endpoint.deployed is None:
            continue
        for routed in fleet.variants.values():
            out.extend(routed.runtime.processes(endpoint.name))
    return out

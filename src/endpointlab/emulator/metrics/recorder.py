"""The recorder the data plane calls: a list append per event, written out in the background.

``record_invocation`` costs one small typed event (a NamedTuple) and one ``list.append`` on the
request path; ``flush``
(every second, and before every read) expands the pending events into SageMaker's metrics,
groups equal values of a second into one sample, writes them to the ``MetricStore`` in a
worker thread and adds them to the running totals Prometheus reads. Samples older than the
retention are purged once a minute.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

from endpointlab.emulator.metrics import catalogue as names
from endpointlab.emulator.metrics.catalogue import MetricKey, Outcome, variant_dimensions
from endpointlab.emulator.metrics.statistics import Sample
from endpointlab.emulator.metrics.store import MetricStore
from endpointlab.emulator.metrics.totals import Totals

log = logging.getLogger(__name__)

Dimensions = Mapping[str, str] | Iterable[tuple[str, str]]
PURGE_INTERVAL_S = 60.0


class Invocation(NamedTuple):
    """One InvokeEndpoint answered (or failed) on a variant."""

    at: float
    endpoint: str
    variant: str
    model_latency_s: float
    overhead_latency_s: float
    outcome: Outcome
    instances: int | None
    serverless: bool


class Setup(NamedTuple):
    """One instance started and loaded its model (ModelSetupTime)."""

    at: float
    endpoint: str
    variant: str
    setup_s: float


class Value(NamedTuple):
    """``observations`` of ``value`` for any metric."""

    at: float
    key: MetricKey
    unit: str
    value: float
    observations: float


class StatisticSet(NamedTuple):
    """A pre-aggregated statistic set (PutMetricData StatisticValues)."""

    at: float
    key: MetricKey
    sample: Sample


Event = Invocation | Setup | Value | StatisticSet


class VariantKeys(NamedTuple):
    """The keys of the metrics SageMaker publishes per endpoint variant."""

    invocations: MetricKey
    invocations_per_instance: MetricKey
    invocation_4xx_errors: MetricKey
    invocation_5xx_errors: MetricKey
    invocation_model_errors: MetricKey
    model_latency: MetricKey
    overhead_latency: MetricKey
    model_setup_time: MetricKey


class MetricsRecorder:
    """Buffers metric events and flushes them to the store and the Prometheus totals."""

    def __init__(
        self,
        store: MetricStore,
        *,
        retention_s: float,
        flush_interval_s: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.totals = Totals()
        self.retention_s = retention_s
        self._flush_interval_s = flush_interval_s
        self._clock = clock
        self._pending: list[Event] = []
        self._flush_lock = asyncio.Lock()
        self._keys: dict[tuple[str, str], VariantKeys] = {}
        # Requests refused with ThrottlingException, by (endpoint, variant). SageMaker
        # publishes no CloudWatch metric for them, so they are counted for Prometheus only.
        self.throttled: Counter[tuple[str, str]] = Counter()
        # Async notifications recorded, by (endpoint, variant, invocationStatus): Prometheus only.
        self.notifications: Counter[tuple[str, str, str]] = Counter()

    def now(self) -> float:
        """The recorder's clock (epoch seconds)."""
        return self._clock()

    # --- the hot path: called on the event loop, costs a tuple and an append -----------------

    def record_invocation(
        self,
        endpoint: str,
        variant: str,
        *,
        model_latency_s: float,
        overhead_latency_s: float,
        outcome: Outcome,
        instances: int | None,
        serverless: bool = False,
        timestamp: float | None = None,
    ) -> None:
        """One InvokeEndpoint on ``variant``: Invocations, InvocationsPerInstance (1/N for N
        ``instances``), the error counters, ModelLatency and OverheadLatency (microseconds).
        Serverless variants publish neither InvocationsPerInstance nor InvocationModelErrors."""
        at = self._clock() if timestamp is None else timestamp
        self._pending.append(
            Invocation(at, endpoint, variant, model_latency_s, overhead_latency_s, outcome,
                       instances, serverless)
        )  # fmt: skip

    def record_setup(
        self, endpoint: str, variant: str, setup_s: float, *, timestamp: float | None = None
    ) -> None:
        """ModelSetupTime: the measured time to start compute and load the model."""
        at = self._clock() if timestamp is None else timestamp
        self._pending.append(Setup(at, endpoint, variant, setup_s))

    def record_throttle(self, endpoint: str, variant: str) -> None:
        """One request refused at once because ``variant`` was at its MaxConcurrency."""
        self.throttled[endpoint, variant] += 1

    def put(
        self,
        namespace: str,
        name: str,
        dimensions: Dimensions,
        value: float,
        unit: str = names.UNIT_NONE,
        timestamp: float | None = None,
        *,
        count: float = 1.0,
    ) -> None:
        """``count`` observations of ``value`` for any metric (PutMetricData, the sampler)."""
        at = self._clock() if timestamp is None else timestamp
        key = MetricKey.of(namespace, name, dimensions)
        self._pending.append(Value(at, key, unit, value, count))

    def put_statistics(
        self,
        namespace: str,
        name: str,
        dimensions: Dimensions,
        *,
        sample_count: float,
        total: float,
        minimum: float,
        maximum: float,
        unit: str = names.UNIT_NONE,
        timestamp: float | None = None,
    ) -> None:
        """A statistic set (PutMetricData StatisticValues): no raw values, so no percentiles."""
        at = self._clock() if timestamp is None else timestamp
        key = MetricKey.of(namespace, name, dimensions)
        sample = Sample(math.floor(at), unit, None, sample_count, total, minimum, maximum)
        self._pending.append(StatisticSet(at, key, sample))

    # --- background work ------------------------------------------------------------------------

    async def flush(self) -> None:
        """Write every pending event; a flush already running is awaited first."""
        async with self._flush_lock:
            batch, self._pending = self._pending, []
            if batch:
                await asyncio.to_thread(self._write, batch)

    def flush_sync(self) -> None:
        """``flush`` without an event loop (tests, shutdown)."""
        batch, self._pending = self._pending, []
        if batch:
            self._write(batch)

    def _write(self, batch: list[Event]) -> None:
        grouped: dict[tuple[MetricKey, int, str, float], float] = {}
        sets: list[tuple[MetricKey, Sample]] = []
        for event in batch:
            if isinstance(event, StatisticSet):
                sets.append((event.key, event.sample))
                continue
            for key, unit, value, count in self._expand(event):
                slot = (key, math.floor(event.at), unit, value)
                grouped[slot] = grouped.get(slot, 0.0) + count
        rows = [
            (key, Sample.of(ts, value, count, unit))
            for (key, ts, unit, value), count in grouped.items()
        ]
        rows.extend(sets)
        self.store.write(rows)
        self.totals.add(rows)

    def _expand(
        self, event: Invocation | Setup | Value
    ) -> list[tuple[MetricKey, str, float, float]]:
        if isinstance(event, Value):
            return [(event.key, event.unit, event.value, event.observations)]
        keys = self._variant_keys(event.endpoint, event.variant)
        if isinstance(event, Setup):
            return [(keys.model_setup_time, names.UNIT_MICROSECONDS, event.setup_s * 1e6, 1.0)]
        outcome = event.outcome
        client_error = 1.0 if outcome is Outcome.CLIENT_ERROR else 0.0
        server_error = 1.0 if outcome is Outcome.SERVER_ERROR else 0.0
        out = [
            (keys.invocations, names.UNIT_NONE, 1.0, 1.0),
            (keys.invocation_4xx_errors, names.UNIT_NONE, client_error, 1.0),
            (keys.invocation_5xx_errors, names.UNIT_NONE, server_error, 1.0),
            (keys.model_latency, names.UNIT_MICROSECONDS, event.model_latency_s * 1e6, 1.0),
            (keys.overhead_latency, names.UNIT_MICROSECONDS, event.overhead_latency_s * 1e6, 1.0),
        ]
        if not event.serverless:
            failed = 0.0 if outcome is Outcome.OK else 1.0
            out.append((keys.invocation_model_errors, names.UNIT_NONE, failed, 1.0))
            if event.instances:
                out.append(
                    (keys.invocations_per_instance, names.UNIT_NONE, 1 / event.instances, 1.0)
                )
        return out

    def _variant_keys(self, endpoint: str, variant: str) -> VariantKeys:
        keys = self._keys.get((endpoint, variant))
        if keys is None:
            dimensions = variant_dimensions(endpoint, variant)
            keys = VariantKeys(
                *(
                    MetricKey(names.SAGEMAKER_NAMESPACE, name, dimensions)
                    for name in (
                        names.INVOCATIONS,
                        names.INVOCATIONS_PER_INSTANCE,
                        names.INVOCATION_4XX_ERRORS,
                        names.INVOCATION_5XX_ERRORS,
                        names.INVOCATION_MODEL_ERRORS,
                        names.MODEL_LATENCY,
                        names.OVERHEAD_LATENCY,
                        names.MODEL_SETUP_TIME,
                    )
                )
            )
            self._keys[(endpoint, variant)] = keys
        return keys

    async def run(self) -> None:
        """Flush every interval and purge past the retention once a minute, until cancelled."""
        last_purge = 0.0
        while True:
            await asyncio.sleep(self._flush_interval_s)
            try:
                await self.flush()
                now = self._clock()
                if now - last_purge >= PURGE_INTERVAL_S:
                    last_purge = now
                    await asyncio.to_thread(self.store.purge, now - self.retention_s)
            except Exception:  # the recorder must outlive a bad batch or a full disk
                log.exception("writing metrics failed")

    # --- reads (CloudWatch, Prometheus) see everything recorded before them --------------------

    async def samples(
        self, key: MetricKey, start: int, end: float, unit: str | None
    ) -> list[Sample]:
        await self.flush()
        return await asyncio.to_thread(self.store.samples, key, start, end, unit)

    async def metrics(self, *, since: float) -> list[MetricKey]:
        await self.flush()
        return await asyncio.to_thread(self.store.metrics, since=since)

    async def close(self) -> None:
        """Write what is pending and close the store."""
        try:
            await self.flush()
        except Exception:
            log.exception("writing the last metrics failed")
        await asyncio.to_thread(self.store.close)

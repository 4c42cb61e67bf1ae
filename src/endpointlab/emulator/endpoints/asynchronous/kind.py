"""The asynchronous endpoint kind: variants of a config with an AsyncInferenceConfig.

Such an endpoint answers only InvokeEndpointAsync; its variants run on real-time instances of
their InstanceType (scaled at run time, to zero too) fed by the durable queue. The queue
(``<data dir>/async/queue.sqlite3``) and the notification file are opened with the first async
variant and shared by every one of the emulator.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from endpointlab.catalogue import instance_type
from endpointlab.config import DEFAULT_ASYNC_TIMEOUT_S, DEFAULT_ASYNC_TTL_S
from endpointlab.emulator import sagemaker_errors as errors
from endpointlab.emulator.endpoints import instance_rules
from endpointlab.emulator.endpoints.asynchronous.config import async_config
from endpointlab.emulator.endpoints.asynchronous.metrics import AsyncMetrics
from endpointlab.emulator.endpoints.asynchronous.notify import Notifier
from endpointlab.emulator.endpoints.asynchronous.queue import AsyncQueue
from endpointlab.emulator.endpoints.asynchronous.variant import AsyncServices, AsyncVariant
from endpointlab.emulator.endpoints.base import EndpointKind, KindContext, ModelPackage
from endpointlab.emulator.endpoints.realtime import (
    RealtimeKind,
    RealtimeSettings,
    RealtimeVariant,
    workers_per_instance,
)
from endpointlab.emulator.errors import ServiceError
from endpointlab.emulator.records import Model, Variant, VariantState

QUEUE_FILE = "async/queue.sqlite3"
NOTIFICATIONS_FILE = "async/notifications.jsonl"
# How often the dispatcher looks for expired requests and publishes the backlog, at most.
MAX_TICK_S = 1.0


class AsyncKind(EndpointKind):
    """Asynchronous endpoints: instances behind a durable queue."""

    name = "asynchronous"
    label = "asynchronous endpoints"
    max_payload_bytes = RealtimeKind.max_payload_bytes  # of a container's answer
    instance_metrics = False
    operation = "InvokeEndpointAsync"
    min_capacity = 0  # requests wait in the queue at zero instances (facts §4.3, §7.1)

    def __init__(self, context: KindContext) -> None:
        super().__init__(context)
        self._services: AsyncServices | None = None

    @staticmethod
    def claims(variant: Variant | VariantState) -> bool:
        return bool(variant.asynchronous)

    @staticmethod
    def requested(variant: Mapping[str, Any], config: Mapping[str, Any]) -> bool:
        return "AsyncInferenceConfig" in config

    @staticmethod
    def variant_from_request(
        params: Mapping[str, Any], model: Model, config: Mapping[str, Any]
    ) -> Variant:
        variant = instance_rules.variant_from_request(params)
        return replace(variant, asynchronous=async_config(config["AsyncInferenceConfig"]))

    @staticmethod
    def oversize_request(size: int) -> ServiceError:
        return errors.PAYLOAD_TOO_LARGE(size=size, limit=AsyncKind.max_payload_bytes)

    @staticmethod
    def describe(state: VariantState) -> dict[str, Any]:
        return RealtimeKind.describe(state)

    @staticmethod
    def wrong_operation(endpoint: str, operation: str) -> ServiceError:
        return errors.ASYNC_ONLY_ENDPOINT(endpoint=endpoint, operation=operation)

    @staticmethod
    def retained(variant: Variant, state: VariantState, properties: frozenset[str]) -> Variant:
        # Zero is a count an async variant runs at (scaled in), kept like any other.
        if "DesiredInstanceCount" not in properties:
            return variant
        return replace(variant, initial_instance_count=state.desired_instance_count)

    def _shared(self) -> AsyncServices:
        if self._services is None:
            context = self.context
            settings = context.settings
            assert context.objects is not None, "async endpoints need the object store"
            self._services = AsyncServices(
                queue=AsyncQueue(settings.data_dir / QUEUE_FILE),
                objects=context.objects,
                notifier=Notifier(
                    settings.data_dir / NOTIFICATIONS_FILE, settings.asynchronous.notify_url
                ),
                metrics=AsyncMetrics(context.metrics),
                options=settings.asynchronous,
                region=settings.region,
                tick_s=min(MAX_TICK_S, settings.metrics_sample_interval_s),
                default_ttl_s=DEFAULT_ASYNC_TTL_S,
                default_timeout_s=DEFAULT_ASYNC_TIMEOUT_S,
            )
        return self._services

    def build(self, variant: Variant, package: ModelPackage) -> AsyncVariant:
        config = variant.asynchronous
        assert config is not None
        context = self.context
        settings = RealtimeSettings(
            invocation_timeout_s=DEFAULT_ASYNC_TIMEOUT_S,
            startup_timeout_s=context.settings.startup_timeout_s,
        )
        instances = RealtimeVariant(variant, package, context.host, settings, context.memory_limits)
        kind = instance_type(variant.instance_type or "")
        workers = workers_per_instance(package, kind.vcpus if kind else 1)
        key = package.endpoint_id or package.endpoint
        return AsyncVariant(package.endpoint, key, config, instances, workers, self._shared())

    def close(self) -> None:
        if self._services is not None:
            self._services.queue.close()
            self._services = None

"""Endpoint lifecycle: Creating -> InService | Failed, Updating (blue/green), Deleting.

Each transition is recorded in the registry (and so persisted) before the work that follows
it, so a restart resumes from a state that can always be deleted. Deployments run as background
tasks; the control-plane call returns as soon as the new state is recorded, as on AWS.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from endpointlab.emulator.control.artifacts import ArtifactCache, extract_failed
from endpointlab.emulator.control.capacity import desired_states
from endpointlab.emulator.control.registry import Registry, validation_error
from endpointlab.emulator.endpoints.base import LOG_STREAM_FILE, DeploymentError, ModelPackage
from endpointlab.emulator.endpoints.fleet import Fleet, FleetManager, RoutedVariant
from endpointlab.emulator.endpoints.kinds import kind_of
from endpointlab.emulator.errors import ServiceError
from endpointlab.emulator.records import (
    Deployed,
    Endpoint,
    EndpointConfig,
    EndpointStatus,
    Model,
    ResourceKind,
    Variant,
    VariantState,
    variant_states,
)
from endpointlab.emulator.workers.fork.logfile import append_log
from endpointlab.models.errors import ArtifactError

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

# The states in which SageMaker refuses UpdateEndpoint, UpdateEndpointWeightsAndCapacities and
# DeleteEndpoint with `Cannot update in-progress endpoint "ARN".` (the prefix AWS's Kubernetes
# operator matches for DeleteEndpoint; users report it for the other two).
IN_PROGRESS = frozenset(
    {
        EndpointStatus.CREATING,
        EndpointStatus.UPDATING,
        EndpointStatus.SYSTEM_UPDATING,
        EndpointStatus.ROLLING_BACK,
    }
)


def refuse_unless_in_service(endpoint: Endpoint) -> None:
    """The ValidationException SageMaker gives a change to an endpoint that is not InService."""
    if endpoint.status is EndpointStatus.FAILED:
        # Captured for UpdateEndpoint; for UpdateEndpointWeightsAndCapacities UNCONFIRMED.
        raise validation_error(f'Cannot update failed endpoint "{endpoint.arn}".')
    if endpoint.status is not EndpointStatus.IN_SERVICE:
        raise validation_error(f'Cannot update in-progress endpoint "{endpoint.arn}".')


def utc_now() -> datetime:
    """Now, to the millisecond: SageMaker reports times in milliseconds, so a time a client
    read back (e.g. for CreationTimeAfter) must compare equal to the one recorded."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class Lifecycle:
    """Creates, updates, scales and deletes endpoints against the registry and the fleets."""

    def __init__(
        self,
        registry: Registry,
        fleets: FleetManager,
        artifacts: ArtifactCache,
        clock: Clock = utc_now,
        logs_root: Path | None = None,
    ) -> None:
        self.registry = registry
        self.fleets = fleets
        self.artifacts = artifacts
        self._clock = clock
        # Each endpoint's log files (its CloudWatch log group) live in <logs_root>/<endpoint>.
        self._logs_root = logs_root
        self._tasks: set[asyncio.Task[None]] = set()
        self._locks: dict[str, asyncio.Lock] = {}

    def _lock(self, name: str) -> asyncio.Lock:
        return self._locks.setdefault(name.lower(), asyncio.Lock())

    def _spawn(self, work: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def create_endpoint(
        self,
        name: str,
        config_name: str,
        spec: dict[str, Any],
        tags: Mapping[str, str] | None = None,
    ) -> Endpoint:
        config = self.registry.endpoint_config(config_name)
        now = self._clock()
        endpoint = Endpoint(
            name=name,
            arn=self.registry.arn(ResourceKind.ENDPOINT, name),
            config_name=config.name,
            status=EndpointStatus.CREATING,
            creation_time=now,
            last_modified_time=now,
            variants=variant_states(config),
            spec=spec,
        )
        self.registry.add(endpoint, tags)
        self._spawn(self._deploy(name, config, updating=False))
        return endpoint

    def update_endpoint(
        self, name: str, config_name: str, retained: frozenset[str] = frozenset()
    ) -> Endpoint:
        """Move ``name`` to ``config_name`` (blue/green); ``retained`` names the variant
        properties (DesiredWeight, DesiredInstanceCount) that keep their live values
        (RetainAllVariantProperties less ExcludeRetainedVariantProperties)."""
        endpoint = self.registry.endpoint(name)
        config = self.registry.endpoint_config(config_name)
        refuse_unless_in_service(endpoint)
        running = endpoint.variants
        for kind in dict.fromkeys(kind_of(variant) for variant in config.variants):
            kind.check_update(endpoint, config)
        now = self._clock()
        updating = endpoint.with_status(
            EndpointStatus.UPDATING,
            now,
            pending_config_name=config.name,
            pending_since=now,
            failure_reason=None,
        )
        self.registry.put(updating)
        kept = Recorded(running, retained) if retained else Recorded()
        self._spawn(self._deploy(name, config, updating=True, recorded=kept))
        return updating

    def delete_endpoint(self, name: str) -> None:
        """Start deleting ``name``: refused while it is in progress (clients wait for InService
        or Failed first, as on SageMaker); a second delete while Deleting is accepted (what
        SageMaker answers then is UNCONFIRMED)."""
        endpoint = self.registry.endpoint(name)
        if endpoint.status is EndpointStatus.DELETING:
            return
        if endpoint.status in IN_PROGRESS:
            raise validation_error(f'Cannot update in-progress endpoint "{endpoint.arn}".')
        self.registry.put(endpoint.with_status(EndpointStatus.DELETING, self._clock()))
        self._spawn(self._delete(name))

    async def _deploy(
        self,
        name: str,
        config: EndpointConfig,
        *,
        updating: bool,
        models: tuple[Model, ...] | None = None,
        restored: Endpoint | None = None,
        recorded: Recorded | None = None,
    ) -> None:
        """Start ``config``'s fleet and route the endpoint to it.

        ``models`` are the models to run (default: looked up by name now); ``restored`` is the
        endpoint as recorded before a restart, whose weights, instance counts and (if it was
        InService) LastModifiedTime the new fleet takes over unchanged; ``recorded`` are the
        live variant values an update keeps.
        """
        async with self._lock(name):
            try:
                if restored is not None:
                    recorded = Recorded(restored.variants, RESTORED)
                fleet, states, used = await self._start_fleet(name, config, models, recorded)
            except (DeploymentError, ArtifactError, ServiceError) as exc:
                reason = exc.message if isinstance(exc, ServiceError) else str(exc)
                self._record_failure(name, reason, updating=updating)
                return
            current = self.registry.find_endpoint(name)
            if current is None or current.status is EndpointStatus.DELETING:
                await fleet.stop()
                return
            previous = self.fleets.activate(name, fleet)
            unchanged = restored is not None and restored.status is EndpointStatus.IN_SERVICE
            self.registry.put(
                current.with_status(
                    EndpointStatus.IN_SERVICE,
                    current.last_modified_time if unchanged else self._clock(),
                    config_name=config.name,
                    pending_config_name=None,
                    pending_since=None,
                    variants=states,
                    deployed=Deployed(config, used),
                )
            )
        if previous is not None:
            await previous.stop()

    def _record_failure(self, name: str, reason: str, *, updating: bool) -> None:
        current = self.registry.find_endpoint(name)
        if current is None or current.status is EndpointStatus.DELETING:
            return
        log.warning("endpoint %s failed to deploy: %s", name, reason)
        # A failed update leaves the old fleet serving: InService with the reason recorded.
        status = EndpointStatus.IN_SERVICE if updating else EndpointStatus.FAILED
        self.registry.put(
            current.with_status(
                status,
                self._clock(),
                failure_reason=reason[:1024],
                pending_config_name=None,
                pending_since=None,
            )
        )

    async def _start_fleet(
        self,
        name: str,
        config: EndpointConfig,
        models: tuple[Model, ...] | None,
        recorded: Recorded | None,
    ) -> tuple[Fleet, tuple[VariantState, ...], tuple[Model, ...]]:
        """Start the fleet; return it, its variants' live state and the models it runs."""
        given = {model.name.lower(): model for model in models or ()}
        endpoint = self.registry.find_endpoint(name)
        log_dir = None
        if self._logs_root is not None:
            log_dir = self._logs_root / (endpoint.name if endpoint is not None else name)
        packages: dict[str, ModelPackage] = {}
        used: dict[str, Model] = {}
        for variant in config.variants:
            model = given.get(variant.model_name.lower()) or self.registry.model(variant.model_name)
            url = model.primary.model_data_url
            assert url is not None
            try:
                model_dir = await asyncio.to_thread(self.artifacts.unpack, url)
            except ArtifactError as exc:
                if log_dir is not None:
                    for routed in config.variants:
                        if routed.model_name.lower() == variant.model_name.lower():
                            append_log(
                                str(log_dir / routed.name / LOG_STREAM_FILE),
                                f"the model data at {url} could not be used: {exc.details}",
                            )
                raise ArtifactError(extract_failed(url, str(exc))) from exc
            # Keyed as the variant names it: model names are case-insensitive.
            packages[variant.model_name] = ModelPackage(
                model_name=model.name,
                model_dir=model_dir,
                environment=dict(model.primary.environment),
                log_dir=log_dir,
                endpoint=endpoint.name if endpoint is not None else name,
            )
            used[model.name.lower()] = model
        running = recorded.apply(config) if recorded is not None else config
        fleet = self.fleets.build(config.name, running.variants, packages)
        await fleet.start()
        return fleet, _running_states(running, fleet), tuple(used.values())

    async def _delete(self, name: str) -> None:
        async with self._lock(name):
            fleet = self.fleets.deactivate(name)
            if fleet is not None:
                await fleet.stop()
            with contextlib.suppress(ServiceError):
                self.registry.remove(ResourceKind.ENDPOINT, name)

    async def update_weights_and_capacities(
        self, name: str, desired: list[dict[str, Any]]
    ) -> Endpoint:
        endpoint = self.registry.endpoint(name)
        refuse_unless_in_service(endpoint)
        fleet = self.fleets.get(name)
        assert fleet is not None
        states = desired_states(endpoint, desired)
        updating = endpoint.with_status(EndpointStatus.UPDATING, self._clock(), variants=states)
        self.registry.put(updating)  # a larger MaxConcurrency is checked against the quotas
        self._spawn(self._apply_weights(name, fleet, states))
        return updating

    async def _apply_weights(
        self, name: str, fleet: Fleet, desired: tuple[VariantState, ...]
    ) -> None:
        async with self._lock(name):
            reason = None
            for state in desired:
                fleet.set_weight(state.name, state.desired_weight)
                runtime = fleet.variants[state.name].runtime
                try:
                    await runtime.apply(state)
                except DeploymentError as exc:
                    reason = str(exc)
            current = self.registry.find_endpoint(name)
            if current is None or current.status is EndpointStatus.DELETING:
                return
            states = tuple(
                _live_state(state, fleet.variants[state.name]) for state in current.variants
            )
            self.registry.put(
                current.with_status(
                    EndpointStatus.IN_SERVICE, self._clock(), variants=states, failure_reason=reason
                )
            )

    async def restore(self) -> None:
        """After a restart: bring every recorded endpoint back to its serving state.

        An endpoint that served comes back on the config and models it ran, with the weights and
        instance counts it had, even if they were deleted since; an update interrupted by the
        restart is dropped (the old deployment serves again); an interrupted creation resumes.
        """
        deployments: dict[str, Coroutine[Any, Any, None]] = {}
        for endpoint in self.registry.endpoints():
            if endpoint.status is EndpointStatus.DELETING:
                await self._delete(endpoint.name)
                continue
            if endpoint.status is EndpointStatus.FAILED:
                continue
            models = None
            if endpoint.deployed is not None:
                config, models = endpoint.deployed.config, endpoint.deployed.models
            else:
                try:
                    config = self.registry.endpoint_config(endpoint.config_name)
                except ServiceError as exc:
                    self._record_failure(endpoint.name, exc.message, updating=False)
                    continue
            interrupted = endpoint.status is EndpointStatus.CREATING
            self.registry.put(
                replace(
                    endpoint,
                    status=EndpointStatus.CREATING if interrupted else EndpointStatus.UPDATING,
                    pending_config_name=None,
                    pending_since=None,
                )
            )
            deployments[endpoint.name] = self._deploy(
                endpoint.name, config, updating=False, models=models, restored=endpoint
            )
        # Endpoints come back side by side, as their instances would on AWS; one that cannot
        # must not keep the others (or the emulator) from starting.
        results = await asyncio.gather(*deployments.values(), return_exceptions=True)
        for name, result in zip(deployments, results, strict=True):
            if isinstance(result, Exception):
                log.error("endpoint %s could not be restored", name, exc_info=result)
                self._record_failure(
                    name, f"The endpoint could not be restored: {result}", updating=False
                )

    async def drain(self) -> None:
        """Wait for background transitions (used at shutdown and by tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


# The variant properties a restart brings back; UpdateEndpoint retains at most the first two.
RESTORED = frozenset({"DesiredWeight", "DesiredInstanceCount", "ServerlessConfig"})


@dataclass(frozen=True)
class Recorded:
    """Live variant values a new fleet takes over instead of its config's: after a restart all
    of ``RESTORED``; after UpdateEndpoint with RetainAllVariantProperties the weights and
    instance counts not excluded. A variant that changed kind or is new takes its config's
    values."""

    variants: tuple[VariantState, ...] = ()
    properties: frozenset[str] = frozenset()

    def apply(self, config: EndpointConfig) -> EndpointConfig:
        states = {state.name: state for state in self.variants}
        variants = []
        for variant in config.variants:
            state = states.get(variant.name)
            same_kind = state is not None and kind_of(variant) is kind_of(state)
            variants.append(self._kept(variant, state) if same_kind and state else variant)
        return replace(config, variants=tuple(variants))

    def _kept(self, variant: Variant, state: VariantState) -> Variant:
        if "DesiredWeight" in self.properties:
            variant = replace(variant, initial_weight=state.current_weight)
        return kind_of(variant).retained(variant, state, self.properties)


def _live_state(state: VariantState, routed: RoutedVariant) -> VariantState:
    """``state`` as the variant now runs: the update (if any) applied or, if it failed, not."""
    runtime = routed.runtime
    return replace(
        runtime.live(state),
        current_weight=routed.weight,
        desired_weight=routed.weight,
        current_instance_count=runtime.instance_count,
        desired_instance_count=runtime.instance_count,
    )


def _running_states(config: EndpointConfig, fleet: Fleet) -> tuple[VariantState, ...]:
    return tuple(
        replace(
            state,
            current_instance_count=fleet.variants[state.name].runtime.instance_count,
            desired_instance_count=fleet.variants[state.name].runtime.instance_count,
        )
        for state in variant_states(config)
    )

"""Serverless endpoints: capacity started on demand, one worker process per instance.

A request takes an idle warm instance or, while fewer than MaxConcurrency requests are in flight,
starts a new instance (a worker process that loads the model: a cold start) and waits for it;
beyond MaxConcurrency it is refused at once (``ThrottledError``). Idle on-demand instances are
reclaimed after the keep-warm period; ProvisionedConcurrency instances start with the endpoint
and stay. Each instance is held to MemorySizeInMB of resident memory and to a CPU share
proportional to it (decisions in ``serverless_policy``); idle instances wait in a ``WarmPool``.
A cold start first waits its modelled container provisioning (``serve --provisioning``; none by
default), which the outcome reports apart from the measured start (``provisioning_s``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any

from endpointlab.config import DEFAULT_SERVERLESS_KEEP_WARM_S, DEFAULT_SERVERLESS_MB_PER_VCPU
from endpointlab.emulator.endpoints.base import (
    DeploymentError,
    InvocationOutcome,
    KindMetric,
    ModelPackage,
    OutOfMemoryError,
    ServerlessExecution,
    ThrottledError,
    failure_reason,
)
from endpointlab.emulator.endpoints.serverless_instances import (
    Instance,
    InstanceFactory,
    MemoryWatch,
)
from endpointlab.emulator.endpoints.serverless_metrics import serverless_metrics
from endpointlab.emulator.endpoints.serverless_policy import (
    COLD_START_TIMEOUT_S,
    INVOCATION_TIMEOUT_S,
    MIB,
    Placement,
    cpu_share,
    place,
)
from endpointlab.emulator.endpoints.serverless_pool import WarmPool
from endpointlab.emulator.metrics import InstanceProcesses
from endpointlab.emulator.provisioning import wait
from endpointlab.emulator.records import ServerlessConfig, Variant, VariantState
from endpointlab.emulator.workers.fork.cpu_quota import CpuQuotas
from endpointlab.emulator.workers.fork.framed_child import WorkerSpec
from endpointlab.emulator.workers.fork.host import WorkerHost, WorkerStartError
from endpointlab.emulator.workers.fork.logfile import append_log
from endpointlab.emulator.workers.fork.memory_limit import MemoryLimits
from endpointlab.models.contract import InvocationRequest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerlessSettings:
    """How serverless capacity behaves on this emulator (see the README for the defaults)."""

    keep_warm_s: float = DEFAULT_SERVERLESS_KEEP_WARM_S
    mb_per_vcpu: float = DEFAULT_SERVERLESS_MB_PER_VCPU
    host_cpus: int = 1
    invocation_timeout_s: float = INVOCATION_TIMEOUT_S
    cold_start_timeout_s: float = COLD_START_TIMEOUT_S
    memory_poll_s: float = 0.05
    replace_backoff_s: float = 1.0


@dataclass
class ServerlessStats:
    """Counters of what the capacity did, for logs, tests and benchmarks."""

    cold_starts: int = 0
    throttled: int = 0
    reclaimed: int = 0
    out_of_memory: int = 0


class ServerlessVariant:
    """A serverless production variant: MemorySizeInMB, MaxConcurrency, ProvisionedConcurrency."""

    kind = "serverless"

    def __init__(
        self,
        variant: Variant,
        package: ModelPackage,
        host: WorkerHost,
        settings: ServerlessSettings | None = None,
        quotas: CpuQuotas | None = None,
        memory_limits: MemoryLimits | None = None,
        cold_start_delay: Callable[[], float] | None = None,
    ) -> None:
        """``cold_start_delay`` draws each cold start's modelled provisioning time (seconds)."""
        if variant.serverless is None:
            raise DeploymentError(f"production variant {variant.name} is not serverless")
        self.name = variant.name
        self.config = variant.serverless
        self._settings = settings = settings or ServerlessSettings()
        self._quotas = quotas or CpuQuotas(None)
        memory = self.config.memory_size_mb
        self.share = cpu_share(memory, settings.mb_per_vcpu, settings.host_cpus)
        spec = WorkerSpec(
            str(package.model_dir),
            dict(package.environment),
            self.share.threads,
            package.log_path(variant.name),
        )
        self._log_path = spec.log_path
        self._factory = InstanceFactory(
            host,
            spec,
            self._quotas,
            self.share.effective,
            memory,
            settings.cold_start_timeout_s,
            memory_limits,
        )
        self._memory = MemoryWatch(self.name, memory, settings.memory_poll_s)
        self._provisioned_target = self.config.provisioned_concurrency or 0
        self._cold_start_delay = cold_start_delay or (lambda: 0.0)
        self._instances: set[Instance] = set()  # every live instance, idle or busy
        self._idle = WarmPool(settings.keep_warm_s, self._reclaim)
        self._starting = 0  # on-demand instances starting for a request
        self._provisioning = 0  # provisioned instances starting
        self._in_flight = 0
        self._drained = asyncio.Event()
        self._drained.set()
        self._background: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self.stats = ServerlessStats()

    @property
    def instance_count(self) -> int:
        """Instances running or starting (warm capacity plus cold starts under way)."""
        return len(self._instances) + self._starting + self._provisioning

    @property
    def worker_pids(self) -> list[int]:
        return [i.worker.pid for i in self._instances if i.worker.alive]

    @property
    def idle_count(self) -> int:
        return len(self._idle)

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Start ProvisionedConcurrency instances, or check once that the model loads (as
        SageMaker does when it creates the endpoint) and keep no instance warm."""
        log.info(
            "%s: serverless %d MB, MaxConcurrency %d, ProvisionedConcurrency %d; CPU share "
            "%.2f vCPU (%d native threads); CPU enforcement: %s",
            self.name, self.config.memory_size_mb, self.config.max_concurrency,
            self._provisioned_target, self.share.vcpus, self.share.threads,
            self._quotas.mechanism,
        )  # fmt: skip
        if self._provisioned_target:
            await self._add_provisioned(self._provisioned_target)
            return
        try:
            probe = await self._launch(provisioned=False)
        except WorkerStartError as exc:
            raise DeploymentError(self._reason(exc)) from exc
        failure = self._factory.out_of_memory_message(probe) if probe.out_of_memory else None
        await self._retire(probe)
        if failure is not None:
            raise DeploymentError(self._reason(failure))

    async def scale_to(self, instances: int) -> None:
        """Set the provisioned concurrency (what Application Auto Scaling changes)."""
        target = max(0, min(instances, self.config.max_concurrency))
        self._provisioned_target = target
        provisioned = [i for i in self._instances if i.provisioned]
        excess = self._idle.hand_back(len(provisioned) - target)
        if excess < 0:
            await self._add_provisioned(-excess)

    async def reconfigure(self, config: ServerlessConfig) -> None:
        """Apply a ServerlessUpdateConfig: the new MaxConcurrency holds for requests arriving
        from now on (requests already admitted finish), and provisioned instances are started
        or handed back to on-demand capacity until ProvisionedConcurrency are."""
        if config.memory_size_mb != self.config.memory_size_mb:
            raise DeploymentError(f"{self.name}: MemorySizeInMB cannot change in place")
        self.config = config
        await self.scale_to(config.provisioned_concurrency or 0)

    async def apply(self, state: VariantState) -> None:
        if state.desired_serverless is not None:
            await self.reconfigure(state.desired_serverless)

    def live(self, state: VariantState) -> VariantState:
        return replace(state, serverless=self.config, desired_serverless=None)

    def processes(self, endpoint: str) -> list[InstanceProcesses]:
        """Its warm instances, one worker each, with MemorySizeInMB."""
        memory = self.config.memory_size_mb * MIB
        return [
            InstanceProcesses(endpoint, self.name, memory, (pid,), serverless=True)
            for pid in self.worker_pids
        ]

    def request_metrics(self, outcome: InvocationOutcome) -> list[KindMetric]:
        # The concurrency now, which an update in progress may already have changed.
        if outcome.serverless is None:
            return []
        return serverless_metrics(outcome.serverless, self.config)

    async def stop(self) -> None:
        """Let requests already here finish, then stop every instance. Instances still
        starting are stopped as soon as they are up (a start is never abandoned half-way)."""
        self._stopping = True
        try:
            async with asyncio.timeout(self._settings.invocation_timeout_s):
                await self._drained.wait()
        except TimeoutError:
            log.warning("%s: stopping, %d requests unfinished", self.name, self._in_flight)
        self._idle.clear()
        await asyncio.gather(*(self._retire(i) for i in list(self._instances)))
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)
        await self._memory.close()

    # --- requests -----------------------------------------------------------------------------

    async def invoke(self, request: InvocationRequest) -> InvocationOutcome:
        placement = place(self._in_flight, self.config.max_concurrency, self.idle_count)
        if placement is Placement.THROTTLE:
            self.stats.throttled += 1
            raise ThrottledError(self.name, self._in_flight)
        self._in_flight += 1
        self._drained.clear()
        try:
            # A warm instance found dead before the request reached it is skipped.
            for _ in range(self.config.max_concurrency + 1):
                setup_s = provisioning_s = None
                if self.idle_count:
                    instance = self._idle.take()
                else:
                    self._starting += 1
                    try:
                        provisioning_s = self._cold_start_delay() or None
                        await wait(provisioning_s or 0.0)
                        begun = time.perf_counter()
                        instance = await self._launch(provisioned=False)
                    except OutOfMemoryError as exc:
                        self.stats.out_of_memory += 1
                        return InvocationOutcome(None, 0.0, failure=str(exc))
                    except WorkerStartError as exc:
                        return InvocationOutcome(None, 0.0, failure=f"The instance failed: {exc}.")
                    finally:
                        self._starting -= 1
                    setup_s = time.perf_counter() - begun
                    self.stats.cold_starts += 1
                outcome = await self._serve(instance, request, setup_s)
                if outcome is not None and provisioning_s is not None:
                    return replace(outcome, provisioning_s=provisioning_s)
                if outcome is not None:
                    return outcome
            return InvocationOutcome(None, 0.0, failure="No instance could take the request.")
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._drained.set()

    async def _serve(
        self, instance: Instance, request: InvocationRequest, setup_s: float | None
    ) -> InvocationOutcome | None:
        """Run the request on ``instance``; None if the instance was gone before it got it."""
        execution = self._execution(instance)
        self._memory.start(instance)
        try:
            result = None
            if not instance.out_of_memory:  # a cold start whose model load broke the limit
                result = await instance.worker.call(request, self._settings.invocation_timeout_s)
        finally:
            self._memory.end(instance)
        lost = result is None or result.reply is None
        if instance.out_of_memory or self._factory.over_limit(instance, lost=lost):
            self.stats.out_of_memory += 1
            instance.out_of_memory = True
            failure = self._factory.out_of_memory_message(instance)
            append_log(self._log_path, f"worker {instance.worker.pid}: {failure}")
            self._spawn_task(self._retire(instance))
            elapsed = 0.0 if result is None else result.elapsed_s
            return InvocationOutcome(None, elapsed, failure, False, setup_s, execution)
        assert result is not None
        if result.reply is None:  # the worker died or was killed: never park it again
            self._spawn_task(self._retire(instance))
            if result.not_sent:
                return None
        else:
            self._release(instance)
        reply = result.reply
        return InvocationOutcome(
            response=reply.response if reply else None,
            model_latency_s=reply.model_ns / 1e9 if reply else result.elapsed_s,
            failure=result.failure,
            timed_out=result.timed_out,
            cold_start_s=setup_s,
            serverless=execution,
        )

    def _execution(self, instance: Instance) -> ServerlessExecution:
        provisioned_busy = sum(1 for i in self._memory.busy if i.provisioned) + instance.provisioned
        return ServerlessExecution(
            executions=self._in_flight,
            provisioned_executions=provisioned_busy,
            on_provisioned=instance.provisioned if self._provisioned_target else None,
        )

    def _release(self, instance: Instance) -> None:
        if not instance.worker.alive or instance not in self._instances:
            return
        if self._stopping:
            self._spawn_task(self._retire(instance))
        elif instance.provisioned and self._provisioned_count() <= self._provisioned_target:
            self._idle.keep(instance)
        else:
            instance.provisioned = False
            self._idle.park(instance)

    def _provisioned_count(self) -> int:
        return sum(1 for i in self._instances if i.provisioned)

    def _reclaim(self, instance: Instance) -> None:
        """An idle on-demand instance past keep-warm."""
        self.stats.reclaimed += 1
        self._spawn_task(self._retire(instance))

    # --- instances ----------------------------------------------------------------------------

    async def _launch(self, *, provisioned: bool) -> Instance:
        instance = await self._factory.launch(provisioned=provisioned)
        self._instances.add(instance)
        instance.worker.on_exit(lambda _: self._exited(instance))
        return instance

    async def _add_provisioned(self, count: int) -> None:
        self._provisioning += count
        try:
            results = await asyncio.gather(
                *(self._launch(provisioned=True) for _ in range(count)), return_exceptions=True
            )
        finally:
            self._provisioning -= count
        started = [r for r in results if isinstance(r, Instance)]
        failures = [r for r in results if isinstance(r, BaseException)]
        broken = [i for i in started if i.out_of_memory]
        if failures or broken:
            for instance in started:
                instance.provisioned = False  # not to be replaced when it stops
            await asyncio.gather(*(self._retire(i) for i in started))
            error = failures[0] if failures else self._factory.out_of_memory_message(broken[0])
            raise DeploymentError(self._reason(error))
        for instance in started:
            self._release(instance)

    def _exited(self, instance: Instance) -> None:
        """A worker exited (reclaimed, out of memory, crashed): forget it; keep provisioned
        capacity at its target."""
        self._instances.discard(instance)
        self._idle.forget(instance)
        instance.cpu.release()
        instance.memory.release()  # and whatever the model started
        if instance.provisioned and not self._stopping:
            self._spawn_task(self._replenish())

    async def _replenish(self) -> None:
        """Start provisioned instances until the target is met again; a replacement that fails
        (killed while loading, say) is retried after a pause, never given up."""
        while not self._stopping:
            missing = self._provisioned_target - self._provisioned_count() - self._provisioning
            if missing <= 0:
                return
            try:
                await self._add_provisioned(missing)
            except DeploymentError as exc:
                log.warning("%s: replacing provisioned instances failed: %s", self.name, exc)
                await asyncio.sleep(self._settings.replace_backoff_s)  # back off, then retry

    async def _retire(self, instance: Instance) -> None:
        self._instances.discard(instance)
        await self._factory.retire(instance)

    def _spawn_task(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _reason(self, error: BaseException | str) -> str:
        """FailureReason: AWS's wording, the details in the variant's log. Running out of
        memory while loading (a str) keeps its message in the reason too: AWS's serverless
        benchmarking toolkit looks for "insufficient memory" there."""
        append_log(self._log_path, f"the variant could not start: {error}")
        return failure_reason(self.name, error)

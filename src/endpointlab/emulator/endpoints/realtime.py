"""Real-time endpoints: instances of an ml.* type, each a supervised group of worker processes.

Every instance has one request queue; its workers (SAGEMAKER_MODEL_SERVER_WORKERS, else one per
vCPU of the instance type) take requests from it one at a time. Requests go to the instance with
the fewest outstanding. A worker that dies or overruns the model timeout is replaced while the
others keep serving, so the endpoint stays InService. An instance's workers share one memory group
of the instance type's memory (where the host has memory groups): the kernel stops a worker that
would take more, its request fails as out of memory, and the worker is replaced. A new instance
first waits its modelled launch time (``serve --provisioning``; none by default).
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from endpointlab.catalogue import instance_type
from endpointlab.config import DEFAULT_STARTUP_TIMEOUT_S, DEFAULT_TIMEOUT_S
from endpointlab.emulator import sagemaker_errors as errors
from endpointlab.emulator.endpoints.base import (
    DeploymentError,
    EndpointKind,
    InvocationOutcome,
    KindMetric,
    ModelPackage,
    OutOfMemoryError,
    failure_reason,
)
from endpointlab.emulator.errors import ServiceError
from endpointlab.emulator.metrics import InstanceProcesses
from endpointlab.emulator.provisioning import wait
from endpointlab.emulator.records import Variant, VariantState
from endpointlab.emulator.workers.fork.framed_child import WorkerSpec
from endpointlab.emulator.workers.fork.host import RemoteWorker, WorkerHost, WorkerStartError
from endpointlab.emulator.workers.fork.logfile import append_log
from endpointlab.emulator.workers.fork.memory_limit import MemoryGroup, MemoryLimits
from endpointlab.models.contract import InvocationRequest

log = logging.getLogger(__name__)

GIB = 1024**3
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
# SageMaker's wording for a real-time container out of memory is not published (UNCONFIRMED);
# "insufficient memory" is what the serverless message and AWS's toolkit use.
OUT_OF_MEMORY = (
    "The instance had insufficient memory: a worker needed more than the {instance} instance's "
    "{memory:g} GiB and was stopped. Use an instance type with more memory, fewer workers "
    "(SAGEMAKER_MODEL_SERVER_WORKERS) or reduce the memory the model needs."
)


@dataclass(frozen=True)
class RealtimeSettings:
    """Limits of real-time hosting (SageMaker's defaults)."""

    invocation_timeout_s: float = DEFAULT_TIMEOUT_S
    startup_timeout_s: float = DEFAULT_STARTUP_TIMEOUT_S
    replace_backoff_s: float = 1.0


def workers_per_instance(package: ModelPackage, vcpus: int) -> int:
    configured = package.environment.get("SAGEMAKER_MODEL_SERVER_WORKERS")
    if configured and configured.strip().isdigit() and int(configured) > 0:
        return int(configured)
    return max(1, vcpus)


class Instance:
    """One ml.* instance: worker processes taking its requests one at a time each.

    A request takes an idle worker at once or waits, in arrival order, for the next one freed
    (the instance's queue). A worker that dies or overruns the timeout is replaced in the
    background and joins the idle set when its model is loaded.
    """

    def __init__(
        self,
        label: str,
        spec: WorkerSpec,
        workers: int,
        host: WorkerHost,
        settings: RealtimeSettings,
        memory: MemoryGroup | None = None,
        out_of_memory: str = "",
    ) -> None:
        self.label = label
        self._spec = spec
        self._size = workers
        self._host = host
        self._settings = settings
        self._memory = memory or MemoryGroup()
        self._out_of_memory = out_of_memory
        self._oom_kills_seen = 0
        self._workers: set[RemoteWorker] = set()
        self._idle: list[RemoteWorker] = []
        self._waiters: collections.deque[asyncio.Future[RemoteWorker]] = collections.deque()
        self._replacing: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._drained = asyncio.Event()
        self._drained.set()
        self.outstanding = 0

    async def start(self) -> None:
        results = await asyncio.gather(
            *(self._spawn() for _ in range(self._size)), return_exceptions=True
        )
        started = [r for r in results if isinstance(r, RemoteWorker)]
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            await asyncio.gather(*(w.stop(grace_s=1) for w in started))
            self._memory.release()
            raise failures[0]
        for worker in started:
            self._adopt(worker)

    async def _spawn(self) -> RemoteWorker:
        kills = self._memory.oom_kills()
        try:
            return await self._host.spawn(
                self._spec,
                ready_timeout_s=self._settings.startup_timeout_s,
                on_started=self._memory.add,
            )
        except WorkerStartError:
            if self._memory.oom_kills() > kills:  # stopped at the limit while loading
                self._oom_kills_seen = self._memory.oom_kills()
                raise OutOfMemoryError(self._out_of_memory) from None
            raise

    def _adopt(self, worker: RemoteWorker) -> None:
        self._workers.add(worker)
        worker.on_exit(self._lost)
        self._release(worker)

    async def invoke(
        self, request: InvocationRequest, timeout_s: float | None = None
    ) -> InvocationOutcome:
        """Run ``request`` on a worker within ``timeout_s`` (default: the variant's timeout)."""
        limit = self._settings.invocation_timeout_s if timeout_s is None else timeout_s
        self.outstanding += 1
        self._drained.clear()
        try:
            # A worker found dead before the request reached it is skipped, not a failure.
            for _ in range(self._size + 1):
                worker = await self._acquire()
                try:
                    result = await worker.call(request, limit)
                finally:
                    self._release(worker)
                if not result.not_sent:
                    break
        finally:
            self.outstanding -= 1
            if self.outstanding == 0:
                self._drained.set()
        reply = result.reply
        failure = result.failure
        if reply is None and not result.timed_out and self._new_oom_kill():
            failure = self._out_of_memory  # the worker was stopped at the memory limit
        return InvocationOutcome(
            response=reply.response if reply else None,
            model_latency_s=reply.model_ns / 1e9 if reply else result.elapsed_s,
            failure=failure,
            timed_out=result.timed_out,
        )

    def _new_oom_kill(self) -> bool:
        """Whether a worker was killed for memory since the last look (read only when a request
        lost its worker: the counter is a file read, kept off the hot path)."""
        kills = self._memory.oom_kills()
        new, self._oom_kills_seen = kills > self._oom_kills_seen, kills
        return new

    async def _acquire(self) -> RemoteWorker:
        while self._idle:
            worker = self._idle.pop()
            if worker.alive:
                return worker
        waiter: asyncio.Future[RemoteWorker] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        return await waiter

    def _release(self, worker: RemoteWorker) -> None:
        if not worker.alive:
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(worker)
                return
        self._idle.append(worker)

    def _lost(self, worker: RemoteWorker) -> None:
        """A worker exited (crash, timeout kill): start its replacement."""
        self._workers.discard(worker)
        if worker in self._idle:
            self._idle.remove(worker)
        if self._stopping:
            return
        task = asyncio.get_running_loop().create_task(self._replace())
        self._replacing.add(task)
        task.add_done_callback(self._replacing.discard)

    async def _replace(self) -> None:
        while not self._stopping:
            try:
                worker = await self._spawn()
            except WorkerStartError as exc:
                log.warning("%s: replacing a worker failed: %s", self.label, exc)
                await asyncio.sleep(self._settings.replace_backoff_s)  # back off, then retry
                continue
            if self._stopping:
                await worker.stop(grace_s=1)
                return
            log.info("%s: worker replaced (pid %d)", self.label, worker.pid)
            self._adopt(worker)
            return

    async def stop(self) -> None:
        """Let requests already here finish (blue/green retirement), then stop the workers."""
        self._stopping = True
        for task in list(self._replacing):
            task.cancel()
        await asyncio.gather(*self._replacing, return_exceptions=True)
        if self._workers:
            try:
                async with asyncio.timeout(self._settings.invocation_timeout_s):
                    await self._drained.wait()
            except TimeoutError:
                log.warning("%s: stopping, %d requests unfinished", self.label, self.outstanding)
        await asyncio.gather(*(w.stop() for w in list(self._workers)))
        self._memory.release()  # and whatever the model started
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(InstanceStoppedError(f"{self.label} was stopped"))

    @property
    def worker_pids(self) -> list[int]:
        return [w.pid for w in self._workers if w.alive]


class InstanceStoppedError(Exception):
    """The instance stopped while a request waited for one of its workers."""


class RealtimeVariant:
    """A production variant on InitialInstanceCount instances of InstanceType."""

    kind = "realtime"

    def __init__(
        self,
        variant: Variant,
        package: ModelPackage,
        host: WorkerHost,
        settings: RealtimeSettings | None = None,
        memory_limits: MemoryLimits | None = None,
        launch_delay: Callable[[], float] | None = None,
    ) -> None:
        """``launch_delay`` draws each new instance's modelled launch time (seconds)."""
        kind = instance_type(variant.instance_type or "")
        if kind is None:
            raise DeploymentError(f"unknown instance type {variant.instance_type}")
        self.name = variant.name
        self._kind = kind
        self._memory_limits = memory_limits or MemoryLimits(None)
        self._host = host
        self._settings = settings or RealtimeSettings()
        count = variant.initial_instance_count
        self._initial = 1 if count is None else count  # 0: an async variant restored at zero
        self._workers = workers_per_instance(package, kind.vcpus)
        self._spec = WorkerSpec(
            model_dir=str(package.model_dir),
            environment=dict(package.environment),
            threads=max(1, kind.vcpus // self._workers),
            log_path=package.log_path(variant.name),
        )
        self._instances: list[Instance] = []
        self._counter = 0
        self._launch_delay = launch_delay or (lambda: 0.0)

    @property
    def instance_count(self) -> int:
        return len(self._instances)

    @property
    def instances(self) -> list[Instance]:
        return list(self._instances)

    def _new_instance(self) -> Instance:
        self._counter += 1
        label = f"{self.name}/instance-{self._counter}"
        kind = self._kind
        memory = self._memory_limits.group(round(kind.memory_gib * GIB))
        message = OUT_OF_MEMORY.format(instance=kind.name, memory=kind.memory_gib)
        return Instance(
            label, self._spec, self._workers, self._host, self._settings, memory, message
        )

    async def start(self) -> None:
        await self.scale_to(self._initial)

    async def scale_to(self, instances: int) -> None:
        if instances > len(self._instances):
            added = [self._new_instance() for _ in range(instances - len(self._instances))]
            results = await asyncio.gather(
                *(self._launch(i) for i in added), return_exceptions=True
            )
            failures = [r for r in results if isinstance(r, BaseException)]
            good = [i for i, r in zip(added, results, strict=True) if r is None]
            if failures:
                await asyncio.gather(*(i.stop() for i in good))
                raise DeploymentError(self._reason(failures[0]))
            self._instances.extend(good)
        while len(self._instances) > instances:
            await self._instances.pop().stop()

    async def _launch(self, instance: Instance) -> None:
        delay = self._launch_delay()
        if delay > 0:
            log.info("%s: modelled instance launch %.1f s", instance.label, delay)
            await wait(delay)
        await instance.start()

    async def invoke(self, request: InvocationRequest) -> InvocationOutcome:
        if not self._instances:
            return InvocationOutcome(None, 0.0, failure="The variant has no running instance.")
        chosen = min(self._instances, key=lambda instance: instance.outstanding)
        try:
            return await chosen.invoke(request)
        except InstanceStoppedError as exc:
            return InvocationOutcome(None, 0.0, failure=str(exc))

    async def stop(self) -> None:
        instances, self._instances = self._instances, []
        await asyncio.gather(*(i.stop() for i in instances))

    async def apply(self, state: VariantState) -> None:
        if state.desired_instance_count != state.current_instance_count:
            await self.scale_to(state.desired_instance_count)

    def live(self, state: VariantState) -> VariantState:
        return state

    def processes(self, endpoint: str) -> list[InstanceProcesses]:
        memory = self._kind.memory_gib * GIB
        return [
            InstanceProcesses(endpoint, self.name, memory, tuple(instance.worker_pids))
            for instance in self._instances
        ]

    def request_metrics(self, outcome: InvocationOutcome) -> list[KindMetric]:
        return []

    def _reason(self, error: BaseException) -> str:
        """AWS's FailureReason; what went wrong goes to the variant's log (a worker that could
        not load its model has logged its traceback already)."""
        detail = str(error) if isinstance(error, WorkerStartError) else repr(error)
        append_log(self._spec.log_path, f"the variant could not start: {detail}")
        return failure_reason(self.name, error)


class RealtimeKind(EndpointKind):
    """Instance-based endpoints: InstanceType and InitialInstanceCount (the default kind)."""

    name = "realtime"
    label = "real-time endpoints"
    max_payload_bytes = MAX_PAYLOAD_BYTES
    instance_metrics = True

    @staticmethod
    def claims(variant: Variant | VariantState) -> bool:
        return variant.serverless is None

    @staticmethod
    def oversize_request(size: int) -> ServiceError:
        return errors.PAYLOAD_TOO_LARGE(size=size, limit=MAX_PAYLOAD_BYTES)

    @staticmethod
    def describe(state: VariantState) -> dict[str, Any]:
        return {
            "CurrentInstanceCount": state.current_instance_count,
            "DesiredInstanceCount": state.desired_instance_count,
        }

    def build(self, variant: Variant, package: ModelPackage) -> RealtimeVariant:
        context = self.context
        settings = RealtimeSettings(
            invocation_timeout_s=context.settings.invocation_timeout_s,
            startup_timeout_s=context.settings.startup_timeout_s,
        )
        return RealtimeVariant(
            variant,
            package,
            context.host,
            settings,
            context.memory_limits,
            context.provisioning.instance_launch,
        )

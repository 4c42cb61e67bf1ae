"""Real-time endpoints: instances of an ml.* type, each a supervised group of worker processes.

Every instance has one request queue; its workers (SAGEMAKER_MODEL_SERVER_WORKERS, else one per
vCPU of the instance type) take requests from it one at a time. Requests go to the instance with
the fewest outstanding. A worker that dies or overruns the model timeout is replaced while the
others keep serving, so the endpoint stays InService.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from endpointlab.catalogue import instance_type
from endpointlab.emulator.control.resources import Variant
from endpointlab.emulator.endpoints.base import DeploymentError, InvocationOutcome, ModelPackage
from endpointlab.emulator.workers.framed_child import WorkerSpec
from endpointlab.emulator.workers.host import RemoteWorker, WorkerHost, WorkerStartError
from endpointlab.models.contract import InvocationRequest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RealtimeSettings:
    """Limits of real-time hosting (SageMaker's defaults)."""

    invocation_timeout_s: float = 60.0
    startup_timeout_s: float = 240.0
    replace_backoff_s: float = 1.0


@dataclass
class _Job:
    request: InvocationRequest
    future: asyncio.Future[InvocationOutcome] = field(repr=False)


def workers_per_instance(package: ModelPackage, vcpus: int) -> int:
    configured = package.environment.get("SAGEMAKER_MODEL_SERVER_WORKERS")
    if configured and configured.strip().isdigit() and int(configured) > 0:
        return int(configured)
    return max(1, vcpus)


class Instance:
    """One ml.* instance: a queue and the worker processes that drain it."""

    def __init__(
        self,
        label: str,
        spec: WorkerSpec,
        workers: int,
        host: WorkerHost,
        settings: RealtimeSettings,
    ) -> None:
        self.label = label
        self._spec = spec
        self._host = host
        self._settings = settings
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._workers: list[RemoteWorker | None] = [None] * workers
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self.outstanding = 0

    async def start(self) -> None:
        results = await asyncio.gather(
            *(self._spawn() for _ in self._workers), return_exceptions=True
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        started = [r for r in results if isinstance(r, RemoteWorker)]
        if failures:
            await asyncio.gather(*(w.stop(grace_s=1) for w in started))
            raise failures[0]
        for slot, worker in enumerate(started):
            self._workers[slot] = worker
            self._tasks.append(asyncio.create_task(self._drain(slot)))

    async def _spawn(self) -> RemoteWorker:
        return await self._host.spawn(self._spec, ready_timeout_s=self._settings.startup_timeout_s)

    async def invoke(self, request: InvocationRequest) -> InvocationOutcome:
        future: asyncio.Future[InvocationOutcome] = asyncio.get_running_loop().create_future()
        self.outstanding += 1
        try:
            self._queue.put_nowait(_Job(request, future))
            return await future
        finally:
            self.outstanding -= 1

    async def _drain(self, slot: int) -> None:
        while not self._stopping:
            worker = self._workers[slot]
            if worker is None or not worker.alive:
                worker = await self._replace(slot)
                if worker is None:
                    return
            job = await self._queue.get()
            if job.future.done():  # the client went away while the request queued
                continue
            if not worker.alive:  # died while idle: serve this job on its replacement
                self._queue.put_nowait(job)
                continue
            result = await worker.call(job.request, self._settings.invocation_timeout_s)
            model_s = result.reply.model_ns / 1e9 if result.reply else result.elapsed_s
            outcome = InvocationOutcome(
                response=result.reply.response if result.reply else None,
                model_latency_s=model_s,
                failure=result.failure,
                timed_out=result.timed_out,
            )
            if not job.future.done():
                job.future.set_result(outcome)

    async def _replace(self, slot: int) -> RemoteWorker | None:
        while not self._stopping:
            try:
                worker = await self._spawn()
            except WorkerStartError as exc:
                log.warning("%s: replacing a worker failed: %s", self.label, exc)
                await asyncio.sleep(self._settings.replace_backoff_s)  # back off, then retry
                continue
            if self._stopping:
                await worker.stop(grace_s=1)
                return None
            log.info("%s: worker replaced (pid %d)", self.label, worker.pid)
            self._workers[slot] = worker
            return worker
        return None

    async def stop(self) -> None:
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await asyncio.gather(*(w.stop() for w in self._workers if w is not None))
        while not self._queue.empty():
            job = self._queue.get_nowait()
            if not job.future.done():
                job.future.set_result(
                    InvocationOutcome(None, 0.0, failure="The instance was stopped.")
                )

    @property
    def worker_pids(self) -> list[int]:
        return [w.pid for w in self._workers if w is not None and w.alive]


class RealtimeVariant:
    """A production variant on InitialInstanceCount instances of InstanceType."""

    def __init__(
        self,
        variant: Variant,
        package: ModelPackage,
        host: WorkerHost,
        settings: RealtimeSettings | None = None,
    ) -> None:
        kind = instance_type(variant.instance_type or "")
        if kind is None:
            raise DeploymentError(f"unknown instance type {variant.instance_type}")
        self.name = variant.name
        self._host = host
        self._settings = settings or RealtimeSettings()
        self._initial = variant.initial_instance_count or 1
        self._workers = workers_per_instance(package, kind.vcpus)
        self._spec = WorkerSpec(
            model_dir=str(package.model_dir),
            environment=dict(package.environment),
            threads=max(1, kind.vcpus // self._workers),
        )
        self._instances: list[Instance] = []
        self._counter = 0

    @property
    def instance_count(self) -> int:
        return len(self._instances)

    @property
    def instances(self) -> list[Instance]:
        return list(self._instances)

    def _new_instance(self) -> Instance:
        self._counter += 1
        label = f"{self.name}/instance-{self._counter}"
        return Instance(label, self._spec, self._workers, self._host, self._settings)

    async def start(self) -> None:
        await self.scale_to(self._initial)

    async def scale_to(self, instances: int) -> None:
        if instances > len(self._instances):
            added = [self._new_instance() for _ in range(instances - len(self._instances))]
            results = await asyncio.gather(*(i.start() for i in added), return_exceptions=True)
            failures = [r for r in results if isinstance(r, BaseException)]
            good = [i for i, r in zip(added, results, strict=True) if r is None]
            if failures:
                await asyncio.gather(*(i.stop() for i in good))
                raise DeploymentError(_reason(self.name, failures[0]))
            self._instances.extend(good)
        while len(self._instances) > instances:
            await self._instances.pop().stop()

    async def invoke(self, request: InvocationRequest) -> InvocationOutcome:
        if not self._instances:
            return InvocationOutcome(None, 0.0, failure="The variant has no running instance.")
        chosen = min(self._instances, key=lambda instance: instance.outstanding)
        return await chosen.invoke(request)

    async def stop(self) -> None:
        instances, self._instances = self._instances, []
        await asyncio.gather(*(i.stop() for i in instances))


def _reason(variant: str, error: BaseException) -> str:
    detail = str(error) if isinstance(error, WorkerStartError) else repr(error)
    return (
        f"The primary container for production variant {variant} did not pass the ping health "
        f"check: {detail}. Please check CloudWatch logs for this endpoint."
    )

"""Serverless instances: a worker process each, under its CPU quota and its memory limit.

``InstanceFactory`` starts an instance (a worker process that loads the model, put under the CPU
quota of its memory size and in a memory group of MemorySizeInMB as soon as it exists) and stops
it. Where memory groups exist the kernel stops a worker at the limit, loading or serving;
``MemoryWatch`` also samples the resident memory of instances busy with a request and stops any
that passes MemorySizeInMB, and the peak (VmHWM) is checked again after every request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from endpointlab.emulator.endpoints.base import OutOfMemoryError
from endpointlab.emulator.endpoints.serverless_policy import MIB, over_memory
from endpointlab.emulator.workers.fork.cpu_quota import CpuLimit, CpuQuotas
from endpointlab.emulator.workers.fork.framed_child import WorkerSpec
from endpointlab.emulator.workers.fork.host import RemoteWorker, WorkerHost, WorkerStartError
from endpointlab.emulator.workers.fork.memory_limit import MemoryGroup, MemoryLimits

log = logging.getLogger(__name__)

# AWS's serverless benchmarking toolkit recognises this failure by "insufficient memory" in the
# ModelError message (the rest of SageMaker's wording is not published: UNCONFIRMED).
OUT_OF_MEMORY = (
    "The serverless instance had insufficient memory: its container used {used} of resident "
    "memory, the endpoint's MemorySizeInMB is {limit} MB, and it was stopped. Use a larger "
    "MemorySizeInMB or reduce the memory the model needs."
)


class Instance:
    """One serverless instance: a worker process, its CPU quota and memory group, whether it is
    provisioned."""

    __slots__ = (
        "busy_since", "cpu", "memory", "out_of_memory", "provisioned", "reclaim", "worker",
    )  # fmt: skip

    def __init__(
        self, worker: RemoteWorker, cpu: CpuLimit, provisioned: bool, memory: MemoryGroup
    ) -> None:
        self.worker = worker
        self.cpu = cpu
        self.memory = memory
        self.provisioned = provisioned
        self.busy_since: float | None = None
        self.reclaim: asyncio.TimerHandle | None = None
        self.out_of_memory = False


class InstanceFactory:
    """Starts and stops the instances of one variant."""

    def __init__(
        self,
        host: WorkerHost,
        spec: WorkerSpec,
        quotas: CpuQuotas,
        cpus: float,
        memory_mb: int,
        start_timeout_s: float,
        memory_limits: MemoryLimits | None = None,
    ) -> None:
        self._host = host
        self._spec = spec
        self._quotas = quotas
        self._memory_limits = memory_limits or MemoryLimits(None)
        self._cpus = cpus
        self.memory_mb = memory_mb
        self._start_timeout_s = start_timeout_s

    async def launch(self, *, provisioned: bool) -> Instance:
        """A new instance with its model loaded (``WorkerStartError`` if it cannot load). One
        whose loading already broke the memory limit comes back marked ``out_of_memory``."""
        limits: list[CpuLimit] = []
        group = self._memory_limits.group(self.memory_mb * MIB)

        def started(pid: int) -> None:
            group.add(pid)
            limits.append(self._quotas.limit(pid, self._cpus))

        try:
            worker = await self._host.spawn(
                self._spec, ready_timeout_s=self._start_timeout_s, on_started=started
            )
        except BaseException as exc:
            for limit in limits:
                limit.release()
            group.release()
            if isinstance(exc, WorkerStartError) and group.oom_kills():
                message = OUT_OF_MEMORY.format(
                    used=f"more than {self.memory_mb} MB", limit=self.memory_mb
                )
                raise OutOfMemoryError(message) from None
            raise
        instance = Instance(worker, limits[0] if limits else CpuLimit(), provisioned, group)
        instance.out_of_memory = self.over_limit(instance)
        return instance

    def over_limit(self, instance: Instance, *, lost: bool = False) -> bool:
        """Whether the instance broke MemorySizeInMB: its peak resident memory so far passed
        it, or (``lost``: its worker is gone) one of its processes was stopped at the limit."""
        if lost and instance.memory.oom_kills():  # a file read: only when the worker died
            return True
        return over_memory(instance.worker.resident_bytes(peak=True), self.memory_mb)

    def out_of_memory_message(self, instance: Instance) -> str:
        used = instance.worker.resident_bytes(peak=True)
        size = f"more than {self.memory_mb} MB" if used is None else f"{used / MIB:.0f} MB"
        return OUT_OF_MEMORY.format(used=size, limit=self.memory_mb)

    @staticmethod
    async def retire(instance: Instance) -> None:
        """Stop the worker (at once if it broke its memory limit) and release its quota."""
        await instance.worker.stop(grace_s=0 if instance.out_of_memory else 1.0)
        instance.cpu.release()
        instance.memory.release()


class MemoryWatch:
    """While instances are busy, samples their resident memory every ``interval_s`` and kills
    those over the limit (the request then fails as out of memory)."""

    def __init__(self, label: str, memory_mb: int, interval_s: float) -> None:
        self._label = label
        self._memory_mb = memory_mb
        self._interval_s = interval_s
        self.busy: set[Instance] = set()
        self._task: asyncio.Task[None] | None = None
        self._kills: set[asyncio.Task[None]] = set()

    def start(self, instance: Instance) -> None:
        instance.busy_since = time.monotonic()
        self.busy.add(instance)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._watch())

    def end(self, instance: Instance) -> None:
        self.busy.discard(instance)
        instance.busy_since = None

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await asyncio.gather(*self._kills, return_exceptions=True)

    async def _watch(self) -> None:
        interval = self._interval_s
        while self.busy:
            await asyncio.sleep(interval)  # the sampling interval, not simulated work
            now = time.monotonic()
            for instance in list(self.busy):
                since = instance.busy_since
                if since is None or now - since < interval or instance.out_of_memory:
                    continue  # requests shorter than an interval are checked when they end
                if over_memory(instance.worker.resident_bytes(), self._memory_mb):
                    instance.out_of_memory = True
                    log.warning("%s: pid %d ran out of memory", self._label, instance.worker.pid)
                    kill = asyncio.get_running_loop().create_task(instance.worker.stop(grace_s=0))
                    self._kills.add(kill)
                    kill.add_done_callback(self._kills.discard)

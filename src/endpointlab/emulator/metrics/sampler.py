"""CPU, memory and disk utilisation of each instance, sampled from its worker processes.

Every interval the sampler asks which instances run (``InstanceProcesses``) and measures their
workers with psutil: CPUUtilization is the CPU time the instance's processes used over the
interval as AWS counts it (100% per busy core, so 0-100 x vCPUs), MemoryUtilization their
proportional set size as a percentage of the instance type's memory, DiskUtilization the
fullness of the volume holding the data directory. Each instance publishes its own samples.
A serverless instance publishes MemoryUtilization only (of its MemorySizeInMB), the one
utilisation metric SageMaker documents for serverless endpoints.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import psutil  # type: ignore[import-untyped]

from endpointlab.emulator.metrics.catalogue import (
    CPU_UTILIZATION,
    DISK_UTILIZATION,
    ENDPOINTS_NAMESPACE,
    MEMORY_UTILIZATION,
    UNIT_PERCENT,
    variant_dimensions,
)
from endpointlab.emulator.metrics.recorder import MetricsRecorder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InstanceProcesses:
    """One running instance: whose it is, how much memory it has (its instance type's, or a
    serverless MemorySizeInMB), and its worker pids."""

    endpoint: str
    variant: str
    memory_bytes: float
    pids: tuple[int, ...]
    serverless: bool = False


@dataclass(frozen=True)
class Utilization:
    """One instance's measured utilisation (percent)."""

    instance: InstanceProcesses
    cpu: float
    memory: float
    disk: float


class _CpuClock:
    """CPU seconds per process between calls; a new process counts from its start."""

    def __init__(self) -> None:
        self._seen: dict[int, tuple[psutil.Process, float, float]] = {}

    def busy_percent(self, pid: int, now: float) -> float:
        entry = self._seen.get(pid)
        try:
            if entry is None:
                process = psutil.Process(pid)
                then, used_before = process.create_time(), 0.0
            else:
                process, then, used_before = entry
            times = process.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            self._seen.pop(pid, None)
            return 0.0
        used = float(times.user + times.system)
        self._seen[pid] = (process, now, used)
        elapsed = now - then
        return 100.0 * max(0.0, used - used_before) / elapsed if elapsed > 0 else 0.0

    def forget_all_but(self, pids: set[int]) -> None:
        for pid in [p for p in self._seen if p not in pids]:
            del self._seen[pid]


class UtilizationSampler:
    """Measures every running instance each interval and records the three utilisations."""

    def __init__(
        self,
        recorder: MetricsRecorder,
        instances: Callable[[], Iterable[InstanceProcesses]],
        *,
        interval_s: float,
        disk_path: Path,
    ) -> None:
        self._recorder = recorder
        self._instances = instances
        self._interval_s = interval_s
        self._disk_path = disk_path
        self._cpu = _CpuClock()

    def measure(self, instances: list[InstanceProcesses], now: float) -> list[Utilization]:
        """Measure ``instances`` (blocking psutil calls: run it in a thread)."""
        try:
            disk = float(psutil.disk_usage(str(self._disk_path)).percent)
        except OSError:
            disk = 0.0
        out = []
        for instance in instances:
            cpu = sum(self._cpu.busy_percent(pid, now) for pid in instance.pids)
            memory = sum(_proportional_memory(pid) for pid in instance.pids)
            share = 100.0 * memory / instance.memory_bytes if instance.memory_bytes else 0.0
            out.append(Utilization(instance, cpu, share, disk))
        self._cpu.forget_all_but({pid for i in instances for pid in i.pids})
        return out

    async def sample(self) -> list[Utilization]:
        """Measure every running instance once and record the results."""
        instances = list(self._instances())
        now = time.time()
        measured = await asyncio.to_thread(self.measure, instances, now)
        for result in measured:
            dims = variant_dimensions(result.instance.endpoint, result.instance.variant)
            values = [(MEMORY_UTILIZATION, result.memory)]
            if not result.instance.serverless:
                values += [(CPU_UTILIZATION, result.cpu), (DISK_UTILIZATION, result.disk)]
            for name, value in values:
                self._recorder.put(ENDPOINTS_NAMESPACE, name, dims, value, UNIT_PERCENT, now)
        return measured

    async def run(self) -> None:
        """Sample every interval until cancelled."""
        while True:
            await asyncio.sleep(self._interval_s)
            try:
                await self.sample()
            except Exception:
                log.exception("sampling worker utilisation failed")


def _proportional_memory(pid: int) -> float:
    """PSS of ``pid`` (forked workers share preloaded pages), RSS where PSS is unavailable."""
    try:
        process = psutil.Process(pid)
        try:
            full = process.memory_full_info()
            return float(getattr(full, "pss", full.rss))
        except (psutil.AccessDenied, NotImplementedError):
            return float(process.memory_info().rss)
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return 0.0

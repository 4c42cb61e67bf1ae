"""Utilisation sampling of worker processes (emulator/metrics/sampler.py): CPU as AWS counts it
(100% per busy core, summed over an instance's processes), memory as a share of the instance
type's memory, disk as the data volume's fullness, recorded per instance."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
from pathlib import Path

import psutil

from endpointlab.emulator.metrics import InstanceProcesses, MetricKey, MetricsRecorder, MetricStore
from endpointlab.emulator.metrics.sampler import UtilizationSampler

GIB = 1024**3


def spin(seconds: float) -> None:
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        pass


def test_cpu_counts_busy_time_per_core(tmp_path: Path) -> None:
    """A spinning process is busy (at most 100% of a core, less when the machine is shared); a
    sleeping one is idle; an instance sums its processes."""
    ctx = multiprocessing.get_context("spawn")
    busy = ctx.Process(target=spin, args=(4.0,))
    idle = ctx.Process(target=time.sleep, args=(4.0,))
    for process in (busy, idle):
        process.start()
    try:
        spinning = InstanceProcesses("ep", "busy", 8 * GIB, (busy.pid or 0,))
        sleeping = InstanceProcesses("ep", "idle", 8 * GIB, (idle.pid or 0,))
        both = [spinning, sleeping]
        sampler = UtilizationSampler(
            MetricsRecorder(MetricStore(None), retention_s=60),
            lambda: both,
            interval_s=1,
            disk_path=tmp_path,
        )
        watched = [psutil.Process(busy.pid), psutil.Process(idle.pid)]
        time.sleep(1.0)  # past the interpreter's start-up (on a quiet machine)
        started, before = time.time(), [sum(p.cpu_times()[:2]) for p in watched]
        sampler.measure(both, started)  # the baseline
        time.sleep(1.5)
        ended, after = time.time(), [sum(p.cpu_times()[:2]) for p in watched]
        hot, cold = sampler.measure(both, ended)
    finally:
        for process in (busy, idle):
            process.terminate()
            process.join()
    # What the kernel says each used over the interval, however busy the machine was (a loaded
    # machine gives the spinner less than a core, and the sleeper's start-up may run late).
    hot_used, cold_used = (
        100.0 * (a - b) / (ended - started) for a, b in zip(after, before, strict=True)
    )
    assert 0.0 < hot.cpu <= 105.0
    assert abs(hot.cpu - hot_used) < 10.0, (hot.cpu, hot_used)
    assert abs(cold.cpu - cold_used) < 5.0, (cold.cpu, cold_used)
    assert hot.cpu > cold.cpu
    assert 0.0 < hot.memory < 1.0  # a bare interpreter in 8 GiB


def test_a_sample_records_the_three_utilisations_per_instance(tmp_path: Path) -> None:
    me = psutil.Process()
    rss = me.memory_info().rss
    instance = InstanceProcesses("ep", "v", float(rss * 4), (os.getpid(),))
    recorder = MetricsRecorder(MetricStore(None), retention_s=60)
    sampler = UtilizationSampler(
        recorder, lambda: [instance, instance], interval_s=1, disk_path=tmp_path
    )

    async def scenario() -> dict[str, list[float]]:
        await sampler.sample()
        out = {}
        for name in ("CPUUtilization", "MemoryUtilization", "DiskUtilization"):
            key = MetricKey.of("/aws/sagemaker/Endpoints", name, {"EndpointName": "ep",
                                                                  "VariantName": "v"})  # fmt: skip
            rows = await recorder.samples(key, 0, time.time() + 10, "Percent")
            out[name] = [s.value for s in rows for _ in range(int(s.count))]  # type: ignore[misc]
        return out

    measured = asyncio.run(scenario())
    assert len(measured["CPUUtilization"]) == 2  # one sample per instance
    assert all(0 < m <= 100 for m in measured["MemoryUtilization"])  # PSS <= RSS = 25%
    assert all(0 < d <= 100 for d in measured["DiskUtilization"])
    assert psutil.disk_usage(str(tmp_path)).percent == measured["DiskUtilization"][0]

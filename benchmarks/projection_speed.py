"""How fast the simulator projects, on one core, measured in one run.

Prints:
1. simulated requests per second of CPU time for each kind (serverless with cold starts,
   keep-warm and retries; real-time with target tracking; async with scaling from zero) under
   Poisson arrivals: the event loop alone, then with arrival generation and summaries;
2. the time to project a 30-million-request month (a per-minute trace with a daily cycle) onto
   a real-time endpoint with target-tracking autoscaling: simulation, then the projected
   configuration result (exact percentiles, timeline), CPU and wall time.

Service times are an empirical sample (a lognormal of 40 ms median, 2,000 values), as a bench
run would give. The process is pinned to one core when the machine allows it.

    uv run python benchmarks/projection_speed.py [--requests 2000000] [--month 30000000]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import numpy as np

from endpointlab.simulate import (
    OpenTraffic,
    Phase,
    per_minute,
    simulate_async,
    simulate_realtime,
    simulate_serverless,
)
from endpointlab.simulate.distributions import Empirical
from endpointlab.simulate.outcome import Recorder
from endpointlab.simulate.project import configuration_result
from endpointlab.simulate.scaling import TargetTracking
from endpointlab.simulate.specs import AsyncSpec, ClientSpec, RealtimeSpec, ServerlessSpec

MINUTES_PER_MONTH = 30 * 24 * 60


def timed(work: Callable[[], Recorder]) -> tuple[Recorder, float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    rec = work()
    return rec, time.process_time() - cpu, time.perf_counter() - wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2_000_000)
    parser.add_argument("--month", type=int, default=30_000_000)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    rng = np.random.default_rng(0)
    service = Empirical.of(rng.lognormal(np.log(0.04), 0.5, 2000).tolist())
    cold = Empirical.of(rng.uniform(1.5, 3.0, 200).tolist())
    rate = 400.0
    traffic = OpenTraffic((Phase("", args.requests / rate, rate, rate),), poisson=True)
    scaling = TargetTracking(target=3000, min_capacity=1, max_capacity=20)
    runs: dict[str, Callable[[], Recorder]] = {
        "serverless (MaxConcurrency 20, legacy retries)": lambda: simulate_serverless(
            ServerlessSpec(20, keep_warm_s=60), traffic, service, cold, ClientSpec(), 1
        ),
        "real-time (2 workers/instance, target tracking)": lambda: simulate_realtime(
            RealtimeSpec(2, 2, scaling=scaling, provisioning_s=120), traffic, service, cold, None, 1
        ),
        "async (4/instance, scaling from zero)": lambda: simulate_async(
            AsyncSpec(0, 4, scaling=TargetTracking(5, 0, 20)), traffic, service, cold, 1
        ),
    }
    print(f"1. {args.requests:,} Poisson requests at {rate:g}/s, one core (CPU time)")
    for name, work in runs.items():
        rec, cpu, _ = timed(work)
        kind = "serverless" if name.startswith("serverless") else "realtime"
        started = time.process_time()
        configuration_result("bench", kind, {}, rec, traffic)
        total = cpu + time.process_time() - started
        print(
            f"   {name:48} {len(rec.at) / cpu:>11,.0f} requests/s  "
            f"({len(rec.at) / total:,.0f}/s with summaries)"
        )
    # A month: a daily cycle around the mean rate, minute by minute.
    mean_per_minute = args.month / MINUTES_PER_MONTH
    minutes = np.arange(MINUTES_PER_MONTH)
    cycle = 1 + 0.6 * np.sin(2 * np.pi * minutes / 1440)
    month = per_minute((mean_per_minute * cycle).tolist())
    policy = TargetTracking(target=mean_per_minute / 2, min_capacity=1, max_capacity=10)
    spec = RealtimeSpec(1, 2, scaling=policy, provisioning_s=240)
    rec, cpu, wall = timed(lambda: simulate_realtime(spec, month, service, cold, None, 7))
    started, begun = time.process_time(), time.perf_counter()
    result = configuration_result("month", "realtime", {}, rec, month)
    summary_cpu, summary_wall = time.process_time() - started, time.perf_counter() - begun
    assert result.total is not None
    mean_instances = rec.instance_seconds(rec.end_s) / rec.end_s
    print(f"2. a month of {len(rec.at):,} requests onto real-time with target tracking")
    print(
        f"   simulation {cpu:.1f} s CPU ({wall:.1f} s wall), {len(rec.at) / cpu:,.0f} requests/s; "
        f"summaries {summary_cpu:.1f} s CPU ({summary_wall:.1f} s wall); "
        f"total {cpu + summary_cpu:.1f} s CPU"
    )
    print(
        f"   p50 {result.total.latency.p50:.1f} ms, p99 {result.total.latency.p99:.1f} ms, "
        f"mean instances {mean_instances:.2f}, scaling actions {len(rec.capacity) - 2}"
    )


if __name__ == "__main__":
    main()

"""Synthetic run results, one per built-in plan (serverless, realtime, async, compare), for the
report tests; deterministic (seeded), shaped like what bench writes.

Render one by hand: ``uv run python -m tests.report_runs serverless /tmp/run`` writes the run
directory, then ``uv run endpointlab report /tmp/run``.
"""

from __future__ import annotations

import math
import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from endpointlab.results.run_result import (
    AsyncSplit,
    ConfigurationResult,
    Cost,
    CostComparison,
    CostPoint,
    Environment,
    HostCheck,
    Interval,
    Kind,
    LatencyStats,
    Objective,
    PhaseSummary,
    Recommendation,
    RunResult,
    ServerTimes,
    TimelinePoint,
    Traffic,
    save_run_result,
)

OBJECTIVE = Objective(percentile=99.0, latency_ms=250.0, max_error_rate=0.01)
TRAFFIC = Traffic(requests_per_month=3_000_000, peak_rps=20.0, peak_concurrency=8)
ENVIRONMENT = Environment(
    endpointlab_version="0.1.0",
    python="3.11.2",
    platform="Linux-6.1",
    machine="x86_64",
    cpu_count=2,
    cpu_model="Synthetic CPU",
    memory_bytes=24 * 2**30,
    packages={"boto3": "1.43.0", "xgboost-cpu": "3.2.0"},
)


def stats(rng: random.Random, median: float, spread: float, count: int) -> LatencyStats:
    """Exact statistics of ``count`` lognormal latencies around ``median`` ms."""
    if count == 0:
        return LatencyStats(count=0)
    values = sorted(median * math.exp(rng.gauss(0.0, spread)) for _ in range(count))

    def at(p: float) -> float:
        rank = (len(values) - 1) * p / 100.0
        low = math.floor(rank)
        high = min(low + 1, len(values) - 1)
        return values[low] + (values[high] - values[low]) * (rank - low)

    return LatencyStats(
        count=count,
        min=values[0],
        mean=sum(values) / count,
        p50=at(50),
        p90=at(90),
        p95=at(95),
        p99=at(99),
        p99_9=at(99.9),
        max=values[-1],
    )


def phase(
    rng: random.Random,
    name: str,
    *,
    median: float,
    requests: int = 200,
    duration_s: float = 20.0,
    clients: int | None = None,
    rate_per_s: float | None = None,
    throttled: int = 0,
    errors: int = 0,
    cold: int = 0,
) -> PhaseSummary:
    failed = throttled + errors
    successes = requests - failed
    warm = stats(rng, median, 0.25, successes - cold)
    cold_stats = stats(rng, median * 12 + 900.0, 0.1, cold) if cold else None
    latency = warm if not cold else stats(rng, median * 1.1, 0.3, successes)
    p50 = latency.p50 or 0.0
    p99 = latency.p99 or 0.0
    return PhaseSummary(
        name=name,
        shape=f"closed {clients} clients" if clients else f"open {rate_per_s}/s",
        clients=clients,
        rate_per_s=rate_per_s,
        duration_s=duration_s,
        requests=requests,
        successes=successes,
        errors=({"ThrottlingException": throttled} if throttled else {})
        | ({"ModelError": errors} if errors else {}),
        throttled_requests=throttled,
        throttled_attempts=throttled * 3,
        attempts=requests + throttled * 2,
        cold_starts=cold,
        error_rate=failed / requests,
        throughput_per_s=successes / duration_s,
        throughput_per_min=60 * successes / duration_s,
        latency=latency,
        warm_latency=warm,
        cold_latency=cold_stats,
        latency_ci={
            "p50": Interval(low=p50 * 0.95, high=p50 * 1.05),
            "p99": Interval(low=p99 * 0.85, high=p99 * 1.2),
        },
        server={"ModelLatency": stats(rng, median * 0.7, 0.2, successes)},
    )


def total(phases: list[PhaseSummary], rng: random.Random, median: float) -> PhaseSummary:
    requests = sum(p.requests for p in phases)
    throttled = sum(p.throttled_requests for p in phases)
    errors = sum(p.errors.get("ModelError", 0) for p in phases)
    cold = sum(p.cold_starts for p in phases)
    duration = sum(p.duration_s for p in phases)
    return phase(
        rng,
        "total",
        median=median,
        requests=requests,
        duration_s=duration,
        throttled=throttled,
        errors=errors,
        cold=cold,
    ).model_copy(update={"shape": "", "clients": None, "rate_per_s": None})


def timeline(
    rng: random.Random,
    seconds: int,
    *,
    load: Callable[[int], float],
    median: float,
    instances: Callable[[int], float] | None = None,
    backlog: Callable[[int], float] | None = None,
    cold_at: tuple[int, ...] = (),
    throttle: float = 0.0,
) -> list[TimelinePoint]:
    points = []
    for t in range(seconds):
        in_flight = load(t)
        completed = max(0, round(in_flight * 1000 / median * rng.uniform(0.8, 1.1)))
        points.append(
            TimelinePoint(
                t=float(t),
                in_flight=in_flight,
                completed=completed,
                errors=0,
                throttles=round(completed * throttle * rng.random()),
                cold_starts=1 if t in cold_at else 0,
                p99_ms=median * rng.uniform(1.5, 2.5) * (8 if t in cold_at else 1),
                instances=instances(t) if instances else None,
                backlog=backlog(t) if backlog else None,
            )
        )
    return points


def configuration(
    name: str,
    kind: Kind,
    settings: dict[str, Any],
    phases: list[PhaseSummary],
    rng: random.Random,
    median: float,
    *,
    per_million: float,
    hourly: float | None = None,
    entitled: float = 1.0,
    origin: str = "measured",
    points: list[TimelinePoint] | None = None,
) -> ConfigurationResult:
    summary = total(phases, rng, median)
    oversubscribed = entitled > ENVIRONMENT.cpu_count
    meets = (summary.latency.p99 or math.inf) <= OBJECTIVE.latency_ms and (
        summary.error_rate <= OBJECTIVE.max_error_rate
    )
    return ConfigurationResult(
        name=name,
        kind=kind,
        settings=settings,
        origin="projected" if origin == "projected" else "measured",
        host=HostCheck(
            host_cores=ENVIRONMENT.cpu_count,
            entitled_vcpus=entitled,
            oversubscribed=oversubscribed,
            load_mean=min(entitled, 2.0) * 0.9,
            load_max=entitled * 1.1,
            note=f"entitled to {entitled:g} vCPUs on a {ENVIRONMENT.cpu_count}-core host"
            if oversubscribed
            else "",
        ),
        phases=phases,
        total=summary,
        timeline=points or [],
        metrics={"ModelLatency": [(60.0 * i, median * 0.7 + i) for i in range(3)]},
        cost=Cost(
            hourly_usd=hourly,
            per_invocation_usd=per_million / 1e6,
            per_million_usd=per_million,
            per_month_usd=per_million * TRAFFIC.requests_per_month / 1e6
            if hourly is None
            else hourly * 730,
            basis="GB-seconds of inference" if hourly is None else "instance-hours",
            price_source="synthetic prices (tests)",
        ),
        meets_objective=meets,
        records=[f"records/{name}.parquet", f"records/{name}.csv"],
    )


def serverless_configurations(rng: random.Random) -> list[ConfigurationResult]:
    configs = []
    for memory, median in ((1024, 180.0), (2048, 95.0), (3072, 70.0)):
        phases = [
            phase(rng, "cold start", median=median, requests=1, duration_s=5.0, clients=1, cold=1),
            phase(rng, "stability", median=median, requests=60, duration_s=12.0, clients=1),
        ]
        points = timeline(
            rng, 17, load=lambda t: 1.0, median=median, cold_at=(0,), instances=lambda t: 1.0
        )
        configs.append(
            configuration(
                f"sls-{memory}-mc1",
                "serverless",
                {"MemorySizeInMB": memory, "MaxConcurrency": 1},
                phases,
                rng,
                median,
                per_million=median * memory / 1024 * 0.02,
                entitled=memory / 1769,
                points=points,
            )
        )
    for concurrency in (2, 4):
        phases = []
        for multiplier in (1.0, 1.5, 2.0):
            clients = math.ceil(concurrency * multiplier)
            over = max(0, clients - concurrency)
            phases.append(
                phase(
                    rng,
                    f"clients x{multiplier:g}",
                    median=95.0 * (1 + 0.2 * concurrency / 2),
                    clients=clients,
                    throttled=over * 6,
                    cold=1 if multiplier == 1.0 else 0,
                )
            )
        points = timeline(
            rng,
            60,
            load=lambda t, c=concurrency: float(min(c, 1 + t // 10)),
            median=110.0,
            cold_at=(0, 10),
            throttle=0.1,
            instances=lambda t, c=concurrency: float(min(c, 1 + t // 10)),
        )
        configs.append(
            configuration(
                f"sls-2048-mc{concurrency}",
                "serverless",
                {"MemorySizeInMB": 2048, "MaxConcurrency": concurrency},
                phases,
                rng,
                110.0,
                per_million=2.2,
                entitled=concurrency * 2048 / 1769,
                points=points,
            )
        )
    return configs


def realtime_configurations(
    rng: random.Random, origin: str = "measured"
) -> list[ConfigurationResult]:
    configs = []
    for instance, vcpus, hourly, median in (
        ("ml.c5.large", 2, 0.102, 35.0),
        ("ml.m5.large", 2, 0.115, 40.0),
        ("ml.c5.xlarge", 4, 0.204, 30.0),
    ):
        phases = []
        for step, rate in enumerate((5.0, 10.0, 20.0, 40.0)):
            slow = median * (1 + 0.6 * step**2 / vcpus)
            phases.append(
                phase(
                    rng,
                    f"step {step + 1}",
                    median=slow,
                    requests=int(rate * 15),
                    duration_s=15.0,
                    rate_per_s=rate,
                    errors=int(rate * 15 * 0.02) if step == 3 and vcpus == 2 else 0,
                )
            )
        points = timeline(
            rng,
            60,
            load=lambda t, m=median: (5.0 * 2 ** (t // 15)) * m / 1000 * (1 + t / 30),
            median=median,
            instances=lambda t: 1.0 if t < 40 else 2.0,
        )
        configs.append(
            configuration(
                f"rt-{instance}",
                "realtime",
                {"InstanceType": instance, "InitialInstanceCount": 1},
                phases,
                rng,
                median * 1.5,
                per_million=hourly / (20 * 3600) * 1e6,
                hourly=hourly,
                entitled=float(vcpus),
                origin=origin,
                points=points,
            )
        )
    return configs


def async_configuration(rng: random.Random) -> ConfigurationResult:
    phases = [
        phase(rng, "burst", median=2500.0, requests=200, duration_s=90.0, clients=200, cold=1)
    ]

    def backlog(t: int) -> float:
        return float(max(0, 200 - max(0, t - 12) * 3)) if t >= 2 else 0.0

    points = timeline(
        rng,
        90,
        load=lambda t: 0.0 if t < 12 else min(4.0, backlog(t)),
        median=1000.0,
        instances=lambda t: 0.0 if t < 12 else (1.0 if t < 40 else 2.0) if t < 85 else 0.0,
        backlog=backlog,
        cold_at=(12, 40),
    )
    split = AsyncSplit(
        queue=ServerTimes(
            metric="TimeInBacklog", samples=200, mean=1400.0, p50=1200.0, p90=2600.0,
            p99=2900.0, max=3000.0, periods=1,
        ),
        total=ServerTimes(
            metric="TotalProcessingTime", samples=200, mean=2500.0, p50=2400.0, p90=3800.0,
            p99=4300.0, max=4500.0, periods=1,
        ),
        model=ServerTimes(
            metric="ModelLatency", samples=200, mean=700.0, p50=680.0, p90=900.0, p99=1000.0,
            max=1100.0, periods=1,
        ),
        processing_mean=1100.0,
        answered=200,
    )  # fmt: skip
    return configuration(
        "async-ml.m5.large-0to2",
        "async",
        {
            "InstanceType": "ml.m5.large",
            "MinCapacity": 0,
            "MaxCapacity": 2,
            "MaxConcurrentInvocationsPerInstance": 2,
        },
        phases,
        rng,
        2500.0,
        per_million=11.5,
        hourly=0.115,
        entitled=2.0,
        points=points,
    ).model_copy(update={"async_split": split})


def run(plan: str, configurations: list[ConfigurationResult], **extra: Any) -> RunResult:
    return RunResult(
        run_id=f"20261207T170000-{plan}",
        plan_name=plan,
        created_at="2026-12-07T17:00:00Z",
        plan={"name": plan, "quick": True, "objective": {"p99_ms": OBJECTIVE.latency_ms}},
        environment=ENVIRONMENT,
        objective=OBJECTIVE,
        traffic=TRAFFIC,
        configurations=configurations,
        **extra,
    )


def serverless_run() -> RunResult:
    configs = serverless_configurations(random.Random(1))
    return run(
        "serverless",
        configs,
        recommendation=Recommendation(
            chosen="sls-2048-mc1",
            runner_up="sls-3072-mc1",
            statement="sls-2048-mc1 is the cheapest configuration that meets p99 <= 250 ms.",
            reasons=[
                "meets the objective at $3.80 per 1M invocations",
                "sls-1024-mc1 is cheaper per request but misses the objective",
            ],
            would_change=["peak concurrency above 1 throttles: MaxConcurrency 2 costs $2.20"],
            warnings=["sls-2048-mc4 was measured on an oversubscribed host"],
        ),
    )


def realtime_run() -> RunResult:
    return run(
        "realtime",
        realtime_configurations(random.Random(2)),
        recommendation=Recommendation(
            chosen="rt-ml.c5.large",
            runner_up="rt-ml.m5.large",
            statement="rt-ml.c5.large sustains 20 requests/s within the objective.",
            reasons=["cheapest instance that meets the objective"],
        ),
    )


def async_run() -> RunResult:
    return run(
        "async",
        [async_configuration(random.Random(3))],
        recommendation=Recommendation(
            chosen="async-ml.m5.large-0to2", statement="The only configuration tried."
        ),
    )


def compare_run() -> RunResult:
    rng = random.Random(4)
    serverless = serverless_configurations(rng)[3]
    realtime = realtime_configurations(rng, origin="projected")[0]
    configs = [serverless, realtime, async_configuration(rng)]
    volumes = [round(10 ** (k / 4)) for k in range(16, 37)]  # 1e4 to 1e9, 4 a decade
    savings = [
        CostPoint(
            requests_per_month=v,
            usd={
                serverless.name: 2.2 * v / 1e6,
                realtime.name: 0.102 * 730 * max(1, math.ceil(v / (20 * 3600 * 730))),
                configs[2].name: 0.115 * 730 * min(1.0, v / 1e7) * 2,
            },
        )
        for v in volumes
    ]
    return run(
        "compare",
        configs,
        comparison=CostComparison(
            break_even_requests_per_month=0.102 * 730 / 2.2 * 1e6,
            between=[serverless.name, realtime.name],
            savings=savings,
            price_source="synthetic prices (tests)",
        ),
        recommendation=Recommendation(
            chosen=serverless.name,
            runner_up=realtime.name,
            statement=f"{serverless.name}: cheapest below the break-even volume.",
            reasons=["3M requests/month is below the break-even of 33.8M"],
            would_change=["traffic above 33.8M requests/month favours rt-ml.c5.large"],
        ),
    )


PLANS: dict[str, Callable[[], RunResult]] = {
    "serverless": serverless_run,
    "realtime": realtime_run,
    "async": async_run,
    "compare": compare_run,
}


def write_run(plan: str, run_dir: Path) -> Path:
    """Write the synthetic run of ``plan`` (its run-result.json only) to run_dir."""
    save_run_result(PLANS[plan](), run_dir)
    return run_dir


if __name__ == "__main__":
    print(write_run(sys.argv[1], Path(sys.argv[2])))

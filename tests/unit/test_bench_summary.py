"""The end-of-run table's figures: the highest rate carried within the objective, the best
serverless memory size for ``memory_mb: best``, and the rows themselves."""

from __future__ import annotations

from endpointlab.bench.execute import best_memory
from endpointlab.bench.plan import parse_plan
from endpointlab.bench.summary import summary_table, sustained, utilisation
from endpointlab.results.run_result import (
    ConfigurationResult,
    Environment,
    LatencyStats,
    Objective,
    PhaseSummary,
    RunResult,
)

OBJECTIVE = Objective(latency_ms=100, max_error_rate=0.01)


def phase(name: str, p99: float, errors: float = 0.0, rate: float | None = None) -> PhaseSummary:
    return PhaseSummary(
        name=name,
        rate_per_s=rate,
        duration_s=10,
        requests=100,
        successes=round(100 * (1 - errors)),
        error_rate=errors,
        latency=LatencyStats(count=100, p50=p99 / 2, p99=p99),
    )


def config(name: str, phases: list[PhaseSummary], **settings: object) -> ConfigurationResult:
    kind = "serverless" if "MemorySizeInMB" in settings else "realtime"
    return ConfigurationResult(
        name=name, kind=kind, settings=settings, phases=phases, total=phases[-1]
    )


def test_the_sustained_rate_is_the_highest_step_within_the_objective() -> None:
    steps = [
        phase("r5", 20, rate=5),
        phase("r40", 90, rate=40),
        phase("r20", 50, rate=20),
        phase("r80", 400, rate=80),  # too slow
        phase("r60", 60, errors=0.05, rate=60),  # too many errors
    ]
    text = sustained(config("c5", steps, InstanceType="ml.c5.large"), OBJECTIVE)
    assert text.startswith("sustained 40/s (2,400 invocations a minute)")
    assert "p99 90.0 ms (phase r40)" in text
    assert sustained(config("c5", [phase("r80", 400, rate=80)]), OBJECTIVE) == ""
    assert sustained(config("closed", [phase("c", 10)]), OBJECTIVE) == ""


def test_best_memory_is_the_smallest_that_meets_else_the_fastest() -> None:
    plan = parse_plan(
        "name: p\nmodel: {artifact: m}\nobjective: {latency_ms: 100}\n"
        "configurations: [{name: a, kind: serverless, memory_mb: best}]\n"
        "phases: [{name: s, clients: 1, duration: 1}]\n"
    )
    measured = [
        config("sl-1024", [phase("s", 150)], MemorySizeInMB=1024),
        config("sl-3072", [phase("s", 80)], MemorySizeInMB=3072),
        config("sl-2048", [phase("s", 95)], MemorySizeInMB=2048),
    ]
    assert best_memory(measured, plan) == 2048
    too_slow = [
        config("sl-1024", [phase("s", 300)], MemorySizeInMB=1024),
        config("sl-2048", [phase("s", 200)], MemorySizeInMB=2048),
    ]
    assert best_memory(too_slow, plan) == 2048
    assert best_memory([config("c5", [phase("s", 1)], InstanceType="ml.c5.large")], plan) is None
    # An earlier 'best' configuration (here "a", at 1024 MB and fast) does not count.
    earlier_best = config("a", [phase("s", 5)], MemorySizeInMB=1024)
    assert best_memory([*too_slow, earlier_best], plan) == 2048


def test_the_table_has_a_row_per_configuration_and_its_notes() -> None:
    env = Environment(endpointlab_version="0", python="3", platform="x", machine="x", cpu_count=2)
    failed = ConfigurationResult(
        name="c5", kind="realtime", status="failed", status_reason="endpoint c5: no capacity"
    )
    result = RunResult(
        run_id="r",
        plan_name="p",
        created_at="2026-12-07T00:00:00+00:00",
        environment=env,
        objective=OBJECTIVE,
        configurations=[
            config("sl", [phase("s", 40)], MemorySizeInMB=1024),
            failed,
            config("auto", [phase("r", 40)], InstanceType="ml.c5.large", MaxInstanceCount=4),
        ],
    )
    lines = summary_table(result).splitlines()
    assert lines[0] == "p: objective p99 <= 100 ms, errors <= 1.0%"
    assert lines[2].split()[:6] == ["sl", "serverless", "1024", "MB,", "conc", "1"]
    assert lines[3].split()[:4] == ["c5", "realtime", "failed", "-"]
    assert lines[4].split()[:4] == ["auto", "realtime", "1-4", "x"]  # autoscaled: its range
    assert lines[5] == "  c5: endpoint c5: no capacity"


def test_utilisation_is_the_mean_of_the_pulled_series() -> None:
    measured = config("c5", [phase("s", 10)], InstanceType="ml.c5.large").model_copy(
        update={
            "metrics": {
                "CPUUtilization:Average": [(0.0, 50.0), (60.0, 150.0)],
                "MemoryUtilization:Average": [(0.0, 12.4)],
            }
        }
    )
    assert utilisation(measured).startswith("utilisation CPU 100%, memory 12% ")
    assert utilisation(config("c5", [phase("s", 10)])) == ""

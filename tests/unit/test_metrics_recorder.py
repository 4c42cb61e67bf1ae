"""The metrics recorder and its store (emulator/metrics/recorder.py, store.py, totals.py): what one
invocation publishes, samples surviving a restart, retention, the Prometheus totals, and the
cost of recording on the request path."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from endpointlab.emulator.metrics import MetricKey, MetricsRecorder, MetricStore, Outcome
from endpointlab.emulator.metrics.catalogue import snake_case
from endpointlab.emulator.metrics.statistics import Sample

T0 = 1_800_000_000.0
DIMS = (("EndpointName", "ep"), ("VariantName", "AllTraffic"))


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def recorder(path: Path | None = None, clock: Clock | None = None) -> MetricsRecorder:
    return MetricsRecorder(MetricStore(path), retention_s=3600, clock=clock or Clock())


def key(name: str, namespace: str = "AWS/SageMaker") -> MetricKey:
    return MetricKey(namespace, name, DIMS)


def values(rec: MetricsRecorder, name: str) -> list[tuple[float | None, float, str]]:
    rows = rec.store.samples(key(name), 0, T0 + 10_000, None)
    return sorted((s.value, s.count, s.unit) for s in rows)


def invoke(
    rec: MetricsRecorder, outcome: Outcome, *, instances: int | None = 2, **kw: bool
) -> None:
    rec.record_invocation(
        "ep",
        "AllTraffic",
        model_latency_s=0.004,
        overhead_latency_s=0.0005,
        outcome=outcome,
        instances=instances,
        **kw,
    )


def test_one_invocation_publishes_sagemakers_metrics() -> None:
    rec = recorder()
    invoke(rec, Outcome.OK)
    rec.flush_sync()
    assert values(rec, "Invocations") == [(1.0, 1.0, "None")]
    assert values(rec, "InvocationsPerInstance") == [(0.5, 1.0, "None")]
    assert values(rec, "Invocation4XXErrors") == [(0.0, 1.0, "None")]
    assert values(rec, "Invocation5XXErrors") == [(0.0, 1.0, "None")]
    assert values(rec, "InvocationModelErrors") == [(0.0, 1.0, "None")]
    assert values(rec, "ModelLatency") == [(pytest.approx(4000.0), 1.0, "Microseconds")]
    assert values(rec, "OverheadLatency") == [(pytest.approx(500.0), 1.0, "Microseconds")]


@pytest.mark.parametrize(
    ("outcome", "four", "five", "model"),
    [
        (Outcome.CLIENT_ERROR, 1.0, 0.0, 1.0),
        (Outcome.SERVER_ERROR, 0.0, 1.0, 1.0),
        (Outcome.MODEL_ERROR, 0.0, 0.0, 1.0),
        (Outcome.TIMEOUT, 0.0, 0.0, 1.0),
    ],
)
def test_error_outcomes(outcome: Outcome, four: float, five: float, model: float) -> None:
    rec = recorder()
    invoke(rec, outcome)
    rec.flush_sync()
    assert values(rec, "Invocation4XXErrors")[0][0] == four
    assert values(rec, "Invocation5XXErrors")[0][0] == five
    assert values(rec, "InvocationModelErrors")[0][0] == model


def test_outcome_of_container_status() -> None:
    assert [Outcome.of_status(s) for s in (200, 204, 400, 415, 500, 503, 302)] == [
        Outcome.OK, Outcome.OK, Outcome.CLIENT_ERROR, Outcome.CLIENT_ERROR,
        Outcome.SERVER_ERROR, Outcome.SERVER_ERROR, Outcome.MODEL_ERROR,
    ]  # fmt: skip


def test_serverless_publishes_no_per_instance_or_model_error_metrics_but_setup_time() -> None:
    rec = recorder()
    invoke(rec, Outcome.OK, instances=None, serverless=True)
    rec.record_setup("ep", "AllTraffic", 1.25)
    rec.flush_sync()
    assert values(rec, "InvocationsPerInstance") == []
    assert values(rec, "InvocationModelErrors") == []
    assert values(rec, "ModelSetupTime") == [(1_250_000.0, 1.0, "Microseconds")]


def test_equal_values_of_a_second_share_one_sample() -> None:
    clock = Clock()
    rec = recorder(clock=clock)
    for _ in range(5):
        invoke(rec, Outcome.OK)
    clock.now += 1.5
    invoke(rec, Outcome.OK)
    rec.flush_sync()
    assert values(rec, "Invocations") == [(1.0, 1.0, "None"), (1.0, 5.0, "None")]
    assert len(values(rec, "ModelLatency")) == 2  # grouped too: every latency was 4 ms


def test_samples_survive_a_restart_and_retention_purges(tmp_path: Path) -> None:
    path = tmp_path / "metrics.sqlite3"
    clock = Clock()
    rec = recorder(path, clock)
    rec.put("Custom", "Old", {"A": "1"}, 1.0, "Count", T0 - 7200)
    rec.put("Custom", "New", {"A": "1"}, 2.0, "Count", T0)
    rec.flush_sync()
    rec.store.close()
    reopened = MetricStore(path)
    assert [k.name for k in reopened.metrics(since=0)] == ["New", "Old"]
    assert reopened.purge(before=T0 - 3600) == 1
    assert [k.name for k in reopened.metrics(since=0)] == ["New"]
    assert reopened.samples(MetricKey.of("Custom", "New", {"A": "1"}), 0, T0 + 1, "Count") == [
        Sample.of(int(T0), 2.0, unit="Count")
    ]
    reopened.close()


def test_statistic_sets_and_totals_for_prometheus() -> None:
    rec = recorder()
    rec.put_statistics("Custom", "Set", {}, sample_count=4, total=10, minimum=1, maximum=4)
    invoke(rec, Outcome.OK)
    invoke(rec, Outcome.SERVER_ERROR)
    rec.flush_sync()
    totals = {(t.key.name, t.unit): t for t in rec.totals.snapshot()}
    assert totals[("Invocations", "None")].total == 2.0
    assert totals[("Invocation5XXErrors", "None")].total == 1.0
    latency = totals[("ModelLatency", "Microseconds")]
    assert latency.count == 2.0
    assert dict(latency.cumulative_buckets())["0.005"] == 2.0  # 4 ms <= 5 ms
    assert dict(latency.cumulative_buckets())["0.0025"] == 0.0
    assert totals[("Set", "None")].latest_mean == 2.5


def test_async_flush_and_reads_see_everything_recorded() -> None:
    async def scenario() -> list[Sample]:
        rec = recorder()
        invoke(rec, Outcome.OK)
        return await rec.samples(key("Invocations"), 0, T0 + 1, None)

    assert len(asyncio.run(scenario())) == 1


def test_prometheus_names() -> None:
    assert snake_case("Invocation4XXErrors") == "invocation_4xx_errors"
    assert snake_case("CPUUtilization") == "cpu_utilization"
    assert snake_case("InvocationsPerInstance") == "invocations_per_instance"


def test_recording_an_invocation_costs_a_few_microseconds() -> None:
    rec = MetricsRecorder(MetricStore(None), retention_s=3600)
    n = 50_000
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(n):
            invoke(rec, Outcome.OK)
        best = min(best, (time.perf_counter() - started) / n)
        rec.flush_sync()
    print(f"record_invocation: {best * 1e6:.2f} us per call")
    assert best < 20e-6  # measured well under 1 us; the bound only catches a slow path

"""The async plan and figures of ``endpointlab bench async`` (bench/builtin.py,
bench/asynchronous.py): the built-in plan, the AsyncInferenceConfig and settings it deploys, the
figures computed from synthetic records and watched instance counts with known answers, and the
server's queue/processing split kept by a re-analysis, in summaries.csv and the end table."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from endpointlab.bench import asynchronous, rundir
from endpointlab.bench.builtin import builtin_plan
from endpointlab.bench.deploy import Names
from endpointlab.bench.execute import settings_of
from endpointlab.bench.plan import Async
from endpointlab.bench.reanalyse import reanalyse
from endpointlab.bench.summary import summary_table
from endpointlab.loadgen.async_client import as_async
from endpointlab.loadgen.client import Invocation
from endpointlab.results import RequestRecord
from endpointlab.results.run_result import (
    AsyncSplit,
    ConfigurationResult,
    Environment,
    RunResult,
    ServerTimes,
    TimelinePoint,
    save_run_result,
)


def record(
    number: int, sent: float, submit_ms: float, elapsed: float, **changes: Any
) -> RequestRecord:
    values: dict[str, Any] = {
        "execution_number": number, "client_id": number, "status_response": 202,
        "body_response": "{}", "elapsed_time": elapsed, "current_date": "", "intended_at": sent,
        "sent_at": sent, "latency_ms": elapsed * 1e3, "service_ms": elapsed * 1e3, "attempts": 1,
        "error_code": "", "throttled": False, "cold_start": None, "variant": "", "phase": "q",
        "request_bytes": 1, "response_bytes": 2, "submit_ms": submit_ms,
        "output_ms": elapsed * 1e3 - submit_ms, "async_outcome": "Completed",
    }  # fmt: skip
    values.update(changes)
    return RequestRecord(**values)


RECORDS = [
    record(1, 100.0, 10.0, 3.0),  # answered at 103
    record(2, 100.0, 20.0, 4.0),  # answered at 104: the last
    record(3, 100.5, 10.0, 2.0, async_outcome="Failed", error_code="AsyncInferenceFailed"),
    record(4, 100.5, 10.0, 6.0, async_outcome="DeadlineExceeded", error_code="DeadlineExceeded",
           output_ms=None),
]  # fmt: skip
# Zero instances until 102.5, then one, two at 103.5.
SAMPLES = [(99.0, 0), (100.2, 0), (101.0, 0), (102.5, 1), (103.5, 2), (104.2, 2)]
SPLIT = AsyncSplit(
    queue=ServerTimes(metric="TimeInBacklog", samples=3, mean=6.0, p50=5.0, p90=9.0, p99=9.0),
    total=ServerTimes(
        metric="TotalProcessingTime", samples=3, mean=3000.0, p50=2000.0, p90=4000.0, p99=4000.0
    ),
    processing_mean=2994.0,
    answered=2,
    findings=["TimeInBacklog has 3 samples but the client found 2 answers"],
)
SPLIT_COLUMNS = rundir.SUMMARY_COLUMNS[-8:]


def test_the_quick_async_plan_scales_from_zero_with_a_compressed_clock() -> None:
    plan = builtin_plan("async", True, {"artifact": "model.tar.gz"})
    [config] = plan.configurations
    assert isinstance(config, Async)
    assert (config.min_instances, config.instance_count) == (0, 2)
    assert plan.scaling_clock == 60 and plan.deadline == 120
    assert plan.objective.latency_ms == 60_000  # send to answer, queue included
    assert [p.requests for p in plan.phases] == [40]
    assert settings_of(config, None) == {
        "InstanceType": "ml.c5.large", "InitialInstanceCount": 2,
        "MinInstanceCount": 0, "MaxInstanceCount": 2,
    }  # fmt: skip
    names = Names("el-1234-async-c5", "el-1234-async-c5", "el-1234-async-c5")
    assert asynchronous.inference_config(names, config) == {
        "OutputConfig": {
            "S3OutputPath": "s3://el-1234-async-c5-async/output",
            "S3FailurePath": "s3://el-1234-async-c5-async/failure",
        },
        "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 1},
    }


def test_the_figures_of_an_async_run() -> None:
    found = asynchronous.figures(RECORDS, SAMPLES)
    assert found["drain_s"] == pytest.approx(4.0)  # first send 100 -> last answer found 104
    assert found["scale_from_zero_s"] == pytest.approx(2.5)  # at zero at 100, one at 102.5
    assert (found["completed"], found["failed"], found["lost_to_deadline"]) == (2, 1, 1)
    assert found["peak_instances"] == 2
    assert found["queue_and_processing_max_ms"] == pytest.approx(3980.0)
    # Never at zero when the first request went: no scale-from-zero time.
    assert asynchronous.figures(RECORDS, [(99.0, 1), (103.0, 2)])["scale_from_zero_s"] is None
    assert "drain 4.0 s, scale from zero 2.5 s" in asynchronous.describe(found)


def test_the_timeline_gets_instances_and_the_clients_backlog() -> None:
    points = [TimelinePoint(t=float(t)) for t in range(6)]
    filled = asynchronous.with_instances_and_backlog(points, 100.0, RECORDS, SAMPLES)
    assert [p.instances for p in filled] == [0.0, 0.0, 1.0, 2.0, 2.0, 2.0]
    # Accepted (sent + submit) and not yet answered at each second's middle.
    assert [p.backlog for p in filled] == [2, 4, 3, 2, 1, 1]


def test_invoke_endpoint_arguments_become_async_ones() -> None:
    sync = Invocation.from_args({"Body": "1,2", "ContentType": "text/csv", "Accept": "a/b"})
    converted = as_async(sync)
    assert converted.body == b"1,2"
    assert dict(converted.headers) == {
        "X-Amzn-SageMaker-Content-Type": "text/csv", "X-Amzn-SageMaker-Accept": "a/b",
    }  # fmt: skip


def test_reanalysing_an_async_run_keeps_what_it_watched_and_the_servers_split(
    tmp_path: Path,
) -> None:
    plan = builtin_plan("async", True, {"artifact": "model.tar.gz"})
    [config] = plan.configurations
    start = min(r.intended_at for r in RECORDS)
    points = asynchronous.with_instances_and_backlog(
        [TimelinePoint(t=float(t)) for t in range(7)], start, RECORDS, SAMPLES
    )
    rundir.write_plan(tmp_path, plan)
    files = rundir.write_records(tmp_path, config.name, RECORDS)
    environment = Environment(
        endpointlab_version="0", python="3", platform="linux", machine="x", cpu_count=2
    )
    result = RunResult(
        run_id="r", plan_name=plan.name, created_at="2026-12-07T18:00:00+00:00",
        environment=environment, objective=plan.objective,
        configurations=[ConfigurationResult(
            name=config.name, kind="async", timeline=points, records=files,
            asynchronous=asynchronous.figures(RECORDS, SAMPLES), async_split=SPLIT,
        )],
    )  # fmt: skip
    save_run_result(result, tmp_path)
    redone = reanalyse(tmp_path, lambda r: r)
    [again] = redone.configurations
    assert [p.instances for p in again.timeline] == [p.instances for p in points]
    assert [p.backlog for p in again.timeline] == [p.backlog for p in points]
    assert again.asynchronous == result.configurations[0].asynchronous
    assert again.async_split == SPLIT  # pulled from CloudWatch, not in the records: kept
    with (tmp_path / rundir.SUMMARIES_FILE).open(newline="") as handle:
        phase_row, total_row = csv.DictReader(handle)
    assert phase_row["phase"] == "q" and phase_row["queue_p50_ms"] == ""
    assert total_row["phase"] == "total"
    assert {k: v for k, v in total_row.items() if k in SPLIT_COLUMNS} == {
        "server_samples": "3", "queue_p50_ms": "5.000", "queue_p90_ms": "9.000",
        "queue_p99_ms": "9.000", "received_to_finished_p50_ms": "2000.000",
        "received_to_finished_p90_ms": "4000.000", "received_to_finished_p99_ms": "4000.000",
        "processing_mean_ms": "2994.000",
    }  # fmt: skip
    table = summary_table(redone)
    assert f"  {config.name}: server per request (CloudWatch): queue p50/p90/p99 5/9/9 ms" in table
    assert f"  {config.name}: ! {SPLIT.findings[0]}" in table

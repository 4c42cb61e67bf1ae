"""The run-result file: round trip, JSON without NaN, one-line errors for files it cannot read,
older versions migrated."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from endpointlab.results.run_result import (
    AsyncSplit,
    ConfigurationResult,
    Environment,
    LatencyStats,
    Objective,
    PhaseSummary,
    RunResult,
    RunResultError,
    ServerTimes,
    load_run_result,
    save_run_result,
)


def _result() -> RunResult:
    phase = PhaseSummary(
        name="total",
        duration_s=10.0,
        requests=3,
        successes=2,
        errors={"ThrottlingException": 1},
        latency=LatencyStats(count=2, min=1.0, p50=1.5, p99=math.nan, max=2.0),
    )
    return RunResult(
        run_id="r1",
        plan_name="serverless",
        created_at="2026-12-07T17:00:00Z",
        environment=Environment(
            endpointlab_version="0", python="3.12", platform="linux", machine="x86_64", cpu_count=2
        ),
        objective=Objective(latency_ms=200.0),
        configurations=[
            ConfigurationResult(
                name="sls-2048-mc2",
                kind="serverless",
                settings={"MemorySizeInMB": 2048, "MaxConcurrency": 2},
                phases=[phase],
                total=phase,
                metrics={"ModelLatency": [(0.0, 1.0), (60.0, 2.0)]},
            )
        ],
    )


def test_a_saved_run_result_loads_back_equal_and_without_nan(tmp_path: Path) -> None:
    path = save_run_result(_result(), tmp_path)
    text = path.read_text()
    assert "NaN" not in text
    loaded = load_run_result(tmp_path)
    assert loaded.configuration("sls-2048-mc2").total is not None
    assert loaded.configuration("sls-2048-mc2").total.latency.p99 is None  # type: ignore[union-attr]
    assert loaded.model_copy() == load_run_result(path)
    assert loaded.configurations[0].metrics["ModelLatency"] == [(0.0, 1.0), (60.0, 2.0)]


def test_a_newer_version_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = save_run_result(_result(), tmp_path)
    data = json.loads(path.read_text())
    data["version"] = 99
    path.write_text(json.dumps(data))
    with pytest.raises(RunResultError, match=r"version 99, newer .* upgrade endpointlab") as error:
        load_run_result(tmp_path)
    assert str(path) in str(error.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not valid JSON"),
        ('{"format": "other"}', "not an endpointlab run result"),
        ('{"format": "endpointlab.run-result", "version": "x"}', "unknown run-result version"),
    ],
)
def test_unreadable_files_get_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "run-result.json").write_text(text)
    with pytest.raises(RunResultError, match=message) as error:
        load_run_result(tmp_path)
    assert "\n" not in str(error.value)


def test_a_bad_field_is_named(tmp_path: Path) -> None:
    data = json.loads(save_run_result(_result(), tmp_path).read_text())
    data["configurations"][0]["kind"] = "batch"
    (tmp_path / "run-result.json").write_text(json.dumps(data))
    with pytest.raises(RunResultError, match=r"invalid at configurations\.0\.kind"):
        load_run_result(tmp_path)


def test_a_missing_run_dir_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(RunResultError, match="no run result at"):
        load_run_result(tmp_path / "nope")


def test_a_version_1_run_result_loads_without_an_async_split(tmp_path: Path) -> None:
    data = json.loads(save_run_result(_result(), tmp_path).read_text())
    assert data["version"] == 2
    current = load_run_result(tmp_path)
    data["version"] = 1  # as version 1 wrote it: no async_split anywhere
    for config in data["configurations"]:
        del config["async_split"]
    (tmp_path / "run-result.json").write_text(json.dumps(data))
    loaded = load_run_result(tmp_path)
    assert loaded.version == 2
    assert loaded.configurations[0].async_split is None
    assert loaded == current


def test_an_async_split_is_saved_and_loaded_back(tmp_path: Path) -> None:
    split = AsyncSplit(
        queue=ServerTimes(metric="TimeInBacklog", samples=3, mean=2.0, p50=1.0, periods=1),
        total=ServerTimes(metric="TotalProcessingTime", samples=3, mean=5.0, p99=math.inf),
        processing_mean=3.0,
        answered=2,
        findings=["TimeInBacklog has 3 samples but the client found 2 answers"],
    )
    config = ConfigurationResult(name="a", kind="async", async_split=split)
    save_run_result(_result().model_copy(update={"configurations": [config]}), tmp_path)
    [loaded] = load_run_result(tmp_path).configurations
    assert loaded.async_split is not None
    assert loaded.async_split.total.p99 is None  # no infinity in JSON
    assert loaded.async_split == split.model_copy(
        update={"total": split.total.model_copy(update={"p99": None})}
    )

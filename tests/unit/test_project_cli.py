"""``endpointlab project`` as a user runs it, on a small measured run written to disk."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from endpointlab.cli import main
from endpointlab.results.records import RequestRecord
from endpointlab.results.run_result import (
    ConfigurationResult,
    Environment,
    LatencyStats,
    Objective,
    PhaseSummary,
    RunResult,
    load_run_result,
    save_run_result,
)
from endpointlab.results.store import write_parquet


def record(n: int, service_ms: float, cold_ms: float | None = None) -> RequestRecord:
    return RequestRecord(
        execution_number=n, client_id=0, status_response=200, body_response="ok",
        elapsed_time=service_ms / 1000, current_date="", intended_at=float(n), sent_at=float(n),
        latency_ms=service_ms, service_ms=service_ms, attempts=1, error_code="", throttled=False,
        cold_start=cold_ms is not None, variant="AllTraffic", phase="", request_bytes=10,
        response_bytes=10, cold_start_ms=cold_ms,
    )  # fmt: skip


def measured(name: str, kind: str, settings: dict[str, object]) -> ConfigurationResult:
    total = PhaseSummary(
        name="total", duration_s=60, requests=40, successes=40, latency=LatencyStats(count=40)
    )
    return ConfigurationResult(
        name=name, kind=kind, settings=settings, total=total,  # type: ignore[arg-type]
        records=[f"records/{name}.parquet", f"records/{name}.csv"],
    )  # fmt: skip


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("run")
    (root / "records").mkdir()
    warm = [record(i, 80.0 + (i % 5) * 10) for i in range(40)]
    write_parquet([record(100, 2400.0, 2300.0), *warm], root / "records/sls.parquet")
    write_parquet(warm, root / "records/rt.parquet")
    result = RunResult(
        run_id="run-1",
        plan_name="plan",
        created_at="2026-12-07T17:00:00+00:00",
        environment=Environment(
            endpointlab_version="0", python="3.11", platform="linux", machine="x", cpu_count=2
        ),
        objective=Objective(latency_ms=500.0),
        configurations=[
            measured("sls", "serverless", {"MemorySizeInMB": 2048, "MaxConcurrency": 2}),
            measured("rt", "realtime", {"InstanceType": "ml.m5.large", "InitialInstanceCount": 1}),
        ],
    )
    save_run_result(result, root)
    return root


def project(*args: str) -> tuple[int, str]:
    outcome = CliRunner().invoke(main, ["project", *args])
    return outcome.exit_code, outcome.output


def test_project_writes_a_projected_run_result_with_a_sweep(run_dir: Path, tmp_path: Path) -> None:
    code, output = project(
        str(run_dir), "--rate", "20", "--duration", "5m", "--config", "sls",
        "--set", "MaxConcurrency=1,2,4", "--out", str(tmp_path),
    )  # fmt: skip
    assert code == 0, output
    result = load_run_result(tmp_path)
    assert result.origin == "projected" and result.source_run == "run-1"
    names = [c.name for c in result.configurations]
    assert names == [f"sls [MaxConcurrency={n}]" for n in (1, 2, 4)]
    throttled = [c.total.throttled_attempts for c in result.configurations if c.total]
    assert throttled[0] > throttled[1] > throttled[2]  # more concurrency, fewer throttles
    for config in result.configurations:
        assert config.origin == "projected" and config.total is not None
        assert 5_500 < config.total.requests < 6_500  # 20/s for 300 s
        assert config.total.cold_starts >= 1
        assert config.cost is not None and config.cost.per_million_usd  # priced by analysis
    roomy = result.configurations[-1].total
    assert roomy is not None and roomy.warm_latency is not None
    assert 80 <= (roomy.warm_latency.p50 or 0) <= 130  # the measured 80-120 ms, rarely queued
    assert result.recommendation is not None and result.traffic is not None
    assert result.traffic.requests_per_month == pytest.approx(20 * 730 * 3600)


def test_real_time_projection_has_an_instance_timeline(run_dir: Path, tmp_path: Path) -> None:
    code, output = project(
        str(run_dir), "--clients", "4", "--duration", "60", "--config", "rt", "--out", str(tmp_path)
    )
    assert code == 0, output
    config = load_run_result(tmp_path).configuration("rt")
    assert config.total is not None and config.total.latency.p50 is not None
    # ml.m5.large: 2 workers for 4 clients, so requests wait about one service time.
    assert 150 < config.total.latency.p50 < 250
    assert {p.instances for p in config.timeline} == {1.0}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rate", "5"], "needs --duration"),
        (["--set", "Colour=blue", "--rate", "5", "--duration", "9"], "unknown setting 'Colour'"),
        (["--config", "nope", "--rate", "5", "--duration", "9"], "no configuration 'nope'"),
        (["--set", "MemorySizeInMB=4096", "--rate", "5", "--duration", "9"], "MemorySizeInMB 4096"),
        ([], "pass one of --traffic"),
        (["--rate", "5", "--duration", "9", "--deadline", "0"], "deadline must be positive"),
        (["--rate", "5", "--duration", "9", "--set", "MaxConcurrency=0"], "MaxConcurrency is"),
    ],
)
def test_mistakes_get_one_line(run_dir: Path, args: list[str], message: str) -> None:
    code, output = project(str(run_dir), *args)
    assert code == 2 and message in output and output.count("\n") == 1, output


def test_a_missing_run_is_one_line(tmp_path: Path) -> None:
    code, output = project(str(tmp_path / "none"), "--rate", "5", "--duration", "9")
    assert code == 2 and "no run result" in output


def test_a_traffic_csv_of_rates_per_minute(run_dir: Path, tmp_path: Path) -> None:
    trace = tmp_path / "traffic.csv"
    trace.write_text("requests_per_minute\n600\n0\n1200\n")
    code, output = project(
        str(run_dir), "--traffic", str(trace), "--config", "sls", "--out", str(tmp_path / "o")
    )
    assert code == 0, output
    total = load_run_result(tmp_path / "o").configuration("sls").total
    assert total is not None and 1_650 < total.requests < 1_950

"""The run directory a bench run writes and every later step reads.

Layout: run-result.json, plan.yaml, environment.json, records/<configuration>.parquet and .csv,
summaries.csv (an async configuration's total row adds the server's queue/processing split),
metrics/<configuration>.json (CloudWatch series as pulled), emulator.log (local target) and
report.html (the reports package).
"""

from __future__ import annotations

import csv
import importlib.metadata
import json
import os
import platform
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import psutil  # type: ignore[import-untyped]

from endpointlab.bench.plan import Plan, load_plan, plan_yaml
from endpointlab.results import RequestRecord, read_records, write_csv, write_parquet
from endpointlab.results.run_result import (
    ConfigurationResult,
    Environment,
    PhaseSummary,
    RunResult,
)

PLAN_FILE = "plan.yaml"
ENVIRONMENT_FILE = "environment.json"
SUMMARIES_FILE = "summaries.csv"
RECORDS = "records"
METRICS = "metrics"
EMULATOR_LOG = "emulator.log"
PACKAGES = ("boto3", "botocore", "numpy", "pyarrow", "pydantic", "scikit-learn", "xgboost-cpu")


def default_run_dir(plan_name: str, now: datetime, root: Path = Path("runs")) -> Path:
    return root / f"{now.strftime('%Y%m%d-%H%M%S')}-{plan_name}"


def write_plan(run_dir: Path, plan: Plan) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / PLAN_FILE).write_text(plan_yaml(plan), encoding="utf-8")


def read_plan(run_dir: Path) -> Plan:
    return load_plan(run_dir / PLAN_FILE)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _package_versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def environment(target: str, region: str, provisioning: str) -> Environment:
    """This machine and these versions, as the run saw them."""
    return Environment(
        endpointlab_version=_version("endpointlab"),
        python=sys.version.split()[0],
        platform=platform.platform(),
        machine=platform.machine(),
        cpu_count=os.cpu_count() or 1,
        cpu_model=_cpu_model(),
        memory_bytes=psutil.virtual_memory().total,
        packages=_package_versions(),
        target="aws" if target == "aws" else "local",
        region=region,
        provisioning=provisioning,
    )


def write_environment(run_dir: Path, env: Environment) -> None:
    (run_dir / ENVIRONMENT_FILE).write_text(env.model_dump_json(indent=1), encoding="utf-8")


def records_path(run_dir: Path, configuration: str) -> Path:
    return run_dir / RECORDS / f"{configuration}.parquet"


def write_records(run_dir: Path, configuration: str, records: Sequence[RequestRecord]) -> list[str]:
    """Parquet and CSV of one configuration's records; their paths relative to ``run_dir``."""
    parquet = records_path(run_dir, configuration)
    parquet.parent.mkdir(parents=True, exist_ok=True)
    write_parquet(records, parquet)
    write_csv(records, parquet.with_suffix(".csv"))
    return [str(p.relative_to(run_dir)) for p in (parquet, parquet.with_suffix(".csv"))]


def read_configuration_records(run_dir: Path, config: ConfigurationResult) -> list[RequestRecord]:
    parquet = [name for name in config.records if name.endswith(".parquet")]
    if not parquet:
        return []
    return read_records(run_dir / parquet[0])


def write_metrics(
    run_dir: Path, configuration: str, metrics: dict[str, list[tuple[float, float]]]
) -> None:
    folder = run_dir / METRICS
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{configuration}.json").write_text(json.dumps(metrics, indent=1), encoding="utf-8")


SUMMARY_COLUMNS = (
    "configuration",
    "kind",
    "status",
    "phase",
    "requests",
    "successes",
    "error_rate",
    "throttled_requests",
    "throttled_attempts",
    "cold_starts",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "max_ms",
    "throughput_per_s",
    "oversubscribed",
    # async configurations, on their total row: the server's per-request split (CloudWatch)
    "server_samples",
    "queue_p50_ms",
    "queue_p90_ms",
    "queue_p99_ms",
    "received_to_finished_p50_ms",
    "received_to_finished_p90_ms",
    "received_to_finished_p99_ms",
    "processing_mean_ms",
)


def _split_cells(config: ConfigurationResult, phase: PhaseSummary) -> list[object]:
    """The async split's columns: on the configuration's total row only (it spans the run)."""
    split = config.async_split
    if split is None or phase is not config.total:
        return [""] * 8
    queue, total = split.queue, split.total
    figures = (queue.p50, queue.p90, queue.p99, total.p50, total.p90, total.p99)
    return [
        queue.samples,
        *("" if v is None else f"{v:.3f}" for v in (*figures, split.processing_mean)),
    ]


def write_summaries(run_dir: Path, result: RunResult) -> None:
    """One row per configuration and phase (and its total)."""
    path = run_dir / SUMMARIES_FILE
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(SUMMARY_COLUMNS)
        for config in result.configurations:
            phases = [*config.phases, *([config.total] if config.total else [])]
            for phase in phases:
                latency = phase.latency
                writer.writerow(
                    [
                        config.name,
                        config.kind,
                        config.status,
                        phase.name,
                        phase.requests,
                        phase.successes,
                        f"{phase.error_rate:.6f}",
                        phase.throttled_requests,
                        phase.throttled_attempts,
                        phase.cold_starts,
                        *(
                            "" if v is None else f"{v:.3f}"
                            for v in (latency.p50, latency.p90, latency.p99, latency.max)
                        ),
                        f"{phase.throughput_per_s:.3f}",
                        "" if config.host is None else config.host.oversubscribed,
                        *_split_cells(config, phase),
                    ]
                )

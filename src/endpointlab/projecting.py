"""``endpointlab project``: read a measured run, simulate it under other traffic, save the result.

The glue the simulator may not do itself (it imports neither the load engine nor the instance
catalogue): load shapes and phases files become simulator traffic, a traffic CSV becomes a trace
(a ``timestamp`` column in seconds, or ``requests_per_minute``), instance types give the worker
count of real-time instances (one per vCPU, as the emulator and SageMaker's toolkit start).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from endpointlab.analysis import finish
from endpointlab.analysis.cost import SECONDS_PER_MONTH
from endpointlab.catalogue import instance_type
from endpointlab.loadgen import shapes
from endpointlab.prices import PriceError, load_prices
from endpointlab.results.records import RequestRecord
from endpointlab.results.run_result import (
    ConfigurationResult,
    RunResultError,
    load_run_result,
    save_run_result,
)
from endpointlab.results.run_result import Traffic as Expected
from endpointlab.results.store import read_records
from endpointlab.simulate.arrivals import (
    ClosedTraffic,
    OpenTraffic,
    Phase,
    TraceTraffic,
    Traffic,
    TrafficError,
    per_minute,
)
from endpointlab.simulate.inputs import ProjectionError
from endpointlab.simulate.project import Request, project
from endpointlab.simulate.retries import RetryConfig
from endpointlab.simulate.specs import ClientSpec

OUT_DIR = "projected"


def workers_for(name: str) -> int:
    found = instance_type(name)
    if found is None:
        raise ProjectionError(f"unknown instance type {name!r}: pass --set Workers=N")
    return max(1, int(found.vcpus))


def traffic_from_shape(shape: shapes.Burst | shapes.ClosedLoop | shapes.OpenLoop) -> Traffic:
    if isinstance(shape, shapes.Burst):
        return TraceTraffic.of([0.0] * shape.requests)
    if isinstance(shape, shapes.ClosedLoop):
        return ClosedTraffic(shape.clients, shape.duration_s, shape.think_s)
    phases = tuple(Phase(p.name, p.duration_s, p.start_rate, p.end_rate) for p in shape.phases)
    return OpenTraffic(phases, shape.arrival is shapes.Arrival.POISSON)


def traffic_from_csv(path: Path) -> Traffic:
    try:
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as error:
        raise TrafficError(f"cannot read the traffic file {path}: {error.strerror}") from None
    if not rows:
        raise TrafficError(f"{path} has no rows")
    for column, build in (("timestamp", TraceTraffic.of), ("requests_per_minute", per_minute)):
        if column in rows[0]:
            try:
                values = [float(row[column]) for row in rows]
            except (TypeError, ValueError):
                raise TrafficError(f"{path}: {column} holds a value that is not a number") from None
            if not all(math.isfinite(v) and v >= 0 for v in values):
                raise TrafficError(f"{path}: {column} must be finite and not negative")
            built: Traffic = build(values)
            return built
    raise TrafficError(f"{path} needs a 'timestamp' or a 'requests_per_minute' column")


def choose_traffic(
    traffic_file: Path | None,
    rate: float | None,
    clients: int | None,
    duration: str | None,
    arrival: str,
    think_s: float,
    seed: int,
) -> Traffic:
    if sum(v is not None for v in (traffic_file, rate, clients)) != 1:
        raise TrafficError("pass one of --traffic FILE, --rate R or --clients N (with --duration)")
    if traffic_file is not None:
        if duration is not None:
            raise TrafficError("--traffic sets its own duration; drop --duration")
        if traffic_file.suffix.lower() == ".csv":
            return traffic_from_csv(traffic_file)
        return traffic_from_shape(shapes.phases_from_file(traffic_file))
    shape = shapes.choose_shape(
        clients=clients, rate=rate, duration=duration, think_s=think_s, arrival=arrival, seed=seed
    )
    return traffic_from_shape(shape)


def parse_sets(items: Sequence[str]) -> tuple[list[tuple[str, tuple[Any, ...]]], list[Any]]:
    """``KEY=V`` fixes a setting, ``KEY=V1,V2`` sweeps it."""
    sweeps: list[tuple[str, tuple[Any, ...]]] = []
    fixed: list[tuple[str, Any]] = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise ProjectionError(f"--set takes KEY=VALUE[,VALUE...], not {item!r}")
        values = tuple(_value(v.strip()) for v in value.split(","))
        if len(values) > 1:
            sweeps.append((key.strip(), values))
        else:
            fixed.append((key.strip(), values[0]))
    return sweeps, fixed


def _value(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


EXPECTED = (ProjectionError, TrafficError, RunResultError, shapes.ShapeError, PriceError)


def command(
    run_dir: Path,
    say: Callable[[str], None],
    *,
    traffic_file: Path | None,
    rate: float | None,
    clients: int | None,
    duration: str | None,
    arrival: str,
    think_time: float,
    configs: Sequence[str],
    sets: Sequence[str],
    retry_mode: str,
    max_attempts: int | None,
    deadline: float | None,
    service_phase: str | None,
    seed: int,
    prices: Path | None,
    out: Path | None,
) -> Path:
    """``endpointlab project`` with its options (errors: EXPECTED, one line each)."""
    traffic = choose_traffic(traffic_file, rate, clients, duration, arrival, think_time, seed)
    source = load_run_result(run_dir)
    sweeps, fixed = parse_sets(sets)
    try:
        client = ClientSpec(RetryConfig(retry_mode, max_attempts), deadline)
    except ValueError as error:
        raise ProjectionError(str(error)) from None
    request = Request(
        traffic, tuple(configs), tuple(sweeps), tuple(fixed), client, seed, service_phase
    )
    base = run_dir if run_dir.is_dir() else run_dir.parent

    def records_of(config: ConfigurationResult) -> list[RequestRecord]:
        files = [base / name for name in config.records if name.endswith(".parquet")]
        if not files:
            raise ProjectionError(f"configuration {config.name!r} has no Parquet records in {base}")
        try:
            return [record for file in files for record in read_records(file)]
        except (FileNotFoundError, OSError) as error:
            raise ProjectionError(f"cannot read the records of {config.name!r}: {error}") from None

    result = project(source, records_of, request, workers_for, datetime.now(UTC), say)
    if result.traffic is None:
        result = result.model_copy(update={"traffic": expected_traffic(traffic)})
    result = finish(result, load_prices(source.environment.region, prices))
    return save_run_result(result, out or base / OUT_DIR)


def expected_traffic(traffic: Traffic) -> Expected | None:
    """A month of the projected traffic (its mean rate), when the run names no expectation."""
    if isinstance(traffic, OpenTraffic):
        requests = sum(p.expected for p in traffic.phases)
        peak = max(max(p.start_rate, p.end_rate) for p in traffic.phases)
    elif isinstance(traffic, TraceTraffic):
        requests, peak = len(traffic.times), None
    else:
        return None
    return Expected(
        requests_per_month=requests / traffic.duration_s * SECONDS_PER_MONTH, peak_rps=peak
    )

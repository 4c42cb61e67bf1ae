"""The run-result file: everything a bench run (or a projection) found, versioned, as JSON.

Reports, ``compare`` and projections read only this file, never live objects, so any old run can
be re-rendered. ``load_run_result`` migrates older versions and refuses newer or unknown ones with
one line naming the file. Latencies are milliseconds, costs US dollars, times Unix seconds; a
figure that could not be computed (no samples) is ``None``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

FORMAT: Final = "endpointlab.run-result"
VERSION: Final = 2  # 2: ConfigurationResult.async_split
FILE_NAME = "run-result.json"

Kind = Literal["serverless", "realtime", "async"]
Origin = Literal["measured", "projected"]


class RunResultError(ValueError):
    """A run-result file that cannot be read: the message is one line for the user."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Objective(_Model):
    """What a configuration must meet: the latency percentile under a bound, and an error rate."""

    percentile: float = 99.0
    latency_ms: float
    max_error_rate: float = 0.01  # a fraction of requests (0.01 = 1%), throttles included


class Traffic(_Model):
    """The production traffic the user expects, for pricing and for projections."""

    requests_per_month: float
    peak_rps: float | None = None
    peak_concurrency: int | None = None
    request_bytes: int | None = None
    response_bytes: int | None = None


class Environment(_Model):
    """Where and with what the run was made."""

    endpointlab_version: str
    python: str
    platform: str
    machine: str
    cpu_count: int
    cpu_model: str = ""
    memory_bytes: int = 0
    packages: dict[str, str] = Field(default_factory=dict)
    target: Literal["local", "aws"] = "local"
    region: str = "us-east-1"
    provisioning: str = "instant"  # "instant", "aws", or a file the emulator was given


class HostCheck(_Model):
    """The CPU a configuration is entitled to against the cores that served it.

    ``oversubscribed`` marks figures that are pessimistic: on AWS each instance has its own CPUs.
    """

    host_cores: int
    entitled_vcpus: float
    oversubscribed: bool
    load_mean: float | None = None  # the host's 1-minute load average, sampled during the run
    load_max: float | None = None
    note: str = ""


class LatencyStats(_Model):
    """Exact statistics of a set of latencies (ms)."""

    count: int
    min: float | None = None
    mean: float | None = None
    p50: float | None = None
    p90: float | None = None
    p95: float | None = None
    p99: float | None = None
    p99_9: float | None = None
    max: float | None = None


class Interval(_Model):
    """A confidence interval (bootstrap) for a statistic."""

    low: float
    high: float
    confidence: float = 0.95


class PhaseSummary(_Model):
    """One load phase of one configuration (or ``total``, all phases together)."""

    name: str
    shape: str = ""  # e.g. "closed 4 clients", "poisson 20/s"
    clients: int | None = None
    rate_per_s: float | None = None
    started_at: float | None = None
    duration_s: float
    requests: int
    successes: int
    errors: dict[str, int] = Field(default_factory=dict)  # error code -> requests
    throttled_requests: int = 0
    throttled_attempts: int = 0
    attempts: int = 0
    cold_starts: int = 0
    error_rate: float = 0.0  # failed requests / requests
    throughput_per_s: float = 0.0  # successes per second
    throughput_per_min: float = 0.0
    latency: LatencyStats  # every success
    warm_latency: LatencyStats | None = None
    cold_latency: LatencyStats | None = None
    latency_ci: dict[str, Interval] = Field(default_factory=dict)  # "p50", "p99"
    server: dict[str, LatencyStats] = Field(default_factory=dict)  # ModelLatency, ...


class TimelinePoint(_Model):
    """One interval (usually a second) of a configuration's run; ``t`` from its start."""

    t: float
    in_flight: float | None = None
    completed: int = 0
    errors: int = 0
    throttles: int = 0
    cold_starts: int = 0
    p99_ms: float | None = None
    instances: float | None = None
    backlog: float | None = None


class Cost(_Model):
    """Cost: ``basis`` says how it was computed, ``price_source`` from what."""

    hourly_usd: float | None = None  # instance-based kinds
    per_invocation_usd: float | None = None
    per_million_usd: float | None = None
    per_month_usd: float | None = None  # at the run's expected traffic
    instances: float | None = None  # instance-based kinds: the instances priced at the traffic
    basis: str = ""
    price_source: str = ""


class ServerTimes(_Model):
    """One per-request CloudWatch metric of an endpoint over a configuration's window, in ms:
    the server's measurement of each request it finished, not a client-side timing.
    Percentiles come only from a single CloudWatch period (they cannot be combined)."""

    metric: str  # TimeInBacklog, TotalProcessingTime, ModelLatency
    samples: int = 0  # SampleCount: one per request
    mean: float | None = None
    p50: float | None = None
    p90: float | None = None
    p99: float | None = None
    max: float | None = None
    periods: int = 0  # CloudWatch datapoints combined


class AsyncSplit(_Model):
    """Where an async configuration's requests spent their time, from the endpoint's own
    per-request metrics: ``queue`` (TimeInBacklog: received to processing), ``total``
    (TotalProcessingTime: received to finished, the queue included, as AWS defines it) and
    ``model`` (ModelLatency). ``processing_mean`` is total's mean less queue's, when both count
    the same requests (means subtract; percentiles do not). ``answered`` is the requests whose
    answer the client found (warm-up included), which the sample counts should equal;
    ``findings`` says where they do not."""

    queue: ServerTimes
    total: ServerTimes
    model: ServerTimes | None = None
    processing_mean: float | None = None
    answered: int | None = None
    findings: list[str] = Field(default_factory=list)


class ConfigurationResult(_Model):
    """One deployed (or simulated) configuration and what it did."""

    name: str
    kind: Kind
    settings: dict[str, Any] = Field(default_factory=dict)  # MemorySizeInMB, InstanceType, ...
    origin: Origin = "measured"
    status: Literal["completed", "stopped", "failed", "skipped"] = "completed"
    status_reason: str = ""
    host: HostCheck | None = None
    phases: list[PhaseSummary] = Field(default_factory=list)
    total: PhaseSummary | None = None
    timeline: list[TimelinePoint] = Field(default_factory=list)
    metrics: dict[str, list[tuple[float, float]]] = Field(default_factory=dict)  # name -> (t, v)
    cost: Cost | None = None
    meets_objective: bool | None = None
    records: list[str] = Field(default_factory=list)  # raw record files, relative to the run dir
    # async configurations: drain_s, scale_from_zero_s, lost_to_deadline... (bench/asynchronous)
    asynchronous: dict[str, float | None] | None = None
    async_split: AsyncSplit | None = None  # async configurations: the server's queue/processing


class CostPoint(_Model):
    """Monthly cost of each option at one monthly volume."""

    requests_per_month: float
    usd: dict[str, float]  # configuration name -> monthly cost


class CostComparison(_Model):
    """Serverless against instance-based hosting over monthly volume."""

    break_even_requests_per_month: float | None = None
    between: list[str] = Field(default_factory=list)  # the two configurations compared
    savings: list[CostPoint] = Field(default_factory=list)
    region: str = "us-east-1"
    price_source: str = ""


class Recommendation(_Model):
    """The answer: the cheapest configuration that meets the objective, and why."""

    chosen: str | None = None
    runner_up: str | None = None
    statement: str
    reasons: list[str] = Field(default_factory=list)
    would_change: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


class RunResult(_Model):
    """A whole run. ``origin`` is ``projected`` for a simulation; ``source_run`` names its input."""

    format: Literal["endpointlab.run-result"] = FORMAT
    version: Literal[2] = VERSION
    run_id: str
    plan_name: str
    created_at: str  # ISO 8601, UTC
    origin: Origin = "measured"
    source_run: str | None = None
    plan: dict[str, Any] = Field(default_factory=dict)
    environment: Environment
    objective: Objective
    traffic: Traffic | None = None
    configurations: list[ConfigurationResult] = Field(default_factory=list)
    comparison: CostComparison | None = None
    recommendation: Recommendation | None = None

    def configuration(self, name: str) -> ConfigurationResult:
        for config in self.configurations:
            if config.name == name:
                return config
        raise KeyError(name)


def _added_async_split(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 had no ``async_split``: its configurations have none (None), as before."""
    return {**data, "version": 2}


# version -> a function turning that version's JSON object into the next version's.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _added_async_split}


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: such a figure is saved as null (``None``)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def dump_run_result(result: RunResult) -> str:
    """The JSON text of ``result``."""
    return json.dumps(_finite(result.model_dump(mode="python")), indent=1, sort_keys=False)


def save_run_result(result: RunResult, run_dir: Path) -> Path:
    """Write ``run_dir/run-result.json`` atomically; return its path."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / FILE_NAME
    temporary = path.with_name(f".{FILE_NAME}.{os.getpid()}.tmp")
    temporary.write_text(dump_run_result(result), encoding="utf-8")
    os.replace(temporary, path)
    return path


def parse_run_result(data: Any, where: str = "run result") -> RunResult:
    """Build a RunResult from decoded JSON, migrating older versions."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise RunResultError(f"{where} is not an endpointlab run result")
    version = data.get("version")
    if not isinstance(version, int) or version < 1:
        raise RunResultError(f"{where} has an unknown run-result version {version!r}")
    if version > VERSION:
        raise RunResultError(
            f"{where} is run-result version {version}, newer than this endpointlab reads "
            f"({VERSION}): upgrade endpointlab"
        )
    while version < VERSION:
        data = MIGRATIONS[version](data)
        version = data["version"]
    try:
        return RunResult.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise RunResultError(f"{where} is invalid at {field}: {first['msg']}") from None


def load_run_result(path: Path) -> RunResult:
    """Read a run result from a run directory or a run-result JSON file."""
    file = path / FILE_NAME if path.is_dir() else path
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunResultError(f"no run result at {file}") from None
    except OSError as error:
        raise RunResultError(f"cannot read {file}: {error.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise RunResultError(f"{file} is not valid JSON (line {error.lineno})") from None
    return parse_run_result(data, str(file))

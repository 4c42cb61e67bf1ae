"""Projections: a measured run's configurations (and what-if variations) simulated under other
traffic, written as a run result whose every figure is labelled ``projected``.

Settings use SageMaker's names (MaxConcurrency, MemorySizeInMB, ProvisionedConcurrency,
InitialInstanceCount, MaxConcurrentInvocationsPerInstance) plus the simulator's own: Workers,
TargetValue, MinCapacity, MaxCapacity, ProvisioningSeconds, KeepWarmSeconds,
ScaleInCooldown, ScaleOutCooldown, RequestTTLSeconds. A sweep varies one or more of them; a
different MemorySizeInMB takes the service times of the run's configuration measured at it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from endpointlab.analysis.summary import server_samples
from endpointlab.results.records import RequestRecord
from endpointlab.results.run_result import (
    ConfigurationResult,
    RunResult,
)
from endpointlab.simulate.arrivals import ClosedTraffic, OpenTraffic, Traffic
from endpointlab.simulate.asynchronous import simulate_async
from endpointlab.simulate.inputs import Inputs, ProjectionError, inputs_from
from endpointlab.simulate.outcome import Recorder
from endpointlab.simulate.realtime import simulate_realtime
from endpointlab.simulate.scaling import TargetTracking
from endpointlab.simulate.serverless import simulate_serverless
from endpointlab.simulate.specs import (
    AsyncSpec,
    ClientSpec,
    EndpointSpec,
    RealtimeSpec,
    ServerlessSpec,
)
from endpointlab.simulate.summary import (
    RECORD_LIMIT,
    summaries_from_records,
    summaries_from_rows,
    timeline_of,
)
from endpointlab.simulate.summary import records_of as simulated_records

MAX_PHASES = 24  # more (a per-minute trace) are summarised as the total only
KNOWN = frozenset(
    {
        "MaxConcurrency", "MemorySizeInMB", "ProvisionedConcurrency", "InstanceType",
        "InitialInstanceCount", "MaxConcurrentInvocationsPerInstance", "Workers", "TargetValue",
        "MinCapacity", "MaxCapacity", "ProvisioningSeconds", "KeepWarmSeconds",
        "ScaleInCooldown", "ScaleOutCooldown", "RequestTTLSeconds",
    }
)  # fmt: skip


def _number(settings: Mapping[str, Any], key: str, default: float | None = None) -> float:
    value = settings.get(key, default)
    if value is None:
        raise ProjectionError(f"the configuration needs {key}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ProjectionError(f"{key} is {value!r}, not a number") from None


def _scaling(settings: Mapping[str, Any], low: int) -> TargetTracking | None:
    if "TargetValue" not in settings:
        return None
    try:
        return TargetTracking(
            target=_number(settings, "TargetValue"),
            min_capacity=int(_number(settings, "MinCapacity", low)),
            max_capacity=int(_number(settings, "MaxCapacity", max(low, 1))),
            scale_in_cooldown_s=_number(settings, "ScaleInCooldown", 300),
            scale_out_cooldown_s=_number(settings, "ScaleOutCooldown", 300),
        )
    except ValueError as error:
        raise ProjectionError(str(error)) from None


def spec_of(
    kind: str, settings: Mapping[str, Any], workers_for: Callable[[str], int]
) -> EndpointSpec:
    """The simulated endpoint a configuration's settings describe."""
    unknown = set(settings) - KNOWN
    if unknown:
        raise ProjectionError(f"unknown setting {sorted(unknown)[0]!r}")
    try:
        if kind == "serverless":
            return ServerlessSpec(
                max_concurrency=int(_number(settings, "MaxConcurrency")),
                memory_mb=int(_number(settings, "MemorySizeInMB", 2048)),
                provisioned_concurrency=int(_number(settings, "ProvisionedConcurrency", 0)),
                keep_warm_s=_number(settings, "KeepWarmSeconds", 300),
            )
        instances = int(_number(settings, "InitialInstanceCount", 1))
        instance_type = str(settings.get("InstanceType", "ml.m5.large"))
        provisioning = _number(settings, "ProvisioningSeconds", 0)
        if kind == "realtime":
            workers = settings.get("Workers") or workers_for(instance_type)
            return RealtimeSpec(
                instances, int(workers), instance_type, _scaling(settings, 1), provisioning
            )
        return AsyncSpec(
            instances,
            int(_number(settings, "MaxConcurrentInvocationsPerInstance", 1)),
            instance_type,
            _scaling(settings, 0),
            provisioning,
            ttl_s=_number(settings, "RequestTTLSeconds", 21600),
        )
    except ValueError as error:
        raise ProjectionError(str(error)) from None


def run_spec(
    spec: EndpointSpec, traffic: Traffic, inputs: Inputs, client: ClientSpec, seed: int
) -> Recorder:
    service, cold, overhead = inputs.service, inputs.cold, inputs.overhead_s
    if isinstance(spec, ServerlessSpec):
        return simulate_serverless(spec, traffic, service, cold, client, seed, overhead)
    if isinstance(spec, RealtimeSpec):
        return simulate_realtime(spec, traffic, service, cold, client, seed, overhead)
    if isinstance(traffic, ClosedTraffic):
        raise ProjectionError("async endpoints take open-loop traffic or a trace")
    return simulate_async(spec, traffic, inputs.service, inputs.cold, seed)


def describe(traffic: Traffic) -> str:
    if isinstance(traffic, ClosedTraffic):
        return f"closed {traffic.clients} clients"
    if isinstance(traffic, OpenTraffic) and len(traffic.phases) == 1:
        phase = traffic.phases[0]
        kind = "poisson" if traffic.poisson else "constant"
        return f"{kind} {phase.start_rate:g}/s"
    return "trace" if not isinstance(traffic, OpenTraffic) else f"{len(traffic.phases)} phases"


def configuration_result(
    name: str,
    kind: str,
    settings: Mapping[str, Any],
    rec: Recorder,
    traffic: Traffic,
    seed: int = 0,
) -> ConfigurationResult:
    """The projected configuration: summaries, timeline and what its cost is computed from."""
    shape = describe(traffic)
    bounds = traffic.boundaries if len(traffic.boundaries) <= MAX_PHASES else []
    small = len(rec.at) <= RECORD_LIMIT
    rows = rec.arrays()
    records = simulated_records(rec, bounds or [("", 0.0, math.inf)]) if small else []
    if small:
        phases, total = summaries_from_records(records, bounds, shape, seed)
    else:
        phases, total = summaries_from_rows(rec, rows, bounds, shape)
    points = timeline_of(rec, rows, records if small else None)
    if kind == "serverless":  # serverless bills compute time, not instances
        points = [p.model_copy(update={"instances": None}) for p in points]
    return ConfigurationResult(
        name=name,
        kind=kind,  # type: ignore[arg-type]
        settings=dict(settings),
        origin="projected",
        status_reason=f"projected: {len(rec.at)} requests simulated from measured distributions",
        phases=phases,
        total=total,
        timeline=points,
    )


@dataclass(frozen=True)
class Request:
    """A projection: which configurations, under what traffic, with which variations."""

    traffic: Traffic
    names: tuple[str, ...] = ()
    sweeps: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    fixed: tuple[tuple[str, Any], ...] = ()
    client: ClientSpec = field(default_factory=ClientSpec)
    seed: int = 0
    phase: str | None = None


def variations(request: Request) -> list[dict[str, Any]]:
    keys = [key for key, _ in request.sweeps]
    for key in [*keys, *(k for k, _ in request.fixed)]:
        if key not in KNOWN:
            raise ProjectionError(f"unknown setting {key!r}")
    combos = itertools.product(*(values for _, values in request.sweeps))
    return [dict(zip(keys, combo, strict=True)) for combo in combos]


def project(
    source: RunResult,
    records_of: Callable[[ConfigurationResult], list[RequestRecord]],
    request: Request,
    workers_for: Callable[[str], int],
    now: datetime,
    progress: Callable[[str], None] = lambda _: None,
) -> RunResult:
    """Simulate the chosen configurations of ``source`` (all by default) and their sweeps."""
    chosen = [c for c in source.configurations if not request.names or c.name in request.names]
    missing = set(request.names) - {c.name for c in source.configurations}
    if missing:
        raise ProjectionError(f"the run has no configuration {sorted(missing)[0]!r}")
    measured = [c for c in chosen if c.origin == "measured" and c.records]
    if not measured:
        raise ProjectionError("the run has no measured configuration with records to project")
    cache: dict[str, Inputs] = {}
    results: list[ConfigurationResult] = []
    warnings: list[str] = []
    for config in measured:
        for change in variations(request):
            settings = {k: v for k, v in config.settings.items() if k in KNOWN}
            settings.update(dict(request.fixed))
            settings.update(change)
            basis = _basis(source, config, settings)
            if basis.name not in cache:
                records = records_of(basis)
                model = server_samples(basis.metrics).get("ModelLatency")
                mean = sum(model) / len(model) if model else None
                cache[basis.name] = inputs_from(records, basis.name, request.phase, mean)
                warnings.extend(f"{basis.name}: {n}" for n in cache[basis.name].notes)
                if basis.host is not None and basis.host.oversubscribed:
                    warnings.append(
                        f"{basis.name}: measured on an oversubscribed host, so its service "
                        "times are pessimistic"
                    )
            spec = spec_of(config.kind, settings, workers_for)
            label = ", ".join(f"{k}={v}" for k, v in change.items())
            name = f"{config.name} [{label}]" if label else config.name
            progress(f"projecting {name}")
            rec = run_spec(spec, request.traffic, cache[basis.name], request.client, request.seed)
            results.append(
                configuration_result(
                    name, config.kind, settings, rec, request.traffic, request.seed
                )
            )
    plan = {
        "projection": {
            "traffic": describe(request.traffic),
            "seed": request.seed,
            "retry_mode": request.client.retry.mode,
            "deadline_s": request.client.deadline_s,
            "service_phase": request.phase,
            "notes": warnings,
        }
    }
    return replace_result(source, results, plan, now)


def _basis(
    source: RunResult, config: ConfigurationResult, settings: Mapping[str, Any]
) -> ConfigurationResult:
    """The measured configuration whose service times apply: the same one, unless the memory
    size changed, then the run's configuration of that kind measured at that size."""
    memory = settings.get("MemorySizeInMB")
    if memory is None or str(memory) == str(config.settings.get("MemorySizeInMB")):
        return config
    for other in source.configurations:
        same = str(other.settings.get("MemorySizeInMB")) == str(memory)
        if same and other.kind == config.kind and other.origin == "measured" and other.records:
            return other
    raise ProjectionError(
        f"no configuration of the run was measured at MemorySizeInMB {memory}: measure it first"
    )


def replace_result(
    source: RunResult,
    configs: Sequence[ConfigurationResult],
    plan: dict[str, Any],
    stamp: datetime,
) -> RunResult:
    """The source run with projected configurations; costs and recommendation to be redone."""
    return source.model_copy(
        update={
            "run_id": f"{source.run_id}-projected-{stamp.strftime('%Y%m%dT%H%M%S')}",
            "created_at": stamp.isoformat(timespec="seconds"),
            "origin": "projected",
            "source_run": source.run_id,
            "plan": plan,
            "configurations": list(configs),
            "comparison": None,
            "recommendation": None,
        }
    )

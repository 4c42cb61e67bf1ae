"""Projected twins of the configurations measured on an oversubscribed host.

On AWS every instance has its own vCPUs; here all of them share this machine's cores, so a
configuration entitled to more CPU than the host has (or measured while the host was loaded)
shows pessimistic latencies and throttles. For each such configuration bench replays its phases
in the simulator (what ``endpointlab project`` runs), fed by the service times of its least
loaded phase, and adds the answer beside the measured one as ``<name> (projected)``, labelled
projected wherever it is shown; its server-side times (what serverless bills) are the measured
ones. The measured configuration stays as it was measured.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from endpointlab.bench import rundir
from endpointlab.catalogue import instance_type
from endpointlab.results.run_result import ConfigurationResult, PhaseSummary, RunResult
from endpointlab.simulate.arrivals import (
    ClosedTraffic,
    OpenTraffic,
    Phase,
    TraceTraffic,
    Traffic,
    TrafficError,
)
from endpointlab.simulate.inputs import ProjectionError
from endpointlab.simulate.project import Request, project

SUFFIX = " (projected)"
SEED = 0


def _workers(name: str) -> int:
    found = instance_type(name)
    if found is None:
        raise ProjectionError(f"unknown instance type {name!r}")
    return max(1, int(found.vcpus))


def _load(phase: PhaseSummary) -> float:
    """How hard a phase pushed: its clients, else its rate (for choosing the calmest)."""
    if phase.clients is not None:
        return float(phase.clients)
    if phase.rate_per_s is not None:
        return phase.rate_per_s
    return math.inf


def traffic_of(phase: PhaseSummary) -> Traffic | None:
    """The simulator's traffic for a measured phase, or None when the phase does not say."""
    if phase.duration_s <= 0:
        return None
    if phase.rate_per_s is not None and phase.rate_per_s > 0:
        rate = phase.rate_per_s
        steady = Phase(phase.name, phase.duration_s, rate, rate)
        return OpenTraffic((steady,), poisson="poisson" in phase.shape.lower())
    if phase.clients is not None and phase.clients > 0:
        return ClosedTraffic(phase.clients, phase.duration_s)
    if phase.requests > 0:
        return TraceTraffic.of([0.0] * phase.requests)
    return None


def _twin(
    result: RunResult, config: ConfigurationResult, run_dir: Path, now: datetime
) -> ConfigurationResult:
    calm = min((p for p in config.phases if p.successes), key=_load, default=None)
    if calm is None:
        raise ProjectionError("no phase with a successful request to take service times from")
    # Server-side times (what serverless bills): the calmest phase's, else the measured total's.
    server = calm.server or (config.total.server if config.total is not None else {})
    phases: list[PhaseSummary] = []
    for phase in config.phases:
        traffic = traffic_of(phase)
        if traffic is None:
            continue
        request = Request(traffic, names=(config.name,), seed=SEED, phase=calm.name)
        projected = project(
            result, lambda c: rundir.read_configuration_records(run_dir, c), request, _workers, now
        )
        total = projected.configurations[0].total
        if total is not None:
            phases.append(
                total.model_copy(
                    update={
                        "name": phase.name,
                        "shape": phase.shape,
                        "clients": phase.clients,
                        "rate_per_s": phase.rate_per_s,
                        "server": server,
                    }
                )
            )
    if not phases:
        raise ProjectionError("none of its phases can be replayed")
    total = None
    opens = [traffic_of(p) for p in config.phases]
    if all(isinstance(t, OpenTraffic) for t in opens):  # replayable as one run: a real total
        steps = tuple(step for t in opens if isinstance(t, OpenTraffic) for step in t.phases)
        poisson = all(isinstance(t, OpenTraffic) and t.poisson for t in opens)
        whole = Request(
            OpenTraffic(steps, poisson), names=(config.name,), seed=SEED, phase=calm.name
        )
        projected = project(
            result, lambda c: rundir.read_configuration_records(run_dir, c), whole, _workers, now
        )
        whole_total = projected.configurations[0].total
        if whole_total is not None:
            total = whole_total.model_copy(update={"server": server})
    elif len(phases) == 1 == len(config.phases):  # one phase (a closed loop): it is the whole run
        total = phases[0]
    return ConfigurationResult(
        name=config.name + SUFFIX,
        kind=config.kind,
        settings=dict(config.settings),
        origin="projected",
        status=config.status,
        status_reason=(
            f"simulated: {config.name} was measured on an oversubscribed host; its phases "
            f"replayed with the service times of its least loaded phase ({calm.name})"
        ),
        phases=phases,
        total=total,
    )


def with_projections(result: RunResult, run_dir: Path, say: Callable[[str], None]) -> RunResult:
    """``result`` with a projected twin of each measured configuration whose host was
    oversubscribed (earlier twins replaced); a configuration that cannot be projected is named
    through ``say`` and left without one."""
    measured = [c for c in result.configurations if c.origin == "measured"]
    now = datetime.now(UTC)
    twins: list[ConfigurationResult] = []
    for config in measured:
        if config.host is None or not config.host.oversubscribed or not config.records:
            continue
        try:
            twins.append(_twin(result, config, run_dir, now))
        except (ProjectionError, TrafficError, OSError) as error:
            say(f"{config.name}: not projected ({error})\n")
    if twins:
        names = ", ".join(t.name for t in twins)
        say(f"Oversubscribed host: projected {names} as AWS would run them (own CPUs)\n")
    return result.model_copy(update={"configurations": [*measured, *twins]})


def measured_only(configs: Sequence[ConfigurationResult]) -> list[ConfigurationResult]:
    """The configurations that were measured (projected twins are made again from them)."""
    return [c for c in configs if c.origin == "measured"]

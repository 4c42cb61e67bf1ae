"""A configuration's load phases: plan phases become load-engine shapes, run one after another
against the deployed endpoint, and their records become the configuration's summaries.

``summarise`` is shared by a live run and ``--reanalyse`` (records read back from the run dir),
so both give the same figures.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from endpointlab.analysis.summary import server_samples, summarise_phase, timeline
from endpointlab.bench.plan import Async, Phase, Realtime, Serverless
from endpointlab.loadgen.client import Invocation, RuntimeClient, Target
from endpointlab.loadgen.retries import RetryMode, RetrySettings
from endpointlab.loadgen.runner import Plan as LoadPlan
from endpointlab.loadgen.runner import Progress, run_blocking
from endpointlab.loadgen.shapes import Arrival, Burst, ClosedLoop, OpenLoop
from endpointlab.loadgen.shapes import Phase as OpenPhase
from endpointlab.results import RecordWriter, RequestRecord, percentile
from endpointlab.results.run_result import Objective, PhaseSummary, TimelinePoint

Shape = Burst | ClosedLoop | OpenLoop


@dataclass(frozen=True)
class Load:
    """A phase as the load engine runs it."""

    shape: Shape
    label: str  # e.g. "closed 4 clients", "open 20/s"
    clients: int | None
    rate_per_s: float | None


def load_of(phase: Phase, config: Serverless | Realtime | Async) -> Load:
    """The load-engine shape of ``phase`` for ``config``."""
    if phase.requests is not None:
        return Load(Burst(phase.requests), f"burst {phase.requests}", phase.requests, None)
    duration = phase.duration or 0.0
    if phase.rate is not None:
        low, high = phase.rate if isinstance(phase.rate, tuple) else (phase.rate, phase.rate)
        arrival = Arrival(phase.arrival)
        shape = OpenLoop((OpenPhase(phase.name, duration, low, high),), arrival=arrival)
        label = f"open {low:g}/s" if low == high else f"open ramp {low:g}-{high:g}/s"
        return Load(shape, f"{label} {arrival.value}", None, max(low, high))
    clients = phase.clients
    if phase.clients_per_concurrency is not None:
        concurrency = config.max_concurrency if isinstance(config, Serverless) else 1
        clients = max(1, math.ceil(concurrency * phase.clients_per_concurrency))
    assert clients is not None
    closed = ClosedLoop(clients, duration, phase.think_time)
    return Load(closed, f"closed {clients} client{'s' if clients > 1 else ''}", clients, None)


def run_phase(
    target: Target,
    endpoint: str,
    load: Load,
    invocations: Sequence[Invocation],
    *,
    phase: str,
    into: list[RequestRecord],
    max_attempts: int | None,
    deadline_s: float | None,
    parts: Path,
    report: Callable[[Progress], None] | None,
    client: RuntimeClient | None = None,
) -> list[RequestRecord]:
    """Run one phase; its records, labelled with the phase and numbered on from ``into``'s,
    are appended to ``into`` (also when Ctrl-C ends the phase early) and returned."""
    retry = RetrySettings(RetryMode.LEGACY, max_attempts)
    client = client or RuntimeClient(target, endpoint, retry)
    writer = RecordWriter(parts)
    first = len(into) + 1
    try:
        run_blocking(client, LoadPlan(load.shape, invocations, deadline_s), writer, report)
    finally:
        got = [
            replace(r, phase=phase, execution_number=first + i)
            for i, r in enumerate(writer.close())
        ]
        into.extend(got)
    return got


def pause(seconds: float) -> None:
    """Leave the endpoint idle (a plan's ``pause_before``: lets instances go cold)."""
    if seconds > 0:
        time.sleep(seconds)


def latency_at(records: Sequence[RequestRecord], p: float) -> float | None:
    ordered = sorted(r.latency_ms for r in records if r.ok)
    return percentile(ordered, p) if ordered else None


def breaks_objective(records: Sequence[RequestRecord], objective: Objective) -> str:
    """Why ``records`` break ``objective`` ("" if they meet it)."""
    if not records:
        return "no requests"
    failed = sum(1 for r in records if not r.ok) / len(records)
    if failed > objective.max_error_rate:
        return f"error rate {failed:.1%} > {objective.max_error_rate:.1%}"
    value = latency_at(records, objective.percentile)
    if value is None or value > objective.latency_ms:
        shown = "-" if value is None else f"{value:.1f}"
        return f"p{objective.percentile:g} {shown} ms > {objective.latency_ms:g} ms"
    return ""


@dataclass(frozen=True)
class Summaries:
    phases: list[PhaseSummary]
    total: PhaseSummary | None
    timeline: list[TimelinePoint]


def summarise(
    records: Sequence[RequestRecord],
    loads: dict[str, Load],
    started_at: float | None,
    metrics: Mapping[str, Sequence[tuple[float, float]]] | None = None,
) -> Summaries:
    """The summaries of a configuration's records: each phase (in the order run), the total
    (with the server-side latencies of the pulled ``metrics``) and the per-second timeline
    from ``started_at`` (the first send when None)."""
    order: list[str] = []
    by_phase: dict[str, list[RequestRecord]] = {}
    for record in records:
        if record.phase not in by_phase:
            order.append(record.phase)
            by_phase[record.phase] = []
        by_phase[record.phase].append(record)
    phases = []
    for name in order:
        load = loads.get(name)
        phases.append(
            summarise_phase(
                name,
                by_phase[name],
                shape=load.label if load else "",
                clients=load.clients if load else None,
                rate_per_s=load.rate_per_s if load else None,
            )
        )
    if not records:
        return Summaries(phases, None, [])
    start = started_at if started_at is not None else min(r.intended_at for r in records)
    total = summarise_phase("total", records, server=server_samples(metrics or {}))
    return Summaries(phases, total, timeline(records, start))

"""Whether a configuration meets the objective at the expected traffic (pure).

A configuration meets it when one of its load phases (or its total, without phases) kept the
latency percentile under the bound and the error rate (throttles included) under the limit
while carrying at least the expected peak rate, when the traffic gives one (except a real-time
one: its cost is for the instances that carry the peak, ``analysis.capacity``); a serverless one
also needs MaxConcurrency at least the expected peak concurrency. A configuration that stopped,
failed or was skipped does not meet it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from endpointlab.results.run_result import (
    ConfigurationResult,
    LatencyStats,
    Objective,
    PhaseSummary,
    Traffic,
)

# The percentiles a LatencyStats holds; another one is read at the next one up (stricter).
_HELD = ((50.0, "p50"), (90.0, "p90"), (95.0, "p95"), (99.0, "p99"), (99.9, "p99_9"))


def latency_at(stats: LatencyStats, percentile: float) -> tuple[float | None, str]:
    """The latency at ``percentile`` (or the next held one above it) and its label."""
    for held, name in _HELD:
        if percentile <= held:
            return getattr(stats, name), f"p{held:g}"
    return stats.max, "max"


def describe(objective: Objective) -> str:
    """E.g. ``p99 <= 200 ms and errors <= 1%``."""
    return (
        f"p{objective.percentile:g} <= {objective.latency_ms:g} ms and errors <= "
        f"{objective.max_error_rate:.2%}".replace(".00%", "%")
    )


@dataclass(frozen=True)
class Verdict:
    """The outcome for one configuration: ``phase`` is the phase that met the objective at the
    highest load (or came closest), ``failures`` what missed."""

    meets: bool
    phase: str | None = None
    latency_ms: float | None = None
    label: str = ""
    error_rate: float | None = None
    sustained_rps: float | None = None
    failures: list[str] = field(default_factory=list)


def _carried(phase: PhaseSummary) -> float:
    return phase.rate_per_s if phase.rate_per_s is not None else phase.throughput_per_s


def _phase_failures(phase: PhaseSummary, objective: Objective) -> tuple[float | None, list[str]]:
    latency, label = latency_at(phase.latency, objective.percentile)
    failures = []
    if phase.requests == 0:
        failures.append("no requests were measured")
    elif latency is None:
        failures.append("no request succeeded")
    elif latency > objective.latency_ms:
        failures.append(f"{label} {latency:.1f} ms > {objective.latency_ms:g} ms")
    if phase.requests and phase.error_rate > objective.max_error_rate:
        failures.append(f"error rate {phase.error_rate:.2%} > {objective.max_error_rate:.2%}")
    return latency, failures


def phase_meets(phase: PhaseSummary, objective: Objective) -> bool:
    """Whether one phase kept the objective's percentile and error rate."""
    return not _phase_failures(phase, objective)[1]


def evaluate(config: ConfigurationResult, objective: Objective, traffic: Traffic | None) -> Verdict:
    """Whether ``config`` meets ``objective`` at ``traffic`` (see the module's notes)."""
    if config.status != "completed":
        reason = f": {config.status_reason}" if config.status_reason else ""
        return Verdict(meets=False, failures=[f"the run {config.status}{reason}"])
    phases = config.phases or ([config.total] if config.total is not None else [])
    if not phases:
        return Verdict(meets=False, failures=["nothing was measured"])
    peak = traffic.peak_rps if traffic is not None else None
    met: list[PhaseSummary] = []
    closest: tuple[float, PhaseSummary, float | None, list[str]] | None = None
    for phase in phases:
        latency, failures = _phase_failures(phase, objective)
        if not failures:
            met.append(phase)
        distance = latency / objective.latency_ms if latency is not None else float("inf")
        if closest is None or distance < closest[0]:
            closest = (distance, phase, latency, failures)
    extra = []
    concurrency = config.settings.get("MaxConcurrency")
    wanted = traffic.peak_concurrency if traffic is not None else None
    serverless = config.kind == "serverless"
    if serverless and isinstance(concurrency, int) and wanted and concurrency < wanted:
        extra.append(f"MaxConcurrency {concurrency} < expected peak concurrency {wanted}")
    if met:
        best = max(met, key=_carried)
        latency, label = latency_at(best.latency, objective.percentile)
        sustained = _carried(best)
        # A real-time fleet carries a higher peak with more instances: its cost prices them.
        if peak is not None and sustained < peak and config.kind != "realtime":
            extra.append(f"met the objective up to {sustained:.3g}/s, below the peak {peak:g}/s")
        return Verdict(
            meets=not extra,
            phase=best.name,
            latency_ms=latency,
            label=label,
            error_rate=best.error_rate,
            sustained_rps=sustained,
            failures=extra,
        )
    assert closest is not None
    _, phase, latency, failures = closest
    return Verdict(
        meets=False,
        phase=phase.name,
        latency_ms=latency,
        label=latency_at(phase.latency, objective.percentile)[1],
        error_rate=phase.error_rate,
        failures=failures + extra,
    )

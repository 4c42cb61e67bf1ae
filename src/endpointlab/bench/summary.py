"""The table a bench run ends with: one row per configuration, then the recommendation."""

from __future__ import annotations

from endpointlab.analysis.queueing import describe
from endpointlab.results.run_result import (
    ConfigurationResult,
    LatencyStats,
    Objective,
    PhaseSummary,
    RunResult,
)


def _at(latency: LatencyStats, percentile: float) -> float | None:
    """The objective's percentile when the summary keeps it (p99 otherwise)."""
    named = {50.0: latency.p50, 90.0: latency.p90, 95.0: latency.p95, 99.9: latency.p99_9}
    return named.get(percentile, latency.p99)


def meets(phase: PhaseSummary, objective: Objective) -> bool:
    value = _at(phase.latency, objective.percentile)
    return (
        phase.requests > 0
        and phase.error_rate <= objective.max_error_rate
        and value is not None
        and value <= objective.latency_ms
    )


def sustained(config: ConfigurationResult, objective: Objective) -> str:
    """The highest open-loop rate the configuration carried within the objective ("" if none):
    what an inference-recommender job reports as the maximum invocations per minute."""
    within = [p for p in config.phases if p.rate_per_s and meets(p, objective)]
    if not within:
        return ""
    best = max(within, key=lambda p: p.rate_per_s or 0.0)
    rate = best.rate_per_s or 0.0
    value = _at(best.latency, objective.percentile)
    return (
        f"sustained {rate:g}/s ({rate * 60:,.0f} invocations a minute) within the objective, "
        f"p{objective.percentile:g} {_ms(value)} ms (phase {best.name})"
    )


def utilisation(config: ConfigurationResult) -> str:
    """The endpoint's mean CPU and memory utilisation as CloudWatch reported them ("" if not)."""
    parts = []
    for metric, label in (("CPUUtilization", "CPU"), ("MemoryUtilization", "memory")):
        series = config.metrics.get(f"{metric}:Average", [])
        if series:
            mean = sum(value for _, value in series) / len(series)
            parts.append(f"{label} {mean:.0f}%")
    if not parts:
        return ""
    return f"utilisation {', '.join(parts)} (CloudWatch one-minute averages; CPU % sums vCPUs)"


def _settings(config: ConfigurationResult) -> str:
    settings = config.settings
    if "MemorySizeInMB" in settings:
        text = f"{settings['MemorySizeInMB']} MB, conc {settings.get('MaxConcurrency', 1)}"
        if settings.get("ProvisionedConcurrency"):
            text += f", PC {settings['ProvisionedConcurrency']}"
        return text
    if "MaxInstanceCount" in settings and "InstanceType" in settings:
        low, high = settings.get("MinInstanceCount", 1), settings["MaxInstanceCount"]
        return f"{low}-{high} x {settings['InstanceType']}"
    if "InstanceType" in settings:
        return f"{settings.get('InitialInstanceCount', 1)} x {settings['InstanceType']}"
    return " ".join(str(v) for v in settings.values())


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _row(config: ConfigurationResult) -> list[str]:
    total = config.total
    settings = _settings(config)
    cost = config.cost.per_million_usd if config.cost else None
    meets = {True: "yes", False: "no", None: "-"}[config.meets_objective]
    host = "-" if config.host is None else ("OVERSUB" if config.host.oversubscribed else "ok")
    if total is None:
        return [config.name, config.kind, settings, config.status, *["-"] * 7, host, meets]
    return [
        config.name,
        config.kind,
        settings,
        config.status,
        str(total.requests),
        f"{total.error_rate:.1%}",
        f"{total.throttled_requests}/{total.throttled_attempts}",
        str(total.cold_starts),
        _ms(total.latency.p50),
        _ms(total.latency.p99),
        f"{total.throughput_per_s:.1f}",
        host,
        meets if cost is None else f"{meets} ${cost:.3g}/1M",
    ]


HEADER = [
    "configuration",
    "kind",
    "settings",
    "status",
    "requests",
    "errors",
    "throttled req/att",
    "cold",
    "p50 ms",
    "p99 ms",
    "req/s",
    "host",
    "meets (cost)",
]


def summary_table(result: RunResult) -> str:
    """Configurations, their figures, notes and the recommendation, as plain text."""
    rows = [HEADER, *(_row(c) for c in result.configurations)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    objective = result.objective
    lines.insert(
        0,
        f"{result.plan_name}: objective p{objective.percentile:g} <= {objective.latency_ms:g} ms, "
        f"errors <= {objective.max_error_rate:.1%}",
    )
    for config in result.configurations:
        for note in (sustained(config, objective), utilisation(config)):
            if note:
                lines.append(f"  {config.name}: {note}")
        if config.async_split is not None:
            lines.append(f"  {config.name}: {describe(config.async_split)}")
            lines += [f"  {config.name}: ! {note}" for note in config.async_split.findings]
        if config.status_reason:
            lines.append(f"  {config.name}: {config.status_reason}")
        if config.host is not None and config.host.oversubscribed:
            lines.append(f"  {config.name}: host check: {config.host.note}")
    recommendation = result.recommendation
    if recommendation is not None:
        lines.append(f"Recommendation: {recommendation.statement}")
        lines += [f"  - {reason}" for reason in recommendation.reasons]
        lines += [f"  ! {warning}" for warning in recommendation.warnings]
    return "\n".join(lines)

"""What the report and the terminal summary say, as plain rows of text: figures formatted, and
every configuration labelled when its figures are projected or come from an oversubscribed host.

Shared by the HTML templates and the rich console so both say the same thing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from endpointlab.results.run_result import (
    ConfigurationResult,
    Interval,
    PhaseSummary,
    RunResult,
)

DASH = "\u2013"  # an en dash


def ms(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return DASH
    return f"{value:,.0f} ms" if value >= 100 else f"{value:.3g} ms"


def usd(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return DASH
    if value >= 100:
        return f"${value:,.0f}"
    return f"${value:,.2f}" if value >= 0.01 else f"${value:.3g}"


def percent(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return DASH
    return f"{100 * value:.2f}%" if value < 0.1 else f"{100 * value:.1f}%"


def count(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return DASH
    if value >= 1e6:
        return f"{value / 1e6:,.3g}M"
    return f"{value:,.0f}"


def interval(ci: Interval | None) -> str:
    return DASH if ci is None else f"{ms(ci.low)} {DASH} {ms(ci.high)}"


def settings_text(config: ConfigurationResult) -> str:
    return ", ".join(f"{key} {value}" for key, value in config.settings.items())


def flags(config: ConfigurationResult) -> list[str]:
    """Short labels for a configuration whose figures need care."""
    labels = []
    if config.origin == "projected":
        labels.append("projected")
    if config.host is not None and config.host.oversubscribed:
        labels.append("oversubscribed host")
    if config.status != "completed":
        labels.append(config.status)
    return labels


def label(config: ConfigurationResult) -> str:
    """The configuration's name as legends show it: projected ones say so."""
    projected = config.origin == "projected" and not config.name.endswith("(projected)")
    return f"{config.name} (projected)" if projected else config.name


def warnings(result: RunResult) -> list[str]:
    """Every warning the figures carry: the recommendation's, then one per labelled config
    (an oversubscribed host explained unless the recommendation already warns of it)."""
    found = list(result.recommendation.warnings) if result.recommendation else []
    if result.origin == "projected":
        source = f" from run {result.source_run}" if result.source_run else ""
        found.append(f"Every figure in this run is projected{source} (simulated), not measured.")
    for config in result.configurations:
        host = config.host
        said = any(config.name in w and "oversubscribed" in w for w in found)
        if host is not None and host.oversubscribed and not said:
            load = f", host load up to {host.load_max:.1f}" if host.load_max is not None else ""
            found.append(
                f"{config.name} was measured on an oversubscribed host: entitled to "
                f"{host.entitled_vcpus:.3g} vCPUs, the host has {host.host_cores} cores{load}. "
                "Its latencies and throttles are pessimistic (on AWS each instance has its "
                "own CPUs)."
            )
        if config.origin == "projected" and result.origin != "projected":
            found.append(f"{config.name}: projected (simulated) figures, not measured.")
        if config.status != "completed":
            reason = f": {config.status_reason}" if config.status_reason else ""
            found.append(f"{config.name} {config.status}{reason}.")
    return found


@dataclass(frozen=True)
class Pick:
    """A configuration the recommendation names, with the figures a reader wants first."""

    role: str  # "Recommended" or "Runner-up"
    name: str
    flags: list[str]
    p50: str
    p99: str
    per_million: str
    per_month: str


def picks(result: RunResult) -> list[Pick]:
    recommendation = result.recommendation
    if recommendation is None:
        return []
    found = []
    for role, name in (
        ("Recommended", recommendation.chosen),
        ("Runner-up", recommendation.runner_up),
    ):
        if name is None:
            continue
        try:
            config = result.configuration(name)
        except KeyError:
            found.append(Pick(role, name, ["not in this run"], DASH, DASH, DASH, DASH))
            continue
        latency = config.total.latency if config.total else None
        cost = config.cost
        found.append(
            Pick(
                role,
                name,
                flags(config),
                ms(latency.p50 if latency else None),
                ms(latency.p99 if latency else None),
                usd(cost.per_million_usd if cost else None),
                usd(cost.per_month_usd if cost else None),
            )
        )
    return found


@dataclass(frozen=True)
class Row:
    """One line of a summary table: the header's columns in order, plus its labels."""

    cells: list[str]
    flags: list[str] = field(default_factory=list)
    meets: bool | None = None


CONFIG_HEADER = [
    "Configuration",
    "Kind",
    "Settings",
    "Requests",
    "Error rate",
    "Throttled (req / attempts)",
    "Cold starts",
    "p50",
    "p99",
    "p99 95% CI",
    "$ per 1M",
    "$ per month",
    "Meets objective",
]


def _meets(value: bool | None) -> str:
    return DASH if value is None else ("yes" if value else "no")


def configuration_rows(result: RunResult) -> list[Row]:
    rows = []
    for config in result.configurations:
        summary = config.total
        cost = config.cost
        cells = [
            config.name,
            config.kind,
            settings_text(config),
            *_phase_cells(summary),
            usd(cost.per_million_usd if cost else None),
            usd(cost.per_month_usd if cost else None),
            _meets(config.meets_objective),
        ]
        rows.append(Row(cells, flags(config), config.meets_objective))
    return rows


def _phase_cells(summary: PhaseSummary | None) -> list[str]:
    if summary is None:
        return [DASH] * 7
    return [
        count(summary.requests),
        percent(summary.error_rate),
        f"{summary.throttled_requests} / {summary.throttled_attempts}",
        str(summary.cold_starts),
        ms(summary.latency.p50),
        ms(summary.latency.p99),
        interval(summary.latency_ci.get("p99")),
    ]


PHASE_HEADER = [
    "Phase",
    "Shape",
    "Duration",
    "Requests",
    "Error rate",
    "Throttled (req / attempts)",
    "Cold starts",
    "p50",
    "p99",
    "p99 95% CI",
    "Throughput",
    "Errors by code",
    "Warm p99",
    "Cold p99",
    "Server ModelLatency p50",
]


def phase_rows(config: ConfigurationResult) -> list[Row]:
    phases = [*config.phases, *([config.total] if config.total else [])]
    rows = []
    for summary in phases:
        model = summary.server.get("ModelLatency")
        cells = [
            summary.name,
            summary.shape,
            f"{summary.duration_s:.1f} s",
            *_phase_cells(summary),
            f"{summary.throughput_per_s:.1f}/s",
            ", ".join(f"{code} {n}" for code, n in summary.errors.items()) or DASH,
            ms(summary.warm_latency.p99 if summary.warm_latency else None),
            ms(summary.cold_latency.p99 if summary.cold_latency else None),
            ms(model.p50 if model else None),
        ]
        rows.append(Row(cells))
    return rows


def objective_text(result: RunResult) -> str:
    objective = result.objective
    return (
        f"p{objective.percentile:g} ≤ {ms(objective.latency_ms)}, "
        f"error rate ≤ {percent(objective.max_error_rate)}"
    )


def traffic_text(result: RunResult) -> str:
    traffic = result.traffic
    if traffic is None:
        return "not given"
    parts = [f"{count(traffic.requests_per_month)} requests/month"]
    if traffic.peak_rps is not None:
        parts.append(f"peak {traffic.peak_rps:g}/s")
    if traffic.peak_concurrency is not None:
        parts.append(f"peak concurrency {traffic.peak_concurrency}")
    return ", ".join(parts)


def environment_rows(result: RunResult) -> list[tuple[str, str]]:
    env = result.environment
    rows = [
        ("endpointlab", env.endpointlab_version),
        ("Target", f"{env.target} ({env.region})"),
        ("Provisioning", env.provisioning),
        ("Python", env.python),
        ("Platform", f"{env.platform} {env.machine}"),
        ("CPU", f"{env.cpu_count} cores {env.cpu_model}".strip()),
        ("Memory", f"{env.memory_bytes / 2**30:.1f} GiB" if env.memory_bytes else DASH),
    ]
    rows.extend((name, version) for name, version in sorted(env.packages.items()))
    return rows

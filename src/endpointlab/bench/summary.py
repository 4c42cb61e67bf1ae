"""The table a bench run ends with: one row per configuration, then the recommendation."""

from __future__ import annotations

from endpointlab.results.run_result import ConfigurationResult, RunResult


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _row(config: ConfigurationResult) -> list[str]:
    total = config.total
    settings = " ".join(str(v) for v in config.settings.values())
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
        str(total.throttled_requests),
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
    "throttled",
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

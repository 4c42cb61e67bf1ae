"""Two runs side by side (the same plan on the emulator and on AWS, before and after a model
change, measured against projected): configurations matched by name, and the differences that
matter flagged.

A latency percentile differs when each run's value lies outside the other's confidence interval;
without intervals, when it moved by ``threshold`` or more. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from endpointlab.reports import tables
from endpointlab.results.run_result import ConfigurationResult, Interval, RunResult

THRESHOLD = 0.25  # a relative change flagged when a figure has no confidence interval


@dataclass(frozen=True)
class Pair:
    """One configuration in both runs (or in one of them), and what differs."""

    name: str
    a: ConfigurationResult | None
    b: ConfigurationResult | None
    flags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RunComparison:
    a: RunResult
    b: RunResult
    pairs: list[Pair]
    differences: list[str]  # every flagged difference, one line each

    def title(self, which: str) -> str:
        run = self.a if which == "A" else self.b
        return f"{which}: {run.plan_name} {run.run_id} ({run.origin}, {run.environment.target})"


def _inside(value: float, interval: Interval | None) -> bool | None:
    if interval is None:
        return None
    return interval.low <= value <= interval.high


def _change(a: float, b: float) -> str:
    if a == 0:
        return ""
    return f" ({100 * (b - a) / a:+.0f}%)"


def percentile_flag(
    name: str, stat: str, a: ConfigurationResult, b: ConfigurationResult, threshold: float
) -> str | None:
    """A line when ``stat`` (p50, p99) of the two runs differs beyond its confidence interval."""
    if a.total is None or b.total is None:
        return None
    value_a = getattr(a.total.latency, stat)
    value_b = getattr(b.total.latency, stat)
    if value_a is None or value_b is None:
        return None
    ci_a = a.total.latency_ci.get(stat)
    ci_b = b.total.latency_ci.get(stat)
    moved = (
        f"{name}: {stat} {tables.ms(value_a)} -> {tables.ms(value_b)}{_change(value_a, value_b)}"
    )
    inside = [_inside(value_b, ci_a), _inside(value_a, ci_b)]
    known = [i for i in inside if i is not None]
    if known:
        if any(known):
            return None
        where = ci_a or ci_b
        return f"{moved}, beyond its 95% confidence interval ({tables.interval(where)})"
    if value_a > 0 and abs(value_b - value_a) / value_a >= threshold:
        return f"{moved}, no confidence interval; changes of {threshold:.0%} or more are flagged"
    return None


def _pair_flags(
    name: str, a: ConfigurationResult, b: ConfigurationResult, run_a: RunResult, threshold: float
) -> list[str]:
    found = [
        flag
        for stat in ("p50", "p99")
        if (flag := percentile_flag(name, stat, a, b, threshold)) is not None
    ]
    verdicts = (a.meets_objective, b.meets_objective)
    if None not in verdicts and verdicts[0] != verdicts[1]:
        meets, misses = ("A", "B") if a.meets_objective else ("B", "A")
        found.append(f"{name}: meets the objective in {meets}, not in {misses}")
    if a.total is not None and b.total is not None:
        allowed = run_a.objective.max_error_rate
        if abs(b.total.error_rate - a.total.error_rate) > allowed:
            found.append(
                f"{name}: error rate {tables.percent(a.total.error_rate)} -> "
                f"{tables.percent(b.total.error_rate)} (more than the "
                f"{tables.percent(allowed)} the objective allows)"
            )
    cost_a = a.cost.per_million_usd if a.cost else None
    cost_b = b.cost.per_million_usd if b.cost else None
    if cost_a and cost_b and abs(cost_b - cost_a) / cost_a >= threshold:
        found.append(
            f"{name}: cost per 1M {tables.usd(cost_a)} -> {tables.usd(cost_b)}"
            f"{_change(cost_a, cost_b)}"
        )
    return found


def compare_runs(a: RunResult, b: RunResult, threshold: float = THRESHOLD) -> RunComparison:
    """Match the configurations of ``a`` and ``b`` by name and flag what differs."""
    names = [c.name for c in a.configurations]
    names += [c.name for c in b.configurations if c.name not in names]
    by_a = {c.name: c for c in a.configurations}
    by_b = {c.name: c for c in b.configurations}
    pairs = []
    differences = []
    chosen_a = a.recommendation.chosen if a.recommendation else None
    chosen_b = b.recommendation.chosen if b.recommendation else None
    if chosen_a != chosen_b:
        differences.append(
            f"a different recommendation: A chose {chosen_a or 'nothing'}, "
            f"B chose {chosen_b or 'nothing'}"
        )
    if a.objective != b.objective:
        differences.append(
            f"different objectives: A {tables.objective_text(a)}, B {tables.objective_text(b)}"
        )
    for name in names:
        config_a, config_b = by_a.get(name), by_b.get(name)
        if config_a is None or config_b is None:
            flags = [f"{name}: only in {'A' if config_b is None else 'B'}"]
        else:
            flags = _pair_flags(name, config_a, config_b, a, threshold)
        pairs.append(Pair(name, config_a, config_b, flags))
        differences.extend(flags)
    return RunComparison(a, b, pairs, differences)


HEADER = [
    "Configuration",
    "p50 A",
    "p50 B",
    "p99 A",
    "p99 B",
    "p99 95% CI A",
    "p99 95% CI B",
    "Error rate A",
    "Error rate B",
    "$ per 1M A",
    "$ per 1M B",
    "Meets A / B",
]


def _cells(config: ConfigurationResult | None) -> dict[str, str]:
    summary = config.total if config else None
    if config is None or summary is None:
        return dict.fromkeys(("p50", "p99", "ci", "err", "cost", "meets"), tables.DASH)
    return {
        "p50": tables.ms(summary.latency.p50),
        "p99": tables.ms(summary.latency.p99),
        "ci": tables.interval(summary.latency_ci.get("p99")),
        "err": tables.percent(summary.error_rate),
        "cost": tables.usd(config.cost.per_million_usd if config.cost else None),
        "meets": {None: tables.DASH, True: "yes", False: "no"}[config.meets_objective],
    }


def rows(comparison: RunComparison) -> list[tables.Row]:
    """The side-by-side table: one row per configuration, flagged ones marked."""
    found = []
    for pair in comparison.pairs:
        a, b = _cells(pair.a), _cells(pair.b)
        cells = [pair.name]
        for key in ("p50", "p99", "ci", "err", "cost"):
            cells += [a[key], b[key]]
        cells.append(f"{a['meets']} / {b['meets']}")
        labels = ["differs"] if pair.flags else []
        for side, config in (("A", pair.a), ("B", pair.b)):
            labels += [f"{flag} in {side}" for flag in tables.flags(config)] if config else []
        found.append(tables.Row(cells, labels))
    return found

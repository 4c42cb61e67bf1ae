"""The recommendation: the cheapest configuration that meets the objective at the expected
traffic, why, the runner-up and what would change the answer (pure).

Configurations are ranked by monthly cost at the expected traffic (per 1M invocations without
traffic); equal costs (to the cent) go to the lower latency at the objective's percentile, then
the lower error rate, then the name. Figures measured on an oversubscribed host or projected by
a simulation are said so, in the statement when they decide the answer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from endpointlab.analysis.objective import Verdict, describe, evaluate
from endpointlab.analysis.queueing import queueing_advice
from endpointlab.results.run_result import (
    ConfigurationResult,
    CostComparison,
    Objective,
    Recommendation,
    Traffic,
)


def settings_text(config: ConfigurationResult) -> str:
    """E.g. ``serverless, 2048 MB, MaxConcurrency 4`` or ``realtime, 2 x ml.m5.large``."""
    s = config.settings
    if config.kind == "serverless":
        parts = [
            f"{s.get('MemorySizeInMB', '?')} MB",
            f"MaxConcurrency {s.get('MaxConcurrency', '?')}",
        ]
        if s.get("ProvisionedConcurrency"):
            parts.append(f"provisioned concurrency {s['ProvisionedConcurrency']}")
        return ", ".join([config.kind, *parts])
    count = s.get("InitialInstanceCount", 1)
    text = f"{config.kind}, {count} x {s.get('InstanceType', '?')}"
    if "MaxInstanceCount" in s:
        text += f" autoscaled from {s.get('MinInstanceCount', 1)} to {s['MaxInstanceCount']}"
    needed = config.cost.instances if config.cost is not None else None
    if needed is not None and isinstance(count, int | float) and needed > count:
        text += f", scaled to {needed:g} to carry the expected traffic"
    return text


def _price(config: ConfigurationResult, traffic: Traffic | None) -> float | None:
    if config.cost is None:
        return None
    return config.cost.per_month_usd if traffic is not None else config.cost.per_million_usd


def _money(usd: float, traffic: Traffic | None) -> str:
    return f"${usd:,.2f} a month" if traffic is not None else f"${usd:,.2f} per 1M invocations"


def _key(
    config: ConfigurationResult, verdict: Verdict, traffic: Traffic | None
) -> tuple[float, float, float, str]:
    price = _price(config, traffic)
    cents = round(price, 2) if price is not None else math.inf
    latency = verdict.latency_ms if verdict.latency_ms is not None else math.inf
    return cents, latency, verdict.error_rate or 0.0, config.name


def _caveats(config: ConfigurationResult) -> list[str]:
    notes = []
    if config.host is not None and config.host.oversubscribed:
        notes.append(f"{config.name} was measured on an oversubscribed host ({config.host.note})")
    if config.origin == "projected":
        notes.append(f"{config.name}'s figures are projected by a simulation, not measured")
    if config.cost is not None and "UNCONFIRMED" in config.cost.price_source:
        notes.append(f"{config.name}'s cost uses prices marked UNCONFIRMED")
    return notes


def _why(config: ConfigurationResult, verdict: Verdict, objective: Objective) -> str:
    at = f" in phase {verdict.phase}" if verdict.phase else ""
    rate = f" at {verdict.sustained_rps:.3g}/s" if verdict.sustained_rps else ""
    latency = f"{verdict.latency_ms:.1f}" if verdict.latency_ms is not None else "-"
    return (
        f"{config.name} meets {describe(objective)}: {verdict.label} {latency} ms, errors "
        f"{verdict.error_rate or 0.0:.2%}{at}{rate}"
    )


def _volume_changes(
    chosen: ConfigurationResult,
    meeting: set[str],
    comparison: CostComparison | None,
    traffic: Traffic | None,
) -> list[str]:
    """The break-even, when the chosen configuration is one of its pair, and the nearest volumes
    of the savings table, below and above the expected one, where another is cheaper."""
    if comparison is None:
        return []
    changes = []
    even = comparison.break_even_requests_per_month
    if even is not None and chosen.name in comparison.between:
        other = next(n for n in comparison.between if n != chosen.name)
        side = "above" if chosen.kind == "serverless" else "below"
        changes.append(f"{side} {even:,.0f} requests a month (the break-even) {other} is cheaper")
    expected = traffic.requests_per_month if traffic is not None else None
    cheaper = []
    for point in comparison.savings:
        mine = point.usd.get(chosen.name)
        rivals = {n: u for n, u in point.usd.items() if n in meeting and n != chosen.name}
        if mine is None or not rivals:
            continue
        name, usd = min(rivals.items(), key=lambda item: item[1])
        if round(usd, 2) < round(mine, 2):
            line = (
                f"at {point.requests_per_month:,.0f} requests a month {name} would be cheaper "
                f"(${usd:,.2f} against ${mine:,.2f})"
            )
            cheaper.append((point.requests_per_month, line))
    if expected is None:
        return changes + [line for _, line in cheaper]
    below = [pair for pair in cheaper if pair[0] < expected]
    above = [pair for pair in cheaper if pair[0] > expected]
    nearest = ([below[-1]] if below else []) + ([above[0]] if above else [])
    return changes + [line for _, line in nearest]


def recommend(
    configs: Sequence[ConfigurationResult],
    objective: Objective,
    traffic: Traffic | None,
    comparison: CostComparison | None = None,
) -> Recommendation:
    """The recommendation among ``configs`` (see the module's notes); ``comparison``'s savings
    table, when given, adds the volumes at which the answer changes."""
    if not configs:
        return Recommendation(statement="No configuration was measured: nothing to recommend.")
    verdicts = {c.name: evaluate(c, objective, traffic) for c in configs}
    meeting = [c for c in configs if verdicts[c.name].meets]
    volume = (
        f" at {traffic.requests_per_month:,.0f} requests a month" if traffic is not None else ""
    )
    if not meeting:
        return _nothing_meets(configs, verdicts, objective, volume)
    ranked = sorted(meeting, key=lambda c: _key(c, verdicts[c.name], traffic))
    chosen = ranked[0]
    runner_up = ranked[1] if len(ranked) > 1 else None
    price = _price(chosen, traffic)
    reasons = [_why(chosen, verdicts[chosen.name], objective)]
    if price is None:
        reasons.append(f"no configuration that meets the objective could be priced{volume}")
        cost_text = "its cost is unknown (no price)"
    else:
        cost_text = _money(price, traffic)
        reasons.append(f"the cheapest of the {len(meeting)} that meet it{volume}: {cost_text}")
    would_change: list[str] = []
    if runner_up is not None:
        other = _price(runner_up, traffic)
        if other is not None and price is not None and round(other, 2) == round(price, 2):
            reasons.append(
                f"{runner_up.name} costs the same; {chosen.name} is ahead on latency, error "
                "rate or name, in that order"
            )
        elif other is not None:
            reasons.append(f"runner-up {runner_up.name}: {_money(other, traffic)}")
    would_change += _volume_changes(chosen, {c.name for c in meeting}, comparison, traffic)
    would_change += _cheaper_failures(chosen, configs, verdicts, traffic)
    sustained = verdicts[chosen.name].sustained_rps
    if sustained and (traffic is None or traffic.peak_rps is None):
        would_change.append(
            f"{chosen.name} was measured within the objective up to {sustained:.3g}/s; "
            "a higher peak was not measured"
        )
    if (advice := queueing_advice(chosen)) is not None:
        reasons.append(advice[0])
        would_change.append(advice[1])
    deciding = [chosen] if runner_up is None else [chosen, runner_up]
    warnings = [note for c in deciding for note in _caveats(c)]
    statement = (
        f"Deploy {chosen.name} ({settings_text(chosen)}): the cheapest configuration that meets "
        f"{describe(objective)}{volume}, {cost_text}."
    )
    statement += _plain_caveats(deciding)
    return Recommendation(
        chosen=chosen.name,
        runner_up=runner_up.name if runner_up is not None else None,
        statement=statement,
        reasons=reasons,
        would_change=would_change,
        warnings=warnings,
    )


def _plain_caveats(deciding: Sequence[ConfigurationResult]) -> str:
    text = ""
    hosts = [c.name for c in deciding if c.host is not None and c.host.oversubscribed]
    if hosts:
        text += (
            f" The deciding figures ({', '.join(hosts)}) come from an oversubscribed host: "
            "latencies and throttles are pessimistic, AWS gives each instance its own CPUs."
        )
    projected = [c.name for c in deciding if c.origin == "projected"]
    if projected:
        text += f" The deciding figures ({', '.join(projected)}) are projected, not measured."
    return text


def _cheaper_failures(
    chosen: ConfigurationResult,
    configs: Sequence[ConfigurationResult],
    verdicts: dict[str, Verdict],
    traffic: Traffic | None,
) -> list[str]:
    """Cheaper configurations that missed, and what they missed by."""
    price = _price(chosen, traffic)
    changes = []
    for config in configs:
        other = _price(config, traffic)
        verdict = verdicts[config.name]
        if verdict.meets or other is None or price is None or round(other, 2) >= round(price, 2):
            continue
        missed = "; ".join(verdict.failures)
        changes.append(f"{config.name} costs {_money(other, traffic)} but missed: {missed}")
    return changes


def _nothing_meets(
    configs: Sequence[ConfigurationResult],
    verdicts: dict[str, Verdict],
    objective: Objective,
    volume: str,
) -> Recommendation:
    def distance(config: ConfigurationResult) -> float:
        latency = verdicts[config.name].latency_ms
        return latency / objective.latency_ms if latency is not None else math.inf

    closest = min(configs, key=distance)
    missed = [f"{c.name}: {'; '.join(verdicts[c.name].failures)}" for c in configs]
    statement = f"No configuration met {describe(objective)}{volume}."
    if all(c.host is not None and c.host.oversubscribed for c in configs):
        statement += (
            " Every configuration was measured on an oversubscribed host, so these failures may "
            "be the host's: on AWS each instance has its own CPUs."
        )
    elif any(c.origin == "projected" for c in configs):
        statement += " Some figures are projected, not measured."
    would_change = [
        f"closest: {closest.name} ({'; '.join(verdicts[closest.name].failures)}); a looser "
        "objective, more memory or concurrency, or a larger instance type"
    ]
    if (advice := queueing_advice(closest)) is not None:
        missed.append(advice[0])
        would_change.append(advice[1])
    return Recommendation(
        chosen=None,
        runner_up=None,
        statement=statement,
        reasons=missed,
        would_change=would_change,
        warnings=[note for c in configs for note in _caveats(c)],
    )

"""What a plan will cost on AWS before anything is created: an upper bound, for ``--target aws``
to show, to confirm and to hold under ``--max-cost``.

Instances bill from creation to deletion: each configuration's phases, its pauses and warm-up
plus ``DEPLOY_ALLOWANCE_S`` for provisioning and teardown, at its autoscaling maximum if any.
Serverless bills compute while requests run: at most MaxConcurrency environments busy for the
whole of every phase (plus provisioned concurrency for the configuration's whole life).
"""

from __future__ import annotations

from dataclasses import dataclass

from endpointlab.analysis.cost import PriceTable
from endpointlab.bench.plan import SERVERLESS_MEMORY_MB, Async, Plan, Realtime, Serverless

DEPLOY_ALLOWANCE_S = 15 * 60.0  # provisioning and deleting an endpoint on AWS, per configuration
BURST_ALLOWANCE_S = 60.0  # a burst phase has no duration: allow a minute


@dataclass(frozen=True)
class Line:
    configuration: str
    what: str
    usd: float | None  # None: no price known


@dataclass(frozen=True)
class Estimate:
    lines: list[Line]

    @property
    def total_usd(self) -> float | None:
        if any(line.usd is None for line in self.lines):
            return None
        return sum(line.usd or 0.0 for line in self.lines)

    def unpriced(self) -> list[str]:
        return [f"{line.configuration} ({line.what})" for line in self.lines if line.usd is None]


def _phase_seconds(plan: Plan, config: Serverless | Realtime | Async) -> float:
    seconds = 0.0
    for phase in plan.phases_of(config):
        seconds += phase.pause_before + (phase.duration or BURST_ALLOWANCE_S)
    return seconds


def estimate(plan: Plan, prices: PriceTable) -> Estimate:
    """An upper bound of what running ``plan`` on AWS costs, configuration by configuration."""
    lines = []
    for config in plan.configurations:
        load_s = _phase_seconds(plan, config)
        life_s = load_s + DEPLOY_ALLOWANCE_S
        if isinstance(config, Serverless):
            memory = (
                config.memory_mb if isinstance(config.memory_mb, int) else max(SERVERLESS_MEMORY_MB)
            )
            rate = prices.item(f"serverless.duration.{memory}")
            busy = load_s * config.max_concurrency
            usd = rate.usd * busy if rate is not None else None
            lines.append(Line(config.name, f"{memory} MB x {busy:.0f} s busy at most", usd))
            if config.provisioned_concurrency:
                held = prices.item(f"serverless.provisioned.{memory}")
                units = config.provisioned_concurrency
                lines.append(
                    Line(
                        config.name,
                        f"provisioned concurrency {units} x {life_s:.0f} s",
                        held.usd * units * life_s if held is not None else None,
                    )
                )
            continue
        found = prices.instance(config.kind, config.instance_type)
        scaling = config.autoscaling if isinstance(config, Realtime) else None
        count = scaling.max_instances if scaling is not None else config.instance_count
        hours = life_s / 3600.0 * count
        lines.append(
            Line(
                config.name,
                f"{count} x {config.instance_type} for {life_s / 60:.0f} min"
                + (" (autoscaling max)" if scaling is not None else ""),
                found[1].usd * hours if found is not None else None,
            )
        )
    return Estimate(lines)

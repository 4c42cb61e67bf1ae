"""How many instances a monthly volume needs, from what one instance carried within the objective
(pure), and where serverless stops being the cheaper option against such a scaled fleet.

- Capacity: the phase that met the objective with the most successes per second per instance
  (its instance count is the run's mean from the timeline when recorded, else
  ``InitialInstanceCount``). A configuration that met it in no phase has no capacity figure.
- The rate a volume brings: the traffic's ``peak_rps`` scaled with the volume (the peak is taken
  to keep its ratio to the monthly volume), or the mean rate when no peak is given.
- Instances for a rate: ``ceil(rate / capacity)``, never fewer than the deployed count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

from endpointlab.analysis.objective import phase_meets
from endpointlab.results.run_result import ConfigurationResult, Objective, Traffic

SECONDS_PER_MONTH = 730.0 * 3600.0
_SLACK = 1e-9  # a rate exactly at a multiple of the capacity needs no extra instance


@dataclass(frozen=True)
class Capacity:
    """Successes per second one instance carried within the objective, in ``phase``."""

    per_instance_rps: float
    phase: str
    instances: float


def deployed_instances(config: ConfigurationResult) -> tuple[float, str]:
    """The instances the run had: its timeline's mean when recorded, else InitialInstanceCount."""
    counts = [p.instances for p in config.timeline if p.instances is not None]
    if counts:
        return math.fsum(counts) / len(counts), "the run's mean"
    value = config.settings.get("InitialInstanceCount", 1)
    return (float(value) if isinstance(value, int | float) else 1.0), "InitialInstanceCount"


def instance_seconds(config: ConfigurationResult) -> float | None:
    """Instance-seconds over the timeline, each point's count held until the next point."""
    points = [(p.t, p.instances) for p in config.timeline if p.instances is not None]
    if not points:
        return None
    steps = [b[0] - a[0] for a, b in pairwise(points)]
    last = steps[-1] if steps else 1.0
    return math.fsum(count * step for (_, count), step in zip(points, [*steps, last], strict=True))


def capacity(config: ConfigurationResult, objective: Objective | None) -> Capacity | None:
    """The best per-instance rate within ``objective`` (None: no phase met it, or no objective)."""
    if objective is None:
        return None
    instances, _ = deployed_instances(config)
    met = [p for p in config.phases if phase_meets(p, objective) and p.throughput_per_s > 0]
    if not met or instances <= 0:
        return None
    best = max(met, key=lambda p: p.throughput_per_s)
    return Capacity(best.throughput_per_s / instances, best.name, instances)


def volume_rate(traffic: Traffic, volume: float) -> tuple[float, str]:
    """Requests per second that ``volume`` requests a month bring, and what the figure is."""
    if traffic.peak_rps is not None and traffic.requests_per_month > 0:
        rate = traffic.peak_rps * volume / traffic.requests_per_month
        return rate, f"the peak {rate:.3g}/s (peak_rps scaled with the volume)"
    rate = volume / SECONDS_PER_MONTH
    return rate, f"the mean rate {rate:.3g}/s (no peak_rps given)"


def instances_for(rate: float, carried: Capacity | None, deployed: float) -> float:
    """Instances that carry ``rate``: never fewer than ``deployed``; ``deployed`` without a
    capacity figure."""
    if carried is None:
        return deployed
    return max(deployed, float(math.ceil(rate / carried.per_instance_rps - _SLACK)))


@dataclass(frozen=True)
class Fleet:
    """An instance-based configuration's monthly cost as a function of the volume V:
    ``instances(V) x per_instance + per_request x V``, where instances(V) is ``deployed`` up
    to ``deployed x per_instance_volume`` and then one more every ``per_instance_volume``
    requests a month (None: the deployed count whatever the volume), or, ``continuous``,
    the instance-time a request used as run: ``max(deployed, V / per_instance_volume)``."""

    per_instance: float  # USD a month
    per_request: float
    deployed: float
    per_instance_volume: float | None
    continuous: bool = False  # an autoscaled fleet: max(deployed, V / per_instance_volume)


def break_even(fixed: float, slope: float, fleet: Fleet) -> float | None:
    """The volume above which ``fleet`` never costs more than the line ``fixed + slope x V``
    (serverless), when serverless is cheaper somewhere below it; None when serverless is never
    cheaper, or is cheaper at arbitrarily large volumes (its slope does not exceed the fleet's
    cost per request at full use)."""
    h, d, n0, u = fleet.per_instance, fleet.per_request, fleet.deployed, fleet.per_instance_volume
    if slope <= d:
        return None
    if u is None or u <= 0 or (fleet.continuous and slope * u > h + d * u):
        # Flat, or flat then rising more slowly than serverless: they cross on the flat part.
        crossing = (n0 * h - fixed) / (slope - d)
        return crossing if crossing > 0 else None
    if slope * u <= h + d * u:
        return None
    # Beyond n0 x u, segment n holds V in ((n-1)u, nu] at n x h + d x V; serverless is cheaper
    # somewhere in it while (n x h - fixed) / (slope - d) > (n-1)u, i.e. while n < limit.
    margin = (slope - d) * u
    limit = (margin - fixed) / (margin - h)
    last = math.ceil(limit) - 1
    first = math.floor(n0) + 1
    if last >= first:
        end = last * u
        n = float(last)
    elif n0 * h > fixed and math.floor(n0) >= 1:
        end = math.floor(n0) * u
        n = n0
    else:
        return None
    return min((n * h - fixed) / (slope - d), end)

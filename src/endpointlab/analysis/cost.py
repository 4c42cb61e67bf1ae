"""What a configuration costs on SageMaker, from a dated, per-region price table (pure).

How the figures are made (on-demand prices; free tiers, savings plans, storage, taxes left out):
- Prices: ``data/prices.csv`` (serverless, provisioned concurrency, data processed) and the
  instance catalogue ``data/instance_types.csv``, us-east-1; each figure carries its evidence and
  date, and a Cost's ``price_source`` names the ones used, UNCONFIRMED ones marked. A user price
  file overrides any row (``endpointlab.prices.load_prices``).
- Serverless: each invocation bills its inference time at its memory size's per-second rate: the
  server's ModelLatency mean when the run pulled it, else the mean warm latency the client saw
  (which overstates it); cold starts are not billed. Plus data processed, in and out, per GB of
  the traffic's request and response sizes (none when the traffic gives no sizes).
  Provisioned concurrency (``ProvisionedConcurrency``) bills its units for the whole month, and
  the invocations it serves (the share PC / peak concurrency, or all when the peak is not given)
  at its lower duration rate.
- Real-time: instance-hours, 730 a month, times the instances that carry the volume
  (``analysis.capacity``: the volume's peak, or mean, rate over what one instance carried within
  the objective, never fewer than the deployed count: the run's timeline mean, else
  ``InitialInstanceCount``), plus data processed. Without an objective, or when no phase met
  it, there is no capacity figure: the deployed count is priced and the basis says so.
- Asynchronous: the instance-seconds the run used per request (its timeline ``instances``
  integrated: time scaled to zero costs nothing) times the monthly requests, never below
  ``MinInstanceCount`` instances all month; without an instance timeline, as real-time.
- Per invocation, per 1M and per month are at the expected traffic; without one, instance kinds
  are priced fully used at the run's throughput and no monthly figure is given.
- Break-even: the monthly volume above which the cheapest real-time configuration that meets
  the objective (scaled out as the volume grows) never costs more than the cheapest serverless
  one that meets it; the savings table gives every priced configuration's monthly cost by volume.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from endpointlab.analysis.capacity import (
    Fleet,
    break_even,
    capacity,
    deployed_instances,
    instance_seconds,
    instances_for,
    volume_rate,
)
from endpointlab.results.run_result import (
    ConfigurationResult,
    Cost,
    CostComparison,
    CostPoint,
    Objective,
    PhaseSummary,
    Traffic,
)

HOURS_PER_MONTH = 730.0  # AWS's pricing pages price a month as 730 hours
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600.0
BYTES_PER_GB = 1024**3
SAVINGS_VOLUMES = (1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9)


@dataclass(frozen=True)
class Price:
    """One price: ``usd`` per ``unit``, with how sure it is and where and when it was read."""

    usd: float
    unit: str = ""
    evidence: str = ""
    source: str = ""
    date: str = ""

    @property
    def unconfirmed(self) -> bool:
        return "UNCONFIRMED" in self.evidence.upper()

    def cite(self, item: str) -> str:
        flag = ", UNCONFIRMED" if self.unconfirmed else ""
        return (
            f"{item} ${self.usd:g} ({self.source or 'no source'}, {self.date or 'undated'}{flag})"
        )


@dataclass(frozen=True)
class PriceTable:
    """Prices of one region by item: ``serverless.duration.<MB>``, ``serverless.provisioned.<MB>``,
    ``serverless.provisioned_duration.<MB>``, ``data.in``, ``data.out`` and, per hour,
    ``instance.<type>`` (or ``realtime.<type>`` / ``async.<type>`` for one kind only)."""

    region: str
    prices: Mapping[str, Price] = field(default_factory=dict)
    source: str = ""

    def item(self, name: str) -> Price | None:
        return self.prices.get(name)

    def instance(self, kind: str, instance_type: str) -> tuple[str, Price] | None:
        for name in (f"{kind}.{instance_type}", f"instance.{instance_type}"):
            found = self.prices.get(name)
            if found is not None:
                return name, found
        return None


def overall(config: ConfigurationResult) -> PhaseSummary | None:
    """The configuration's total, or its busiest phase when no total was made."""
    if config.total is not None:
        return config.total
    return max(config.phases, key=lambda p: p.requests, default=None)


def _billed_seconds(summary: PhaseSummary | None) -> tuple[float, str] | None:
    if summary is None:
        return None
    model = summary.server.get("ModelLatency")
    if model is not None and model.mean is not None:
        return model.mean / 1e3, "the server's mean ModelLatency"
    warm = summary.warm_latency if summary.warm_latency is not None else summary.latency
    if warm.mean is None:
        return None
    return warm.mean / 1e3, "the mean warm latency seen by the client (overstates billed time)"


def _data_per_invocation(
    traffic: Traffic | None, prices: PriceTable, cited: list[str]
) -> tuple[float, str]:
    sent = traffic.request_bytes if traffic is not None else None
    received = traffic.response_bytes if traffic is not None else None
    if sent is None and received is None:
        return 0.0, "data processed not priced (the traffic gives no payload sizes)"
    usd = 0.0
    for name, size in (("data.in", sent), ("data.out", received)):
        price = prices.item(name)
        if size is None or price is None:
            continue
        usd += size / BYTES_PER_GB * price.usd
        cited.append(price.cite(name))
    return usd, "data processed in and out"


def _missing(item: str, prices: PriceTable) -> Cost:
    return Cost(
        basis=f"no price for {item} in {prices.region}: give one in a price file",
        price_source=prices.source,
    )


def _finish(
    fixed_monthly: float,
    per_request: float,
    traffic: Traffic | None,
    *,
    floor_monthly: float = 0.0,
    variable_from_floor: float = 0.0,
) -> tuple[float | None, float | None]:
    """(per month, per invocation) at the traffic: fixed + per request x volume, where the part
    ``variable_from_floor`` x volume never costs less than ``floor_monthly``."""
    if traffic is None:
        return None, None
    volume = traffic.requests_per_month
    monthly = (
        fixed_monthly + per_request * volume + max(floor_monthly, variable_from_floor * volume)
    )
    return monthly, (monthly / volume if volume > 0 else None)


def configuration_cost(
    config: ConfigurationResult,
    traffic: Traffic | None,
    prices: PriceTable,
    objective: Objective | None = None,
) -> Cost:
    """The cost of ``config`` at ``traffic``'s monthly volume (see the module's notes); the
    ``objective`` gives instance-based kinds their capacity."""
    if config.kind == "serverless":
        return _serverless_cost(config, traffic, prices)
    return _instance_cost(config, traffic, prices, objective)


def _serverless_cost(
    config: ConfigurationResult, traffic: Traffic | None, prices: PriceTable
) -> Cost:
    memory = config.settings.get("MemorySizeInMB")
    duration_item = f"serverless.duration.{memory}"
    duration = prices.item(duration_item)
    if duration is None:
        return _missing(duration_item, prices)
    billed = _billed_seconds(overall(config))
    if billed is None:
        return Cost(basis="no successful invocation to price", price_source=prices.source)
    seconds, measured = billed
    cited = [duration.cite(duration_item)]
    data, data_basis = _data_per_invocation(traffic, prices, cited)
    units = int(config.settings.get("ProvisionedConcurrency") or 0)
    fixed, hourly = 0.0, None
    per_request = seconds * duration.usd + data
    basis = f"{seconds * 1e3:.1f} ms billed per invocation ({measured}) at {memory} MB"
    if units > 0:
        names = (f"serverless.provisioned.{memory}", f"serverless.provisioned_duration.{memory}")
        provisioned, under = prices.item(names[0]), prices.item(names[1])
        if provisioned is None or under is None:
            return _missing(names[0] if provisioned is None else names[1], prices)
        cited += [provisioned.cite(names[0]), under.cite(names[1])]
        peak = traffic.peak_concurrency if traffic is not None else None
        share = min(1.0, units / peak) if peak else 1.0
        fixed = units * provisioned.usd * SECONDS_PER_MONTH
        hourly = units * provisioned.usd * 3600.0
        per_request = seconds * (share * under.usd + (1 - share) * duration.usd) + data
        basis += f"; {units} provisioned concurrency all month, serving {share:.0%} of requests"
    monthly, per_invocation = _finish(fixed, per_request, traffic)
    if per_invocation is None:
        per_invocation = per_request  # without traffic: the on-demand part alone
    return Cost(
        hourly_usd=hourly,
        per_invocation_usd=per_invocation,
        per_million_usd=per_invocation * 1e6,
        per_month_usd=monthly,
        basis=f"{basis}; {data_basis}",
        price_source="; ".join(cited),
    )


def _fleet(
    config: ConfigurationResult,
    traffic: Traffic | None,
    prices: PriceTable,
    objective: Objective | None,
) -> Fleet | None:
    """The monthly cost line of a real-time configuration (None: no price)."""
    found = prices.instance(config.kind, str(config.settings.get("InstanceType", "")))
    if found is None:
        return None
    data, _ = _data_per_invocation(traffic, prices, [])
    deployed, _ = deployed_instances(config)
    carried = capacity(config, objective)
    per_volume = None
    used, summary = instance_seconds(config), overall(config)
    if _autoscaled(config) and used and summary is not None and summary.requests > 0:
        hours = used / summary.requests / 3600.0  # instance-hours a request
        least = _count(config, "MinInstanceCount", 1)
        return Fleet(found[1].usd * HOURS_PER_MONTH, data, least, HOURS_PER_MONTH / hours, True)
    if carried is not None:
        unit_rate, _ = volume_rate(traffic or Traffic(requests_per_month=1.0), 1.0)
        per_volume = carried.per_instance_rps / unit_rate if unit_rate > 0 else None
    return Fleet(found[1].usd * HOURS_PER_MONTH, data, deployed, per_volume)


def _instance_cost(
    config: ConfigurationResult,
    traffic: Traffic | None,
    prices: PriceTable,
    objective: Objective | None,
) -> Cost:
    instance_type = str(config.settings.get("InstanceType", ""))
    found = prices.instance(config.kind, instance_type)
    if found is None:
        return _missing(f"instance.{instance_type or '(no InstanceType)'}", prices)
    item, price = found
    cited = [price.cite(item)]
    data, data_basis = _data_per_invocation(traffic, prices, cited)
    summary = overall(config)
    deployed, where = deployed_instances(config)
    hourly = price.usd * deployed
    used = instance_seconds(config) if config.kind == "async" or _autoscaled(config) else None
    instances: float | None = None
    if used is not None and summary is not None and summary.requests > 0:
        per_request_instance = used / summary.requests * price.usd / 3600.0
        least = _count(config, "MinInstanceCount", 0)
        monthly, per_invocation = _finish(
            0.0,
            data,
            traffic,
            floor_monthly=least * price.usd * HOURS_PER_MONTH,
            variable_from_floor=per_request_instance,
        )
        how = "under its autoscaling policy" if _autoscaled(config) else "(time at zero free)"
        basis = (
            f"{used / summary.requests:.3f} instance-seconds per request as run {how}, at "
            f"least {least:g} instances all month"
        )
        at_capacity: float | None = per_request_instance + data
        unpriced_traffic = "; per invocation as run"
    else:
        carried = capacity(config, objective)
        if traffic is not None:
            rate, rate_basis = volume_rate(traffic, traffic.requests_per_month)
            instances = instances_for(rate, carried, deployed)
            hourly = price.usd * instances
        monthly, per_invocation = _finish(hourly * HOURS_PER_MONTH, data, traffic)
        basis = f"{hourly / price.usd:g} x {instance_type} for {HOURS_PER_MONTH:g} h a month"
        if carried is None:
            why = "no objective given" if objective is None else "it met the objective in no phase"
            basis += (
                f" ({where}): no capacity figure ({why}), so the {deployed:g} deployed "
                "instances are priced whatever the volume"
            )
        elif traffic is not None:
            basis += (
                f" to carry {rate_basis} at {carried.per_instance_rps:.3g}/s per instance "
                f"(measured within the objective in phase {carried.phase}), never fewer than "
                f"the {deployed:g} deployed ({where})"
            )
        rate = summary.throughput_per_s if summary is not None else 0.0
        at_capacity = hourly / (rate * 3600.0) + data if rate > 0 else None
        unpriced_traffic = "; per invocation fully used at the run's throughput"
    if traffic is None:
        per_invocation = at_capacity
        basis += unpriced_traffic
    return Cost(
        hourly_usd=hourly,
        per_invocation_usd=per_invocation,
        per_million_usd=per_invocation * 1e6 if per_invocation is not None else None,
        per_month_usd=monthly,
        instances=instances,
        basis=f"{basis}; {data_basis}",
        price_source="; ".join(cited),
    )


def _autoscaled(config: ConfigurationResult) -> bool:
    """A real-time configuration run under an autoscaling policy: priced as it scaled."""
    return config.kind == "realtime" and "MaxInstanceCount" in config.settings


def _count(config: ConfigurationResult, key: str, default: float) -> float:
    value = config.settings.get(key, default)
    return float(value) if isinstance(value, int | float) else default


def _at(traffic: Traffic | None, volume: float) -> Traffic:
    """``traffic`` at another volume: its peak keeps its ratio to the volume."""
    if traffic is None:
        return Traffic(requests_per_month=volume)
    peak = traffic.peak_rps
    if peak is not None and traffic.requests_per_month > 0:
        peak = peak * volume / traffic.requests_per_month
    return traffic.model_copy(update={"requests_per_month": volume, "peak_rps": peak})


def _monthly(
    config: ConfigurationResult,
    traffic: Traffic | None,
    prices: PriceTable,
    volume: float,
    objective: Objective | None = None,
) -> float | None:
    return configuration_cost(config, _at(traffic, volume), prices, objective).per_month_usd


def _eligible(configs: Sequence[ConfigurationResult], kind: str) -> list[ConfigurationResult]:
    """Configurations of ``kind`` not known to miss the objective."""
    return [c for c in configs if c.kind == kind and c.meets_objective is not False]


def _cheapest(
    configs: Sequence[ConfigurationResult],
    traffic: Traffic | None,
    prices: PriceTable,
    volume: float,
    objective: Objective | None,
) -> tuple[ConfigurationResult, float] | None:
    priced = [(c, _monthly(c, traffic, prices, volume, objective)) for c in configs]
    costed = [(c, m) for c, m in priced if m is not None]
    return min(costed, key=lambda pair: pair[1], default=None)


def compare_costs(
    configs: Sequence[ConfigurationResult],
    traffic: Traffic | None,
    prices: PriceTable,
    objective: Objective | None = None,
) -> CostComparison:
    """Serverless against real-time by monthly volume: the break-even and a savings table.

    The break-even is between the cheapest serverless and the cheapest real-time configuration
    (at the expected traffic) that meet the objective: the volume above which the real-time one,
    scaled out to carry the volume, never costs more; None when either is missing, when
    serverless is never cheaper or when it stays cheaper at every volume. Serverless is a
    straight line in the volume and the real-time fleet a staircase of them, so it is exact.
    """
    volume = traffic.requests_per_month if traffic is not None else 1e6
    serverless = _cheapest(_eligible(configs, "serverless"), traffic, prices, volume, objective)
    realtime = _cheapest(_eligible(configs, "realtime"), traffic, prices, volume, objective)
    break_even_at: float | None = None
    between: list[str] = []
    if serverless is not None and realtime is not None:
        between = [serverless[0].name, realtime[0].name]
        at_zero = _monthly(serverless[0], traffic, prices, 0.0) or 0.0
        at_million = _monthly(serverless[0], traffic, prices, 1e6) or 0.0
        fleet = _fleet(realtime[0], traffic, prices, objective)
        if fleet is not None:
            break_even_at = break_even(at_zero, (at_million - at_zero) / 1e6, fleet)
    volumes = set(SAVINGS_VOLUMES)
    if traffic is not None:
        volumes.add(traffic.requests_per_month)
    if break_even_at is not None:
        volumes.add(break_even_at)
    savings = []
    for at in sorted(volumes):
        usd = {
            c.name: m
            for c in configs
            if (m := _monthly(c, traffic, prices, at, objective)) is not None
        }
        savings.append(CostPoint(requests_per_month=at, usd=usd))
    return CostComparison(
        break_even_requests_per_month=break_even_at,
        between=between,
        savings=savings,
        region=prices.region,
        price_source=prices.source,
    )

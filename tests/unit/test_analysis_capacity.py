"""analysis.capacity and instance-based costs at a volume: known capacities, known fleets."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from endpointlab.analysis.capacity import Fleet, break_even
from endpointlab.analysis.cost import (
    HOURS_PER_MONTH,
    SECONDS_PER_MONTH,
    Price,
    PriceTable,
    compare_costs,
    configuration_cost,
)
from endpointlab.analysis.recommend import recommend
from endpointlab.results.run_result import ConfigurationResult, Objective, Traffic
from tests.unit.analysis_records import configuration

PRICES = PriceTable(
    region="us-east-1",
    prices={
        "serverless.duration.2048": Price(0.00004, source="test"),
        "instance.ml.m5.large": Price(0.1, source="test"),
    },
)
OBJECTIVE = Objective(latency_ms=200.0)
MONTH = 0.1 * HOURS_PER_MONTH  # one instance all month: $73


def stepped(deployed: int, steps: list[tuple[float, float]]) -> ConfigurationResult:
    """A real-time configuration of ``deployed`` ml.m5.large measured in one phase per
    (successes per second, p99 ms)."""
    base = configuration(
        "rt", "realtime", {"InstanceType": "ml.m5.large", "InitialInstanceCount": deployed}
    )
    main = base.phases[0]
    phases = [
        main.model_copy(
            update={
                "name": f"rate-{rps:g}",
                "throughput_per_s": rps,
                "latency": main.latency.model_copy(update={"p99": p99}),
            }
        )
        for rps, p99 in steps
    ]
    return base.model_copy(update={"phases": phases})


def test_instances_carry_the_peak_scaled_with_the_volume() -> None:
    # 2 instances carried 30/s within the objective (60/s broke it): 15/s an instance.
    config = stepped(2, [(10.0, 50.0), (30.0, 120.0), (60.0, 900.0)])
    traffic = Traffic(requests_per_month=1e6, peak_rps=100.0)
    cost = configuration_cost(config, traffic, PRICES, OBJECTIVE)
    assert cost.instances == 7  # ceil(100 / 15)
    assert cost.per_month_usd == pytest.approx(7 * MONTH)
    assert cost.hourly_usd == pytest.approx(0.7)
    assert "peak_rps scaled with the volume" in cost.basis
    assert "15/s per instance" in cost.basis and "phase rate-30" in cost.basis
    # ten times the volume, ten times the peak: ceil(1000 / 15) = 67 instances
    comparison = compare_costs([config], traffic, PRICES, OBJECTIVE)
    rows = {p.requests_per_month: p.usd for p in comparison.savings}
    assert rows[1e7]["rt"] == pytest.approx(67 * MONTH)
    assert rows[1e3]["rt"] == pytest.approx(2 * MONTH)  # never fewer than the deployed 2


def test_without_a_peak_the_mean_rate_decides() -> None:
    config = stepped(1, [(10.0, 50.0)])
    volume = 25 * SECONDS_PER_MONTH  # a mean of 25/s: 3 instances of 10/s
    cost = configuration_cost(config, Traffic(requests_per_month=volume), PRICES, OBJECTIVE)
    assert cost.instances == 3
    assert cost.per_month_usd == pytest.approx(3 * MONTH)
    assert "the mean rate 25/s (no peak_rps given)" in cost.basis
    exact = Traffic(requests_per_month=20 * SECONDS_PER_MONTH)  # exactly 2 instances' worth
    assert configuration_cost(config, exact, PRICES, OBJECTIVE).instances == 2


def test_no_phase_within_the_objective_gives_no_capacity_figure() -> None:
    config = stepped(1, [(10.0, 300.0), (20.0, 800.0)])
    traffic = Traffic(requests_per_month=1e9, peak_rps=1000.0)
    cost = configuration_cost(config, traffic, PRICES, OBJECTIVE)
    assert cost.instances == 1
    assert cost.per_month_usd == pytest.approx(MONTH)
    assert "no capacity figure (it met the objective in no phase)" in cost.basis


def test_serverless_stays_cheaper_against_a_fleet_sized_for_a_spiky_peak() -> None:
    # The demo's case: 15/s an instance, a peak of 10/s for 2M requests a month. An instance
    # carries 3M requests a month at that peak-to-volume ratio: $24.3 per 1M against $4.
    serverless = configuration(
        "sl", "serverless", {"MemorySizeInMB": 2048, "MaxConcurrency": 4}, model_latency_ms=[100.0]
    )
    config = stepped(1, [(15.0, 20.0)])
    traffic = Traffic(requests_per_month=2e6, peak_rps=10.0)
    comparison = compare_costs([serverless, config], traffic, PRICES, OBJECTIVE)
    assert comparison.between == ["sl", "rt"]
    assert comparison.break_even_requests_per_month is None
    for point in comparison.savings:
        assert point.usd["sl"] < point.usd["rt"]


def test_break_even_on_a_staircase_is_where_serverless_stops_being_cheaper() -> None:
    # Serverless $4 per 1M; an instance $73 a month carrying 10M requests ($7.3 per 1M at full
    # use): serverless is cheaper at every volume.
    fleet = Fleet(per_instance=MONTH, per_request=0.0, deployed=1, per_instance_volume=10e6)
    assert break_even(0.0, 4e-6, fleet) is None
    # Carrying 40M ($1.825 per 1M): segment n holds ((n-1) x 40M, n x 40M] at n x $73, and
    # serverless is cheaper in it while n x 18.25M > (n-1) x 40M: only n = 1, up to 18.25M.
    cheap = Fleet(per_instance=MONTH, per_request=0.0, deployed=1, per_instance_volume=40e6)
    assert break_even(0.0, 4e-6, cheap) == pytest.approx(18.25e6)
    # Carrying 15M ($4.87 per 1M): serverless always cheaper. Carrying 20M ($3.65 per 1M):
    # n x 18.25M > (n-1) x 20M while n < 11.4, so the last is n = 11, where serverless reaches
    # 11 x $73 at 200.75M, inside (200M, 220M].
    assert break_even(0.0, 4e-6, Fleet(MONTH, 0.0, 1, 15e6)) is None
    assert break_even(0.0, 4e-6, Fleet(MONTH, 0.0, 1, 20e6)) == pytest.approx(200.75e6)
    flat = Fleet(per_instance=MONTH, per_request=0.0, deployed=3, per_instance_volume=None)
    assert break_even(0.0, 4e-6, flat) == pytest.approx(3 * 18.25e6)
    assert break_even(300.0, 4e-6, flat) is None  # serverless never cheaper


@settings(max_examples=60, deadline=None)
@given(
    st.floats(1e-7, 1e-4),
    st.floats(0.0, 200.0),
    st.floats(1.0, 500.0),
    st.integers(1, 6),
    st.floats(1e5, 1e9),
)
def test_above_the_break_even_the_fleet_never_costs_more(
    slope: float, fixed: float, per_instance: float, deployed: int, per_volume: float
) -> None:
    def serverless(v: float) -> float:
        return fixed + slope * v

    def fleet(v: float) -> float:
        return max(deployed, math.ceil(v / per_volume - 1e-9)) * per_instance

    volume = break_even(fixed, slope, Fleet(per_instance, 0.0, float(deployed), per_volume))
    if volume is None:
        # serverless never cheaper, or cheaper per request than a fully used instance
        grid = [per_volume * k / 3 for k in range(1, 3 * (deployed + 50))]
        assert all(serverless(v) >= fleet(v) for v in grid) or slope * per_volume <= per_instance
        return
    below = volume * (1 - 1e-6)
    assert serverless(below) < fleet(below)
    above = [volume * (1 + k / 40) for k in range(1, 400)]
    above += [per_volume * n * (1 + 1e-6) for n in range(1, 400) if per_volume * n > volume]
    assert all(serverless(v) >= fleet(v) * (1 - 1e-9) for v in above)


def test_the_recommendation_names_the_instances_the_traffic_needs() -> None:
    config = stepped(2, [(30.0, 120.0)])
    traffic = Traffic(requests_per_month=1e6, peak_rps=100.0)
    priced = config.model_copy(
        update={"cost": configuration_cost(config, traffic, PRICES, OBJECTIVE)}
    )
    answer = recommend([priced], OBJECTIVE, traffic)
    assert answer.chosen == "rt"
    assert "realtime, 2 x ml.m5.large, scaled to 7 to carry the expected traffic" in (
        answer.statement
    )
    assert f"${7 * MONTH:,.2f} a month" in answer.statement

"""analysis.cost: known prices, known measurements, known bills."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from endpointlab.analysis.cost import (
    BYTES_PER_GB,
    HOURS_PER_MONTH,
    SECONDS_PER_MONTH,
    Price,
    PriceTable,
    compare_costs,
    configuration_cost,
)
from endpointlab.results.run_result import Traffic
from tests.unit.analysis_records import configuration

PRICES = PriceTable(
    region="us-east-1",
    prices={
        "serverless.duration.2048": Price(0.00004, evidence="derived UNCONFIRMED", date="2026-11"),
        "serverless.provisioned.2048": Price(0.0000096, source="test"),
        "serverless.provisioned_duration.2048": Price(0.00002, source="test"),
        "data.in": Price(0.016, source="test"),
        "data.out": Price(0.016, source="test"),
        "instance.ml.m5.large": Price(0.115, source="catalogue", date="2026-11"),
        "async.ml.c5.large": Price(0.2, source="test"),
    },
    source="test table",
)
MILLION = Traffic(requests_per_month=1e6)
SERVERLESS = {"MemorySizeInMB": 2048, "MaxConcurrency": 4}


def test_serverless_bills_the_servers_model_latency_at_the_memory_rate() -> None:
    config = configuration("sl", "serverless", SERVERLESS, [500.0], model_latency_ms=[90.0, 110.0])
    cost = configuration_cost(config, MILLION, PRICES)
    assert cost.per_invocation_usd == pytest.approx(0.1 * 0.00004)
    assert cost.per_million_usd == pytest.approx(4.0)
    assert cost.per_month_usd == pytest.approx(4.0)
    assert cost.hourly_usd is None
    assert "ModelLatency" in cost.basis
    assert "serverless.duration.2048 $4e-05" in cost.price_source
    assert "UNCONFIRMED" in cost.price_source
    assert "data processed not priced" in cost.basis


def test_serverless_without_server_figures_bills_the_warm_client_latency() -> None:
    config = configuration("sl", "serverless", SERVERLESS, [200.0, 300.0])
    cost = configuration_cost(config, MILLION, PRICES)
    assert cost.per_invocation_usd == pytest.approx(0.25 * 0.00004)
    assert "overstates" in cost.basis


def test_serverless_adds_data_processed_in_and_out() -> None:
    config = configuration("sl", "serverless", SERVERLESS, model_latency_ms=[100.0])
    traffic = Traffic(requests_per_month=1e6, request_bytes=BYTES_PER_GB // 1024, response_bytes=0)
    cost = configuration_cost(config, traffic, PRICES)
    assert cost.per_invocation_usd == pytest.approx(4e-6 + 0.016 / 1024)
    assert "data.in" in cost.price_source


def test_provisioned_concurrency_bills_the_month_and_its_share_of_requests() -> None:
    settings_ = {**SERVERLESS, "ProvisionedConcurrency": 2}
    config = configuration("pc", "serverless", settings_, model_latency_ms=[100.0])
    traffic = Traffic(requests_per_month=1e6, peak_concurrency=4)
    cost = configuration_cost(config, traffic, PRICES)
    fixed = 2 * 0.0000096 * SECONDS_PER_MONTH
    per_request = 0.1 * (0.5 * 0.00002 + 0.5 * 0.00004)
    assert cost.per_month_usd == pytest.approx(fixed + 1e6 * per_request)
    assert cost.hourly_usd == pytest.approx(2 * 0.0000096 * 3600)
    assert cost.per_invocation_usd == pytest.approx(fixed / 1e6 + per_request)
    assert "50%" in cost.basis


def test_realtime_without_an_objective_prices_the_deployed_count_whatever_the_volume() -> None:
    config = configuration(
        "rt", "realtime", {"InstanceType": "ml.m5.large", "InitialInstanceCount": 2}
    )
    for volume in (1e3, 1e6):
        cost = configuration_cost(config, Traffic(requests_per_month=volume), PRICES)
        assert cost.hourly_usd == pytest.approx(0.23)
        assert cost.per_month_usd == pytest.approx(0.23 * HOURS_PER_MONTH)
        assert cost.per_invocation_usd == pytest.approx(0.23 * HOURS_PER_MONTH / volume)
    assert "InitialInstanceCount" in cost.basis
    assert "no capacity figure (no objective given)" in cost.basis


def test_realtime_uses_the_measured_instance_count_when_the_run_scaled() -> None:
    settings_ = {"InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
    config = configuration("rt", "realtime", settings_, instances=[1, 1, 3, 3])
    cost = configuration_cost(config, MILLION, PRICES)
    assert cost.hourly_usd == pytest.approx(0.23)
    assert "run's mean" in cost.basis


def test_without_traffic_an_instance_is_priced_fully_used() -> None:
    settings_ = {"InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
    config = configuration("rt", "realtime", settings_, throughput_per_s=10.0)
    cost = configuration_cost(config, None, PRICES)
    assert cost.per_month_usd is None
    assert cost.per_invocation_usd == pytest.approx(0.115 / 36000)
    assert cost.per_million_usd == pytest.approx(0.115 / 36000 * 1e6)


def test_async_bills_only_the_time_with_instances() -> None:
    # 4 instance-seconds for 8 requests: 0.5 instance-seconds a request
    settings_ = {"InstanceType": "ml.c5.large", "InitialInstanceCount": 1, "MinInstanceCount": 0}
    config = configuration(
        "as", "async", settings_, [100.0] * 8, instances=[0, 0, 1, 1, 1, 1, 0, 0, 0, 0]
    )
    cost = configuration_cost(config, MILLION, PRICES)
    assert cost.per_month_usd == pytest.approx(1e6 * 0.5 / 3600 * 0.2)
    assert "async.ml.c5.large" in cost.price_source
    floored = config.model_copy(update={"settings": {**settings_, "MinInstanceCount": 1}})
    small = configuration_cost(floored, Traffic(requests_per_month=1e3), PRICES)
    assert small.per_month_usd == pytest.approx(0.2 * HOURS_PER_MONTH)


def test_a_missing_price_is_said_not_guessed() -> None:
    config = configuration("x", "realtime", {"InstanceType": "ml.zz.large"})
    cost = configuration_cost(config, MILLION, PRICES)
    assert cost.per_month_usd is None and cost.per_invocation_usd is None
    assert "no price for instance.ml.zz.large in us-east-1" in cost.basis
    odd = configuration("y", "serverless", {"MemorySizeInMB": 3000})
    assert "serverless.duration.3000" in configuration_cost(odd, MILLION, PRICES).basis


def test_break_even_between_serverless_and_the_cheapest_realtime_meeting_the_objective() -> None:
    configs = [
        configuration("sl", "serverless", SERVERLESS, model_latency_ms=[100.0]),
        configuration("rt1", "realtime", {"InstanceType": "ml.m5.large"}),
        configuration(
            "rt2", "realtime", {"InstanceType": "ml.m5.large", "InitialInstanceCount": 2}
        ),
        configuration(
            "cheap-but-slow", "realtime", {"InstanceType": "ml.t2.medium"}, meets_objective=False
        ),
    ]
    comparison = compare_costs(configs, Traffic(requests_per_month=5e6), PRICES)
    monthly = 0.115 * HOURS_PER_MONTH
    assert comparison.between == ["sl", "rt1"]
    assert comparison.break_even_requests_per_month == pytest.approx(monthly / 4e-6)
    rows = {p.requests_per_month: p.usd for p in comparison.savings}
    assert rows[1e7] == pytest.approx({"sl": 40.0, "rt1": monthly, "rt2": 2 * monthly})
    assert rows[1e8]["sl"] > rows[1e8]["rt1"]
    assert 5e6 in rows
    assert comparison.break_even_requests_per_month is not None
    even = rows[comparison.break_even_requests_per_month]
    assert even["sl"] == pytest.approx(even["rt1"])
    assert "cheap-but-slow" not in rows[1e7]  # no price for ml.t2.medium in this table


def test_no_break_even_without_both_kinds_or_when_one_is_always_cheaper() -> None:
    serverless = configuration("sl", "serverless", SERVERLESS, model_latency_ms=[100.0])
    alone = compare_costs([serverless], MILLION, PRICES)
    assert alone.break_even_requests_per_month is None and alone.between == []
    assert alone.savings[0].usd.keys() == {"sl"}
    # 20 provisioned units cost more a month than the instance, and more per request
    provisioned = configuration(
        "pc", "serverless", {**SERVERLESS, "ProvisionedConcurrency": 20}, model_latency_ms=[100.0]
    )
    realtime = configuration("rt", "realtime", {"InstanceType": "ml.m5.large"})
    never = compare_costs([provisioned, realtime], MILLION, PRICES)
    assert never.between == ["pc", "rt"]
    assert never.break_even_requests_per_month is None


@settings(max_examples=30, deadline=None)
@given(
    st.floats(1.0, 5000.0),
    st.integers(1, 8),
    st.floats(0.01, 10.0),
)
def test_at_the_break_even_both_cost_the_same(ms: float, count: int, hourly: float) -> None:
    prices = PriceTable(
        region="r",
        prices={**PRICES.prices, "instance.ml.m5.large": Price(hourly)},
    )
    configs = [
        configuration("sl", "serverless", SERVERLESS, model_latency_ms=[ms]),
        configuration(
            "rt", "realtime", {"InstanceType": "ml.m5.large", "InitialInstanceCount": count}
        ),
    ]
    traffic = Traffic(requests_per_month=1e6, request_bytes=1000, response_bytes=5000)
    comparison = compare_costs(configs, traffic, prices)
    volume = comparison.break_even_requests_per_month
    assert volume is not None and volume > 0
    at = traffic.model_copy(update={"requests_per_month": volume})
    serverless, realtime = (configuration_cost(c, at, prices).per_month_usd for c in configs)
    assert serverless == pytest.approx(realtime, rel=1e-6)

"""analysis.objective and analysis.recommend: known configurations, known answers."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from endpointlab.analysis.objective import evaluate, latency_at
from endpointlab.analysis.recommend import recommend
from endpointlab.analysis.summary import summarise_phase
from endpointlab.results.run_result import (
    ConfigurationResult,
    Cost,
    HostCheck,
    LatencyStats,
    Objective,
    Traffic,
)
from tests.unit.analysis_records import T0, configuration, record

OBJECTIVE = Objective(percentile=99, latency_ms=200.0, max_error_rate=0.01)
TRAFFIC = Traffic(requests_per_month=1e6)
SERVERLESS = {"MemorySizeInMB": 2048, "MaxConcurrency": 4}
M5 = {"InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
CALM = HostCheck(host_cores=2, entitled_vcpus=2.0, oversubscribed=False)
BUSY = HostCheck(host_cores=2, entitled_vcpus=8.0, oversubscribed=True, note="entitled to 8")


def priced(
    name: str,
    kind: str,
    settings: Mapping[str, object],
    ms: float,
    usd: float | None,
    **update: object,
) -> ConfigurationResult:
    config = configuration(name, kind, settings, [ms] * 20)
    cost = Cost(per_month_usd=usd, per_million_usd=usd, price_source="test")
    return config.model_copy(update={"cost": cost, **update})


def stepped(name: str, steps: list[tuple[float, float, int]]) -> ConfigurationResult:
    """A real-time configuration with one phase per (rate/s, latency ms, failures of 100)."""
    phases = []
    for index, (rate, ms, failed) in enumerate(steps):
        records = [
            record(T0 + i * 0.01, ms, error_code="ModelError" if i < failed else "")
            for i in range(100)
        ]
        phases.append(summarise_phase(f"step-{index + 1}", records, rate_per_s=rate))
    return ConfigurationResult(name=name, kind="realtime", settings=M5, phases=phases)


def test_the_cheapest_configuration_meeting_the_objective_is_chosen() -> None:
    configs = [
        priced("rt", "realtime", M5, 50.0, 84.0),
        priced("sl", "serverless", SERVERLESS, 120.0, 30.0),
        priced("too-slow", "realtime", M5, 450.0, 10.0),
    ]
    answer = recommend(configs, OBJECTIVE, TRAFFIC)
    assert (answer.chosen, answer.runner_up) == ("sl", "rt")
    assert answer.statement.startswith(
        "Deploy sl (serverless, 2048 MB, MaxConcurrency 4): the cheapest configuration that "
        "meets p99 <= 200 ms and errors <= 1% at 1,000,000 requests a month, $30.00 a month."
    )
    assert "sl meets p99 <= 200 ms and errors <= 1%: p99 120.0 ms" in answer.reasons[0]
    assert "the cheapest of the 2 that meet it" in answer.reasons[1]
    assert "runner-up rt: $84.00 a month" in answer.reasons[2]
    assert any(
        "too-slow costs $10.00 a month but missed: p99 450.0 ms > 200 ms" in line
        for line in answer.would_change
    )
    assert answer.warnings == []


def test_nothing_meeting_the_objective_is_said_plainly() -> None:
    configs = [
        priced("a", "realtime", M5, 450.0, 10.0),
        priced("b", "realtime", M5, 250.0, 20.0),
        configuration("c", "serverless", SERVERLESS, [50.0]).model_copy(
            update={"status": "stopped", "status_reason": "error rate past 50%"}
        ),
    ]
    answer = recommend(configs, OBJECTIVE, TRAFFIC)
    assert answer.chosen is None and answer.runner_up is None
    assert answer.statement == (
        "No configuration met p99 <= 200 ms and errors <= 1% at 1,000,000 requests a month."
    )
    assert "c: the run stopped: error rate past 50%" in answer.reasons
    assert answer.would_change[0].startswith("closest: b (p99 250.0 ms > 200 ms)")


def test_equal_costs_go_to_the_lower_latency_then_the_name() -> None:
    configs = [
        priced("b-fast", "realtime", M5, 40.0, 84.0),
        priced("a-slow", "realtime", M5, 90.0, 84.001),
    ]
    answer = recommend(configs, OBJECTIVE, TRAFFIC)
    assert (answer.chosen, answer.runner_up) == ("b-fast", "a-slow")
    assert "a-slow costs the same" in answer.reasons[2]
    twins = [priced("b", "realtime", M5, 40.0, 84.0), priced("a", "realtime", M5, 40.0, 84.0)]
    assert recommend(twins, OBJECTIVE, TRAFFIC).chosen == "a"


def test_an_oversubscribed_host_deciding_the_answer_is_said_in_the_statement() -> None:
    configs = [
        priced("sl", "serverless", SERVERLESS, 120.0, 30.0, host=BUSY),
        priced("rt", "realtime", M5, 50.0, 84.0, host=CALM),
    ]
    answer = recommend(configs, OBJECTIVE, TRAFFIC)
    assert answer.chosen == "sl"
    assert "The deciding figures (sl) come from an oversubscribed host" in answer.statement
    assert "sl was measured on an oversubscribed host (entitled to 8)" in answer.warnings
    calm = recommend([c.model_copy(update={"host": CALM}) for c in configs], OBJECTIVE, TRAFFIC)
    assert "oversubscribed" not in calm.statement and calm.warnings == []


def test_failures_on_an_oversubscribed_host_may_be_the_hosts() -> None:
    configs = [priced("a", "realtime", M5, 450.0, 10.0, host=BUSY)]
    answer = recommend(configs, OBJECTIVE, TRAFFIC)
    assert answer.chosen is None
    assert "measured on an oversubscribed host, so these failures may be the host's" in (
        answer.statement
    )


def test_projected_figures_are_said_so() -> None:
    configs = [priced("sl", "serverless", SERVERLESS, 120.0, 30.0, origin="projected")]
    answer = recommend(configs, OBJECTIVE, TRAFFIC)
    assert answer.statement.endswith("The deciding figures (sl) are projected, not measured.")
    assert "sl's figures are projected by a simulation, not measured" in answer.warnings


def test_unconfirmed_prices_are_warned_about() -> None:
    config = priced("sl", "serverless", SERVERLESS, 120.0, 30.0)
    unsure = Cost(per_month_usd=30.0, price_source="serverless.duration.2048 (x, UNCONFIRMED)")
    answer = recommend([config.model_copy(update={"cost": unsure})], OBJECTIVE, TRAFFIC)
    assert "sl's cost uses prices marked UNCONFIRMED" in answer.warnings


def test_no_configurations_and_no_prices() -> None:
    assert recommend([], OBJECTIVE, TRAFFIC).statement.startswith("No configuration was measured")
    unpriced = [priced("x", "realtime", M5, 50.0, None)]
    answer = recommend(unpriced, OBJECTIVE, TRAFFIC)
    assert answer.chosen == "x"
    assert "its cost is unknown (no price)" in answer.statement


def test_a_stepped_run_meets_the_objective_up_to_its_last_good_step() -> None:
    config = stepped("rt", [(5.0, 50.0, 0), (10.0, 120.0, 0), (20.0, 900.0, 30)])
    verdict = evaluate(config, OBJECTIVE, Traffic(requests_per_month=1e6, peak_rps=8.0))
    assert verdict.meets
    assert (verdict.phase, verdict.sustained_rps, verdict.latency_ms) == ("step-2", 10.0, 120.0)
    busy = Traffic(requests_per_month=1e6, peak_rps=15.0)
    assert evaluate(config, OBJECTIVE, busy).meets  # more instances carry it (and are priced)
    too_busy = evaluate(config.model_copy(update={"kind": "async"}), OBJECTIVE, busy)
    assert not too_busy.meets
    assert too_busy.failures == ["met the objective up to 10/s, below the peak 15/s"]
    unknown_peak = recommend([config], OBJECTIVE, TRAFFIC)
    assert "rt was measured within the objective up to 10/s; a higher peak was not measured" in (
        unknown_peak.would_change
    )


def test_errors_throttles_and_concurrency_decide_too() -> None:
    failing = stepped("rt", [(5.0, 50.0, 2)])  # 2% errors
    verdict = evaluate(failing, OBJECTIVE, TRAFFIC)
    assert not verdict.meets and verdict.failures == ["error rate 2.00% > 1.00%"]
    serverless = configuration("sl", "serverless", SERVERLESS, [50.0])
    peak = Traffic(requests_per_month=1e6, peak_concurrency=10)
    assert evaluate(serverless, OBJECTIVE, peak).failures == [
        "MaxConcurrency 4 < expected peak concurrency 10"
    ]
    assert evaluate(serverless, OBJECTIVE, TRAFFIC).meets
    empty = ConfigurationResult(name="e", kind="realtime")
    assert evaluate(empty, OBJECTIVE, TRAFFIC).failures == ["nothing was measured"]


@pytest.mark.parametrize(
    ("percentile", "expected"), [(50, (1.0, "p50")), (97, (4.0, "p99")), (99.99, (6.0, "max"))]
)
def test_a_percentile_not_held_is_read_at_the_next_one_up(
    percentile: float, expected: tuple[float, str]
) -> None:
    stats = LatencyStats(count=9, p50=1.0, p90=2.0, p95=3.0, p99=4.0, p99_9=5.0, max=6.0)
    assert latency_at(stats, percentile) == expected

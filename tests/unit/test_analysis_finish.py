"""analysis.finish: a whole run result priced, judged and recommended, then saved and read."""

from __future__ import annotations

from pathlib import Path

import pytest

from endpointlab.analysis import finish
from endpointlab.analysis.cost import HOURS_PER_MONTH, Price, PriceTable
from endpointlab.results.run_result import (
    Environment,
    Objective,
    RunResult,
    Traffic,
    load_run_result,
    save_run_result,
)
from tests.unit.analysis_records import configuration

PRICES = PriceTable(
    region="us-east-1",
    prices={
        "serverless.duration.2048": Price(0.00004, source="test", date="2026-11"),
        "instance.ml.m5.large": Price(0.115, source="test", date="2026-11"),
    },
    source="test table",
)


def run(traffic: Traffic | None) -> RunResult:
    return RunResult(
        run_id="r1",
        plan_name="compare",
        created_at="2026-12-07T17:00:00Z",
        environment=Environment(
            endpointlab_version="0.1.0",
            python="3.11",
            platform="linux",
            machine="x86_64",
            cpu_count=2,
        ),
        objective=Objective(latency_ms=200.0),
        traffic=traffic,
        configurations=[
            configuration(
                "sl",
                "serverless",
                {"MemorySizeInMB": 2048, "MaxConcurrency": 4},
                [150.0] * 10,
                model_latency_ms=[100.0],
            ),
            configuration("rt", "realtime", {"InstanceType": "ml.m5.large"}, [40.0] * 10),
            configuration("slow", "realtime", {"InstanceType": "ml.m5.large"}, [900.0] * 10),
        ],
    )


def test_finish_prices_judges_compares_and_recommends(tmp_path: Path) -> None:
    done = finish(run(Traffic(requests_per_month=1e6)), PRICES)
    sl, rt, slow = done.configurations
    assert sl.cost is not None and sl.cost.per_month_usd == pytest.approx(4.0)
    assert rt.cost is not None and rt.cost.per_month_usd == pytest.approx(0.115 * HOURS_PER_MONTH)
    assert (sl.meets_objective, rt.meets_objective, slow.meets_objective) == (True, True, False)
    assert done.comparison is not None
    assert done.comparison.between == ["sl", "rt"]
    # rt carried 10.6/s within the objective: 27.96M requests a month an instance at the mean
    # rate; serverless ($4 per 1M) stays cheaper until 4 instances cost what it costs
    break_even = done.comparison.break_even_requests_per_month
    assert break_even == pytest.approx(4 * 0.115 * HOURS_PER_MONTH / 4e-6)
    assert slow.cost is not None and "met the objective in no phase" in slow.cost.basis
    recommendation = done.recommendation
    assert recommendation is not None
    assert (recommendation.chosen, recommendation.runner_up) == ("sl", "rt")
    assert recommendation.would_change[:2] == [
        "above 83,950,000 requests a month (the break-even) rt is cheaper",
        "at 100,000,000 requests a month rt would be cheaper ($335.80 against $400.00)",
    ]
    assert load_run_result(save_run_result(done, tmp_path)) == done
    assert finish(done, PRICES) == done  # re-analysis replaces, never accumulates


def test_finish_without_traffic_prices_per_million() -> None:
    done = finish(run(None), PRICES)
    sl = done.configurations[0]
    assert sl.cost is not None
    assert sl.cost.per_month_usd is None
    assert sl.cost.per_million_usd == pytest.approx(4.0)
    rt = done.configurations[1]
    assert rt.cost is not None and rt.total is not None
    # fully used: an hour's price over the invocations an hour carries at the run's throughput
    hourly_capacity = rt.total.throughput_per_s * 3600
    assert rt.cost.per_million_usd == pytest.approx(0.115 / hourly_capacity * 1e6)
    assert done.recommendation is not None
    assert done.recommendation.chosen == "rt"  # about $3 per 1M fully used, against $4
    assert "per 1M invocations" in done.recommendation.statement

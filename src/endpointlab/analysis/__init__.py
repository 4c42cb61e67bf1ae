"""Analysis of a run (pure: no I/O, no clock, no processes): summaries, host checks, costs,
whether each configuration meets the objective, and the recommendation.

``finish`` is what bench (after measuring) and project (after simulating) call on a RunResult.
"""

from __future__ import annotations

from endpointlab.analysis.cost import PriceTable, compare_costs, configuration_cost
from endpointlab.analysis.objective import evaluate
from endpointlab.analysis.recommend import recommend
from endpointlab.results.run_result import RunResult

__all__ = ["finish"]


def finish(result: RunResult, prices: PriceTable) -> RunResult:
    """``result`` with each configuration's cost and meets_objective, the cost comparison and
    the recommendation filled in (any earlier ones replaced)."""
    configs = [
        config.model_copy(
            update={
                "cost": configuration_cost(config, result.traffic, prices, result.objective),
                "meets_objective": evaluate(config, result.objective, result.traffic).meets,
            }
        )
        for config in result.configurations
    ]
    comparison = compare_costs(configs, result.traffic, prices, result.objective)
    return result.model_copy(
        update={
            "configurations": configs,
            "comparison": comparison,
            "recommendation": recommend(configs, result.objective, result.traffic, comparison),
        }
    )

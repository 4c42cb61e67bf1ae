"""The CloudWatch metrics one serverless request publishes beyond the invocation metrics.

Names and units come from ``metrics.catalogue``; this module only computes the values.
"""

from __future__ import annotations

from endpointlab.emulator.endpoints.base import ServerlessExecution
from endpointlab.emulator.metrics.catalogue import (
    SERVERLESS_CONCURRENT_EXECUTIONS_UTILIZATION,
    SERVERLESS_PROVISIONED_CONCURRENCY_EXECUTIONS,
    SERVERLESS_PROVISIONED_CONCURRENCY_INVOCATIONS,
    SERVERLESS_PROVISIONED_CONCURRENCY_SPILLOVER_INVOCATIONS,
    SERVERLESS_PROVISIONED_CONCURRENCY_UTILIZATION,
    UNIT_COUNT,
    UNIT_NONE,
)
from endpointlab.emulator.records import ServerlessConfig


def serverless_metrics(
    execution: ServerlessExecution, config: ServerlessConfig
) -> list[tuple[str, float, str]]:
    """The serverless metrics one request contributes, as (name, value, unit) (facts 6.3):
    its concurrent executions over MaxConcurrency and, with ProvisionedConcurrency, the
    provisioned executions, their share of it and whether it was served provisioned (1/0) or
    spilled over to on-demand capacity (0/1), so that Sum counts and Average is the fraction."""
    metrics = [
        (
            SERVERLESS_CONCURRENT_EXECUTIONS_UTILIZATION,
            execution.executions / config.max_concurrency,
            UNIT_NONE,
        )
    ]
    provisioned = config.provisioned_concurrency
    if provisioned:
        on_provisioned = 1.0 if execution.on_provisioned else 0.0
        busy = float(execution.provisioned_executions)
        metrics += [
            (SERVERLESS_PROVISIONED_CONCURRENCY_EXECUTIONS, busy, UNIT_COUNT),
            (SERVERLESS_PROVISIONED_CONCURRENCY_UTILIZATION, busy / provisioned, UNIT_NONE),
            (SERVERLESS_PROVISIONED_CONCURRENCY_INVOCATIONS, on_provisioned, UNIT_COUNT),
            (
                SERVERLESS_PROVISIONED_CONCURRENCY_SPILLOVER_INVOCATIONS,
                1.0 - on_provisioned,
                UNIT_COUNT,
            ),
        ]
    return metrics

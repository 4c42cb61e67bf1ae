"""The pure decisions of serverless capacity (endpoints/serverless_policy.py): placement and
throttling, CPU share from memory, the memory verdict; the account quotas (control/quotas.py over
the serverless kind's quotas and claims, endpoints/serverless_config.py) and the metrics a request
contributes (endpoints/serverless_metrics.py). No clock, process, socket."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from endpointlab.config import ServerlessOptions
from endpointlab.emulator.control.quotas import QuotaBreach, quota_breach, quota_message
from endpointlab.emulator.endpoints.base import AccountQuota, QuotaClaims, ServerlessExecution
from endpointlab.emulator.endpoints.serverless_config import CONCURRENCY_QUOTA, claims, quotas
from endpointlab.emulator.endpoints.serverless_metrics import serverless_metrics
from endpointlab.emulator.endpoints.serverless_policy import (
    MIB,
    Placement,
    cpu_share,
    over_memory,
    place,
)
from endpointlab.emulator.records import MEMORY_SIZES_MB, ServerlessConfig


def test_a_request_takes_a_warm_instance_when_one_is_idle() -> None:
    assert place(in_flight=3, max_concurrency=5, idle=1) is Placement.WARM


def test_without_an_idle_instance_a_request_starts_one() -> None:
    assert place(in_flight=0, max_concurrency=1, idle=0) is Placement.COLD
    assert place(in_flight=4, max_concurrency=5, idle=0) is Placement.COLD


def test_at_max_concurrency_requests_are_throttled_even_with_idle_instances() -> None:
    assert place(in_flight=5, max_concurrency=5, idle=2) is Placement.THROTTLE


@given(st.integers(1, 200), st.integers(0, 400))
def test_exactly_the_excess_over_max_concurrency_is_throttled(maximum: int, arrivals: int) -> None:
    in_flight = throttled = 0
    for _ in range(arrivals):  # simultaneous arrivals: nothing finishes in between
        if place(in_flight, maximum, idle=0) is Placement.THROTTLE:
            throttled += 1
        else:
            in_flight += 1
    assert throttled == max(0, arrivals - maximum)
    assert in_flight == min(arrivals, maximum)


@pytest.mark.parametrize(
    ("memory", "host_cpus", "vcpus", "effective", "threads"),
    [
        (1024, 2, 1024 / 1769, 1024 / 1769, 1),
        (2048, 2, 2048 / 1769, 2048 / 1769, 1),
        (4096, 2, 4096 / 1769, 2.0, 2),
        (6144, 2, 6144 / 1769, 2.0, 2),
        (6144, 8, 6144 / 1769, 6144 / 1769, 3),
        (1769, 1, 1.0, 1.0, 1),
    ],
)
def test_the_cpu_share_is_memory_over_the_ratio_within_the_host(
    memory: int, host_cpus: int, vcpus: float, effective: float, threads: int
) -> None:
    share = cpu_share(memory, 1769, host_cpus)
    assert share.vcpus == pytest.approx(vcpus)
    assert share.effective == pytest.approx(effective)
    assert share.threads == threads


def test_the_ratio_is_a_setting() -> None:
    assert cpu_share(2048, 1024, host_cpus=4).threads == 2
    with pytest.raises(ValueError, match="positive"):
        cpu_share(2048, 0, host_cpus=4)


@given(st.sampled_from(MEMORY_SIZES_MB), st.integers(1, 64))
def test_shares_grow_with_memory_and_never_pass_the_host(memory: int, host_cpus: int) -> None:
    share = cpu_share(memory, 1769, host_cpus)
    bigger = cpu_share(min(memory + 1024, 6144), 1769, host_cpus)
    assert 1 <= share.threads <= host_cpus
    assert share.effective <= host_cpus
    assert bigger.effective >= share.effective


def test_memory_over_the_size_is_a_breach_and_an_unknown_size_is_not() -> None:
    assert not over_memory(1024 * MIB, 1024)
    assert over_memory(1024 * MIB + 1, 1024)
    assert not over_memory(None, 1024)


def _quotas(max_endpoints: int, max_total_concurrency: int) -> Sequence[AccountQuota]:
    options = ServerlessOptions(
        max_endpoints=max_endpoints, max_total_concurrency=max_total_concurrency
    )
    return quotas(options)


def _claims(max_concurrency: int) -> QuotaClaims:
    return claims(ServerlessConfig(1024, max_concurrency))


def test_the_number_of_serverless_endpoints_is_checked_first() -> None:
    others = [_claims(1), _claims(1)]
    breach = quota_breach(others, _claims(500), _quotas(2, 10))
    assert breach == QuotaBreach("Maximum number of serverless endpoints", 2, 2, 1, "Endpoints")


def test_total_concurrency_may_reach_the_quota_but_not_pass_it() -> None:
    others = [_claims(6), {}]  # a real-time endpoint claims nothing
    assert quota_breach(others, _claims(4), _quotas(50, 10)) is None
    breach = quota_breach(others, _claims(5), _quotas(50, 10))
    assert breach is not None
    assert breach.name == CONCURRENCY_QUOTA
    assert (breach.limit, breach.current, breach.delta) == (10, 6, 5)


def test_an_endpoint_claiming_nothing_breaks_no_quota() -> None:
    assert quota_breach([_claims(10)] * 5, {}, _quotas(1, 1)) is None


def test_the_quota_message_is_sagemakers() -> None:
    message = quota_message(QuotaBreach("Some quota", 3, 2, 1, "Endpoints"))
    assert message == (
        "The account-level service limit 'Some quota' is 3 Endpoints, with current utilization "
        "of 2 Endpoints and a request delta of 1 Endpoints. Please use AWS Service Quotas to "
        "request an increase for this quota. If AWS Service Quotas is not available, contact "
        "AWS support to request an increase for this quota."
    )


def test_without_provisioned_concurrency_a_request_reports_only_its_utilization() -> None:
    metrics = serverless_metrics(ServerlessExecution(3, 0, None), ServerlessConfig(1024, 4))
    assert metrics == [("ServerlessConcurrentExecutionsUtilization", 0.75, "None")]


def test_provisioned_and_spillover_invocations_are_counted_one_or_zero() -> None:
    config = ServerlessConfig(1024, 10, provisioned_concurrency=2)
    served = dict((n, v) for n, v, _ in serverless_metrics(ServerlessExecution(2, 2, True), config))
    spilled = dict(
        (n, v) for n, v, _ in serverless_metrics(ServerlessExecution(3, 2, False), config)
    )
    assert served["ServerlessProvisionedConcurrencyInvocations"] == 1.0
    assert served["ServerlessProvisionedConcurrencySpilloverInvocations"] == 0.0
    assert served["ServerlessProvisionedConcurrencyUtilization"] == 1.0
    assert spilled["ServerlessProvisionedConcurrencyInvocations"] == 0.0
    assert spilled["ServerlessProvisionedConcurrencySpilloverInvocations"] == 1.0
    assert spilled["ServerlessConcurrentExecutionsUtilization"] == pytest.approx(0.3)
    assert spilled["ServerlessProvisionedConcurrencyExecutions"] == 2.0

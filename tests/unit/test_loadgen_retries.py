"""Retry decisions as botocore makes them: which errors retry, how long to wait, how often."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from endpointlab.loadgen.client import resolve_retries
from endpointlab.loadgen.http import ConnectionFailedError, ReadTimeoutError, Response
from endpointlab.loadgen.retries import Outcome, RetryMode, RetryPolicy, RetrySettings


def error(status: int, code: str, headers: dict[str, str] | None = None) -> Outcome:
    return Outcome(Response(status, headers or {}, b"{}"), code, "")


THROTTLE = error(400, "ThrottlingException")
SUCCESS = Outcome(Response(200, {}, b"ok"), None, "")


def attempts_until_stop(policy: RetryPolicy, outcome: Outcome) -> int:
    context: dict[str, Any] = {}
    attempt = 1
    while policy.after_attempt(attempt, outcome, context) is not None:
        attempt += 1
    return attempt


@pytest.mark.parametrize(
    ("mode", "expected"), [(RetryMode.LEGACY, 5), (RetryMode.STANDARD, 3), (RetryMode.ADAPTIVE, 3)]
)
def test_default_attempts_are_botocores(mode: RetryMode, expected: int) -> None:
    policy = RetryPolicy(RetrySettings(mode))
    assert policy.max_attempts == expected
    assert attempts_until_stop(policy, THROTTLE) == expected


@pytest.mark.parametrize("mode", list(RetryMode))
@pytest.mark.parametrize(
    "outcome",
    [
        THROTTLE,
        error(500, "InternalFailure"),
        error(503, "ServiceUnavailable"),
        Outcome(None, "EndpointConnectionError", "", ConnectionFailedError("refused")),
        Outcome(None, "ReadTimeoutError", "", ReadTimeoutError("slow")),
    ],
)
def test_throttles_server_errors_and_connection_errors_are_retried(
    mode: RetryMode, outcome: Outcome
) -> None:
    assert attempts_until_stop(RetryPolicy(RetrySettings(mode, 4)), outcome) == 4


@pytest.mark.parametrize("mode", list(RetryMode))
@pytest.mark.parametrize(
    "outcome", [error(400, "ValidationError"), error(424, "ModelError"), SUCCESS]
)
def test_client_errors_and_successes_are_not(mode: RetryMode, outcome: Outcome) -> None:
    assert attempts_until_stop(RetryPolicy(RetrySettings(mode, 4)), outcome) == 1


def test_standard_backoff_scales_by_error_kind() -> None:
    def delay(outcome: Outcome) -> float | None:
        # A fresh policy each time: the retry quota would otherwise run out.
        return RetryPolicy(RetrySettings(RetryMode.STANDARD, 10)).after_attempt(3, outcome, {})

    throttle_delays = [delay(THROTTLE) for _ in range(200)]
    server_delays = [delay(error(500, "InternalFailure")) for _ in range(50)]
    # t_i = rand * min(base * 2 ** (attempt - 1), 20): base 1 s for throttles, 50 ms otherwise.
    assert all(d is not None and 0 <= d <= 4.0 for d in throttle_delays)
    assert max(d for d in throttle_delays if d is not None) > 2.0
    assert all(d is not None and 0 <= d <= 0.2 for d in server_delays)


def test_the_standard_retry_quota_runs_out() -> None:
    policy = RetryPolicy(RetrySettings(RetryMode.STANDARD, 3))
    # 500 units; a throttled retry costs 5, so the 101st is refused until successes refill it.
    granted = sum(policy.after_attempt(1, THROTTLE, {}) is not None for _ in range(101))
    assert granted == 100


def test_legacy_backoff_is_rand_times_two_to_the_attempt() -> None:
    policy = RetryPolicy(RetrySettings(RetryMode.LEGACY, 10))
    delays = [policy.after_attempt(4, THROTTLE, {}) for _ in range(200)]
    # _retry.json: base "rand", growth factor 2: rand * 2 ** (attempt - 1), no quota.
    assert all(d is not None and 0 <= d <= 8.0 for d in delays)
    assert max(d for d in delays if d is not None) > 6.0


def test_adaptive_mode_limits_the_send_rate_after_a_throttle() -> None:
    policy = RetryPolicy(RetrySettings(RetryMode.ADAPTIVE, 3))

    async def sends_in(seconds: float) -> int:
        count = 0
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while loop.time() < end:
            await policy.before_attempt()
            count += 1
            if count > 10_000:
                break
        return count

    assert asyncio.run(sends_in(0.05)) > 10_000  # no limit before any throttle
    policy.after_attempt(1, THROTTLE, {})
    assert asyncio.run(sends_in(0.3)) < 50  # the token bucket now paces attempts


def test_the_throttle_detector_is_botocores() -> None:
    policy = RetryPolicy(RetrySettings(RetryMode.STANDARD))
    assert policy.is_throttle(THROTTLE)
    assert policy.is_throttle(error(429, "SomethingUnmodeled"))
    assert not policy.is_throttle(error(500, "InternalFailure"))
    assert not policy.is_throttle(SUCCESS)


def test_retries_and_max_attempts_are_one_or_the_other() -> None:
    assert resolve_retries("standard", 0, None) == RetrySettings(RetryMode.STANDARD, 1)
    assert resolve_retries("standard", None, 4) == RetrySettings(RetryMode.STANDARD, 4)
    assert resolve_retries("adaptive", 2, None).total_max_attempts == 3
    with pytest.raises(ValueError, match="not both"):
        resolve_retries(None, 1, 2)
    with pytest.raises(ValueError, match="at least 1"):
        resolve_retries(None, None, 0)
    with pytest.raises(ValueError, match="0 or more"):
        resolve_retries(None, -1, None)

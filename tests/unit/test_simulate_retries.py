"""The simulator's retry decisions equal the load engine's, which runs botocore's own classes.

Both draw their jitter from a generator seeded alike, so equal decisions mean equal delays too;
a long mixed sequence of throttles, model errors and successes also drains and refills the
standard mode's retry quota.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from endpointlab.loadgen.http import Response
from endpointlab.loadgen.retries import Outcome, RetryMode, RetryPolicy, RetrySettings
from endpointlab.simulate.retries import Retrier, RetryConfig

THROTTLE = Outcome(Response(400, {}, b"{}"), "ThrottlingException", "")
MODEL_ERROR = Outcome(Response(424, {}, b"{}"), "ModelError", "")
SUCCESS = Outcome(Response(200, {}, b"ok"), None, "")


def botocore_calls(policy: RetryPolicy, script: list[list[Outcome]]) -> list[list[float | None]]:
    decisions = []
    for call in script:
        context: dict[str, Any] = {}
        made: list[float | None] = []
        for attempt, outcome in enumerate(call, start=1):
            delay = policy.after_attempt(attempt, outcome, context)
            made.append(delay)
            if delay is None:
                policy.after_call(outcome, context)
                break
        decisions.append(made)
    return decisions


def simulated_calls(retrier: Retrier, script: list[list[Outcome]]) -> list[list[float | None]]:
    decisions = []
    for call in script:
        made: list[float | None] = []
        for attempt, outcome in enumerate(call, start=1):
            delay = retrier.after_throttle(attempt) if outcome is THROTTLE else None
            made.append(delay)
            if delay is None:
                if outcome is SUCCESS:
                    retrier.after_success(attempt > 1)
                break
        decisions.append(made)
    return decisions


def script(seed: int, calls: int) -> list[list[Outcome]]:
    """Calls of up to 6 attempts: mostly throttles, some successes and model errors."""
    rng = random.Random(seed)
    return [
        [rng.choices([THROTTLE, SUCCESS, MODEL_ERROR], [0.7, 0.25, 0.05])[0] for _ in range(6)]
        for _ in range(calls)
    ]


@pytest.mark.parametrize(
    ("mode", "attempts"),
    [("legacy", None), ("legacy", 3), ("standard", None), ("standard", 6), ("standard", 1)],
)
def test_decisions_and_delays_equal_botocores(mode: str, attempts: int | None) -> None:
    calls = script(42, 400)
    random.seed(9)  # botocore draws its jitter from the random module
    expected = botocore_calls(RetryPolicy(RetrySettings(RetryMode(mode), attempts)), calls)
    retrier = Retrier(RetryConfig(mode, attempts), random.Random(9).random)
    simulated = simulated_calls(retrier, calls)
    assert simulated == expected
    retries = sum(d is not None for call in expected for d in call)
    assert retries > 100 if attempts != 1 else retries == 0


def test_the_standard_quota_runs_out_as_botocores_does() -> None:
    calls = [[THROTTLE] * 3] * 150  # 2 retries each, 5 tokens each, never refunded
    random.seed(1)
    expected = botocore_calls(RetryPolicy(RetrySettings(RetryMode.STANDARD)), calls)
    simulated = simulated_calls(Retrier(RetryConfig("standard"), random.Random(1).random), calls)
    assert simulated == expected
    assert expected[-1] == [None]  # the 500-token quota is spent: no retry at all


def test_no_retries_means_one_attempt() -> None:
    assert Retrier(RetryConfig("none")).after_throttle(1) is None
    with pytest.raises(ValueError, match="adaptive"):
        RetryConfig("adaptive")

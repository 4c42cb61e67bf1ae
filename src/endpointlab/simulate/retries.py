"""botocore's retry decisions for the outcomes a simulated InvokeEndpoint can have, mirrored.

The simulator may not import botocore (it is pure), so this repeats, for a throttle
(``ThrottlingException``, HTTP 400) and a model error (``ModelError``, 424, never retried), what
botocore 1.43's legacy handler (``_retry.json``: 5 attempts, ``rand * 2^(n-1)`` s) and standard
mode (3 attempts, ``rand * min(2^(n-1), 20)`` s for throttles, a 500-token retry quota: 5 per
throttle retry, 1 back per first-try success, the last cost back after a retried success) decide.
``tests/unit/test_simulate_retries.py`` checks every decision against the load engine's policy,
which runs botocore's own classes. Adaptive mode's client-side rate limiter is not simulated.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

LEGACY_ATTEMPTS = 5
STANDARD_ATTEMPTS = 3
MAX_BACKOFF_S = 20.0
QUOTA = 500
THROTTLE_COST = 5
NO_RETRY_INCREMENT = 1
MODES = ("legacy", "standard", "none")


@dataclass(frozen=True)
class RetryConfig:
    """``mode`` legacy, standard or none (one attempt); ``max_attempts`` counts every attempt."""

    mode: str = "legacy"
    max_attempts: int | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"retry mode {self.mode!r} is not one of {', '.join(MODES)}")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError("max attempts must be at least 1")

    @property
    def attempts(self) -> int:
        if self.mode == "none":
            return 1
        default = LEGACY_ATTEMPTS if self.mode == "legacy" else STANDARD_ATTEMPTS
        return self.max_attempts or default


class Retrier:
    """One client's retry state (the standard mode's quota is shared by all its calls)."""

    __slots__ = ("attempts", "quota", "random", "standard")

    def __init__(self, config: RetryConfig, rand: Callable[[], float] | None = None) -> None:
        self.attempts = config.attempts
        self.standard = config.mode == "standard"
        self.quota = QUOTA
        self.random = rand or random.Random(0).random

    def legacy_backoff(self) -> list[float]:
        """Legacy mode's backoff cap by attempt (index 1..attempts-1), for a loop that inlines
        ``after_throttle``: ``random() * cap[attempt]``, no retry from attempt ``attempts``."""
        return [0.0] + [2.0 ** (attempt - 1) for attempt in range(1, self.attempts)]

    def after_throttle(self, attempt: int) -> float | None:
        """The delay before retrying a throttled ``attempt`` (1-based), or None to give up."""
        if attempt >= self.attempts:
            return None
        if self.standard:
            if self.quota < THROTTLE_COST:
                return None
            self.quota -= THROTTLE_COST
            return self.random() * min(2.0 ** (attempt - 1), MAX_BACKOFF_S)
        return self.random() * 2.0 ** (attempt - 1)

    def after_success(self, retried: bool) -> None:
        """botocore's after-call refund: 1 for a first-try success, the last cost after retries."""
        if self.standard:
            self.quota = min(QUOTA, self.quota + (THROTTLE_COST if retried else NO_RETRY_INCREMENT))

"""botocore's retry behaviour (legacy, standard, adaptive), driven by botocore's own code.

The decisions are botocore's classes fed the same inputs they get inside a client: the legacy
handler built from ``_retry.json``; the standard conditions, exponential backoff and retry quota;
and for adaptive mode the CUBIC rate calculator and rate clocker with botocore's token bucket,
waited on with asyncio instead of a blocking condition. One ``RetryPolicy`` is shared by every
simulated client, as one botocore client would be by the threads of a script.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from botocore import exceptions as boto_errors
from botocore.loaders import create_loader
from botocore.retries import bucket, quota, standard, throttling
from botocore.retries.adaptive import RateClocker
from botocore.retryhandler import create_retry_handler
from botocore.session import get_session
from botocore.translate import build_retry_config

from endpointlab.loadgen.http import (
    ConnectionClosedError,
    ConnectionFailedError,
    ConnectTimeoutError,
    ReadTimeoutError,
    Response,
    TransportError,
)

SERVICE = "sagemaker-runtime"
ENDPOINT_PREFIX = "runtime.sagemaker"
OPERATION = "InvokeEndpoint"
# botocore: standard mode makes 3 attempts unless told; legacy takes _retry.json's (5).
STANDARD_DEFAULT_ATTEMPTS = standard.DEFAULT_MAX_ATTEMPTS


@functools.cache
def operation_model() -> Any:
    """botocore's model of InvokeEndpoint (loaded once: it takes tens of milliseconds)."""
    return get_session().get_service_model(SERVICE).operation_model(OPERATION)


class RetryMode(StrEnum):
    LEGACY = "legacy"
    STANDARD = "standard"
    ADAPTIVE = "adaptive"


@dataclass(frozen=True)
class RetrySettings:
    """``total_max_attempts`` counts every attempt (None: botocore's default for the mode)."""

    mode: RetryMode = RetryMode.LEGACY
    total_max_attempts: int | None = None

    def __post_init__(self) -> None:
        if self.total_max_attempts is not None and self.total_max_attempts < 1:
            raise ValueError("max attempts must be at least 1")


@dataclass
class Outcome:
    """One attempt's result as botocore's retry code sees it."""

    response: Response | None
    error_code: str | None
    message: str
    error: TransportError | None = None

    def context(self, attempt: int, operation: Any, request_context: dict[str, Any]) -> Any:
        http = _HttpResponse(self.response) if self.response is not None else None
        parsed: dict[str, Any] | None = None
        if self.response is not None and self.error_code is not None:
            parsed = {"Error": {"Code": self.error_code, "Message": self.message}}
        elif self.response is not None:
            parsed = {}
        return standard.RetryContext(
            attempt_number=attempt,
            operation_model=operation,
            http_response=http,
            parsed_response=parsed,
            caught_exception=_botocore_exception(self.error) if self.error else None,
            request_context=request_context,
        )


class _HttpResponse:
    """The two attributes of botocore's AWSResponse its retry code reads."""

    def __init__(self, response: Response) -> None:
        self.status_code = response.status
        self.headers = response.headers


def _botocore_exception(error: TransportError) -> Exception:
    kind: Any = boto_errors.ConnectionError
    if isinstance(error, ConnectTimeoutError):
        kind = boto_errors.ConnectTimeoutError
    elif isinstance(error, ReadTimeoutError):
        kind = boto_errors.ReadTimeoutError
    elif isinstance(error, ConnectionFailedError):
        kind = boto_errors.EndpointConnectionError
    elif isinstance(error, ConnectionClosedError):
        kind = boto_errors.ConnectionClosedError
    exception: Exception = kind(endpoint_url="", error=str(error))
    return exception


class RetryPolicy:
    """Decides, after each attempt, whether and when to retry; for adaptive mode, also when an
    attempt may be sent."""

    def __init__(self, settings: RetrySettings) -> None:
        self.settings = settings
        self._operation = operation_model()
        self._throttling = standard.ThrottlingErrorDetector(standard.RetryEventAdapter())
        self._limiter = AsyncRateLimiter() if settings.mode is RetryMode.ADAPTIVE else None
        if settings.mode is RetryMode.LEGACY:
            loader = create_loader()
            original = loader.load_data("_retry")
            retries = None
            if settings.total_max_attempts is not None:
                retries = {"max_attempts": settings.total_max_attempts - 1}
            config = build_retry_config(
                ENDPOINT_PREFIX, original["retry"], original["definitions"], retries
            )
            self._legacy: Any = create_retry_handler(config, ENDPOINT_PREFIX)
            self.max_attempts = int(config["__default__"]["max_attempts"])
        else:
            self.max_attempts = settings.total_max_attempts or STANDARD_DEFAULT_ATTEMPTS
            self._conditions = standard.StandardRetryConditions(max_attempts=self.max_attempts)
            self._backoff = standard.ExponentialBackoff(
                service_name=SERVICE, throttling_detector=self._throttling
            )
            self._quota = standard.RetryQuotaChecker(quota.RetryQuota(), self._throttling)

    def is_throttle(self, outcome: Outcome) -> bool:
        """botocore's definition: a throttling error code, a modeled one, or a bare 429."""
        if outcome.response is None:
            return False
        context = outcome.context(1, self._operation, {})
        return bool(self._throttling.is_throttling_error_from_context(context))

    async def before_attempt(self) -> None:
        if self._limiter is not None:
            await self._limiter.acquire()

    def after_attempt(
        self, attempt: int, outcome: Outcome, request_context: dict[str, Any]
    ) -> float | None:
        """The delay before the next attempt, or None to stop (success or give up)."""
        context = outcome.context(attempt, self._operation, request_context)
        if self._limiter is not None:
            self._limiter.on_response(self._throttling.is_throttling_error_from_context(context))
        if outcome.response is not None and outcome.error_code is None:
            return None
        if self.settings.mode is RetryMode.LEGACY:
            response = None
            if outcome.response is not None:
                response = (context.http_response, context.parsed_response)
            try:
                delay = self._legacy(
                    attempts=attempt,
                    response=response,
                    caught_exception=context.caught_exception,
                    request_dict={"context": request_context},
                )
            except Exception:  # botocore re-raises an exception it will not retry
                return None
            return None if delay is None else float(delay)
        if not self._conditions.is_retryable(context):
            return None
        if not self._quota.acquire_retry_quota(context):
            return None
        return float(self._backoff.delay_amount(context))

    def after_call(self, final: Outcome, request_context: dict[str, Any]) -> None:
        """Give retry quota back after a successful call, as botocore's after-call hook does."""
        if self.settings.mode is not RetryMode.LEGACY and final.response is not None:
            self._quota.release_retry_quota(request_context, _HttpResponse(final.response))


class AsyncRateLimiter:
    """botocore's ClientRateLimiter (adaptive mode) with the token bucket awaited, not blocked on.

    Every response feeds the CUBIC calculator; after the first throttle, each attempt first
    takes a token from a bucket filled at the calculated rate."""

    _MAX_RATE_ADJUST_SCALE = 2.0

    def __init__(self) -> None:
        clock = bucket.Clock()
        self._clock = clock
        self._calculator = throttling.CubicCalculator(
            starting_max_rate=0, start_time=clock.current_time()
        )
        self._bucket = bucket.TokenBucket(max_rate=1, clock=clock)
        self._rate_clocker = RateClocker(clock)
        self.enabled = False

    async def acquire(self) -> None:
        while self.enabled:
            try:
                self._bucket.acquire(block=False)
                return
            except boto_errors.CapacityNotAvailableError:
                missing = 1 - self._bucket.available_capacity
                await asyncio.sleep(max(0.001, missing / self._bucket.max_rate))

    def on_response(self, throttled: bool) -> None:
        measured = self._rate_clocker.record()
        now = self._clock.current_time()
        if not throttled:
            rate = self._calculator.success_received(now)
        else:
            used = min(measured, self._bucket.max_rate) if self.enabled else measured
            rate = self._calculator.error_received(used, now)
            self.enabled = True
        self._bucket.max_rate = min(rate, self._MAX_RATE_ADJUST_SCALE * measured)

"""The option groups of ``endpointlab serve``: serverless behaviour and quotas, target-tracking
alarms, asynchronous inference, HTTP limits, AWS-like provisioning times and what the fork
server preloads. Each has AWS's default or says why it has another."""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass

from endpointlab.config.base import SettingsError, parse_duration

# Serverless endpoints. Neither SageMaker nor Lambda (on which serverless inference runs)
# documents a keep-warm period; third-party measurements of Lambda put it at roughly 5 to 15
# minutes, so the emulator keeps an idle instance 5 minutes. One vCPU per 1,769 MB is Lambda's
# documented ratio (SageMaker publishes none). The quotas are SageMaker's documented defaults
# (us-east-1).
DEFAULT_SERVERLESS_KEEP_WARM_S = 300.0
DEFAULT_SERVERLESS_MB_PER_VCPU = 1769.0
DEFAULT_SERVERLESS_ENDPOINTS = 50
DEFAULT_SERVERLESS_CONCURRENCY = 1000


@dataclass(frozen=True)
class ServerlessOptions:
    """How serverless endpoints behave here (``serve --serverless-*``): keep-warm period,
    memory per vCPU, the account quotas, and whether CPU shares are enforced with cgroups."""

    keep_warm_s: float = DEFAULT_SERVERLESS_KEEP_WARM_S
    mb_per_vcpu: float = DEFAULT_SERVERLESS_MB_PER_VCPU
    max_endpoints: int = DEFAULT_SERVERLESS_ENDPOINTS
    max_total_concurrency: int = DEFAULT_SERVERLESS_CONCURRENCY
    cpu_quota: bool = True

    @classmethod
    def parse(
        cls,
        *,
        keep_warm: str | None = None,
        mb_per_vcpu: float | None = None,
        max_endpoints: int | None = None,
        max_total_concurrency: int | None = None,
        cpu_quota: bool = True,
    ) -> ServerlessOptions:
        """Options from flags (None: the default), each checked."""
        options = cls(
            keep_warm_s=cls.keep_warm_s if keep_warm is None else parse_duration(keep_warm),
            mb_per_vcpu=cls.mb_per_vcpu if mb_per_vcpu is None else mb_per_vcpu,
            max_endpoints=cls.max_endpoints if max_endpoints is None else max_endpoints,
            max_total_concurrency=(
                cls.max_total_concurrency
                if max_total_concurrency is None
                else max_total_concurrency
            ),
            cpu_quota=cpu_quota,
        )
        if not options.mb_per_vcpu > 0:
            raise SettingsError("--serverless-mb-per-vcpu must be positive")
        if options.max_endpoints < 0 or options.max_total_concurrency < 0:
            raise SettingsError("serverless quotas cannot be negative")
        return options


@dataclass(frozen=True)
class TrackingAlarms:
    """How target tracking sets its alarms (``serve --target-tracking-alarms HIGH,LOW,RATIO``):
    AlarmHigh above the target for HIGH of HIGH periods, AlarmLow below RATIO x target for LOW
    of LOW. AWS does not document them; 3, 15 and 0.9 are what users observe (UNCONFIRMED)."""

    high_periods: int = 3
    low_periods: int = 15
    low_ratio: float = 0.9

    @classmethod
    def parse(cls, text: str | None) -> TrackingAlarms:
        if text is None:
            return cls()
        parts = [part.strip() for part in text.split(",")]
        try:
            high, low, ratio = int(parts[0]), int(parts[1]), float(parts[2])
        except (ValueError, IndexError):
            raise SettingsError(
                f"--target-tracking-alarms must be HIGH,LOW,RATIO (e.g. 3,15,0.9), got {text!r}"
            ) from None
        if len(parts) != 3 or high < 1 or low < 1 or not 0 < ratio <= 1:
            raise SettingsError(
                "--target-tracking-alarms needs periods of at least 1 and a ratio in (0, 1], "
                f"got {text!r}"
            )
        return cls(high, low, ratio)


# HTTP limits of `serve` against slow, idle or too many clients. S3 closes a connection whose
# body stops arriving with 400 RequestTimeout; its idle period is not documented (UNCONFIRMED:
# about 20 s is commonly reported), so both read timeouts default to 20 s. The keep-alive
# period is the emulator's (uvicorn's timeout_keep_alive) and the connection cap uvicorn's
# limit_concurrency: the request of a connection past it is answered 503.
DEFAULT_HEADER_TIMEOUT_S = 20.0
DEFAULT_BODY_TIMEOUT_S = 20.0
DEFAULT_KEEP_ALIVE_S = 75.0
DEFAULT_MAX_CONNECTIONS = 1000


# Asynchronous inference (facts §4.3): RequestTTLSeconds and InvocationTimeoutSeconds defaults.
DEFAULT_ASYNC_TTL_S = 21600
DEFAULT_ASYNC_TIMEOUT_S = 900


@dataclass(frozen=True)
class AsyncOptions:
    """How async endpoints run here: where notifications are POSTed (``serve --notify-url``),
    and ``ttl_scale``, the factor a request's RequestTTLSeconds is multiplied by (1: as on
    AWS; tests and demos shorten the 60 s minimum with it)."""

    notify_url: str | None = None
    ttl_scale: float = 1.0

    @classmethod
    def parse(cls, *, notify_url: str | None = None) -> AsyncOptions:
        if notify_url is not None and not notify_url.startswith(("http://", "https://")):
            raise SettingsError(f"--notify-url must be an http(s) URL, got {notify_url!r}")
        return cls(notify_url=notify_url)


@dataclass(frozen=True)
class HttpLimits:
    """``serve --header-timeout/--body-timeout/--keep-alive/--max-connections``."""

    header_timeout_s: float = DEFAULT_HEADER_TIMEOUT_S
    body_timeout_s: float = DEFAULT_BODY_TIMEOUT_S
    keep_alive_s: float = DEFAULT_KEEP_ALIVE_S
    max_connections: int = DEFAULT_MAX_CONNECTIONS

    @classmethod
    def parse(
        cls,
        *,
        header_timeout: str | None = None,
        body_timeout: str | None = None,
        keep_alive: str | None = None,
        max_connections: int | None = None,
    ) -> HttpLimits:
        """Limits from flags (None: the default), each checked."""
        limits = cls(
            header_timeout_s=(
                cls.header_timeout_s if header_timeout is None else parse_duration(header_timeout)
            ),
            body_timeout_s=(
                cls.body_timeout_s if body_timeout is None else parse_duration(body_timeout)
            ),
            keep_alive_s=cls.keep_alive_s if keep_alive is None else parse_duration(keep_alive),
            max_connections=cls.max_connections if max_connections is None else max_connections,
        )
        if limits.max_connections < 1:
            raise SettingsError("--max-connections must be at least 1")
        return limits


@dataclass(frozen=True)
class DelayRange:
    """A modelled delay: uniform between ``min_s`` and ``max_s`` seconds (fixed when equal)."""

    min_s: float = 0.0
    max_s: float = 0.0


# `serve --provisioning aws`: what AWS takes to provision capacity, waited on top of the measured
# model load. Estimates, UNCONFIRMED (AWS publishes no figures): a real-time or async instance
# comes into service in minutes (CreateEndpoint typically 5-10 min in all, model and container
# included); a serverless cold start adds seconds (the developer guide: "from under a second to
# several seconds", within the 3-minute budget of facts §4.2).
AWS_INSTANCE_LAUNCH = DelayRange(180.0, 300.0)
AWS_SERVERLESS_COLD_START = DelayRange(1.0, 4.0)


@dataclass(frozen=True)
class ProvisioningOptions:
    """``serve --provisioning/--provisioning-file/--provisioning-seed``: the modelled provisioning
    delays per kind (zero: off, the default); ``seed`` None draws a fresh sequence each run."""

    instance_launch: DelayRange = DelayRange()
    serverless_cold_start: DelayRange = DelayRange()
    seed: int | None = None


# What the fork server imports once, before it forks any worker (``serve --preload``): a worker
# forked from it shares these pages and starts without importing them (its cold start is the
# model's own load). XGBoost alone pulls in scikit-learn, SciPy and pandas: seconds of start-up.
DEFAULT_PRELOAD = (
    "numpy",
    "joblib",
    "sklearn.ensemble",
    "sklearn.linear_model",
    "xgboost",
    "onnxruntime",
)
_MODULE_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


def parse_preload(text: str | None) -> tuple[str, ...]:
    """``--preload``: comma-separated module names, or ``none``; every one must be installed."""
    if text is None:
        return DEFAULT_PRELOAD
    if text.strip().lower() == "none":
        return ()
    names = tuple(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
    if not names:
        raise SettingsError("--preload needs module names separated by commas, or none")
    for name in names:
        if not _MODULE_NAME.fullmatch(name):
            raise SettingsError(f"--preload: {name!r} is not a module name")
        top = name.split(".")[0]
        if importlib.util.find_spec(top) is None:
            raise SettingsError(f"--preload: no module named {top!r} is installed")
    return names

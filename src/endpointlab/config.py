"""Settings built once at the edge from flags and the environment, then passed down frozen.

This is the only module that reads ``os.environ``. SageMaker configures a serving container
through environment variables; ``ContainerSettings.from_env`` reads the ones it honours.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import re
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

DEFAULT_PROGRAM = "inference.py"
DEFAULT_ACCEPT = "application/json"
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_PORT = 8080


class SettingsError(ValueError):
    """A setting with a value that cannot be used; the message names the setting."""


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class ContainerSettings:
    """How one model container serves: SageMaker's container contract plus local choices."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    workers: int = 1
    timeout_s: float = DEFAULT_TIMEOUT_S
    threads_per_worker: int = 1
    model_dir: Path | None = None
    environment: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def program(self) -> str:
        return self.environment.get("SAGEMAKER_PROGRAM") or DEFAULT_PROGRAM

    @property
    def default_accept(self) -> str:
        return self.environment.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT") or DEFAULT_ACCEPT

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        workers: int | None = None,
        model_dir: Path | None = None,
    ) -> ContainerSettings:
        """Read SAGEMAKER_* variables; explicit arguments (from flags) win over the environment."""
        env = dict(os.environ if environ is None else environ)
        cpus = available_cpus()
        resolved_port = (
            port if port is not None else _int(env, "SAGEMAKER_BIND_TO_PORT", DEFAULT_PORT)
        )
        resolved_workers = (
            workers if workers is not None else _int(env, "SAGEMAKER_MODEL_SERVER_WORKERS", cpus)
        )
        if resolved_workers < 1:
            raise SettingsError("SAGEMAKER_MODEL_SERVER_WORKERS must be at least 1")
        if not 0 <= resolved_port <= 65535:
            raise SettingsError(f"port {resolved_port} is out of range 0-65535")
        timeout = float(_int(env, "SAGEMAKER_MODEL_SERVER_TIMEOUT", int(DEFAULT_TIMEOUT_S)))
        if timeout <= 0:
            raise SettingsError(
                "SAGEMAKER_MODEL_SERVER_TIMEOUT must be a positive number of seconds"
            )
        sagemaker_env = {k: v for k, v in env.items() if k.startswith("SAGEMAKER_")}
        return cls(
            host=host,
            port=resolved_port,
            workers=resolved_workers,
            timeout_s=timeout,
            threads_per_worker=max(1, cpus // resolved_workers),
            model_dir=model_dir,
            environment=MappingProxyType(sagemaker_env),
        )


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from exc


DEFAULT_EMULATOR_PORT = 4566
DEFAULT_REGION = "us-east-1"
# CloudWatch keeps one-minute data for 15 days; the emulator keeps raw samples as long.
DEFAULT_METRICS_RETENTION_S = 15 * 86_400.0
# SageMaker fails an endpoint whose container does not pass /ping within 4 minutes (default).
DEFAULT_STARTUP_TIMEOUT_S = 240.0
_DURATION_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0, "w": 604_800.0}


def parse_duration(text: str) -> float:
    """Seconds in ``text``: a number of seconds or a number with s, m, h, d or w (``15d``)."""
    raw = text.strip().lower()
    scale = _DURATION_UNITS.get(raw[-1:])
    number = raw[:-1] if scale is not None else raw
    try:
        seconds = float(number) * (scale or 1.0)
    except ValueError as exc:
        raise SettingsError(f"{text!r} is not a duration (e.g. 3600, 90m, 15d)") from exc
    if not seconds > 0 or seconds == float("inf"):
        raise SettingsError(f"the duration {text!r} must be positive")
    return seconds


_SIZE_UNITS = {"k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
# Model artifacts: far above any model a CPU worker serves (see models.artifact.ArtifactLimits).
DEFAULT_MAX_MODEL_BYTES = 50 * 1024**3
DEFAULT_MODEL_UNPACK_TIMEOUT_S = 600.0


def parse_size(text: str) -> int:
    """Bytes in ``text``: a number of bytes or a number with K, M, G or T (binary units)."""
    raw = text.strip().lower().removesuffix("ib").removesuffix("b")
    scale = _SIZE_UNITS.get(raw[-1:])
    number = raw[:-1] if scale is not None else raw
    try:
        size = float(number) * (scale or 1)
    except ValueError as exc:
        raise SettingsError(f"{text!r} is not a size (e.g. 500M, 50G)") from exc
    if not 0 < size < float("inf"):
        raise SettingsError(f"the size {text!r} must be positive")
    return int(size)


def model_roots(directories: Sequence[Path]) -> tuple[Path, ...]:
    """The directories local ModelDataUrls may name: the current directory plus each given one
    (``serve --model-root``), which must exist."""
    roots = [Path.cwd()]
    for directory in directories:
        if not directory.expanduser().is_dir():
            raise SettingsError(f"--model-root {directory} is not a directory")
        roots.append(directory.expanduser().resolve())
    return tuple(roots)


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


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` names is a loopback one (``localhost`` is)."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


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


@dataclass(frozen=True)
class EmulatorSettings:
    """How ``endpointlab serve`` runs: where it listens, where it keeps state, which region."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_EMULATOR_PORT
    data_dir: Path = Path(".endpointlab")
    region: str = DEFAULT_REGION
    invocation_timeout_s: float = DEFAULT_TIMEOUT_S
    startup_timeout_s: float = DEFAULT_STARTUP_TIMEOUT_S
    # SigV4 keys and their access policies (``serve --auth FILE``); None accepts any credentials.
    auth_file: Path | None = None
    # How long metric samples are kept (``serve --metrics-retention``), and how often the
    # worker processes' CPU, memory and disk utilisation is sampled.
    metrics_retention_s: float = DEFAULT_METRICS_RETENTION_S
    metrics_sample_interval_s: float = 10.0
    # Where model artifacts and async outputs live (``serve --s3-endpoint``): None is the
    # emulator's own S3 under the data directory; a URL an external S3; "aws" AWS itself.
    s3_endpoint: str | None = None
    serverless: ServerlessOptions = field(default_factory=ServerlessOptions)
    # Where local ModelDataUrls may point besides the data directory (``serve --model-root``;
    # by default the directory serve was started in), and how large a model may be unpacked
    # and for how long (``serve --max-model-size``, ``--model-unpack-timeout``).
    model_roots: tuple[Path, ...] = field(default_factory=lambda: (Path.cwd(),))
    max_model_bytes: int = DEFAULT_MAX_MODEL_BYTES
    model_unpack_timeout_s: float = DEFAULT_MODEL_UNPACK_TIMEOUT_S
    http: HttpLimits = field(default_factory=HttpLimits)
    provisioning: ProvisioningOptions = field(default_factory=ProvisioningOptions)
    # How many times faster than AWS alarm periods, cooldowns and evaluation run
    # (``serve --scaling-clock``); 1 is AWS's pace.
    scaling_clock: float = 1.0
    tracking_alarms: TrackingAlarms = field(default_factory=TrackingAlarms)
    asynchronous: AsyncOptions = field(default_factory=AsyncOptions)
    preload: tuple[str, ...] = DEFAULT_PRELOAD

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        data_dir: Path | None = None,
        region: str | None = None,
        auth_file: Path | None = None,
        metrics_retention: str | None = None,
        s3_endpoint: str | None = None,
        serverless: ServerlessOptions | None = None,
        model_root: Sequence[Path] = (),
        max_model_size: str | None = None,
        model_unpack_timeout: str | None = None,
        http: HttpLimits | None = None,
        allow_unauthenticated_remote: bool = False,
        scaling_clock: float | None = None,
        tracking_alarms: str | None = None,
        asynchronous: AsyncOptions | None = None,
        preload: str | None = None,
    ) -> EmulatorSettings:
        """Flags win; then ENDPOINTLAB_DATA_DIR / AWS_DEFAULT_REGION / ENDPOINTLAB_S3_ENDPOINT;
        then defaults. Without ``auth_file`` only a loopback host is accepted, unless
        ``allow_unauthenticated_remote``: anyone who reaches the port could run code here."""
        env = os.environ if environ is None else environ
        if auth_file is None and not allow_unauthenticated_remote and not is_loopback(host):
            raise SettingsError(
                f"refusing to listen on {host} without --auth: anyone who can reach the port "
                "could deploy a model and run code on this host; pass --auth FILE, or "
                "--allow-unauthenticated-remote to accept that risk"
            )
        resolved_port = DEFAULT_EMULATOR_PORT if port is None else port
        if not 0 <= resolved_port <= 65535:
            raise SettingsError(f"port {resolved_port} is out of range 0-65535")
        directory = data_dir or Path(env.get("ENDPOINTLAB_DATA_DIR") or ".endpointlab")
        chosen_region = region or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
        if scaling_clock is not None and not (1 <= scaling_clock <= 3600):
            raise SettingsError(
                f"--scaling-clock must be between 1 and 3600, got {scaling_clock:g}"
            )
        return cls(
            host=host,
            port=resolved_port,
            data_dir=directory,
            region=chosen_region or DEFAULT_REGION,
            auth_file=auth_file,
            metrics_retention_s=(
                DEFAULT_METRICS_RETENTION_S
                if metrics_retention is None
                else parse_duration(metrics_retention)
            ),
            s3_endpoint=_s3_endpoint(s3_endpoint or env.get("ENDPOINTLAB_S3_ENDPOINT") or None),
            serverless=serverless or ServerlessOptions(),
            model_roots=model_roots(model_root),
            max_model_bytes=(
                DEFAULT_MAX_MODEL_BYTES if max_model_size is None else parse_size(max_model_size)
            ),
            model_unpack_timeout_s=(
                DEFAULT_MODEL_UNPACK_TIMEOUT_S
                if model_unpack_timeout is None
                else parse_duration(model_unpack_timeout)
            ),
            http=http or HttpLimits(),
            scaling_clock=1.0 if scaling_clock is None else scaling_clock,
            tracking_alarms=TrackingAlarms.parse(tracking_alarms),
            asynchronous=asynchronous or AsyncOptions(),
            preload=parse_preload(preload),
        )


def _s3_endpoint(value: str | None) -> str | None:
    """``aws``, an http(s) URL, or None (the emulator's own S3)."""
    if value is None:
        return None
    text = value.strip()
    if text.lower() == "aws":
        return "aws"
    if not text.startswith(("http://", "https://")) or not text.split("://", 1)[1]:
        raise SettingsError(f"--s3-endpoint must be an http(s) URL or 'aws', got {value!r}")
    return text.rstrip("/")

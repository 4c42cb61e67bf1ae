"""``endpointlab serve``'s settings: flags win, then the environment, then defaults."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from endpointlab.config.base import (
    DEFAULT_EMULATOR_PORT,
    DEFAULT_MAX_MODEL_BYTES,
    DEFAULT_METRICS_RETENTION_S,
    DEFAULT_MODEL_UNPACK_TIMEOUT_S,
    DEFAULT_REGION,
    DEFAULT_STARTUP_TIMEOUT_S,
    DEFAULT_TIMEOUT_S,
    SettingsError,
    is_loopback,
    model_roots,
    parse_duration,
    parse_size,
)
from endpointlab.config.options import (
    DEFAULT_PRELOAD,
    AsyncOptions,
    HttpLimits,
    ProvisioningOptions,
    ServerlessOptions,
    TrackingAlarms,
    parse_preload,
)


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

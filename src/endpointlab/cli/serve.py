"""The ``serve`` command: the emulator's flags become its settings."""

from __future__ import annotations

import dataclasses
import socket
import sys
from pathlib import Path

import click

from endpointlab.cli.app import _fail, main
from endpointlab.config import (
    DEFAULT_EMULATOR_PORT,
    DEFAULT_PRELOAD,
    DEFAULT_SERVERLESS_CONCURRENCY,
    DEFAULT_SERVERLESS_ENDPOINTS,
    DEFAULT_SERVERLESS_MB_PER_VCPU,
    AsyncOptions,
    EmulatorSettings,
    HttpLimits,
    ServerlessOptions,
    SettingsError,
    is_loopback,
)


@main.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind. Any but a loopback one needs --auth (or "
    "--allow-unauthenticated-remote).",
)
@click.option(
    "--allow-unauthenticated-remote",
    is_flag=True,
    default=False,
    help="DANGEROUS: listen on a non-loopback --host without --auth, so anyone who can reach "
    "the port can deploy a model and run code on this host.",
)
@click.option(
    "--port",
    type=int,
    default=DEFAULT_EMULATOR_PORT,
    show_default=True,
    help="Port (0: a free one).",
)
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where models, endpoints and artifacts persist. Default: ENDPOINTLAB_DATA_DIR or "
    "./.endpointlab",
)
@click.option("--region", default=None, help="Region in ARNs. Default: AWS_DEFAULT_REGION.")
@click.option(
    "--auth",
    "auth_file",
    type=click.Path(path_type=Path),
    default=None,
    help="JSON file of SigV4 keys and their IAM-style policies; every request must then be "
    "signed by a listed key and allowed. Default: any credentials are accepted.",
)
@click.option(
    "--metrics-retention",
    default=None,
    metavar="DURATION",
    help="How long CloudWatch metric samples are kept: seconds, or a number with s/m/h/d/w "
    "(e.g. 3h, 15d). Default: 15d.",
)
@click.option(
    "--s3-endpoint",
    default=None,
    metavar="URL",
    help="Read model artifacts (s3:// ModelDataUrl) and write async outputs in this S3 or "
    "S3-compatible service instead of the emulator's own S3; 'aws' means AWS S3 itself with "
    "the standard AWS configuration. Default: ENDPOINTLAB_S3_ENDPOINT, else the emulator's S3.",
)
@click.option(
    "--notify-url",
    default=None,
    metavar="URL",
    help="Also POST each async SuccessTopic/ErrorTopic notification here as an SNS HTTP "
    "notification (they always go to <data dir>/async/notifications.jsonl).",
)
@click.option(
    "--serverless-keep-warm",
    default=None,
    metavar="DURATION",
    help="How long an idle serverless instance stays warm before it is reclaimed (seconds, or "
    "with s/m/h). Default: 5m.",
)
@click.option(
    "--serverless-mb-per-vcpu",
    type=float,
    default=None,
    help="Memory that buys one vCPU of a serverless instance's CPU share. Default: "
    f"{DEFAULT_SERVERLESS_MB_PER_VCPU:g} (Lambda's ratio; SageMaker publishes none).",
)
@click.option(
    "--serverless-endpoint-quota",
    type=int,
    default=None,
    help="Account quota of serverless endpoints (ResourceLimitExceeded beyond). Default: "
    f"{DEFAULT_SERVERLESS_ENDPOINTS}.",
)
@click.option(
    "--serverless-concurrency-quota",
    type=int,
    default=None,
    help="Account quota of MaxConcurrency summed over serverless endpoints. Default: "
    f"{DEFAULT_SERVERLESS_CONCURRENCY}.",
)
@click.option(
    "--serverless-cpu-quota/--no-serverless-cpu-quota",
    default=True,
    show_default=True,
    help="Hold each serverless instance to its CPU share with cgroup quotas where the host "
    "allows (root, cgroup v1 cpu controller); thread pools are sized to the share either way.",
)
@click.option(
    "--provisioning",
    type=click.Choice(["off", "aws"]),
    default="off",
    show_default=True,
    help="Wait modelled provisioning times on top of the measured model load: 'aws' uses "
    "estimates of AWS's (README: Provisioning times), 'off' none.",
)
@click.option(
    "--provisioning-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    metavar="FILE",
    help="YAML/JSON figures overriding --provisioning's: instance_launch, serverless_cold_start "
    "(seconds, or {min_s, max_s}).",
)
@click.option(
    "--provisioning-seed",
    type=int,
    default=None,
    help="Seed of the modelled delays, to replay them. Default: a fresh seed per run.",
)
@click.option(
    "--model-root",
    "model_root",
    type=click.Path(path_type=Path),
    multiple=True,
    metavar="DIR",
    help="Also accept local ModelDataUrls (paths, file:// URLs) under DIR; repeatable. Always "
    "accepted: the directory serve was started in and the data directory.",
)
@click.option(
    "--max-model-size",
    default=None,
    metavar="SIZE",
    help="Largest model artifact unpacked (bytes of its files; K/M/G/T suffixes). Default: 50G.",
)
@click.option(
    "--model-unpack-timeout",
    default=None,
    metavar="DURATION",
    help="Longest time unpacking (or copying) a model artifact may take. Default: 10m.",
)
@click.option(
    "--header-timeout",
    default=None,
    metavar="DURATION",
    help="Close a connection whose request header has not fully arrived within this time "
    "(408 if it had begun). Default: 20s.",
)
@click.option(
    "--body-timeout",
    default=None,
    metavar="DURATION",
    help="Answer 400 RequestTimeout and close when the next part of a request body takes "
    "longer than this to arrive (S3's answer to a stalled upload). Default: 20s.",
)
@click.option(
    "--keep-alive",
    default=None,
    metavar="DURATION",
    help="Close a keep-alive connection idle this long between requests (whole seconds). "
    "Default: 75s.",
)
@click.option(
    "--max-connections",
    type=int,
    default=None,
    help="Open connections at most; a request on a connection past the cap is answered 503. "
    "Default: 1000.",
)
@click.option(
    "--scaling-clock",
    type=float,
    default=None,
    metavar="FACTOR",
    help="Run autoscaling's clock FACTOR times faster than AWS: alarm periods, cooldowns and "
    "evaluation (60: an AWS minute per second; periods stay at least 1 s). Latencies are "
    "measured as always. Default: 1.",
)
@click.option(
    "--target-tracking-alarms",
    default=None,
    metavar="HIGH,LOW,RATIO",
    help="How target tracking sets its alarms: AlarmHigh above the target for HIGH periods, "
    "AlarmLow below RATIO x target for LOW periods (AWS's, as observed: 3,15,0.9).",
)
@click.option(
    "--preload",
    default=None,
    metavar="MODULES",
    help="Modules the fork server imports once at start, so that workers fork with them "
    "loaded: comma-separated, or 'none'. List what your models use to start faster and share "
    f"less memory. Default: {','.join(DEFAULT_PRELOAD)}.",
)
def serve(
    host: str,
    allow_unauthenticated_remote: bool,
    port: int,
    data_dir: Path | None,
    region: str | None,
    auth_file: Path | None,
    metrics_retention: str | None,
    s3_endpoint: str | None,
    notify_url: str | None,
    serverless_keep_warm: str | None,
    serverless_mb_per_vcpu: float | None,
    serverless_endpoint_quota: int | None,
    serverless_concurrency_quota: int | None,
    serverless_cpu_quota: bool,
    provisioning: str,
    provisioning_file: Path | None,
    provisioning_seed: int | None,
    model_root: tuple[Path, ...],
    max_model_size: str | None,
    model_unpack_timeout: str | None,
    header_timeout: str | None,
    body_timeout: str | None,
    keep_alive: str | None,
    max_connections: int | None,
    scaling_clock: float | None,
    target_tracking_alarms: str | None,
    preload: str | None,
) -> None:
    """Run the SageMaker-compatible emulator on one port.

    Unmodified boto3 code talks to it when AWS_ENDPOINT_URL points at it. Without --auth any
    credentials are accepted, so it binds only a loopback address unless told otherwise. One
    server per --data-dir. Ctrl-C stops it and every worker; endpoints come back InService at
    the next start.
    """
    from endpointlab.emulator import provisioning as delays

    try:
        settings = EmulatorSettings.from_env(
            host=host,
            port=port,
            data_dir=data_dir,
            region=region,
            auth_file=auth_file,
            metrics_retention=metrics_retention,
            s3_endpoint=s3_endpoint,
            serverless=ServerlessOptions.parse(
                keep_warm=serverless_keep_warm,
                mb_per_vcpu=serverless_mb_per_vcpu,
                max_endpoints=serverless_endpoint_quota,
                max_total_concurrency=serverless_concurrency_quota,
                cpu_quota=serverless_cpu_quota,
            ),
            model_root=model_root,
            max_model_size=max_model_size,
            model_unpack_timeout=model_unpack_timeout,
            http=HttpLimits.parse(
                header_timeout=header_timeout,
                body_timeout=body_timeout,
                keep_alive=keep_alive,
                max_connections=max_connections,
            ),
            allow_unauthenticated_remote=allow_unauthenticated_remote,
            scaling_clock=scaling_clock,
            tracking_alarms=target_tracking_alarms,
            asynchronous=AsyncOptions.parse(notify_url=notify_url),
            preload=preload,
        )
        modelled = delays.options(provisioning, provisioning_file, provisioning_seed)
        settings = dataclasses.replace(settings, provisioning=modelled)
    except SettingsError as exc:
        _fail(str(exc))
    # Imported once the flags are known good: a usage error needs none of the emulator.
    from endpointlab.emulator.control.schema import StateVersionError
    from endpointlab.emulator.server import run_emulator
    from endpointlab.emulator.workers.fork.memory_limit import MemoryLimits

    wildcard = settings.host in ("0.0.0.0", "::")

    def announce(url: str) -> None:
        click.echo(f"endpointlab emulator listening on {url} (data in {settings.data_dir})")
        if wildcard:
            port = url.rsplit(":", 1)[1]
            click.echo(
                f"  (on all interfaces: other machines reach it at http://{socket.gethostname()}"
                f":{port} or this host's address)"
            )
        if settings.auth_file is None and not is_loopback(settings.host):
            click.echo(
                f"endpointlab: WARNING: listening on {settings.host} without --auth: anyone who "
                "can reach this port can deploy a model and run code on this host",
                err=True,
            )
        click.echo("Point boto3 at it with:")
        click.echo(f"  export AWS_ENDPOINT_URL={url}")
        click.echo(f"  export AWS_DEFAULT_REGION={settings.region}")
        if settings.auth_file is None:
            click.echo("  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test")
        else:
            click.echo(f"  and credentials of a key listed in {settings.auth_file}")
        click.echo(f"Instance memory limits: {MemoryLimits.detect().mechanism}")
        click.echo(f"Modelled provisioning times: {delays.describe(settings.provisioning)}")

    try:
        code = run_emulator(settings, announce)
    except (SettingsError, StateVersionError) as exc:  # refused before it serves (a bad
        # --auth file, a data dir in use or written by a newer version)
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot serve on {host}:{port}: {exc.strerror or exc}")
    sys.exit(code)

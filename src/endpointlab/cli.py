"""The ``endpointlab`` command line: the only module that parses flags.

Each subcommand turns its flags into settings objects and calls into the package; expected
failures (a broken artifact, a bad setting) end with a one-line message and exit status 2.
"""

from __future__ import annotations

import dataclasses
import socket
import sys
from pathlib import Path
from typing import NoReturn

import click

from endpointlab import __version__
from endpointlab.config import (
    DEFAULT_EMULATOR_PORT,
    DEFAULT_SERVERLESS_CONCURRENCY,
    DEFAULT_SERVERLESS_ENDPOINTS,
    DEFAULT_SERVERLESS_MB_PER_VCPU,
    AsyncOptions,
    ContainerSettings,
    EmulatorSettings,
    HttpLimits,
    ServerlessOptions,
    SettingsError,
    available_cpus,
    is_loopback,
)
from endpointlab.models.errors import ArtifactError

USAGE_ERROR = 2


def _fail(message: str) -> NoReturn:
    click.echo(f"endpointlab: error: {message}", err=True)
    sys.exit(USAGE_ERROR)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="endpointlab")
def main() -> None:
    """Choose how to host a model: a local SageMaker emulator plus a benchmark pipeline."""


NOT_YET = "is not yet available: it arrives with a later release of endpointlab"


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
) -> None:
    """Run the SageMaker-compatible emulator on one port.

    Unmodified boto3 code talks to it when AWS_ENDPOINT_URL points at it. Without --auth any
    credentials are accepted, so it binds only a loopback address unless told otherwise. One
    server per --data-dir. Ctrl-C stops it and every worker; endpoints come back InService at
    the next start.
    """
    from endpointlab.emulator import provisioning as delays
    from endpointlab.emulator.control.schema import StateVersionError
    from endpointlab.emulator.server import run_emulator
    from endpointlab.emulator.workers.fork.memory_limit import MemoryLimits

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
        )
        modelled = delays.options(provisioning, provisioning_file, provisioning_seed)
        settings = dataclasses.replace(settings, provisioning=modelled)
    except SettingsError as exc:
        _fail(str(exc))
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


@main.command()
@click.option("--endpoint", required=True, help="The endpoint to load (it must be InService).")
@click.option("-n", "--requests", type=int, default=None, help="Burst: N requests at once.")
@click.option("--clients", type=int, default=None, help="Closed loop: N clients (with --duration).")
@click.option("--rate", type=float, default=None, help="Open loop: requests/s (with --duration).")
@click.option("--duration", default=None, metavar="DURATION", help="Run time (30, 30s, 2m).")
@click.option(
    "--think-time", type=float, default=0.0, help="Closed loop: seconds between requests."
)
@click.option(
    "--arrival",
    type=click.Choice(["constant", "poisson"]),
    default="constant",
    show_default=True,
    help="Open loop: evenly spaced or Poisson arrivals.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of Poisson arrivals.")
@click.option(
    "--phases",
    type=click.Path(path_type=Path),
    default=None,
    help="Open loop in phases (ramps, steps, spikes) from a YAML or JSON file.",
)
@click.option(
    "--invoke-args",
    type=click.Path(path_type=Path),
    default=None,
    help="JSON lines of InvokeEndpoint arguments (Body, ContentType, Accept, ...), sent in turn. "
    "Default: the example model's sample requests when the endpoint serves one.",
)
@click.option("--retries", type=int, default=None, help="Retries after the first attempt.")
@click.option("--max-attempts", type=int, default=None, help="All attempts (at least 1).")
@click.option(
    "--retry-mode",
    type=click.Choice(["legacy", "standard", "adaptive"]),
    default=None,
    help="botocore's retry mode. Default: AWS_RETRY_MODE or the profile's, else legacy.",
)
@click.option(
    "--deadline", type=float, default=None, help="Caller deadline per request, in seconds."
)
@click.option("--connect-timeout", type=float, default=60.0, show_default=True)
@click.option("--read-timeout", type=float, default=60.0, show_default=True)
@click.option("--region", default=None, help="Default: the standard AWS region chain.")
@click.option(
    "--out",
    "outs",
    multiple=True,
    required=True,
    type=click.Path(path_type=Path),
    help="Records file, .csv or .parquet (repeat for both).",
)
@click.option(
    "--processes",
    type=int,
    default=None,
    help="Spread the clients over N processes and merge their records. Default: one per CPU "
    "for large runs (1,000+ clients or requests/s), else 1. No live progress with N > 1.",
)
@click.option("--progress/--no-progress", default=None, help="Live progress (default: on a tty).")
@click.option(
    "--async",
    "asynchronous",
    is_flag=True,
    help="InvokeEndpointAsync, then poll S3 for each answer (--invoke-args: its arguments).",
)
@click.option("--poll-interval", type=float, default=0.2, show_default=True, help="With --async.")
def load(
    endpoint: str,
    requests: int | None,
    clients: int | None,
    rate: float | None,
    duration: str | None,
    think_time: float,
    arrival: str,
    seed: int,
    phases: Path | None,
    invoke_args: Path | None,
    retries: int | None,
    max_attempts: int | None,
    retry_mode: str | None,
    deadline: float | None,
    connect_timeout: float,
    read_timeout: float,
    region: str | None,
    outs: tuple[Path, ...],
    processes: int | None,
    progress: bool | None,
    asynchronous: bool,
    poll_interval: float,
) -> None:
    """Drive a traffic shape at an endpoint through the SageMaker runtime API, record every
    request and print a summary.

    One shape: -n N (burst), --clients N --duration D (closed loop), --rate R --duration D
    (open loop) or --phases FILE. With --async each request is an InvokeEndpointAsync whose
    answer is polled for in S3 until found or --deadline. Requests are SigV4-signed with the
    standard AWS credential chain and sent to AWS_ENDPOINT_URL when set.
    """
    from botocore.exceptions import BotoCoreError

    from endpointlab.loadgen import console, control, shapes
    from endpointlab.loadgen.async_client import (
        AsyncRuntimeClient,
        async_invocation,
        s3_endpoint_url,
    )
    from endpointlab.loadgen.client import (
        Invocation,
        RuntimeClient,
        TargetError,
        resolve_retries,
        resolve_target,
    )
    from endpointlab.loadgen.processes import ProcessesError
    from endpointlab.loadgen.runner import Plan
    from endpointlab.results import summarize, write_csv, write_parquet

    try:
        shape = shapes.choose_shape(
            requests, clients, rate, duration, think_time, arrival, seed, phases
        )
        retry = resolve_retries(retry_mode, retries, max_attempts)
    except ValueError as exc:
        _fail(str(exc))
    if deadline is not None and not deadline > 0:
        _fail("--deadline must be a positive number of seconds")
    if processes is not None and processes < 1:
        _fail("--processes must be at least 1")
    if not poll_interval > 0:
        _fail("--poll-interval must be a positive number of seconds")
    if not (connect_timeout > 0 and read_timeout > 0):
        _fail("--connect-timeout and --read-timeout must be positive")
    for out in outs:
        if out.suffix not in (".csv", ".parquet"):
            _fail(f"--out {out}: the file name must end in .csv or .parquet")
        if not out.parent.is_dir():
            _fail(f"--out {out}: the directory {out.parent} does not exist")
    try:
        target = resolve_target(region)
        described = control.check_endpoint(target, endpoint, asynchronous=asynchronous)
        if invoke_args is None:
            invoke_args = control.sample_requests(target, described)
            if invoke_args is None:
                _fail(
                    f"no sample requests known for endpoint {endpoint!r}; "
                    f"{control.INVOKE_ARGS_HINT}"
                )
            click.echo(f"Sending the example model's sample requests from {invoke_args}", err=True)
        invocations = control.load_invocations(
            invoke_args, async_invocation if asynchronous else Invocation.from_args
        )
        s3_url = s3_endpoint_url(target) if asynchronous else ""
    except (TargetError, control.PreflightError, BotoCoreError) as exc:
        _fail(str(exc))

    def make_client() -> RuntimeClient:
        if asynchronous:
            return AsyncRuntimeClient(
                target, endpoint, retry, s3_url=s3_url, poll_s=poll_interval,
                connect_timeout=connect_timeout, read_timeout=read_timeout,
            )  # fmt: skip
        return RuntimeClient(
            target, endpoint, retry, connect_timeout=connect_timeout, read_timeout=read_timeout
        )

    plan = Plan(shape, invocations, deadline)
    stream_to = next((o for o in outs if o.suffix == ".parquet"), outs[0])
    workers = processes or console.default_processes(shapes.peak_size(shape), available_cpus())
    live = (sys.stderr.isatty() if progress is None else progress) and workers == 1
    try:
        records = console.run_command(
            make_client,
            plan,
            stream_to,
            workers,
            lambda text: click.echo(text, nl=False, err=True),
            live,
        )
    except ProcessesError as exc:
        _fail(str(exc))
    for out in outs:
        (write_parquet if out.suffix == ".parquet" else write_csv)(records, out)
    click.echo(console.summary_table(summarize(records), endpoint))
    click.echo(f"records: {', '.join(str(o) for o in outs)}")


@main.command()
@click.argument("plan", required=False)
@click.option("--quick", is_flag=True, help="The built-in plan's short version (minutes).")
@click.option("--model", help="Model artifact: a model.tar.gz, or an s3:// URL (--target aws).")
@click.option("--invoke-args", type=click.Path(path_type=Path), help="JSON lines of requests.")
@click.option("--target", type=click.Choice(["local", "aws"]), help="Default: the plan's (local).")
@click.option("--out", type=click.Path(path_type=Path), help="Default: runs/<time>-<plan>.")
@click.option("--resume", type=click.Path(path_type=Path), help="Continue an interrupted run.")
@click.option("--reanalyse", type=click.Path(path_type=Path), help="Re-analyse a run directory.")
@click.option("--provisioning", type=click.Choice(["instant", "aws"]), help="Emulator timings.")
@click.option("--region", help="AWS region (--target aws).")
@click.option("--role-arn", help="SageMaker execution role (--target aws).")
@click.option("--image", help="Inference image URI (--target aws).")
@click.option("--max-cost", type=float, help="Refuse an AWS plan estimated above this (USD).")
@click.option("--yes", is_flag=True, help="Deploy on AWS without asking.")
@click.option("--prices", type=click.Path(path_type=Path), help="A price file overriding ours.")
@click.option("--progress/--no-progress", default=None, help="Live progress (default: on a tty).")
def bench(
    plan: str | None,
    quick: bool,
    model: str | None,
    invoke_args: Path | None,
    target: str | None,
    out: Path | None,
    resume: Path | None,
    reanalyse: Path | None,
    provisioning: str | None,
    region: str | None,
    role_arn: str | None,
    image: str | None,
    max_cost: float | None,
    yes: bool,
    prices: Path | None,
    progress: bool | None,
) -> None:
    """Deploy each configuration of PLAN (a plan file, or serverless, realtime, compare, async),
    load it, collect metrics, tear it down, price it and recommend the cheapest one that meets
    the objective. Writes a run directory; --resume or --reanalyse one instead."""
    from endpointlab.bench.plan import PlanError
    from endpointlab.bench.session import BenchError, BenchOptions, run_bench

    if sum(x is not None for x in (plan, resume, reanalyse)) != 1:
        _fail("give one of PLAN, --resume RUN_DIR or --reanalyse RUN_DIR")
    options = BenchOptions(
        plan=plan,
        quick=quick,
        model=model,
        invoke_args=invoke_args,
        target=target,
        out=out,
        resume=resume,
        reanalyse=reanalyse,
        yes=yes,
        max_cost=max_cost,
        region=region,
        role_arn=role_arn,
        image=image,
        provisioning=provisioning,
        prices=prices,
        live=sys.stderr.isatty() if progress is None else progress,
        serverless_mb_per_vcpu=DEFAULT_SERVERLESS_MB_PER_VCPU,
    )
    try:
        run_bench(
            options,
            lambda text: click.echo(text, nl=False, err=True),
            lambda question: click.confirm(question, err=True),
            lambda text: click.echo(text, nl=False),
        )
    except (BenchError, PlanError) as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        sys.exit(130)


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--console", "to_console", is_flag=True, help="Print the terminal summary instead.")
def report(run_dir: Path, to_console: bool) -> None:
    """Render RUN_DIR/report.html (self-contained, opens offline) from RUN_DIR/run-result.json."""
    from endpointlab.reports import render
    from endpointlab.reports.console import print_summary
    from endpointlab.results.run_result import RunResultError, load_run_result

    try:
        if to_console:
            print_summary(load_run_result(run_dir))
        else:
            click.echo(f"report: {render(run_dir)}")
    except RunResultError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot write the report in {run_dir}: {exc.strerror or exc}")


@main.command()
@click.argument("run_a", type=click.Path(path_type=Path))
@click.argument("run_b", type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="The comparison page to write. Default: compare.html in RUN_B's directory.",
)
def compare(run_a: Path, run_b: Path, out: Path | None) -> None:
    """Compare two runs (emulator against AWS, before and after a change, measured against
    projected): print them side by side with the differences that matter flagged, and write an
    HTML page with overlaid plots."""
    from endpointlab.reports.compare import compare_runs
    from endpointlab.reports.console import print_comparison
    from endpointlab.results.run_result import RunResultError, load_run_result

    if out is not None and not out.parent.is_dir():
        _fail(f"--out {out}: the directory {out.parent} does not exist")
    try:
        comparison = compare_runs(load_run_result(run_a), load_run_result(run_b))
    except RunResultError as exc:
        _fail(str(exc))
    print_comparison(comparison)
    from endpointlab.reports.html import write_comparison

    path = out or (run_b if run_b.is_dir() else run_b.parent) / "compare.html"
    try:
        click.echo(f"comparison: {write_comparison(comparison, path)}")
    except OSError as exc:
        _fail(f"cannot write {path}: {exc.strerror or exc}")


@main.command()
@click.argument("model_archive", type=click.Path(path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--port",
    type=int,
    default=None,
    help="Port to bind (0 picks a free one). Default: SAGEMAKER_BIND_TO_PORT or 8080.",
)
@click.option(
    "--workers",
    type=int,
    default=None,
    help="Worker processes. Default: SAGEMAKER_MODEL_SERVER_WORKERS or one per CPU.",
)
@click.option(
    "--model-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where to unpack the artifact (SageMaker's /opt/ml/model). Default: a temporary dir.",
)
def container(
    model_archive: Path, host: str, port: int | None, workers: int | None, model_dir: Path | None
) -> None:
    """Serve MODEL_ARCHIVE (a model.tar.gz) as a SageMaker inference container does.

    GET /ping answers 200 once the model is loaded; POST /invocations runs the artifact's
    handler (code/inference.py or the built-in one). Honours SAGEMAKER_PROGRAM,
    SAGEMAKER_MODEL_SERVER_WORKERS, SAGEMAKER_MODEL_SERVER_TIMEOUT and
    SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT from the environment.
    """
    from endpointlab.emulator.workers.container import run_container

    try:
        settings = ContainerSettings.from_env(
            host=host, port=port, workers=workers, model_dir=model_dir
        )
        code = run_container(
            model_archive,
            settings,
            ready=lambda url: click.echo(f"Serving {model_archive} at {url}", nl=True),
        )
    except ArtifactError as exc:
        _fail(exc.details)  # the user's own files: name the entry that broke a rule
    except SettingsError as exc:
        _fail(str(exc))
    sys.exit(code)


@main.group()
def examples() -> None:
    """Example models built from synthetic data (no downloads)."""


@examples.command("list")
def examples_list() -> None:
    """Name the example models."""
    from endpointlab.models.examples import list_examples

    for spec in list_examples():
        click.echo(f"{spec.name:<18} {spec.description}")


@examples.command("build")
@click.argument("out_dir", type=click.Path(path_type=Path))
@click.option("--name", "names", multiple=True, help="Build only this example (repeatable).")
def examples_build(out_dir: Path, names: tuple[str, ...]) -> None:
    """Write OUT_DIR/<name>/model.tar.gz and OUT_DIR/<name>/invoke_args.jsonl for each example."""
    from endpointlab.models.examples import build_examples

    try:
        built = build_examples(out_dir, list(names) or None)
    except ValueError as exc:
        _fail(str(exc))
    for example in built:
        click.echo(f"{example.name:<18} {example.archive}")


@examples.command("run")
@click.argument("name", default="rtb-ctr")
@click.option(
    "--dir",
    "out_dir",
    type=click.Path(path_type=Path),
    default=Path("build/examples"),
    show_default=True,
    help="Where the example artifacts are (built there if missing).",
)
@click.option("--limit", type=int, default=None, help="Send only the first N sample requests.")
def examples_run(name: str, out_dir: Path, limit: int | None) -> None:
    """Build example NAME if needed, serve it in a container, send its sample requests and
    print each response."""
    from endpointlab.demo import DemoError, run_example

    try:
        run_example(name, out_dir, limit=limit, echo=click.echo)
    except (DemoError, ValueError) as exc:
        _fail(str(exc))

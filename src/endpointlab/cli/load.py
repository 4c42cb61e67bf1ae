"""The ``load`` command: drive traffic at an endpoint with the load engine."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from endpointlab.cli.app import _fail, main
from endpointlab.config import (
    available_cpus,
)


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

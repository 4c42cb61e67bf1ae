"""``endpointlab bench`` from start to end: choose the plan, prepare the model and the target,
run (or resume, or re-analyse), analyse, write the run directory and say what was found.

The local target's emulator is stopped, and nothing of it may be left, whatever happens.
"""

from __future__ import annotations

import signal
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from endpointlab.analysis import finish
from endpointlab.analysis.cost import PriceTable
from endpointlab.bench import builtin, rundir
from endpointlab.bench.aws import AwsPlanError, aws_target, confirm_aws
from endpointlab.bench.deploy import leftovers
from endpointlab.bench.execute import Runner, resource_prefix
from endpointlab.bench.measure import INTERRUPTED, RunSettings
from endpointlab.bench.plan import Plan, PlanError, load_plan
from endpointlab.bench.projection import with_projections
from endpointlab.bench.reanalyse import analyse, reanalyse
from endpointlab.bench.summary import summary_table
from endpointlab.bench.targets import (
    Connection,
    LocalEmulator,
    TargetError,
    local_connection,
    serve_supports,
)
from endpointlab.config import DEFAULT_SERVERLESS_MB_PER_VCPU
from endpointlab.loadgen.client import Invocation
from endpointlab.loadgen.control import SAMPLE_FILE, PreflightError, load_invocations
from endpointlab.models.examples import build_examples
from endpointlab.prices import PriceError, load_prices
from endpointlab.results import RecordWriter
from endpointlab.results.run_result import RunResult, RunResultError, load_run_result

EXAMPLE = "rtb-ctr"  # the bundled example model the built-in plans load by default
AWS_POLL_S = 15.0
AWS_DEPLOY_TIMEOUT_S = 1800.0
LOCAL_DEPLOY_TIMEOUT_S = 300.0


class BenchError(Exception):
    """The bench command cannot go on; the message is one line for the user."""


@dataclass(frozen=True)
class BenchOptions:
    plan: str | None = None  # a built-in plan's name or a plan file
    quick: bool = False
    model: str | None = None  # a path or an s3:// URL
    invoke_args: Path | None = None
    target: str | None = None
    out: Path | None = None
    resume: Path | None = None
    reanalyse: Path | None = None
    yes: bool = False
    max_cost: float | None = None
    region: str | None = None
    role_arn: str | None = None
    image: str | None = None
    provisioning: str | None = None
    prices: Path | None = None
    live: bool = False
    examples_dir: Path = Path("build/examples")
    serverless_mb_per_vcpu: float = DEFAULT_SERVERLESS_MB_PER_VCPU


Say = Callable[[str], None]
Confirm = Callable[[str], bool]


def _resolve_plan(options: BenchOptions, say: Say) -> tuple[Plan, Path | None]:
    """The plan and the directory its relative paths start from."""
    ref = options.plan
    if ref is None:
        raise BenchError(f"name a plan file or a built-in plan ({', '.join(builtin.NAMES)})")
    if ref in builtin.BUILDERS:
        model: dict[str, str] = {}
        if options.model is not None:
            model["artifact"] = options.model
        else:
            archive = options.examples_dir / EXAMPLE / "model.tar.gz"
            if not (archive.is_file() and (archive.parent / SAMPLE_FILE).is_file()):
                say(f"Building the example model {EXAMPLE} into {options.examples_dir} ...\n")
                build_examples(options.examples_dir, [EXAMPLE])
            model["artifact"] = str(archive)
        return builtin.builtin_plan(ref, options.quick, model), None
    path = Path(ref)
    if not path.is_file():
        raise BenchError(
            f"{ref} is neither a plan file nor a built-in plan ({', '.join(builtin.NAMES)})"
        )
    plan = load_plan(path)
    if options.model is not None:
        plan = plan.model_copy(
            update={
                "model": plan.model.model_copy(
                    update={"artifact": options.model, "model_name": None}
                )
            }
        )
    return plan, path.parent


def _overrides(plan: Plan, options: BenchOptions) -> Plan:
    update: dict[str, object] = {}
    if options.target is not None:
        update["target"] = options.target
    if options.provisioning is not None:
        update["provisioning"] = options.provisioning
    aws = {k: v for k, v in (("region", options.region), ("role_arn", options.role_arn)) if v}
    if aws:
        update["aws"] = plan.aws.model_copy(update=aws)
    if options.image:
        update["model"] = plan.model.model_copy(update={"image": options.image})
    return plan.model_copy(update=update) if update else plan


def _model_files(plan: Plan, base: Path | None, options: BenchOptions) -> tuple[str | None, Path]:
    """The ModelDataUrl (a local path or s3:// URL; None for an existing model) and the
    invocations file."""

    def here(text: str) -> Path:
        path = Path(text).expanduser()
        return path if path.is_absolute() or base is None else base / path

    artifact = plan.model.artifact
    url: str | None = None
    if artifact is not None and artifact.startswith("s3://"):
        url = artifact
    elif artifact is not None:
        local = here(artifact).resolve()
        if not local.exists():
            raise BenchError(f"the model artifact {local} does not exist")
        url = str(local)
    if options.invoke_args is not None:
        args = options.invoke_args
    elif plan.model.invoke_args is not None:
        args = here(plan.model.invoke_args)
    elif url is not None and not url.startswith("s3://"):
        args = Path(url).parent / SAMPLE_FILE
    else:
        raise BenchError("give the sample requests: model.invoke_args in the plan or --invoke-args")
    if not args.is_file():
        raise BenchError(
            f"no sample requests at {args}: pass --invoke-args FILE (JSON lines of "
            "InvokeEndpoint arguments)"
        )
    return url, args


def _prices(region: str, options: BenchOptions) -> PriceTable:
    try:
        return load_prices(region, options.prices)
    except PriceError as error:
        raise BenchError(str(error)) from None


def run_bench(options: BenchOptions, say: Say, confirm: Confirm, show: Say) -> Path:
    """Run the command: progress through ``say``, the summary and the answer through ``show``;
    the run directory (the command renders its report). KeyboardInterrupt propagates after
    teardown."""
    if options.reanalyse is not None:
        try:
            result = reanalyse(options.reanalyse, _finish_with(options, options.reanalyse, say))
        except (RunResultError, PlanError, FileNotFoundError) as error:
            raise BenchError(str(error)) from None
        _conclude(result, show)
        return options.reanalyse
    previous: RunResult | None = None
    if options.resume is not None:
        run_dir = options.resume
        try:
            plan, base = rundir.read_plan(run_dir), None
            if (run_dir / "run-result.json").exists():
                previous = load_run_result(run_dir)
        except (PlanError, RunResultError) as error:
            raise BenchError(str(error)) from None
    else:
        plan, base = _resolve_plan(options, say)
        plan = _overrides(plan, options)
        run_dir = options.out or rundir.default_run_dir(plan.name, datetime.now(UTC))
        if run_dir.exists() and any(run_dir.iterdir()):
            raise BenchError(f"{run_dir} is not empty: choose another --out, or --resume it")
    url, args = _model_files(plan, base, options)
    if url is not None and plan.model.artifact != url:
        plan = plan.model_copy(update={"model": plan.model.model_copy(update={"artifact": url})})
    try:
        invocations = load_invocations(args)
        aws = aws_target(plan, url) if plan.target == "aws" else None
    except PreflightError as error:
        raise BenchError(str(error)) from None
    except AwsPlanError as error:
        raise BenchError(str(error)) from None
    if aws is not None and plan.scaling_clock != 1:
        say(
            f"The plan's scaling_clock {plan.scaling_clock:g} applies to the local emulator: on "
            "AWS scaling runs at AWS's pace, against targets set for the compressed clock\n"
        )
    rundir.write_plan(
        run_dir,
        plan.model_copy(
            update={"model": plan.model.model_copy(update={"invoke_args": str(args.resolve())})}
        ),
    )
    try:
        with _terminate_as_interrupt():
            return _measure(
                plan, run_dir, url, invocations, aws, options, previous, say, confirm, show
            )
    except KeyboardInterrupt:
        say(
            f"Interrupted: what was deployed is torn down; continue with "
            f"endpointlab bench --resume {run_dir}\n"
        )
        raise


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (a kill, a CI timeout) tears down like Ctrl-C instead of leaving endpoints."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _measure(
    plan: Plan,
    run_dir: Path,
    url: str | None,
    invocations: list[Invocation],
    aws: Connection | None,
    options: BenchOptions,
    previous: RunResult | None,
    say: Say,
    confirm: Confirm,
    show: Say,
) -> Path:
    if previous is not None and _all_kept(plan, previous):
        say("Every configuration of this run is done: nothing to deploy\n")
        result = previous
    elif aws is not None:
        try:
            prices = _prices(aws.region, options)
            confirm_aws(plan, prices, options.max_cost, options.yes, say, confirm)
        except AwsPlanError as error:
            raise BenchError(str(error)) from None
        settings = RunSettings(
            AWS_POLL_S, AWS_DEPLOY_TIMEOUT_S, options.serverless_mb_per_vcpu, options.live
        )
        result = _run(plan, aws, run_dir, invocations, url, settings, previous, say)
    else:
        result = _local(plan, run_dir, invocations, url, options, previous, say)
    result = _finish_with(options, run_dir, say)(result)
    result = analyse(result, run_dir)
    _conclude(result, show)
    return run_dir


def _all_kept(plan: Plan, previous: RunResult) -> bool:
    done = {c.name for c in previous.configurations if not c.status_reason.startswith(INTERRUPTED)}
    return all(c.name in done for c in plan.configurations)


def _finish_with(
    options: BenchOptions, run_dir: Path, say: Say
) -> Callable[[RunResult], RunResult]:
    """Costs, verdicts and the answer, after projecting what an oversubscribed host measured."""

    def finished(result: RunResult) -> RunResult:
        projected = with_projections(result, run_dir, say)
        return finish(projected, _prices(result.environment.region, options))

    return finished


def _run(
    plan: Plan,
    connection: Connection,
    run_dir: Path,
    invocations: list[Invocation],
    url: str | None,
    settings: RunSettings,
    previous: RunResult | None,
    say: Say,
) -> RunResult:
    env = rundir.environment(connection.kind, connection.region, connection.provisioning)
    rundir.write_environment(run_dir, env)
    runner = Runner(plan, connection, run_dir, invocations, url, settings, say)
    try:
        return runner.run(env, previous)
    finally:
        try:
            left = leftovers(connection, resource_prefix(run_dir))
        except (ClientError, BotoCoreError) as error:
            left = [f"(cannot list: {error})"]
        if left:
            say(f"WARNING: left behind on {connection.kind}: {', '.join(left)}\n")
        else:
            say(
                "Torn down: ListEndpoints, ListEndpointConfigs and ListModels show nothing of "
                "this run\n"
            )


def _local(
    plan: Plan,
    run_dir: Path,
    invocations: list[Invocation],
    url: str | None,
    options: BenchOptions,
    previous: RunResult | None,
    say: Say,
) -> RunResult:
    extra: list[str] = []
    provisioning = "instant"
    if plan.provisioning == "aws":
        if serve_supports("--provisioning"):
            extra, provisioning = ["--provisioning", "aws"], "aws"
        else:
            say(
                "The plan asks for AWS-like provisioning times, which this emulator lacks: "
                "the run used instant provisioning\n"
            )
    if plan.scaling_clock != 1:
        extra += ["--scaling-clock", f"{plan.scaling_clock:g}"]
    roots = [Path(url).parent] if url is not None and not url.startswith("s3://") else []
    # The record store's first write initialises pyarrow (seconds): do it while serve starts.
    warm = run_dir / rundir.RECORDS / ".warm-up.parquet"
    emulator = LocalEmulator(
        roots, run_dir / rundir.EMULATOR_LOG, extra, lambda: _initialise(RecordWriter(warm))
    )
    try:
        address = emulator.start()
    except TargetError as error:
        raise BenchError(str(error)) from None
    say(f"Started the local emulator at {address} (log: {run_dir / rundir.EMULATOR_LOG})\n")
    settings = RunSettings(
        1.0, LOCAL_DEPLOY_TIMEOUT_S, options.serverless_mb_per_vcpu, options.live
    )
    try:
        return _run(
            plan,
            local_connection(address, provisioning),
            run_dir,
            invocations,
            url,
            settings,
            previous,
            say,
        )
    finally:
        left = emulator.stop()
        port = urlsplit(address).port
        if left:
            say(f"WARNING: emulator processes left running: {left}\n")
        elif port is not None and not _port_free(port):
            say(f"WARNING: port {port} is still in use\n")
        else:
            say("Stopped the local emulator: no worker process or port left behind\n")


def _initialise(writer: RecordWriter) -> None:
    writer.close()


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        # A closed server's connections may linger in TIME_WAIT; only a listener matters.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _conclude(result: RunResult, show: Say) -> None:
    show(summary_table(result) + "\n")

"""The benchmark pipeline's commands: ``bench``, ``project``, ``report`` and ``compare``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from endpointlab.cli.app import _fail, main
from endpointlab.config import (
    DEFAULT_SERVERLESS_MB_PER_VCPU,
)


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
    from endpointlab.reports import render

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
        run_dir = run_bench(
            options,
            lambda text: click.echo(text, nl=False, err=True),
            lambda question: click.confirm(question, err=True),
            lambda text: click.echo(text, nl=False),
        )
    except (BenchError, PlanError) as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        sys.exit(130)
    click.echo(f"report: {render(run_dir)}")
    click.echo(f"run directory: {run_dir}")


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "--traffic",
    "traffic_file",
    type=click.Path(path_type=Path),
    default=None,
    help="A phases file (YAML/JSON, as load --phases) or a CSV with a 'timestamp' "
    "(s) or 'requests_per_minute' column.",
)
@click.option("--rate", type=float, default=None, help="Open loop: requests/s (with --duration).")
@click.option("--clients", type=int, default=None, help="Closed loop: N clients (with --duration).")
@click.option("--duration", default=None, metavar="DURATION", help="Projected time (90, 2m, 720h).")
@click.option(
    "--arrival", type=click.Choice(["constant", "poisson"]), default="poisson", show_default=True
)
@click.option(
    "--think-time", type=float, default=0.0, help="Closed loop: seconds between requests."
)
@click.option("--config", "configs", multiple=True, help="Only this configuration (repeatable).")
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=V[,V...]",
    help="Change a setting (MaxConcurrency=20) or sweep it (MaxConcurrency=5,10,20).",
)
@click.option(
    "--retry-mode",
    type=click.Choice(["legacy", "standard", "none"]),
    default="legacy",
    show_default=True,
    help="The clients' botocore retry mode.",
)
@click.option("--max-attempts", type=int, default=None, help="All attempts (at least 1).")
@click.option("--deadline", type=float, default=None, help="Caller deadline per request (s).")
@click.option("--service-phase", default=None, help="Learn service times from this phase only.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--prices", type=click.Path(path_type=Path), help="A price file overriding ours.")
@click.option("--out", type=click.Path(path_type=Path), help="Default: RUN_DIR/projected.")
def project(run_dir: Path, **options: Any) -> None:
    """Project a measured run's configurations (and --set sweeps) onto other traffic by
    simulation; writes a run result whose figures are labelled projected."""
    from endpointlab import projecting

    try:
        path = projecting.command(run_dir, lambda line: click.echo(line, err=True), **options)
    except projecting.EXPECTED as error:
        _fail(str(error))
    click.echo(f"projected run result: {path}")


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

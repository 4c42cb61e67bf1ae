"""The model commands: ``container`` (one model as a SageMaker container) and ``examples``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from endpointlab.cli.app import _fail, main
from endpointlab.config import (
    ContainerSettings,
    SettingsError,
)
from endpointlab.models.errors import ArtifactError


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

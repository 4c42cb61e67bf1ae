"""The ``endpointlab`` command group and what every command shares.

Each subcommand turns its flags into settings objects and calls into the package; expected
failures (a broken artifact, a bad setting) end with a one-line message and exit status 2.
"""

from __future__ import annotations

import sys
from typing import NoReturn

import click

from endpointlab import __version__

USAGE_ERROR = 2


def _fail(message: str) -> NoReturn:
    click.echo(f"endpointlab: error: {message}", err=True)
    sys.exit(USAGE_ERROR)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="endpointlab")
def main() -> None:
    """Choose how to host a model: a local SageMaker emulator plus a benchmark pipeline."""

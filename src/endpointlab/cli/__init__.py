"""The ``endpointlab`` command line: the only package that parses flags.

Each subcommand turns its flags into settings objects and calls into the package; expected
failures (a broken artifact, a bad setting) end with a one-line message and exit status 2.
``app`` holds the group; each module registers its commands on it when imported here.
"""

from endpointlab.cli import load, models, pipeline, serve
from endpointlab.cli.app import USAGE_ERROR, main

__all__ = ["USAGE_ERROR", "load", "main", "models", "pipeline", "serve"]

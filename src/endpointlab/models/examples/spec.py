"""The small types shared by the example models: what an example is and what building one gives.

An example builder writes its model file(s) into an empty directory and returns the sample
requests, each the keyword arguments of boto3's ``InvokeEndpoint`` minus the endpoint name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NotRequired, TypedDict


class InvokeArgs(TypedDict):
    """One sample request: ``client.invoke_endpoint(EndpointName=..., **args)``.

    ``Accept`` is absent on requests that leave the response type to the container's default.
    """

    Body: str
    ContentType: str
    Accept: NotRequired[str]


Builder = Callable[[Path], list[InvokeArgs]]


@dataclass(frozen=True)
class ExampleSpec:
    """A named example model: a one-line description and the function that builds it."""

    name: str
    description: str
    model_file: str
    build: Builder = field(repr=False, compare=False)


@dataclass(frozen=True)
class BuiltExample:
    """Where one built example landed and what it holds."""

    name: str
    archive: Path
    invoke_args: Path
    model_file: str
    request_count: int
    archive_bytes: int
    build_seconds: float

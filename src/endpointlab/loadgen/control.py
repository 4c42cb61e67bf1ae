"""Before a run: the endpoint exists and is InService (through boto3), and what to send it.

Invocations come from an ``--invoke-args`` file (JSON lines, or a JSON list, of InvokeEndpoint
arguments) or, for an endpoint serving a built example model, the ``invoke_args.jsonl`` that
``endpointlab examples build`` wrote next to its ``model.tar.gz``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.session import get_session

from endpointlab.loadgen.client import Invocation, Target

INVOKE_ARGS_HINT = (
    "pass --invoke-args FILE: JSON lines of InvokeEndpoint arguments, e.g. "
    '{"Body": "1,2,3", "ContentType": "text/csv"}'
)
SAMPLE_FILE = "invoke_args.jsonl"


class PreflightError(Exception):
    """The run cannot start; the message is one line for the user."""


def control_client(target: Target) -> Any:
    session = get_session()
    session.set_credentials(
        target.credentials.access_key, target.credentials.secret_key, target.credentials.token
    )
    config = Config(retries={"total_max_attempts": 2}, connect_timeout=5, read_timeout=30)
    endpoint_url = None if ".amazonaws.com" in target.endpoint_url else target.endpoint_url
    return session.create_client(
        "sagemaker", region_name=target.region, endpoint_url=endpoint_url, config=config
    )


def check_endpoint(target: Target, name: str, *, asynchronous: bool = False) -> Any:
    """DescribeEndpoint's answer, if ``name`` is InService and ``asynchronous`` (has an
    AsyncInferenceConfig) as the caller says; else a one-line PreflightError."""
    sagemaker = control_client(target)
    try:
        described = sagemaker.describe_endpoint(EndpointName=name)
    except ClientError as exc:
        message = exc.response.get("Error", {}).get("Message") or str(exc)
        raise PreflightError(f"endpoint {name!r}: {message}") from None
    except BotoCoreError as exc:
        raise PreflightError(f"cannot reach {target.endpoint_url}: {exc}") from None
    status = described.get("EndpointStatus")
    if status != "InService":
        raise PreflightError(f"endpoint {name!r} is {status}, not InService")
    if asynchronous and "AsyncInferenceConfig" not in described:
        raise PreflightError(f"endpoint {name!r} is not asynchronous: drop --async")
    if not asynchronous and "AsyncInferenceConfig" in described:
        raise PreflightError(f"endpoint {name!r} is asynchronous: add --async")
    return described


def sample_requests(target: Target, described: Any) -> Path | None:
    """The example's ``invoke_args.jsonl`` beside the endpoint's local model artifact, if any."""
    sagemaker = control_client(target)
    try:
        config = sagemaker.describe_endpoint_config(
            EndpointConfigName=described["EndpointConfigName"]
        )
        model_name = config["ProductionVariants"][0]["ModelName"]
        model = sagemaker.describe_model(ModelName=model_name)
    except (ClientError, BotoCoreError, KeyError, IndexError):
        return None
    containers = [model.get("PrimaryContainer"), *model.get("Containers", [])]
    for container in containers:
        url = (container or {}).get("ModelDataUrl", "")
        parts = urlsplit(url)
        if parts.scheme == "file":
            candidate = Path(unquote(parts.path)).parent / SAMPLE_FILE
            if candidate.is_file():
                return candidate
    return None


def load_invocations(
    path: Path, parse: Callable[[Mapping[str, Any]], Invocation] = Invocation.from_args
) -> list[Invocation]:
    """Invocations from a JSON-lines file (or one JSON list) of InvokeEndpoint arguments
    (``parse``: of InvokeEndpointAsync arguments, ``async_client.async_invocation``)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise PreflightError(f"cannot read {path}: {exc.strerror}") from None
    try:
        stripped = text.strip()
        if stripped.startswith("["):
            items = json.loads(stripped)
        else:
            items = [json.loads(line) for line in text.splitlines() if line.strip()]
    except ValueError as exc:
        raise PreflightError(
            f"{path} is not JSON lines of InvokeEndpoint arguments: {exc}"
        ) from None
    if not items or not all(isinstance(item, dict) for item in items):
        raise PreflightError(f"{path} holds no InvokeEndpoint arguments; {INVOKE_ARGS_HINT}")
    try:
        return [parse(item) for item in items]
    except ValueError as exc:
        raise PreflightError(f"{path}: {exc}") from None

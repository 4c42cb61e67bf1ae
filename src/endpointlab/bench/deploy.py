"""Deploy one configuration through boto3 and tear it down again, then prove nothing is left.

Every resource a run creates is named ``<prefix>-<configuration>`` (the prefix carries the run
id), so ``leftovers`` can find them through the List APIs after a teardown, an error or Ctrl-C.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, WaiterError

from endpointlab.bench.plan import Async, Realtime, Serverless
from endpointlab.bench.targets import Connection

VARIANT = "AllTraffic"
NAME_LIMIT = 63  # EndpointName, EndpointConfigName and ModelName


class DeployError(Exception):
    """A configuration could not be deployed; the message is one line (AWS's reason)."""


@dataclass(frozen=True)
class Names:
    """The resources of one configuration; ``own_model`` is False for an existing model."""

    endpoint: str
    endpoint_config: str
    model: str
    own_model: bool = True


def names_for(prefix: str, configuration: str, existing_model: str | None = None) -> Names:
    base = f"{prefix}-{configuration}"[:NAME_LIMIT].rstrip("-")
    if existing_model is not None:
        return Names(base, base, existing_model, own_model=False)
    return Names(base, base, base)


def variant(
    config: Serverless | Realtime | Async, model: str, memory_mb: int | None = None
) -> dict[str, Any]:
    """The ProductionVariant of ``config`` (``memory_mb`` resolves a serverless 'best')."""
    if isinstance(config, Serverless):
        serverless: dict[str, Any] = {
            "MemorySizeInMB": memory_mb if memory_mb is not None else config.memory_mb,
            "MaxConcurrency": config.max_concurrency,
        }
        if config.provisioned_concurrency is not None:
            serverless["ProvisionedConcurrency"] = config.provisioned_concurrency
        return {"VariantName": VARIANT, "ModelName": model, "ServerlessConfig": serverless}
    return {
        "VariantName": VARIANT,
        "ModelName": model,
        "InstanceType": config.instance_type,
        "InitialInstanceCount": config.instance_count,
    }


def settings_of(config: Serverless | Realtime | Async, memory_mb: int | None) -> dict[str, Any]:
    """The configuration's settings as SageMaker names them (what the run result keeps)."""
    production = variant(config, "", memory_mb)
    flat = dict(production.get("ServerlessConfig", {}))
    flat.update(
        {k: v for k, v in production.items() if k in ("InstanceType", "InitialInstanceCount")}
    )
    if isinstance(config, Realtime) and (scaling := config.autoscaling) is not None:
        flat.update(
            MinInstanceCount=scaling.min_instances,
            MaxInstanceCount=scaling.max_instances,
            TargetInvocationsPerInstance=scaling.target_invocations_per_instance,
        )
    if isinstance(config, Async):  # scaled between these by the plan's policy
        flat.update(MinInstanceCount=config.min_instances, MaxInstanceCount=config.instance_count)
    return flat


def _reason(error: Exception) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Message") or error)
    return str(error)


def deploy(
    connection: Connection,
    names: Names,
    production_variant: dict[str, Any],
    model_url: str | None,
    environment: dict[str, str],
    *,
    poll_s: float,
    timeout_s: float,
    async_config: dict[str, Any] | None = None,
) -> None:
    """Create the model (unless it exists), the endpoint config and the endpoint; wait for
    InService with boto3's waiter. DeployError with AWS's FailureReason if it fails."""
    sagemaker = connection.sagemaker
    try:
        if names.own_model:
            container: dict[str, Any] = {"Image": connection.image, "ModelDataUrl": model_url}
            if environment:
                container["Environment"] = environment
            sagemaker.create_model(
                ModelName=names.model,
                ExecutionRoleArn=connection.role_arn,
                PrimaryContainer=container,
            )
        extra = {"AsyncInferenceConfig": async_config} if async_config else {}
        sagemaker.create_endpoint_config(
            EndpointConfigName=names.endpoint_config,
            ProductionVariants=[production_variant],
            **extra,
        )
        sagemaker.create_endpoint(
            EndpointName=names.endpoint, EndpointConfigName=names.endpoint_config
        )
    except (ClientError, BotoCoreError) as error:
        raise DeployError(f"cannot deploy {names.endpoint}: {_reason(error)}") from None
    attempts = max(1, int(timeout_s / poll_s))
    try:
        sagemaker.get_waiter("endpoint_in_service").wait(
            EndpointName=names.endpoint, WaiterConfig={"Delay": poll_s, "MaxAttempts": attempts}
        )
    except WaiterError:
        reason = "did not reach InService"
        try:
            described = sagemaker.describe_endpoint(EndpointName=names.endpoint)
            status = described.get("EndpointStatus", "")
            reason = described.get("FailureReason") or f"is {status} after {timeout_s:g} s"
        except (ClientError, BotoCoreError) as error:
            reason = _reason(error)
        raise DeployError(f"endpoint {names.endpoint}: {reason}") from None


def _missing(error: ClientError) -> bool:
    message = str(error.response.get("Error", {}).get("Message", ""))
    return "Could not find" in message or "does not exist" in message


def teardown(connection: Connection, names: Names, *, poll_s: float, timeout_s: float) -> list[str]:
    """Delete what ``deploy`` made (whatever of it exists); return the problems, if any."""
    sagemaker = connection.sagemaker
    problems: list[str] = []
    steps: list[tuple[str, Any, dict[str, str]]] = [
        ("endpoint", sagemaker.delete_endpoint, {"EndpointName": names.endpoint}),
        (
            "endpoint config",
            sagemaker.delete_endpoint_config,
            {"EndpointConfigName": names.endpoint_config},
        ),
    ]
    if names.own_model:
        steps.append(("model", sagemaker.delete_model, {"ModelName": names.model}))
    for what, call, arguments in steps:
        try:
            try:
                call(**arguments)
            except ClientError as error:
                if what != "endpoint" or _missing(error):
                    raise
                # An endpoint still Creating (Ctrl-C during the wait) may refuse deletion
                # until it settles: wait for InService or Failed, then delete it.
                _settle(sagemaker, names.endpoint, poll_s, timeout_s)
                call(**arguments)
        except ClientError as error:
            if not _missing(error):
                problems.append(
                    f"cannot delete {what} {next(iter(arguments.values()))}: {_reason(error)}"
                )
            continue
        except BotoCoreError as error:
            problems.append(f"cannot delete {what}: {error}")
            continue
        if what == "endpoint":
            try:
                sagemaker.get_waiter("endpoint_deleted").wait(
                    EndpointName=names.endpoint,
                    WaiterConfig={"Delay": poll_s, "MaxAttempts": max(1, int(timeout_s / poll_s))},
                )
            except WaiterError as error:
                problems.append(f"endpoint {names.endpoint} not deleted: {error}")
    return problems


def _settle(sagemaker: Any, endpoint: str, poll_s: float, timeout_s: float) -> None:
    attempts = max(1, int(timeout_s / poll_s))
    with contextlib.suppress(WaiterError):  # Failed ends the wait too: it can be deleted
        sagemaker.get_waiter("endpoint_in_service").wait(
            EndpointName=endpoint, WaiterConfig={"Delay": poll_s, "MaxAttempts": attempts}
        )


def _pages(call: Any, key: str, field: str, **arguments: Any) -> list[str]:
    found: list[str] = []
    token: str | None = None
    while True:
        page = call(**arguments, **({"NextToken": token} if token else {}))
        found += [str(item[field]) for item in page.get(key, [])]
        token = page.get("NextToken")
        if not token:
            return found


def leftovers(connection: Connection, prefix: str) -> list[str]:
    """Everything named with ``prefix`` that still exists, by the List APIs."""
    sagemaker = connection.sagemaker
    left = [
        f"endpoint {name}"
        for name in _pages(
            sagemaker.list_endpoints, "Endpoints", "EndpointName", NameContains=prefix
        )
    ]
    left += [
        f"endpoint config {name}"
        for name in _pages(
            sagemaker.list_endpoint_configs,
            "EndpointConfigs",
            "EndpointConfigName",
            NameContains=prefix,
        )
    ]
    left += [
        f"model {name}"
        for name in _pages(sagemaker.list_models, "Models", "ModelName", NameContains=prefix)
    ]
    return [name for name in left if name.split(" ")[-1].startswith(prefix)]

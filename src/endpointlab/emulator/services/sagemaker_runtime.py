"""The SageMaker runtime: InvokeEndpoint against the endpoints the control plane made.

A missing or not-yet-serving endpoint fails as on AWS (``ValidationError``, "Endpoint X of
account Y not found."); a container's non-2xx answer, a timeout or a dead worker becomes
``ModelError`` (424) with OriginalStatusCode, OriginalMessage and LogStreamArn.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from endpointlab.emulator.control.registry import Registry
from endpointlab.emulator.control.resources import ACCOUNT_ID, EndpointStatus
from endpointlab.emulator.endpoints.base import InvocationOutcome
from endpointlab.emulator.endpoints.fleet import FleetManager
from endpointlab.emulator.errors import ServiceError
from endpointlab.models.contract import InvocationRequest

MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
SERVING = (EndpointStatus.IN_SERVICE, EndpointStatus.UPDATING)
TIMEOUT_MESSAGE = (
    "Your invocation timed out while waiting for a response from container primary. Review the "
    "latency metrics for each container in Amazon CloudWatch, resolve the issue, and try again."
)


class SageMakerRuntimeService:
    """Dispatches runtime operations by name."""

    def __init__(self, registry: Registry, fleets: FleetManager) -> None:
        self._registry = registry
        self._fleets = fleets

    @property
    def operations(self) -> frozenset[str]:
        return frozenset({"InvokeEndpoint"})

    async def handle(self, operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
        if operation != "InvokeEndpoint":
            raise ServiceError(
                "UnknownOperationException",
                f"The emulator does not implement SageMaker Runtime {operation}.",
            )
        return await self.invoke_endpoint(params)

    async def invoke_endpoint(self, params: Mapping[str, Any]) -> dict[str, Any]:
        name: str = params["EndpointName"]
        region = self._registry.region
        endpoint = self._registry.find_endpoint(name)
        fleet = self._fleets.get(name)
        if endpoint is None or endpoint.status not in SERVING or fleet is None:
            raise ServiceError(
                "ValidationError", f"Endpoint {name} of account {ACCOUNT_ID} not found."
            )
        body: bytes = params.get("Body", b"")
        if len(body) > MAX_PAYLOAD_BYTES:
            raise ServiceError(
                "ValidationError",
                f"Received payload of {len(body)} bytes, which exceeds the maximum payload size "
                f"of {MAX_PAYLOAD_BYTES} bytes.",
            )
        request = InvocationRequest(
            body=body,
            content_type=params.get("ContentType"),
            accept=params.get("Accept"),
            custom_attributes=params.get("CustomAttributes"),
        )
        variant, outcome = await fleet.invoke(request, params.get("TargetVariant"))
        response = _check(outcome, endpoint.name, region)
        result: dict[str, Any] = {
            "Body": response.body,
            "ContentType": response.content_type,
            "InvokedProductionVariant": variant,
        }
        if response.custom_attributes is not None:
            result["CustomAttributes"] = response.custom_attributes
        return result


def _check(outcome: InvocationOutcome, endpoint: str, region: str) -> Any:
    response = outcome.response
    if response is not None and 200 <= response.status < 300:
        return response
    if response is None:
        status = 0
        text = TIMEOUT_MESSAGE if outcome.timed_out else (outcome.failure or "No response.")
    else:
        status = response.status
        text = response.body.decode("utf-8", errors="replace")
    side = "client" if 400 <= status < 500 else "server"
    group = f"/aws/sagemaker/Endpoints/{endpoint}"
    message = (
        f'Received {side} error ({status}) from primary with message "{text}". See '
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        f"#logEventViewer:group={group} in account {ACCOUNT_ID} for more information."
    )
    raise ServiceError(
        "ModelError",
        message,
        status=424,
        fields={
            "OriginalStatusCode": status,
            "OriginalMessage": text,
            "LogStreamArn": f"arn:aws:logs:{region}:{ACCOUNT_ID}:log-group:{group}",
        },
    )

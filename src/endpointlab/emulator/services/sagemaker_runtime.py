"""The SageMaker runtime: InvokeEndpoint against the endpoints the control plane made.

A missing or not-yet-serving endpoint fails as on AWS (``ValidationError``, "Endpoint X of
account Y not found."); a container's non-2xx answer, a timeout or a dead worker becomes
``ModelError`` (424) with OriginalStatusCode, OriginalMessage and LogStreamArn (naming the
variant's local log file, which holds the traceback the message leaves out); a variant at its
concurrency limit (``ThrottledError``) answers ``ThrottlingException`` (400). Every invocation
that reaches a variant is recorded for CloudWatch: its outcome, ModelLatency (timed inside the
worker), OverheadLatency (the rest of its time in the emulator), ModelSetupTime after a cold
start and the metrics of the endpoint's kind.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from endpointlab.emulator import sagemaker_errors as errors
from endpointlab.emulator.control.registry import Registry
from endpointlab.emulator.endpoints.base import (
    LOG_STREAM,
    AsyncInvocation,
    InvocationOutcome,
    QueuedRuntime,
    ThrottledError,
    VariantRuntime,
)
from endpointlab.emulator.endpoints.fleet import Fleet, FleetManager
from endpointlab.emulator.endpoints.kinds import named, strictest
from endpointlab.emulator.metrics import SAGEMAKER_NAMESPACE, MetricsRecorder, Outcome
from endpointlab.emulator.metrics.catalogue import (
    EMULATOR_NAMESPACE,
    PROVISIONING_DELAY,
    variant_dimensions,
)
from endpointlab.emulator.metrics.catalogue import UNIT_MICROSECONDS as UNIT_US
from endpointlab.emulator.records import ACCOUNT_ID, Endpoint, EndpointStatus
from endpointlab.emulator.timing import arrival
from endpointlab.models.contract import InvocationRequest

SERVING = (EndpointStatus.IN_SERVICE, EndpointStatus.UPDATING)
TIMEOUT_MESSAGE = (
    "Your invocation timed out while waiting for a response from container primary. Review the "
    "latency metrics for each container in Amazon CloudWatch, resolve the issue, and try again."
)
# Unmodeled HTTP headers of a reply go under this key of the result; the codec the emulator
# assembles for the runtime (server.py) writes them after the modeled members.
EXTRA_HEADERS = "__extra_http_headers__"
# Set on replies to requests that waited for a cold start: its measured duration (ms), and the
# modelled provisioning delay waited before it (``serve --provisioning``; absent when off).
COLD_START_HEADER = "x-endpointlab-cold-start-ms"
PROVISIONING_HEADER = "x-endpointlab-provisioning-ms"


class SageMakerRuntimeService:
    """Dispatches runtime operations by name."""

    def __init__(
        self, registry: Registry, fleets: FleetManager, metrics: MetricsRecorder | None = None
    ) -> None:
        self._registry = registry
        self._fleets = fleets
        self._metrics = metrics

    @property
    def operations(self) -> frozenset[str]:
        return frozenset({"InvokeEndpoint", "InvokeEndpointAsync"})

    async def handle(self, operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
        if operation == "InvokeEndpointAsync":
            return await self.invoke_endpoint_async(params)
        if operation != "InvokeEndpoint":
            raise errors.UNKNOWN_OPERATION(service="SageMaker Runtime", operation=operation)
        return await self.invoke_endpoint(params)

    def _serving(self, name: str, operation: str) -> tuple[Endpoint, Fleet]:
        """The endpoint and its fleet, if it serves and its kind answers ``operation``."""
        endpoint = self._registry.find_endpoint(name)
        fleet = self._fleets.get(name)
        if endpoint is None or endpoint.status not in SERVING or fleet is None:
            raise errors.ENDPOINT_NOT_FOUND(endpoint=name, account=ACCOUNT_ID)
        for routed in fleet.variants.values():
            kind = named(routed.runtime.kind)
            if kind.operation != operation:
                raise kind.wrong_operation(endpoint.name, operation)
        return endpoint, fleet

    async def invoke_endpoint_async(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Queue the request on a variant (a weighted pick); the kind checks its input."""
        _, fleet = self._serving(params["EndpointName"], "InvokeEndpointAsync")
        runtime = fleet.choose(None)
        assert isinstance(runtime, QueuedRuntime)  # its kind answers InvokeEndpointAsync
        accepted = await runtime.submit(
            AsyncInvocation(
                input_location=params.get("InputLocation"),
                body=params.get("Body"),
                inference_id=params.get("InferenceId"),
                content_type=params.get("ContentType"),
                accept=params.get("Accept"),
                custom_attributes=params.get("CustomAttributes"),
                output_path_extension=params.get("S3OutputPathExtension"),
                filename=params.get("Filename"),
                ttl_s=params.get("RequestTTLSeconds"),
                invocation_timeout_s=params.get("InvocationTimeoutSeconds"),
            )
        )
        result: dict[str, Any] = {
            "InferenceId": accepted.inference_id,
            "OutputLocation": accepted.output_location,
        }
        if accepted.failure_location is not None:
            result["FailureLocation"] = accepted.failure_location
        return result

    async def invoke_endpoint(self, params: Mapping[str, Any]) -> dict[str, Any]:
        started = arrival() or time.perf_counter()
        region = self._registry.region
        endpoint, fleet = self._serving(params["EndpointName"], "InvokeEndpoint")
        body: bytes = params.get("Body", b"")
        kind = strictest(endpoint.variants)
        if len(body) > kind.max_payload_bytes:
            raise kind.oversize_request(len(body))
        request = InvocationRequest(
            body=body,
            content_type=params.get("ContentType"),
            accept=params.get("Accept"),
            custom_attributes=params.get("CustomAttributes"),
        )
        try:
            variant, outcome = await fleet.invoke(request, params.get("TargetVariant"))
        except ThrottledError as exc:
            if self._metrics is not None:
                self._metrics.record_throttle(endpoint.name, exc.variant)
            raise errors.THROTTLING(fields={"message": None}) from exc
        outcome = _refuse_oversize(outcome, kind.max_payload_bytes, kind.label)
        if self._metrics is not None:
            runtime = fleet.variants[variant].runtime
            self._record(endpoint, variant, outcome, runtime, time.perf_counter() - started)
        response = _check(outcome, endpoint.name, variant, region)
        result: dict[str, Any] = {
            "Body": response.body,
            "ContentType": response.content_type,
            "InvokedProductionVariant": variant,
        }
        if response.custom_attributes is not None:
            result["CustomAttributes"] = response.custom_attributes
        if outcome.cold_start_s is not None:
            result[EXTRA_HEADERS] = {COLD_START_HEADER: f"{outcome.cold_start_s * 1e3:.1f}"}
            if outcome.provisioning_s is not None:
                delay = f"{outcome.provisioning_s * 1e3:.1f}"
                result[EXTRA_HEADERS][PROVISIONING_HEADER] = delay
        return result

    def _record(
        self,
        endpoint: Endpoint,
        variant: str,
        outcome: InvocationOutcome,
        runtime: VariantRuntime,
        elapsed_s: float,
    ) -> None:
        assert self._metrics is not None
        if outcome.response is not None:
            result = Outcome.of_status(outcome.response.status)
        else:
            result = Outcome.TIMEOUT if outcome.timed_out else Outcome.MODEL_ERROR
        kind = named(runtime.kind)
        model_s = outcome.model_latency_s
        self._metrics.record_invocation(
            endpoint.name,
            variant,
            model_latency_s=model_s,
            overhead_latency_s=max(0.0, elapsed_s - model_s),
            outcome=result,
            instances=runtime.instance_count,
            serverless=not kind.instance_metrics,
        )
        if outcome.cold_start_s is not None:
            self._metrics.record_setup(endpoint.name, variant, outcome.cold_start_s)
        dimensions = variant_dimensions(endpoint.name, variant)
        if outcome.provisioning_s is not None:
            delay_us = outcome.provisioning_s * 1e6
            self._metrics.put(EMULATOR_NAMESPACE, PROVISIONING_DELAY, dimensions, delay_us, UNIT_US)
        for metric, value, unit in runtime.request_metrics(outcome):
            self._metrics.put(SAGEMAKER_NAMESPACE, metric, dimensions, value, unit)


def _refuse_oversize(outcome: InvocationOutcome, limit: int, kind: str) -> InvocationOutcome:
    """An answer larger than the endpoint kind's response limit (``max_payload_bytes``) does
    not reach the client: it fails as the model's error. The wording is UNCONFIRMED (no
    capture of SageMaker refusing an oversize response was found)."""
    response = outcome.response
    if response is None or len(response.body) <= limit:
        return outcome
    failure = (
        f"The container's response of {len(response.body)} bytes exceeds the maximum response "
        f"payload size of {limit} bytes for {kind}."
    )
    return replace(outcome, response=None, failure=failure)


def _check(outcome: InvocationOutcome, endpoint: str, variant: str, region: str) -> Any:
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
    raise errors.MODEL_ERROR(
        side=side,
        status=status,
        text=text,
        region=region,
        group=group,
        account=ACCOUNT_ID,
        fields={
            "OriginalStatusCode": status,
            "OriginalMessage": text,
            # The variant's log file: <data dir>/logs/<endpoint>/<variant>/primary.log.
            "LogStreamArn": (
                f"arn:aws:logs:{region}:{ACCOUNT_ID}:log-group:{group}:log-stream:"
                f"{variant}/{LOG_STREAM}"
            ),
        },
    )

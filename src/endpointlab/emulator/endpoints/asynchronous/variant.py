"""An async variant: the durable queue drained by the variant's real-time instances.

A dispatcher loop gives the oldest queued request to an instance with fewer than
MaxConcurrentInvocationsPerInstance requests of it in flight, so no instance ever runs more; it
wakes on every new request, finished request and capacity change, and at least every
``tick_s`` to expire requests past their TTL and publish the backlog metrics (also at zero
instances, where requests wait). A request reads its input from S3 (or the inline body), runs on
the instance within its InvocationTimeoutSeconds, and writes the answer to its output key or the
error to its failure key; then the queue marks it done, its notification goes out and it is
removed. A request whose instance stops under it (scale-in, shutdown) goes back to the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from endpointlab.config import AsyncOptions
from endpointlab.emulator import sagemaker_errors as errors
from endpointlab.emulator.endpoints.asynchronous.locations import (
    failure_location,
    output_location,
    parse_s3_url,
)
from endpointlab.emulator.endpoints.asynchronous.metrics import AsyncMetrics
from endpointlab.emulator.endpoints.asynchronous.notify import Notifier, inference_message
from endpointlab.emulator.endpoints.asynchronous.queue import AsyncQueue, Queued
from endpointlab.emulator.endpoints.base import (
    AsyncAccepted,
    AsyncInvocation,
    InvocationOutcome,
    KindMetric,
)
from endpointlab.emulator.endpoints.realtime import (
    Instance,
    InstanceStoppedError,
    RealtimeVariant,
)
from endpointlab.emulator.errors import ServiceError
from endpointlab.emulator.metrics import InstanceProcesses
from endpointlab.emulator.objects.model import ObjectStore
from endpointlab.emulator.records import AsyncConfig, VariantState
from endpointlab.models.contract import InvocationRequest

log = logging.getLogger(__name__)

MAX_INPUT_BYTES = 1024**3  # 1 GB (facts §4.3)
TIMEOUT_REASON = "Inference request timed out after {seconds} seconds."
EXPIRED_REASON = "Request expired: it waited in the queue longer than its TTL of {ttl} seconds."


@dataclass(frozen=True)
class AsyncServices:
    """What every async variant of an emulator shares."""

    queue: AsyncQueue
    objects: ObjectStore
    notifier: Notifier
    metrics: AsyncMetrics
    options: AsyncOptions
    region: str
    tick_s: float
    default_ttl_s: int
    default_timeout_s: int


class AsyncVariant:
    """A production variant of an endpoint with an AsyncInferenceConfig."""

    kind = "asynchronous"

    def __init__(
        self,
        endpoint: str,
        config: AsyncConfig,
        instances: RealtimeVariant,
        workers_per_instance: int,
        services: AsyncServices,
    ) -> None:
        self.name = instances.name
        self._endpoint = endpoint
        self._config = config
        self._instances = instances
        # The service picks a value when the client gives none: one per worker here.
        self._per_instance = config.max_concurrent or workers_per_instance
        self._services = services
        self._in_flight: dict[Instance, int] = {}
        self._tasks: dict[asyncio.Task[None], int | None] = {}
        self._wake = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None

    @property
    def instance_count(self) -> int:
        return self._instances.instance_count

    async def start(self) -> None:
        await self._instances.start()
        self._loop = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
            await asyncio.gather(self._loop, return_exceptions=True)
        await self._instances.stop()  # requests in flight finish (or go back to the queue)
        for task, seq in list(self._tasks.items()):
            task.cancel()
            if seq is not None:
                self._services.queue.requeue(seq)
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def invoke(self, request: InvocationRequest) -> InvocationOutcome:
        # The runtime service refuses InvokeEndpoint on async endpoints before it gets here.
        return InvocationOutcome(None, 0.0, failure="Use InvokeEndpointAsync.")

    async def scale_to(self, instances: int) -> None:
        await self._instances.scale_to(instances)
        self._wake.set()

    async def apply(self, state: VariantState) -> None:
        if state.desired_instance_count != state.current_instance_count:
            await self.scale_to(state.desired_instance_count)

    def live(self, state: VariantState) -> VariantState:
        return state

    def processes(self, endpoint: str) -> list[InstanceProcesses]:
        return self._instances.processes(endpoint)

    def request_metrics(self, outcome: InvocationOutcome) -> list[KindMetric]:
        return []

    # --- InvokeEndpointAsync -------------------------------------------------------------------

    async def submit(self, invocation: AsyncInvocation) -> AsyncAccepted:
        body = invocation.body
        location = invocation.input_location
        if body is None and location is None:
            raise errors.ASYNC_INPUT_MISSING()
        if body is not None and location is not None:
            raise errors.ASYNC_INPUT_BOTH()
        if location is not None:
            await self._check_input(location)
        config = self._config
        assert config.output_path is not None
        for path in (config.output_path, config.failure_path):
            if path is not None and parse_s3_url(path) is None:  # https://host, no bucket
                raise errors.ASYNC_BAD_LOCATION(location=path)
        inference_id = invocation.inference_id or str(uuid.uuid4())
        extension = invocation.output_path_extension
        output = output_location(config.output_path, inference_id, extension, invocation.filename)
        failure = failure_location(config.failure_path, config.output_path, inference_id, extension)
        ttl = invocation.ttl_s or self._services.default_ttl_s
        received = time.time()
        request: dict[str, Any] = {
            "input_location": location,
            "content_type": invocation.content_type,
            "accept": invocation.accept,
            "custom_attributes": invocation.custom_attributes,
            "timeout_s": invocation.invocation_timeout_s or self._services.default_timeout_s,
            "ttl_s": ttl,
            "output": output.url,
            "failure": failure.url,
        }
        deadline = received + ttl * self._services.options.ttl_scale
        self._services.queue.put(
            self._endpoint, self.name, inference_id, received, deadline, request, body
        )
        self._wake.set()
        return AsyncAccepted(inference_id, output.url, failure.url if config.failure_path else None)

    async def _check_input(self, location: str) -> None:
        parsed = parse_s3_url(location)
        if parsed is None or not parsed.key:
            raise errors.ASYNC_BAD_LOCATION(location=location)
        try:
            found = await asyncio.to_thread(self._services.objects.stat, parsed.bucket, parsed.key)
        except ServiceError as exc:
            raise errors.ASYNC_INPUT_NOT_FOUND(location=location, reason=exc.message) from exc
        if found.size > MAX_INPUT_BYTES:
            raise errors.ASYNC_INPUT_TOO_LARGE(
                location=location, size=found.size, limit=MAX_INPUT_BYTES
            )

    # --- the dispatcher ------------------------------------------------------------------------

    async def _run(self) -> None:
        services = self._services
        for done in services.queue.unnotified(self._endpoint, self.name):
            self._spawn(self._announce(done))  # finished before the last process died
        next_metrics = 0.0
        while True:
            self._wake.clear()
            try:
                now = time.time()
                for expired in services.queue.expired(self._endpoint, self.name, now):
                    self._spawn(self._expire(expired), expired.seq)
                self._dispatch()
                if now >= next_metrics:
                    next_metrics = now + services.tick_s
                    self._publish_backlog(now)
            except Exception:  # the loop must outlive a bad request or a full disk
                log.exception("%s/%s: async dispatch failed", self._endpoint, self.name)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(services.tick_s):
                    await self._wake.wait()

    def _dispatch(self) -> None:
        for instance in self._instances.instances:
            while self._in_flight.get(instance, 0) < self._per_instance:
                queued = self._services.queue.claim(self._endpoint, self.name)
                if queued is None:
                    return
                self._in_flight[instance] = self._in_flight.get(instance, 0) + 1
                self._spawn(self._process(queued, instance), queued.seq)

    def _spawn(self, work: Any, seq: int | None = None) -> None:
        """Run ``work``; ``seq``: the running request it holds (requeued if stopped)."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks[task] = seq
        task.add_done_callback(self._tasks.pop)

    def _publish_backlog(self, now: float) -> None:
        backlog, oldest = self._services.queue.backlog(self._endpoint)
        age = 0.0 if oldest is None else max(0.0, now - oldest)
        self._services.metrics.backlog(self._endpoint, backlog, self.instance_count, age)

    # --- one request -----------------------------------------------------------------------------

    async def _process(self, queued: Queued, instance: Instance) -> None:
        metrics = self._services.metrics
        started = time.time()
        try:
            body = await self._read_input(queued)
            if body is None:
                await self._fail(queued, "Failed to download the request input.", started)
                return
            request = queued.request
            outcome = await instance.invoke(
                InvocationRequest(
                    body=body,
                    content_type=request["content_type"],
                    accept=request["accept"],
                    custom_attributes=request["custom_attributes"],
                ),
                timeout_s=float(request["timeout_s"]),
            )
        except InstanceStoppedError:
            self._services.queue.requeue(queued.seq)  # interrupted, not failed
            return
        except Exception as exc:  # a bug here must fail one request, not stall the queue
            log.exception("%s/%s: request %s failed", self._endpoint, self.name, queued.seq)
            await self._fail(queued, f"Internal failure: {exc!r}", started)
            return
        finally:
            self._in_flight[instance] -= 1
            if self._in_flight[instance] == 0:
                del self._in_flight[instance]
            self._wake.set()
        metrics.processed(self._endpoint, self.name, queued, started, outcome)
        response = outcome.response
        if response is not None and 200 <= response.status < 300:
            await self._succeed(queued, response.body, response.content_type, started)
        else:
            await self._fail(queued, _failure_text(outcome, request), started, response_error=True)

    async def _read_input(self, queued: Queued) -> bytes | None:
        if queued.body is not None:
            return queued.body
        location = parse_s3_url(str(queued.request["input_location"]))
        assert location is not None
        began = time.perf_counter()
        try:
            path = await asyncio.to_thread(
                self._services.objects.fetch, location.bucket, location.key
            )
            data = await asyncio.to_thread(path.read_bytes)
        except (ServiceError, OSError) as exc:
            log.warning("%s: reading %s failed: %s", self._endpoint, location.url, exc)
            self._services.metrics.count(self._endpoint, self.name, "download_failure")
            return None
        self._services.metrics.download(self._endpoint, self.name, time.perf_counter() - began)
        return data

    async def _succeed(
        self, queued: Queued, body: bytes, content_type: str | None, started: float
    ) -> None:
        output = parse_s3_url(str(queued.request["output"]))
        assert output is not None
        began = time.perf_counter()
        try:
            await asyncio.to_thread(
                self._services.objects.put_bytes,
                output.bucket,
                output.key,
                body,
                content_type=content_type,
            )
        except (ServiceError, OSError) as exc:
            self._services.metrics.count(self._endpoint, self.name, "upload_failure")
            await self._fail(queued, f"Failed to upload the response: {exc}", started)
            return
        self._services.metrics.upload(self._endpoint, self.name, time.perf_counter() - began)
        outcome = {"status": "Completed", "location": output.url, "content_type": content_type}
        await self._complete(queued, outcome, body)

    async def _fail(
        self, queued: Queued, reason: str, started: float, *, response_error: bool = False
    ) -> None:
        failure = parse_s3_url(str(queued.request["failure"]))
        assert failure is not None
        try:
            await asyncio.to_thread(
                self._services.objects.put_bytes,
                failure.bucket,
                failure.key,
                reason.encode(),
                content_type="text/plain",
            )
        except (ServiceError, OSError) as exc:
            log.warning("%s: writing the failure %s failed: %s", self._endpoint, failure.url, exc)
        self._services.metrics.count(self._endpoint, self.name, "invocation_failure")
        outcome = {"status": "Failed", "location": failure.url, "reason": reason}
        await self._complete(queued, outcome, reason.encode() if response_error else None)

    async def _expire(self, queued: Queued) -> None:
        self._services.metrics.count(self._endpoint, self.name, "expired")
        reason = EXPIRED_REASON.format(ttl=queued.request["ttl_s"])
        await self._fail(queued, reason, time.time())

    async def _complete(
        self, queued: Queued, outcome: dict[str, Any], response: bytes | None
    ) -> None:
        finished = time.time()
        self._services.metrics.finished(self._endpoint, self.name, queued, finished)
        include = self._config.include_response_in
        wanted = "SUCCESS" if outcome["status"] == "Completed" else "ERROR"
        if response is None or f"{wanted}_NOTIFICATION_TOPIC" not in include:
            response = None
        self._services.queue.finish(queued.seq, {**outcome, "finished": finished})
        await self._announce(queued, {**outcome, "finished": finished}, response)

    async def _announce(
        self,
        queued: Queued,
        outcome: dict[str, Any] | None = None,
        response: bytes | None = None,
    ) -> None:
        """Send the request's notification (if its topic is configured), then forget it."""
        outcome = outcome or dict(queued.outcome or {})
        completed = outcome.get("status") == "Completed"
        topic = self._config.success_topic if completed else self._config.error_topic
        if topic is not None:
            message = inference_message(
                region=self._services.region,
                endpoint=self._endpoint,
                inference_id=queued.inference_id,
                request=queued.request,
                outcome=outcome,
                received=queued.received,
                finished=float(outcome.get("finished", time.time())),
                response=response,
            )
            delivered = await asyncio.to_thread(
                self._services.notifier.publish, topic, message, time.time()
            )
            self._services.metrics.notified(
                self._endpoint, self.name, str(outcome["status"]), delivered
            )
        self._services.queue.remove(queued.seq)


def _failure_text(outcome: InvocationOutcome, request: Any) -> str:
    """What the failure object holds: the container's error, or why there was no answer."""
    response = outcome.response
    if response is not None:
        text = response.body.decode("utf-8", errors="replace")
        side = "client" if 400 <= response.status < 500 else "server"
        return f'Received {side} error ({response.status}) from primary with message "{text}".'
    if outcome.timed_out:
        return TIMEOUT_REASON.format(seconds=request["timeout_s"])
    return outcome.failure or "The container gave no response."

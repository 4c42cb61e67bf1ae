"""The transport-free request loop of a worker: one ``handler.invoke`` at a time, under a deadline.

Invocations run on one dedicated thread so the event loop stays free to answer pings and to
answer a request that outlives ``SAGEMAKER_MODEL_SERVER_TIMEOUT``. Such a request gets MMS's
500 "Worker died." and the worker retires: the code may still be running (even in native code),
so the supervisor replaces the process, as MMS kills and restarts its backend worker.
"""

from __future__ import annotations

import asyncio
import json
import queue
import threading
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING

from endpointlab.models.contract import InvocationRequest, InvocationResponse

if TYPE_CHECKING:
    from endpointlab.models.contract import InferenceHandler

JSON = "application/json"
_Job = tuple[asyncio.AbstractEventLoop, "asyncio.Future[InvocationResponse]", InvocationRequest]

# MMS's error body: {"code": ..., "type": ..., "message": ...}.
ERROR_TYPES = {
    404: "ResourceNotFoundException",
    405: "MethodNotAllowedException",
    413: "RequestEntityTooLargeException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}


def container_error(status: int, message: str) -> InvocationResponse:
    """An error the model server itself answers (not the handler), in MMS's JSON shape."""
    kind = ERROR_TYPES.get(status, "InternalServerException")
    body = json.dumps({"code": status, "type": kind, "message": message}).encode("utf-8")
    return InvocationResponse(status=status, body=body, content_type=JSON)


class Invoker:
    """Runs a handler's invocations one at a time on a dedicated thread, each within a deadline.

    ``on_stuck(reason)`` is called once, on the event loop, when a request times out; from then
    on every request is answered 500 at once, since the invocation thread may never come back.
    """

    def __init__(
        self,
        handler: InferenceHandler,
        timeout_s: float,
        on_stuck: Callable[[str], None] | None = None,
    ) -> None:
        self._handler = handler
        self._timeout_s = timeout_s
        self._on_stuck = on_stuck
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._lock: asyncio.Lock | None = None
        self._thread: threading.Thread | None = None
        self._stuck_reason: str | None = None
        self.completed = 0

    @property
    def stuck(self) -> bool:
        return self._stuck_reason is not None

    async def invoke(self, request: InvocationRequest) -> InvocationResponse:
        """The handler's response, or a 500 when it does not answer within the timeout."""
        if self._lock is None:
            self._lock = asyncio.Lock()
            self._thread = threading.Thread(target=self._run, name="invoke", daemon=True)
            self._thread.start()
        async with self._lock:
            if self._stuck_reason is not None:
                return container_error(500, f"Worker died. {self._stuck_reason}")
            loop = asyncio.get_running_loop()
            future: asyncio.Future[InvocationResponse] = loop.create_future()
            self._jobs.put((loop, future, request))
            try:
                async with asyncio.timeout(self._timeout_s):
                    response = await future
            except TimeoutError:
                return self._timed_out()
        self.completed += 1
        return response

    def _timed_out(self) -> InvocationResponse:
        reason = (
            f"The model did not answer within SAGEMAKER_MODEL_SERVER_TIMEOUT "
            f"({self._timeout_s:g} s); the worker is being replaced."
        )
        self._stuck_reason = reason
        if self._on_stuck is not None:
            self._on_stuck(reason)
        return container_error(500, f"Worker died. {reason}")

    def close(self) -> None:
        """Let the invocation thread finish once its current request (if any) returns."""
        self._jobs.put(None)

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            loop, future, request = job
            response = self._call(request)
            try:
                loop.call_soon_threadsafe(_settle, future, response)
            except RuntimeError:  # the loop closed while the model was still running
                return

    def _call(self, request: InvocationRequest) -> InvocationResponse:
        try:
            return self._handler.invoke(request)
        except BaseException as exc:  # invoke never raises by contract; keep serving if it does
            text = "".join(traceback.format_exception_only(exc)).strip()
            return container_error(500, text)


def _settle(future: asyncio.Future[InvocationResponse], response: InvocationResponse) -> None:
    if not future.done():
        future.set_result(response)

"""The container's ASGI app and its Invoker, driven in-process by ASGI messages and a real handler.

The handler is a real ``code/inference.py`` loaded through the contract; the app is called the way
uvicorn calls it, so routing, limits, headers and the timeout are checked without sockets.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from typing import Any

import pytest

from endpointlab.emulator.workers.container.http import make_app
from endpointlab.emulator.workers.container.invoker import Invoker
from endpointlab.models.contract import InferenceHandler, InvocationRequest, load_handler

INFERENCE = """
import json, time

def model_fn(model_dir):
    return "model"

def input_fn(body, content_type):
    return json.loads(body)

def predict_fn(data, model):
    if data.get("sleep"):
        time.sleep(data["sleep"])
    if data.get("fail"):
        raise KeyError(data["fail"])
    return data

def output_fn(prediction, accept, context):
    attributes = context.get_request_header(0, "X-Amzn-SageMaker-Custom-Attributes")
    if attributes:
        context.set_response_header(0, "X-Amzn-SageMaker-Custom-Attributes", attributes.upper())
    return json.dumps(prediction), "application/json"
"""

Reply = tuple[int, dict[bytes, bytes], bytes]


@pytest.fixture(scope="module")
def handler(tmp_path_factory: pytest.TempPathFactory) -> InferenceHandler:
    model_dir = tmp_path_factory.mktemp("model")
    (model_dir / "code").mkdir()
    (model_dir / "code" / "inference.py").write_text(INFERENCE)
    return load_handler(model_dir, {}, 1)


def call(
    invoker: Invoker,
    method: str,
    path: str,
    chunks: Sequence[bytes] = (b"",),
    *,
    headers: dict[str, str] | None = None,
    max_payload_bytes: int = 1000,
) -> Reply | None:
    """One request through the app; None when the app sent nothing (the client went away)."""
    app = make_app(invoker, max_payload_bytes)
    scope: dict[str, Any] = {
        "type": "http",
        "method": method,
        "path": path,
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
    }
    pending = [
        {"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1}
        for index, chunk in enumerate(chunks)
    ]
    sent: list[Any] = []

    async def receive() -> Any:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    if not sent:
        return None
    start, body = sent
    return start["status"], dict(start["headers"]), body["body"]


def invocation(invoker: Invoker, payload: Any, **headers: str) -> Reply:
    reply = call(
        invoker,
        "POST",
        "/invocations",
        [json.dumps(payload).encode()],
        headers={"Content-Type": "application/json", **headers},
    )
    assert reply is not None
    return reply


def test_ping_is_200_with_an_empty_body(handler: InferenceHandler) -> None:
    assert call(Invoker(handler, 5), "GET", "/ping") == (200, {b"content-length": b"0"}, b"")


def test_other_paths_are_404_and_other_methods_405_with_allow(handler: InferenceHandler) -> None:
    invoker = Invoker(handler, 5)
    status, _, body = call(invoker, "GET", "/metrics") or (0, {}, b"")
    assert status == 404 and json.loads(body)["type"] == "ResourceNotFoundException"
    status, headers, _ = call(invoker, "PUT", "/invocations") or (0, {}, b"")
    assert status == 405 and headers[b"allow"] == b"POST"
    assert (call(invoker, "DELETE", "/ping") or (0,))[0] == 405


def test_invocation_passes_the_body_in_chunks_and_returns_the_handler_answer(
    handler: InferenceHandler,
) -> None:
    reply = call(
        Invoker(handler, 5),
        "POST",
        "/invocations",
        [b'{"a": ', b"[1, 2]", b"}"],
        headers={"Content-Type": "application/json"},
    )
    assert reply == (
        200,
        {b"content-type": b"application/json", b"content-length": b"13"},
        b'{"a": [1, 2]}',
    )


def test_custom_attributes_go_in_and_come_back_only_when_the_handler_sets_them(
    handler: InferenceHandler,
) -> None:
    invoker = Invoker(handler, 5)
    _, headers, _ = invocation(invoker, {}, **{"X-Amzn-SageMaker-Custom-Attributes": "k=v"})
    assert headers[b"x-amzn-sagemaker-custom-attributes"] == b"K=V"
    _, headers, _ = invocation(invoker, {})
    assert b"x-amzn-sagemaker-custom-attributes" not in headers


def test_a_handler_exception_is_500_with_its_message_and_the_next_request_works(
    handler: InferenceHandler,
) -> None:
    invoker = Invoker(handler, 5)
    status, _, body = invocation(invoker, {"fail": "missing-feature"})
    assert status == 500 and b"KeyError: 'missing-feature'" in body
    assert invocation(invoker, {"ok": 1})[0] == 200


def test_a_body_over_the_limit_is_413_by_length_or_by_what_arrives(
    handler: InferenceHandler,
) -> None:
    invoker = Invoker(handler, 5)
    declared = call(invoker, "POST", "/invocations", [b"x"], headers={"Content-Length": "1001"})
    assert declared is not None and declared[0] == 413
    streamed = call(invoker, "POST", "/invocations", [b"x" * 600, b"x" * 600])
    assert streamed is not None and streamed[0] == 413
    assert b"1000 bytes" in streamed[2]


def test_a_client_that_goes_away_gets_nothing(handler: InferenceHandler) -> None:
    assert call(Invoker(handler, 5), "POST", "/invocations", chunks=()) is None


def test_a_request_over_the_timeout_is_500_and_the_invoker_retires(
    handler: InferenceHandler,
) -> None:
    reasons: list[str] = []
    invoker = Invoker(handler, 0.2, on_stuck=reasons.append)
    began = time.monotonic()
    status, headers, body = invocation(invoker, {"sleep": 3})
    assert time.monotonic() - began < 2
    assert status == 500 and headers[b"content-type"] == b"application/json"
    assert json.loads(body)["message"].startswith("Worker died.")
    assert invoker.stuck and len(reasons) == 1 and "SAGEMAKER_MODEL_SERVER_TIMEOUT" in reasons[0]
    # The invocation thread may never come back: later requests are refused at once.
    status, _, _ = invocation(invoker, {"ok": 1})
    assert status == 500 and len(reasons) == 1


def test_the_invoker_serves_requests_one_at_a_time(handler: InferenceHandler) -> None:
    invoker = Invoker(handler, 5)

    async def both() -> list[Any]:
        requests = [
            InvocationRequest(json.dumps({"sleep": 0.2}).encode(), "application/json", None)
            for _ in range(2)
        ]
        return await asyncio.gather(*(invoker.invoke(request) for request in requests))

    began = time.monotonic()
    responses = asyncio.run(both())
    assert [response.status for response in responses] == [200, 200]
    assert time.monotonic() - began >= 0.4
    assert invoker.completed == 2

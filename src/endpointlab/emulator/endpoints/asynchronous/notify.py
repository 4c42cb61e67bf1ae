"""Notifications of finished async requests, as SageMaker publishes them to SNS.

The message is SageMaker's documented JSON (facts §4.3: invocationStatus Completed or Failed,
requestParameters, responseParameters, inferenceId, eventName InferenceResult); with
IncludeInferenceResponseIn the response (up to 128 KB) is embedded under ``responseBody``
(that member's layout is UNCONFIRMED). Each one configured by a topic is appended to
``<data dir>/async/notifications.jsonl`` (one SNS-like record a line: Type, MessageId, TopicArn,
Timestamp and the message as a JSON string), counted for Prometheus, and POSTed as an SNS HTTP
notification to ``serve --notify-url`` when one is given (a failed POST is NotificationFailures).
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import urllib.request
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MAX_EMBEDDED_RESPONSE = 128 * 1024
NOTIFY_TIMEOUT_S = 5.0


def iso(epoch: float) -> str:
    """An SNS-style timestamp: 2026-12-07T17:01:02.345Z."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def inference_message(
    *,
    region: str,
    endpoint: str,
    inference_id: str,
    request: Mapping[str, Any],
    outcome: Mapping[str, Any],
    received: float,
    finished: float,
    response: bytes | None = None,
) -> dict[str, Any]:
    """The message SageMaker publishes for one finished request."""
    completed = outcome["status"] == "Completed"
    parameters = {
        "contentType": request.get("content_type") or "application/octet-stream",
        "endpointName": endpoint,
        "inputLocation": request.get("input_location"),
    }
    for key, member in (("accept", "accept"), ("customAttributes", "custom_attributes")):
        if request.get(member):
            parameters[key] = request[member]
    message: dict[str, Any] = {
        "awsRegion": region,
        "eventTime": iso(finished),
        "receivedTime": iso(received),
        "invocationStatus": outcome["status"],
        "requestParameters": parameters,
        "responseParameters": (
            {"contentType": outcome.get("content_type"), "outputLocation": outcome["location"]}
            if completed
            else {"failureLocation": outcome["location"]}
        ),
        "inferenceId": inference_id,
        "eventVersion": "1.0",
        "eventSource": "aws:sagemaker",
        "eventName": "InferenceResult",
    }
    if not completed:
        message["failureReason"] = outcome["reason"]
    if response is not None and len(response) <= MAX_EMBEDDED_RESPONSE:
        try:
            message["responseBody"] = {"content": response.decode("utf-8"), "encoding": "UTF-8"}
        except UnicodeDecodeError:
            encoded = base64.b64encode(response).decode("ascii")
            message["responseBody"] = {"content": encoded, "encoding": "BASE64"}
    return message


class Notifier:
    """Appends notifications to the JSONL file and POSTs them to the notify URL."""

    def __init__(self, path: Path, notify_url: str | None) -> None:
        self.path = path
        self._url = notify_url
        self._lock = threading.Lock()

    def publish(self, topic: str, message: Mapping[str, Any], at: float) -> bool:
        """Record one notification (blocking: call it in a worker thread); False if the POST to
        the notify URL failed."""
        record = {
            "Type": "Notification",
            "MessageId": str(uuid.uuid4()),
            "TopicArn": topic,
            "Timestamp": iso(at),
            "Message": json.dumps(message),
        }
        line = json.dumps(record) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(line)
        return self._url is None or self._post(record)

    def _post(self, record: Mapping[str, Any]) -> bool:
        assert self._url is not None
        data = json.dumps({**record, "SignatureVersion": "1"}).encode()
        request = urllib.request.Request(
            self._url,
            data=data,
            method="POST",
            headers={
                "Content-Type": "text/plain; charset=UTF-8",
                "x-amz-sns-message-type": "Notification",
                "x-amz-sns-message-id": str(record["MessageId"]),
                "x-amz-sns-topic-arn": str(record["TopicArn"]),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=NOTIFY_TIMEOUT_S) as reply:
                status: int = reply.status
                return 200 <= status < 300
        except OSError as exc:
            log.warning("notification to %s failed: %s", self._url, exc)
            return False

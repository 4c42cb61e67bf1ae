"""The load engine's SigV4 signatures equal botocore's SigV4Auth for the same request and time."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from endpointlab.loadgen.client import Invocation, RuntimeClient, Target
from endpointlab.loadgen.retries import RetrySettings
from endpointlab.loadgen.signing import Credentials, Signer

MOMENT = datetime(2026, 12, 7, 14, 30, 5, tzinfo=UTC)


def botocore_authorization(
    url: str, headers: dict[str, str], body: bytes, credentials: Credentials, region: str
) -> dict[str, str]:
    request = AWSRequest(method="POST", url=url, headers=headers, data=body)
    boto = BotoCredentials(credentials.access_key, credentials.secret_key, credentials.token)
    with mock.patch("botocore.auth.get_current_datetime", return_value=MOMENT.replace(tzinfo=None)):
        SigV4Auth(boto, "sagemaker", region).add_auth(request)
    return dict(request.headers.items())


@pytest.mark.parametrize(
    ("url", "token", "extra"),
    [
        ("http://127.0.0.1:4566/endpoints/my-endpoint/invocations", None, {}),
        (
            "https://runtime.sagemaker.eu-west-1.amazonaws.com/endpoints/e-1/invocations",
            "session-token",
            {"X-Amzn-SageMaker-Custom-Attributes": "a=1,  b=2", "Accept": "application/json"},
        ),
    ],
)
def test_signatures_equal_botocores(url: str, token: str | None, extra: dict[str, str]) -> None:
    credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    region = "eu-west-1" if "eu-west-1" in url else "us-east-1"
    host = url.split("/")[2].removesuffix(":443")
    body = b'{"instances": [1, 2, 3]}'
    headers = {"Content-Type": "application/json", **extra}
    expected = botocore_authorization(url, headers, body, credentials, region)
    path = "/" + url.split("/", 3)[3]
    ours = Signer(region, "sagemaker").sign(
        "POST", path, {"host": host, **headers}, body, credentials, now=MOMENT
    )
    assert ours["Authorization"] == expected["Authorization"]
    assert ours["X-Amz-Date"] == expected["X-Amz-Date"]
    assert ours.get("X-Amz-Security-Token") == expected.get("X-Amz-Security-Token")


def test_the_signing_key_is_derived_once_per_day() -> None:
    signer = Signer("us-east-1", "sagemaker")
    credentials = Credentials("AKID", "secret")
    for second in range(5):
        signer.sign(
            "POST",
            "/endpoints/e/invocations",
            {"host": "h"},
            b"x",
            credentials,
            now=MOMENT.replace(second=second),
        )
    assert signer.keys_derived == 1
    signer.sign("POST", "/", {"host": "h"}, b"", credentials, now=MOMENT.replace(day=8, second=0))
    assert signer.keys_derived == 2


def test_the_wire_request_carries_botocores_signature() -> None:
    target = Target("http://127.0.0.1:4566", "us-east-1", Credentials("AKID", "secret"))
    client = RuntimeClient(target, "my-endpoint", RetrySettings())
    invocation = Invocation.from_args({"Body": "1,2,3", "ContentType": "text/csv"})
    with mock.patch.object(client, "_now", return_value=MOMENT):
        wire = client.serialise(invocation)
    head, _, body = wire.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /endpoints/my-endpoint/invocations HTTP/1.1"
    sent = dict(line.split(": ", 1) for line in lines[1:])
    assert body == b"1,2,3"
    expected = botocore_authorization(
        "http://127.0.0.1:4566/endpoints/my-endpoint/invocations",
        {"Content-Type": "text/csv", "Content-Length": "5"},
        body,
        Credentials("AKID", "secret"),
        "us-east-1",
    )
    assert sent["Authorization"] == expected["Authorization"]
    assert sent["Host"] == "127.0.0.1:4566"


def test_credentials_from_the_chain_are_reread_as_they_refresh() -> None:
    class Refreshing:
        def __init__(self) -> None:
            self.reads = 0

        def get_frozen_credentials(self) -> Any:
            self.reads += 1
            return BotoCredentials("AKIDNEW", "new-secret", "new-token").get_frozen_credentials()

    source = Refreshing()
    target = Target("http://127.0.0.1:4566", "us-east-1", Credentials("AKIDOLD", "old"), source)
    client = RuntimeClient(target, "e", RetrySettings())
    invocation = Invocation.from_args({"Body": "x"})
    assert b"Credential=AKIDOLD/" in client.serialise(invocation)
    later = time.monotonic() + 61.0
    with mock.patch("endpointlab.loadgen.client.time.monotonic", return_value=later):
        wire = client.serialise(invocation)
    assert b"Credential=AKIDNEW/" in wire and b"X-Amz-Security-Token: new-token" in wire
    assert source.reads == 1

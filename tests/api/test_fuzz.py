"""Garbage in, never a 5xx out (emulator/app.py end to end): hypothesis sends random methods,
paths, headers, X-Amz-Target values, bodies and JSON documents over raw HTTP; every request gets
a complete 4xx or 2xx answer, a connection is closed only after the server said so, and the server
still serves afterwards."""

from __future__ import annotations

import gzip
import http.client
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import botocore.session
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from endpointlab.config import EmulatorSettings
from tests.api.support import Deployer, Example, client, running_emulator

SAGEMAKER = botocore.session.get_session().get_service_model("sagemaker")
RUNTIME = botocore.session.get_session().get_service_model("sagemaker-runtime")
OPERATIONS = sorted(SAGEMAKER.operation_names)
IMPLEMENTED = [
    "CreateModel", "DescribeModel", "DeleteModel", "ListModels", "CreateEndpointConfig",
    "DescribeEndpointConfig", "DeleteEndpointConfig", "ListEndpointConfigs", "CreateEndpoint",
    "DescribeEndpoint", "UpdateEndpoint", "DeleteEndpoint", "ListEndpoints",
    "UpdateEndpointWeightsAndCapacities",
]  # fmt: skip
RUNTIME_HEADERS = [
    str(member.serialization["name"])
    for member in RUNTIME.operation_model("InvokeEndpoint").input_shape.members.values()
    if member.serialization.get("location") == "header"
]
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class Fuzzed:
    """The fuzz target: a dedicated emulator with one live endpoint, and a kept-alive connection."""

    def __init__(self, url: str, endpoint: str) -> None:
        self.url = url
        self.endpoint = endpoint
        self._host, port = url.removeprefix("http://").rsplit(":", 1)
        self._port = int(port)
        self._connection: http.client.HTTPConnection | None = None

    def send(self, method: str, path: str, headers: dict[str, str], body: bytes) -> int:
        """Send one request; the answer must be complete and below 500. The connection is
        reused until the server announces ``Connection: close`` (as it may after a request it
        cannot read, or an S3 error whose body it did not read); a connection it dropped
        without saying so fails the next request sent on it."""
        if self._connection is None:
            self._connection = http.client.HTTPConnection(self._host, self._port, timeout=30)
        connection = self._connection
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        status = response.status
        if response.will_close:
            connection.close()
            self._connection = None
        assert status < 500, (method, path, headers, body[:200], status)
        return status


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory, rtb: Example) -> Iterator[Fuzzed]:
    settings = EmulatorSettings(port=0, data_dir=tmp_path_factory.mktemp("fuzz"))
    with running_emulator(settings) as url:
        deployer = Deployer(client("sagemaker", url))
        deployment = deployer.deploy(rtb.archive)
        target = Fuzzed(url, deployment.endpoint)
        yield target
        # Afterwards the server still answers, on the control plane and the runtime.
        assert client("sagemaker", url).list_endpoints()["Endpoints"]
        request = rtb.requests[0]
        runtime = client("sagemaker-runtime", url)
        assert runtime.invoke_endpoint(EndpointName=deployment.endpoint, **request)["Body"].read()
        deployer.cleanup()


# --- strategies -------------------------------------------------------------------------------

TOKEN = st.text(
    alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_."),
    min_size=1,
    max_size=20,
)
HEADER_VALUE = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=80,
).map(str.strip)
PATH_TEXT = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="#?"),
    max_size=40,
)
# Headers that frame the message stay the client library's business.
FRAMING = {"content-length", "transfer-encoding", "host", "connection", "expect"}
TARGETS = st.one_of(
    st.sampled_from([f"SageMaker.{op}" for op in OPERATIONS]),
    st.sampled_from([f"SageMaker.{op}" for op in IMPLEMENTED]),
    TOKEN,
    st.builds(lambda a, b: f"{a}.{b}", TOKEN, TOKEN),
)
CONTENT_TYPES = st.one_of(
    st.sampled_from(
        [
            "application/x-amz-json-1.1",
            "application/x-amz-json-1.0",
            "application/json",
            "text/csv",
            "application/x-www-form-urlencoded",
            "application/cbor",
        ]
    ),
    HEADER_VALUE,
)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


def headers_strategy(extra: st.SearchStrategy[dict[str, str]]) -> st.SearchStrategy[dict[str, str]]:
    random = st.dictionaries(TOKEN, HEADER_VALUE, max_size=4)
    return st.builds(
        lambda a, b: {k: v for k, v in {**a, **b}.items() if k.lower() not in FRAMING},
        random,
        extra,
    )


@st.composite
def operation_documents(draw: st.DrawFn) -> tuple[str, bytes]:
    """A JSON document shaped like an operation's input: its member names, random values."""
    operation = draw(st.sampled_from(IMPLEMENTED))
    shape = SAGEMAKER.operation_model(operation).input_shape
    members = list(shape.members) if shape is not None else []
    document = draw(
        st.dictionaries(st.sampled_from(members or ["x"]), JSON_VALUES, max_size=len(members))
    )
    return operation, json.dumps(document).encode()


# --- properties -------------------------------------------------------------------------------


@FUZZ
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
    | TOKEN.map(str.upper),
    path=st.one_of(
        st.just("/"),
        PATH_TEXT.map(lambda p: "/" + p),
        PATH_TEXT.map(lambda p: f"/endpoints/{p}/invocations"),
        st.binary(max_size=20).map(lambda b: f"/endpoints/{quote(b)}/invocations"),
    ),
    query=st.one_of(st.just(""), PATH_TEXT.map(lambda q: "?" + q)),
    headers=headers_strategy(
        st.fixed_dictionaries(
            {},
            optional={"X-Amz-Target": TARGETS, "Content-Type": CONTENT_TYPES},
        )
    ),
    body=st.binary(max_size=300),
)
def test_random_requests_never_get_a_5xx(
    fuzzed: Fuzzed, method: str, path: str, query: str, headers: dict[str, str], body: bytes
) -> None:
    fuzzed.send(method, path + query, headers, body)


@FUZZ
@given(
    target=TARGETS,
    content_type=CONTENT_TYPES,
    document=JSON_VALUES,
    gzip_it=st.booleans(),
)
def test_random_json_documents_and_targets_never_get_a_5xx(
    fuzzed: Fuzzed, target: str, content_type: str, document: Any, gzip_it: bool
) -> None:
    body = json.dumps(document).encode()
    headers = {"X-Amz-Target": target, "Content-Type": content_type}
    if gzip_it:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    fuzzed.send("POST", "/", headers, body)


@FUZZ
@given(request=operation_documents())
def test_operation_shaped_documents_never_get_a_5xx(
    fuzzed: Fuzzed, request: tuple[str, bytes]
) -> None:
    operation, body = request
    headers = {
        "X-Amz-Target": f"SageMaker.{operation}",
        "Content-Type": "application/x-amz-json-1.1",
    }
    fuzzed.send("POST", "/", headers, body)


@FUZZ
@given(
    headers=headers_strategy(
        st.dictionaries(
            st.sampled_from(RUNTIME_HEADERS), HEADER_VALUE, max_size=len(RUNTIME_HEADERS)
        )
    ),
    body=st.binary(max_size=500) | st.text(max_size=200).map(str.encode),
    live=st.booleans(),
)
def test_random_invocations_never_get_a_5xx(
    fuzzed: Fuzzed, headers: dict[str, str], body: bytes, live: bool
) -> None:
    endpoint = fuzzed.endpoint if live else "no-such-endpoint"
    fuzzed.send("POST", f"/endpoints/{endpoint}/invocations", headers, body)

"""Errors on the wire (emulator/app.py and the codecs it routes to): unreadable bodies, wrong or
missing X-Amz-Target, unknown operations and routes, wrong types, missing members, oversized
bodies. Each has the exact code a client of AWS sees, and the server answers the next request."""

from __future__ import annotations

import http.client
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.support import client, error_of, raw_request

JSON_11 = "application/x-amz-json-1.1"


def control(target: str | None, body: bytes, **headers: str) -> dict[str, str]:
    sent = {"Content-Type": JSON_11, **headers}
    if target is not None:
        sent["X-Amz-Target"] = target
    return sent


@pytest.fixture(scope="module")
def loose(emulator_url: str) -> Any:
    """A SageMaker client that sends whatever it is given (no botocore validation)."""
    return client("sagemaker", emulator_url, parameter_validation=False)


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"\xff\xfe{}", b'{"MaxResults": NaN}', b"[1, 2]", b'"text"', b"", b"{" * 5000],
    ids=["broken", "not-utf8", "nan", "list", "string", "empty", "deep"],
)
def test_unreadable_json_is_a_serialization_exception(emulator_url: str, body: bytes) -> None:
    response = raw_request(
        emulator_url, "POST", "/", control("SageMaker.ListEndpoints", body), body
    )
    assert response.status == 400
    assert response.error_type == "SerializationException"
    assert response.headers["content-type"] == JSON_11
    assert response.headers["x-amzn-requestid"]


# Another API's target prefix ("Nope.ListEndpoints") gets a message naming it: test_sts.py.
@pytest.mark.parametrize(
    "target",
    ["SageMaker.NoSuchOperation", "SageMaker.", "", "SageMaker"],
)
def test_unknown_targets_are_unknown_operation_exceptions(emulator_url: str, target: str) -> None:
    response = raw_request(emulator_url, "POST", "/", control(target, b"{}"), b"{}")
    assert response.status == 400
    assert response.json() == {"__type": "com.amazon.coral.service#UnknownOperationException"}


def test_a_missing_target_is_an_unknown_operation_exception(emulator_url: str) -> None:
    response = raw_request(emulator_url, "POST", "/", control(None, b"{}"), b"{}")
    assert response.status == 400
    assert response.error_type == "UnknownOperationException"


def test_operations_the_emulator_does_not_implement(sagemaker: Any) -> None:
    with pytest.raises(ClientError) as caught:
        sagemaker.list_training_jobs()
    error = error_of(caught)
    assert (error["Code"], error["Status"]) == ("UnknownOperationException", 400)


@pytest.mark.parametrize(
    ("operation", "kwargs", "message"),
    [
        (
            "describe_endpoint",
            {"EndpointName": 5},
            "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted "
            "to an String",
        ),
        (
            "list_endpoints",
            {"MaxResults": "ten"},
            "class java.lang.String can not be converted to an Integer",
        ),
        ("describe_model", {"ModelName": ["a"]}, "Start of list found where not expected"),
    ],
)
def test_values_of_the_wrong_json_type_are_serialization_exceptions(
    loose: Any, operation: str, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ClientError) as caught:
        getattr(loose, operation)(**kwargs)
    assert error_of(caught) == {"Code": "SerializationException", "Message": message, "Status": 400}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b'{"EndpointConfigName": "c", "ProductionVariants": {"a": 1}}',
            "Start of structure or map found where not expected.",
        ),
        (b'{"EndpointConfigName": "c", "ProductionVariants": "v"}', "Expected list or null"),
        (b'{"EndpointConfigName": "c", "ProductionVariants": ["v"]}', "Expected null"),
    ],
)
def test_structures_of_the_wrong_shape_are_serialization_exceptions(
    emulator_url: str, body: bytes, message: str
) -> None:
    target = "SageMaker.CreateEndpointConfig"
    response = raw_request(emulator_url, "POST", "/", control(target, body), body)
    assert response.status == 400
    assert response.json() == {
        "__type": "com.amazon.coral.service#SerializationException",
        "message": message,
    }


def test_missing_required_members_are_validation_exceptions(loose: Any) -> None:
    with pytest.raises(ClientError) as caught:
        loose.create_endpoint(EndpointName="e")
    assert error_of(caught) == {
        "Code": "ValidationException",
        "Message": "1 validation error detected: Value null at 'endpointConfigName' failed to "
        "satisfy constraint: Member must not be null",
        "Status": 400,
    }
    with pytest.raises(ClientError) as caught:
        loose.create_endpoint()
    error = error_of(caught)
    assert error["Code"] == "ValidationException"
    assert error["Message"].startswith("2 validation errors detected: ")


def test_several_violations_are_reported_together(loose: Any) -> None:
    with pytest.raises(ClientError) as caught:
        loose.list_endpoints(MaxResults=1000, SortBy="Size", NameContains="a b")
    error = error_of(caught)
    assert error["Code"] == "ValidationException"
    assert error["Message"].startswith("3 validation errors detected: ")
    assert "'maxResults'" in error["Message"]
    assert "'sortBy'" in error["Message"]
    assert "'nameContains'" in error["Message"]


SIGNED_FOR_SAGEMAKER = {
    "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sagemaker/aws4_request, "
    "SignedHeaders=host, Signature=" + "0" * 64,
    "X-Amz-Date": "20260101T000000Z",
}


def test_unknown_runtime_routes_get_corals_404(emulator_url: str) -> None:
    # Unsigned GET/PUT/DELETE/HEAD belong to the S3 service on the same port; requests signed
    # for SageMaker, and POSTs, are the runtime's.
    for method, path, headers in [
        ("POST", "/endpoints/x", {}),
        ("POST", "/no/such/route", {}),
        ("POST", "/endpoints/x/invocations/more", {}),
        ("GET", "/endpoints/x/invocations", SIGNED_FOR_SAGEMAKER),
        ("PUT", "/endpoints/x/invocations", SIGNED_FOR_SAGEMAKER),
        ("DELETE", "/", SIGNED_FOR_SAGEMAKER),
    ]:
        response = raw_request(emulator_url, method, path, headers)
        assert response.status == 404, (method, path)
        assert response.body == b"<UnknownOperationException/>\n"


def test_runtime_operations_the_emulator_does_not_implement(emulator_url: str) -> None:
    runtime = client("sagemaker-runtime", emulator_url)
    with pytest.raises(ClientError) as caught:
        runtime.invoke_endpoint_with_response_stream(EndpointName="x", Body=b"{}")
    error = error_of(caught)
    assert (error["Code"], error["Status"]) == ("UnknownOperationException", 400)


def test_a_body_past_the_servers_limit_is_refused_and_the_connection_survives(
    emulator_url: str,
) -> None:
    huge = b"x" * (17 * 1024 * 1024)
    host, port = emulator_url.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    sent = [
        ("/endpoints/some-endpoint/invocations", {}, huge),
        ("/", control("SageMaker.ListModels", huge), huge),
        ("/", control("SageMaker.ListModels", b"{}"), b"{}"),
    ]
    replies, local_ends = [], set()
    try:
        for path, headers, body in sent:
            connection.request("POST", path, body=body, headers=headers)
            assert connection.sock is not None
            local_ends.add(connection.sock.getsockname())  # http.client reconnects silently
            reply = connection.getresponse()
            replies.append((reply.status, reply.headers, reply.read()))
    finally:
        connection.close()
    assert len(local_ends) == 1  # one connection carried all three requests
    (runtime_status, runtime_headers, _), (plane_status, _, plane_body), last = replies
    assert 400 <= runtime_status < 500
    assert runtime_headers["x-amzn-errortype"] == "ValidationError"
    assert 400 <= plane_status < 500
    assert json.loads(plane_body)["__type"] == "ValidationException"
    assert last[0] == 200

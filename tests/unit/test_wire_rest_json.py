"""restJson1 codec through botocore: SageMaker Runtime requests in, responses and errors out."""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from endpointlab.emulator.errors import ServiceError
from endpointlab.emulator.wire import HttpHead, RestJsonCodec, service_model
from endpointlab.emulator.wire.rest_router import Router
from tests.unit.test_wire_support import BotoWire, Recorder, SentRequest, rest_json_server

RUNTIME = RestJsonCodec(service_model("sagemaker-runtime"), validation_code="ValidationError")
MODEL_ERROR = ServiceError(
    "ModelError",
    'Received server error (500) from primary with message "boom". See https://us-east-1.'
    "console.aws.amazon.com/cloudwatch/home?region=us-east-1#logEventViewer:group=/aws/"
    "sagemaker/Endpoints/ep in account 123456789012 for more information.",
    status=424,
    fields={
        "OriginalStatusCode": 500,
        "OriginalMessage": "boom",
        "LogStreamArn": "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/ep",
    },
)


def runtime(reply: Any = None, **config: Any) -> tuple[Any, Recorder, BotoWire]:
    recorder = Recorder(reply)
    wire = BotoWire("sagemaker-runtime", rest_json_server(RUNTIME, recorder), **config)
    return wire.client, recorder, wire


def test_invoke_endpoint_reads_every_header_member_boto3_sends() -> None:
    client, recorder, wire = runtime({"Body": b"[0.9]"})
    kwargs = {
        "EndpointName": "my-endpoint",
        "Body": b"1.0,2.0\n",
        "ContentType": "text/csv",
        "Accept": "application/json",
        "CustomAttributes": "trace=abc;user=42",
        "TargetModel": "model-a.tar.gz",
        "TargetVariant": "variant-1",
        "TargetContainerHostname": "container-1",
        "InferenceId": "inference 0001",
        "EnableExplanations": "`true`",
        "InferenceComponentName": "ic-1",
        "SessionId": "NEW_SESSION",
    }
    client.invoke_endpoint(**kwargs)
    assert recorder.calls == [("InvokeEndpoint", kwargs)]
    assert (wire.requests[0].method, wire.requests[0].path) == (
        "POST",
        "/endpoints/my-endpoint/invocations",
    )


def test_invoke_endpoint_response_members_come_back_from_headers_and_raw_body() -> None:
    result = {
        "Body": b'{"score": 0.93}',
        "ContentType": "application/json",
        "InvokedProductionVariant": "AllTraffic",
        "CustomAttributes": "served-by=emulator",
        "NewSessionId": "s-1; Expires=2026-01-01T00:00:00Z",
        "ClosedSessionId": "s-0",
    }
    client, _, _ = runtime(result)
    reply = client.invoke_endpoint(EndpointName="ep", Body=b"x")
    assert reply.pop("Body").read() == b'{"score": 0.93}'
    reply.pop("ResponseMetadata")
    assert reply == {k: v for k, v in result.items() if k != "Body"}


def test_endpoint_names_are_percent_decoded_then_validated() -> None:
    client, recorder, wire = runtime({"Body": b""})
    with pytest.raises(ClientError) as caught:
        client.invoke_endpoint(EndpointName="bad name/x", Body=b"x")
    assert "%20" in wire.requests[0].path and "%2F" in wire.requests[0].path
    assert caught.value.response["Error"] == {
        "Code": "ValidationError",
        "Message": "1 validation error detected: Value 'bad name/x' at 'endpointName' failed to "
        "satisfy constraint: Member must satisfy regular expression pattern: "
        "^[a-zA-Z0-9](-*[a-zA-Z0-9])*",
    }
    assert recorder.calls == []


def test_invoke_endpoint_async_is_202_with_location_headers_and_json_body() -> None:
    result = {
        "InferenceId": "abc-123",
        "OutputLocation": "s3://bucket/out/abc-123.out",
        "FailureLocation": "s3://bucket/failures/abc-123-error.out",
    }
    client, recorder, _ = runtime(result)
    kwargs = {
        "EndpointName": "ep",
        "InputLocation": "s3://bucket/in/payload.csv",
        "ContentType": "text/csv",
        "Accept": "application/json",
        "CustomAttributes": "a=b",
        "InferenceId": "abc-123",
        "RequestTTLSeconds": 600,
        "InvocationTimeoutSeconds": 120,
        "S3OutputPathExtension": "run-1",
        "Filename": "result.json",
    }
    reply = client.invoke_endpoint_async(**kwargs)
    assert recorder.calls == [("InvokeEndpointAsync", kwargs)]
    assert reply["ResponseMetadata"]["HTTPStatusCode"] == 202
    reply.pop("ResponseMetadata")
    assert reply == result


def test_response_streams_pass_encoded_event_frames_through_with_their_media_type() -> None:
    frames = b"\x00\x00\x00\x10\x00\x00\x00\x00" + b"\x00" * 8  # framing is not ours
    wire = RUNTIME.serialize(
        "InvokeEndpointWithResponseStream", {"Body": frames, "ContentType": "application/json"}
    )
    assert (wire.status, wire.body) == (200, frames)
    assert wire.header("Content-Type") == "application/vnd.amazon.eventstream"
    assert wire.header("X-Amzn-SageMaker-Content-Type") == "application/json"


def test_model_error_fields_reach_the_top_of_the_boto3_error_response() -> None:
    client, _, _ = runtime(MODEL_ERROR)
    with pytest.raises(client.exceptions.ModelError) as caught:
        client.invoke_endpoint(EndpointName="ep", Body=b"x")
    response = caught.value.response
    assert response["Error"] == {"Code": "ModelError", "Message": MODEL_ERROR.message}
    assert response["OriginalStatusCode"] == 500
    assert response["OriginalMessage"] == "boom"
    assert response["LogStreamArn"] == MODEL_ERROR.fields["LogStreamArn"]
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 424


def test_error_wire_form_is_the_error_type_header_and_a_json_body() -> None:
    wire = RUNTIME.serialize_error(MODEL_ERROR, "req-9")
    assert wire.status == 424
    assert wire.header("x-amzn-ErrorType") == "ModelError"
    assert wire.header("x-amzn-RequestId") == "req-9"
    assert json.loads(wire.body) == {"message": MODEL_ERROR.message, **MODEL_ERROR.fields}


@pytest.mark.parametrize(
    ("error", "exception"),
    [
        (ServiceError("ModelNotReadyException", "not ready", status=429), "ModelNotReadyException"),
        (ServiceError("ServiceUnavailable", "later", status=503, sender_fault=False),
         "ServiceUnavailable"),
        (ServiceError("InternalDependencyException", "dep", status=530, sender_fault=False),
         "InternalDependencyException"),
    ],
)  # fmt: skip
def test_modeled_runtime_errors_raise_their_boto3_exception_classes(
    error: ServiceError, exception: str
) -> None:
    client, _, _ = runtime(error)
    with pytest.raises(getattr(client.exceptions, exception)) as caught:
        client.invoke_endpoint(EndpointName="ep", Body=b"x")
    assert caught.value.response["Error"]["Message"] == error.message
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == error.status


def test_values_below_model_minimums_from_other_sdks_are_validated_server_side() -> None:
    client, _, _ = runtime({}, parameter_validation=False)
    with pytest.raises(ClientError) as caught:
        client.invoke_endpoint_async(
            EndpointName="ep", InputLocation="s3://b/k", RequestTTLSeconds=10
        )
    assert caught.value.response["Error"]["Message"] == (
        "1 validation error detected: Value '10' at 'requestTTLSeconds' failed to satisfy "
        "constraint: Member must have value greater than or equal to 60"
    )


def test_unknown_routes_get_corals_404_which_boto3_reports_as_404() -> None:
    for method, path in [("POST", "/endpoints/ep/nope"), ("GET", "/endpoints/ep/invocations")]:
        assert RUNTIME.match(method, path) is None
        with pytest.raises(ServiceError) as caught:
            RUNTIME.parse(HttpHead.of(method, path), b"")
        assert (caught.value.code, caught.value.status) == ("UnknownOperationException", 404)
        wire = RUNTIME.serialize_error(caught.value, "r")
        assert (wire.status, wire.body) == (404, b"<UnknownOperationException/>\n")

    def handler(_: SentRequest) -> Any:
        return RUNTIME.serialize_error(ServiceError("UnknownOperationException", "", status=404))

    client = BotoWire("sagemaker-runtime", handler).client
    with pytest.raises(ClientError) as boto_error:
        client.invoke_endpoint(EndpointName="ep", Body=b"x")
    assert boto_error.value.response["Error"]["Code"] == "404"


def test_unreadable_header_numbers_are_serialization_exceptions() -> None:
    headers = {
        "X-Amzn-SageMaker-InputLocation": "s3://b/k",
        "X-Amzn-SageMaker-RequestTTLSeconds": "ten",
    }
    with pytest.raises(ServiceError) as caught:
        RUNTIME.parse(HttpHead.of("POST", "/endpoints/ep/async-invocations", "", headers), b"")
    assert (caught.value.code, caught.value.status) == ("SerializationException", 400)


def test_header_names_are_case_insensitive() -> None:
    body = b"x"
    path = "/endpoints/ep/invocations"
    mixed = RUNTIME.parse(HttpHead.of("POST", path, "", {"CONTENT-TYPE": "a/b"}), body)
    lower = RUNTIME.parse(HttpHead("POST", path, "", {"content-type": "a/b"}), body)
    assert (
        mixed.params == lower.params == {"EndpointName": "ep", "ContentType": "a/b", "Body": b"x"}
    )


def test_generic_bindings_jsonvalue_headers_query_lists_maps_and_literal_query_keys() -> None:
    lex = RestJsonCodec(service_model("lex-runtime"))
    recorder = Recorder({"contentType": "text/plain"})
    client = BotoWire("lex-runtime", rest_json_server(lex, recorder)).client
    client.post_content(
        botName="bot", botAlias="prod", userId="u-1", contentType="text/plain; charset=utf-8",
        inputStream=b"hello", sessionAttributes={"k": "v", "n": "1"},
    )  # fmt: skip
    ((_, params),) = recorder.calls
    assert params["sessionAttributes"] == {"k": "v", "n": "1"}
    assert params["inputStream"] == b"hello"

    gateway = RestJsonCodec(service_model("apigateway"))
    recorder = Recorder({})
    client = BotoWire("apigateway", rest_json_server(gateway, recorder)).client
    client.untag_resource(resourceArn="arn:aws:apigateway:::/restapis/a", tagKeys=["x", "y"])
    client.import_rest_api(body=b"{}", parameters={"endpointConfigurationTypes": "REGIONAL"})
    assert recorder.calls == [
        (
            "UntagResource",
            {"resourceArn": "arn:aws:apigateway:::/restapis/a", "tagKeys": ["x", "y"]},
        ),
        (
            "ImportRestApi",
            {"body": b"{}", "parameters": {"endpointConfigurationTypes": "REGIONAL"}},
        ),
    ]


def test_router_uses_literal_query_keys_required_headers_and_greedy_labels() -> None:
    s3 = Router(service_model("s3"))
    put = s3.match("PUT", "/bucket/a/b%2Fc.txt", "", {"content-length"})
    assert put is not None and put.operation == "PutObject"
    assert put.labels == {"Bucket": "bucket", "Key": "a/b/c.txt"}
    copy = s3.match("PUT", "/bucket/a/b%2Fc.txt", "", {"x-amz-copy-source"})
    assert copy is not None and copy.operation == "CopyObject"
    upload = s3.match("POST", "/bucket/key.bin", "uploads")
    assert upload is not None and upload.operation == "CreateMultipartUpload"
    listing = s3.match("GET", "/bucket", "list-type=2&prefix=a")
    assert listing is not None and listing.operation == "ListObjectsV2"
    plain = s3.match("GET", "/bucket")
    assert plain is not None and plain.operation == "ListObjects"


def test_invoke_endpoint_parse_takes_microseconds() -> None:
    headers = {
        "Content-Type": "text/csv", "Accept": "application/json", "Content-Length": "700",
        "X-Amzn-SageMaker-Custom-Attributes": "k=v", "X-Amz-Date": "20260101T000000Z",
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sagemaker/"
        "aws4_request, SignedHeaders=accept;content-type;host;x-amz-date, Signature=" + "0" * 64,
        "User-Agent": "Boto3/1.44 md/Botocore#1.44 ua/2.1 os/linux lang/python#3.11",
        "amz-sdk-invocation-id": "0b6c5b8e-1111-2222-3333-444455556666",
        "amz-sdk-request": "attempt=1; max=5", "Host": "localhost:8080",
    }  # fmt: skip
    body = b"1.0,2.0,3.0\n" * 50

    def timed(runs: int) -> float:
        start = time.perf_counter()
        for index in range(runs):
            inference = {"X-Amzn-SageMaker-Inference-Id": f"req-{index}"}
            RUNTIME.parse(
                HttpHead.of("POST", "/endpoints/ep-1/invocations", "", {**headers, **inference}),
                body,
            )
        return (time.perf_counter() - start) / runs

    median = statistics.median(timed(500) for _ in range(7))
    assert median < 50e-6, f"InvokeEndpoint parse took {median * 1e6:.1f} us"


ASCII = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30)
PATHS = st.one_of(
    ASCII,
    st.builds("/endpoints/{}/invocations".format, st.text(max_size=70)),
    st.builds("/endpoints/{}/async-invocations".format, ASCII),
)
HEADERS = st.dictionaries(
    st.sampled_from(
        ["Content-Type", "X-Amzn-SageMaker-RequestTTLSeconds", "X-Amzn-SageMaker-InputLocation",
         "X-Amzn-SageMaker-Target-Variant", "X-Amzn-SageMaker-Inference-Id", "Accept"]
    ) | st.text(max_size=10),
    st.text(max_size=40),
    max_size=5,
)  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=st.sampled_from(["POST", "GET", "PUT", "post"]),
    path=PATHS,
    query=ASCII,
    headers=HEADERS,
    body=st.binary(max_size=100),
)
def test_garbage_requests_only_ever_raise_client_errors(
    method: str, path: str, query: str, headers: dict[str, str], body: bytes
) -> None:
    try:
        parsed = RUNTIME.parse(HttpHead.of(method, path, query, headers), body)
    except ServiceError as error:
        assert 400 <= error.status < 500
        RUNTIME.serialize_error(error, "r")
    else:
        assert parsed.name in ("InvokeEndpoint", "InvokeEndpointAsync")

"""awsJson codec tested through botocore itself: we read what boto3 sends; it parses our replies."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from endpointlab.emulator.errors import ServiceError
from endpointlab.emulator.wire import HttpHead, JsonRpcCodec, service_model
from endpointlab.emulator.wire.jsonvalues import JsonShapes, ShapeMismatchError
from tests.unit.test_wire_support import BotoWire, Recorder, SentRequest, json_rpc_server

UTC = datetime.UTC
SAGEMAKER = JsonRpcCodec(service_model("sagemaker"))
CLOUDWATCH = JsonRpcCodec(service_model("cloudwatch"), validation_code="ValidationError")
TARGET = {"X-Amz-Target": "SageMaker.ListEndpoints", "Content-Type": "application/x-amz-json-1.1"}


def post(headers: dict[str, str]) -> HttpHead:
    """An awsJson request's head: POST / with ``headers``."""
    return HttpHead.of("POST", "/", "", headers)


CREATED = datetime.datetime(2018, 6, 24, 19, 59, 29, 986000, tzinfo=UTC)


def sagemaker(reply: Any = None, **config: Any) -> tuple[Any, Recorder, BotoWire]:
    recorder = Recorder(reply)
    wire = BotoWire("sagemaker", json_rpc_server(SAGEMAKER, recorder), **config)
    return wire.client, recorder, wire


def test_create_endpoint_config_arrives_exactly_as_boto3_was_called() -> None:
    client, recorder, _ = sagemaker({"EndpointConfigArn": "arn:aws:sagemaker:::endpoint-config/c"})
    kwargs: dict[str, Any] = {
        "EndpointConfigName": "cfg-1",
        "ProductionVariants": [
            {"VariantName": "AllTraffic", "ModelName": "m1", "InstanceType": "ml.m5.large",
             "InitialInstanceCount": 2, "InitialVariantWeight": 0.75},
            {"VariantName": "sls", "ModelName": "m2",
             "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 20}},
        ],
        "AsyncInferenceConfig": {"OutputConfig": {"S3OutputPath": "s3://bucket/out"}},
        "Tags": [{"Key": "team", "Value": "ml"}],
    }  # fmt: skip
    reply = client.create_endpoint_config(**kwargs)
    assert reply["EndpointConfigArn"] == "arn:aws:sagemaker:::endpoint-config/c"
    assert recorder.calls == [("CreateEndpointConfig", kwargs)]


def test_describe_endpoint_timestamps_come_back_as_the_datetimes_we_sent() -> None:
    modified = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    result = {
        "EndpointName": "ep", "EndpointArn": "arn:aws:sagemaker:us-east-1:1:endpoint/ep",
        "EndpointConfigName": "cfg", "EndpointStatus": "InService",
        "CreationTime": CREATED, "LastModifiedTime": modified,
        "ProductionVariants": [{"VariantName": "AllTraffic", "CurrentInstanceCount": 1,
                                "DeployedImages": [{"ResolutionTime": modified}]}],
        "NotInTheModel": "dropped",
    }  # fmt: skip
    client, recorder, _ = sagemaker(result)
    reply = client.describe_endpoint(EndpointName="ep")
    assert recorder.calls == [("DescribeEndpoint", {"EndpointName": "ep"})]
    assert reply["CreationTime"] == CREATED
    assert reply["LastModifiedTime"] == modified
    assert reply["ProductionVariants"][0]["DeployedImages"][0]["ResolutionTime"] == modified
    assert "NotInTheModel" not in reply
    assert reply["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/x-amz-json-1.1"


def test_timestamps_are_written_as_epoch_seconds_with_milliseconds() -> None:
    response = SAGEMAKER.serialize("DescribeEndpoint", {"CreationTime": CREATED}, request_id="r")
    assert response.body == b'{"CreationTime":1529870369.986}'
    assert response.header("x-amzn-RequestId") == "r"


def test_strict_output_refuses_unmodeled_members() -> None:
    strict = JsonRpcCodec(service_model("sagemaker"), strict_output=True)
    with pytest.raises(ValueError, match="NotInTheModel"):
        strict.serialize("DescribeEndpoint", {"EndpointName": "ep", "NotInTheModel": 1})


def test_list_endpoints_filters_and_pages() -> None:
    summary = {"EndpointName": "a", "EndpointArn": "arn:a", "CreationTime": CREATED,
               "LastModifiedTime": CREATED, "EndpointStatus": "Creating"}  # fmt: skip
    page = {"Endpoints": [summary], "NextToken": "t2"}
    client, recorder, wire = sagemaker(page)
    after = datetime.datetime(2024, 1, 1, tzinfo=UTC)
    reply = client.list_endpoints(CreationTimeAfter=after, MaxResults=5, StatusEquals="Creating")
    assert recorder.calls == [
        ("ListEndpoints", {"CreationTimeAfter": after, "MaxResults": 5, "StatusEquals": "Creating"})
    ]
    assert json.loads(wire.requests[0].body)["CreationTimeAfter"] == 1704067200
    assert reply["Endpoints"][0]["CreationTime"] == CREATED
    assert reply["NextToken"] == "t2"


def test_timestamps_may_also_arrive_as_iso_strings_or_fractional_epochs() -> None:
    for raw, expected in [
        ('"2024-01-01T00:00:00Z"', datetime.datetime(2024, 1, 1, tzinfo=UTC)),
        ("1529870369.986", CREATED),
    ]:
        parsed = SAGEMAKER.parse(post(TARGET), f'{{"CreationTimeAfter": {raw}}}'.encode())
        assert parsed.params["CreationTimeAfter"] == expected


def test_validation_failures_reach_boto3_as_validation_exception() -> None:
    client, recorder, _ = sagemaker({"EndpointConfigArn": "unused"})
    variant = {"VariantName": "v", "ModelName": "m",
               "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 500}}  # fmt: skip
    with pytest.raises(ClientError) as caught:
        client.create_endpoint_config(EndpointConfigName="c", ProductionVariants=[variant])
    assert caught.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": "1 validation error detected: Value '500' at "
        "'productionVariants.1.member.serverlessConfig.maxConcurrency' failed to satisfy "
        "constraint: Member must have value less than or equal to 200",
    }
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert recorder.calls == []


def test_service_errors_become_client_errors_with_code_message_and_modeled_class() -> None:
    client, _, _ = sagemaker(ServiceError("ResourceNotFound", "Resource not found."))
    with pytest.raises(client.exceptions.ResourceNotFound) as modeled:
        client.describe_endpoint(EndpointName="ep")
    assert modeled.value.response["Error"] == {
        "Code": "ResourceNotFound",
        "Message": "Resource not found.",
    }
    message = 'Could not find endpoint "arn:aws:sagemaker:us-east-1:1:endpoint/ep".'
    client, _, _ = sagemaker(ServiceError("ValidationException", message))
    with pytest.raises(ClientError) as unmodeled:
        client.describe_endpoint(EndpointName="ep")
    assert unmodeled.value.response["Error"] == {"Code": "ValidationException", "Message": message}
    assert unmodeled.value.response["ResponseMetadata"]["RequestId"] == "req-1"


def test_server_faults_keep_their_status() -> None:
    client, _, _ = sagemaker(
        ServiceError("InternalFailure", "boom", status=500, sender_fault=False)
    )
    with pytest.raises(ClientError) as caught:
        client.list_endpoints()
    assert caught.value.response["Error"]["Code"] == "InternalFailure"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


def test_wrong_json_types_are_coral_serialization_exceptions() -> None:
    client, recorder, _ = sagemaker(parameter_validation=False)
    cases = [
        ({"EndpointName": 5}, "describe_endpoint",
         "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted "
         "to an String"),
        ({"MaxResults": "ten"}, "list_endpoints",
         "class java.lang.String can not be converted to an Integer"),
        ({"MaxResults": True}, "list_endpoints",
         "class java.lang.Boolean can not be converted to an Integer"),
        ({"EndpointName": ["x"]}, "describe_endpoint", "Start of list found where not expected"),
    ]  # fmt: skip
    for kwargs, method, message in cases:
        with pytest.raises(ClientError) as caught:
            getattr(client, method)(**kwargs)
        assert caught.value.response["Error"] == {
            "Code": "SerializationException",
            "Message": message,
        }
    assert recorder.calls == []
    create = {**TARGET, "X-Amz-Target": "SageMaker.CreateEndpointConfig"}
    for body, message in [
        (
            b'{"ProductionVariants": {"a": 1}}',
            "Start of structure or map found where not expected.",
        ),
        (b'{"ProductionVariants": "v"}', "Expected list or null"),
        (b'{"ProductionVariants": ["v"]}', "Expected null"),
        (b"[1, 2]", "Start of list found where not expected"),
    ]:
        with pytest.raises(ServiceError) as raw:
            SAGEMAKER.parse(post(create), body)
        assert (raw.value.code, raw.value.message) == ("SerializationException", message)


def test_coral_front_end_errors_on_the_wire() -> None:
    def error_of(headers: dict[str, str], body: bytes) -> ServiceError:
        with pytest.raises(ServiceError) as caught:
            SAGEMAKER.parse(post(headers), body)
        return caught.value

    unknown = error_of({**TARGET, "X-Amz-Target": "SageMaker.NoSuchThing"}, b"{}")
    assert (unknown.code, unknown.status, unknown.message) == ("UnknownOperationException", 400, "")
    assert error_of({"Content-Type": "application/x-amz-json-1.1"}, b"{}").code == unknown.code
    assert error_of({**TARGET, "X-Amz-Target": "Other.ListEndpoints"}, b"{}").code == unknown.code
    assert error_of(TARGET, b"{not json").code == "SerializationException"
    assert error_of(TARGET, b"").code == "SerializationException"
    assert error_of(TARGET, b'{"MaxResults": NaN}').code == "SerializationException"
    assert error_of(TARGET, b"\xff\xfe{}").code == "SerializationException"
    # Coral reads the body before it looks at the target.
    assert error_of({"X-Amz-Target": "Nope.Nope"}, b"{oops").code == "SerializationException"
    wire = SAGEMAKER.serialize_error(unknown, "r-1")
    assert wire.body == b'{"__type":"com.amazon.coral.service#UnknownOperationException"}'
    assert wire.status == 400


def test_boto3_reads_coral_framework_errors_with_their_short_code() -> None:
    def handler(_: SentRequest) -> Any:
        return SAGEMAKER.serialize_error(ServiceError("UnknownOperationException", ""), "r")

    client = BotoWire("sagemaker", handler).client
    with pytest.raises(ClientError) as caught:
        client.list_endpoints()
    assert caught.value.response["Error"] == {"Code": "UnknownOperationException", "Message": ""}


def test_query_compatible_services_send_the_query_error_header() -> None:
    error = ServiceError("InvalidParameterValue", "The value -1 is not valid.")
    recorder = Recorder(error)
    client = BotoWire("cloudwatch", json_rpc_server(CLOUDWATCH, recorder)).client
    with pytest.raises(client.exceptions.InvalidParameterValueException) as caught:
        client.list_metrics()
    assert caught.value.response["Error"] == {
        "Code": "InvalidParameterValue",
        "Message": "The value -1 is not valid.",
        "QueryErrorCode": "InvalidParameterValueException",
        "Type": "Sender",
    }
    wire = CLOUDWATCH.serialize_error(error, "r")
    assert wire.header("x-amzn-query-error") == "InvalidParameterValue;Sender"
    assert json.loads(wire.body)["__type"] == "InvalidParameterValueException"
    unmodeled = CLOUDWATCH.serialize_error(ServiceError("Throttling", "Rate exceeded"), "r")
    assert unmodeled.header("x-amzn-query-error") == "Throttling;Sender"
    assert SAGEMAKER.serialize_error(error, "r").header("x-amzn-query-error") is None


def test_cloudwatch_json_1_0_and_gzip_compressed_put_metric_data() -> None:
    recorder = Recorder()
    wire = BotoWire("cloudwatch", json_rpc_server(CLOUDWATCH, recorder))
    stamp = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    data = [
        {"MetricName": f"Invocations{i}", "Value": float(i), "Unit": "Count", "Timestamp": stamp,
         "Dimensions": [{"Name": "EndpointName", "Value": "ep"}]}
        for i in range(120)
    ]  # fmt: skip
    reply = wire.client.put_metric_data(Namespace="AWS/SageMaker", MetricData=data)
    assert wire.requests[0].headers.get("Content-Encoding") == "gzip"
    assert recorder.calls == [("PutMetricData", {"Namespace": "AWS/SageMaker", "MetricData": data})]
    assert reply["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/x-amz-json-1.0"


def test_blobs_are_base64_both_ways_with_corals_messages() -> None:
    codec = JsonRpcCodec(service_model("cloudwatch"))
    client = BotoWire(
        "cloudwatch", json_rpc_server(codec, lambda *_: {"MetricWidgetImage": b"\x89PNG\x00"})
    ).client
    assert client.get_metric_widget_image(MetricWidget="{}")["MetricWidgetImage"] == b"\x89PNG\x00"
    blob = service_model("cloudwatch").shape_for("MetricWidgetImage")
    values = JsonShapes()
    assert values.decode(blob, "iVBORw==") == b"\x89PNG"
    for text, problem in [
        ("abc", "Base64 encoded length is expected a multiple of 4 bytes but found: 3"),
        ("ab$=", "Invalid Base64 character: '$'"),
        ("iVBORx==", "Invalid last non-pad Base64 character dectected"),
    ]:
        with pytest.raises(ShapeMismatchError) as caught:
            values.decode(blob, text)
        assert str(caught.value) == f"'{text}' can not be converted to a Blob: {problem}"


def test_application_auto_scaling_speaks_json_1_1_too() -> None:
    codec = JsonRpcCodec(service_model("application-autoscaling"))
    recorder = Recorder({"ScalableTargetARN": "arn:aas"})
    client = BotoWire("application-autoscaling", json_rpc_server(codec, recorder)).client
    kwargs = {
        "ServiceNamespace": "sagemaker",
        "ResourceId": "endpoint/ep/variant/AllTraffic",
        "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
        "MinCapacity": 1,
        "MaxCapacity": 4,
    }
    assert client.register_scalable_target(**kwargs)["ScalableTargetARN"] == "arn:aas"
    assert recorder.calls == [("RegisterScalableTarget", kwargs)]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
MEMBER_NAMES = st.sampled_from(
    ["EndpointConfigName", "ProductionVariants", "VariantName", "Tags", "MaxResults", "Key"]
)
DOCUMENTS = st.dictionaries(MEMBER_NAMES, JSON, max_size=4)
TARGETS = st.sampled_from(
    ["SageMaker.CreateEndpointConfig", "SageMaker.ListEndpoints", "SageMaker.CreateModel", "x", ""]
)


def _only_client_errors(headers: dict[str, str], body: bytes) -> None:
    try:
        SAGEMAKER.parse(post(headers), body)
    except ServiceError as error:
        assert 400 <= error.status < 500
        SAGEMAKER.serialize_error(error, "r")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.binary(max_size=200),
    target=TARGETS,
    headers=st.dictionaries(st.text(max_size=20), st.text(max_size=20), max_size=4),
)
def test_garbage_bytes_and_headers_only_ever_raise_client_errors(
    body: bytes, target: str, headers: dict[str, str]
) -> None:
    _only_client_errors({**headers, "X-Amz-Target": target}, body)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=DOCUMENTS | JSON, target=TARGETS, gzip=st.booleans())
def test_arbitrary_json_documents_only_ever_raise_client_errors(
    document: Any, target: str, gzip: bool
) -> None:
    headers = {"X-Amz-Target": target}
    if gzip:
        headers["Content-Encoding"] = "gzip"
    _only_client_errors(headers, json.dumps(document).encode())

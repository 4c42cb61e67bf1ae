"""The Smithy rpc-v2-cbor codec (emulator/wire/cbor.py) against botocore's RpcV2CBORSerializer
and parser: the operation path, timestamps as CBOR tag 1, replies and errors (``__type`` plus
the query-compatible ``x-amzn-query-error`` header) as botocore reads them."""

from __future__ import annotations

import datetime
import gzip
import struct
from typing import Any

import cbor2
import pytest
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from endpointlab.emulator.errors import ServiceError
from endpointlab.emulator.wire import CborCodec, HttpHead, service_model
from endpointlab.emulator.wire.exchange import WireResponse

UTC = datetime.UTC
CLOUDWATCH = service_model("cloudwatch")
CODEC = CborCodec(CLOUDWATCH, validation_code="ValidationError")


def request(operation: str, params: dict[str, Any]) -> dict[str, Any]:
    serialized: dict[str, Any] = create_serializer("smithy-rpc-v2-cbor").serialize_to_request(
        params, CLOUDWATCH.operation_model(operation)
    )
    return serialized


def parse(operation: str, response: WireResponse) -> dict[str, Any]:
    headers = {k.lower(): v for k, v in response.headers}
    parsed: dict[str, Any] = create_parser("smithy-rpc-v2-cbor").parse(
        {"status_code": response.status, "headers": headers, "body": response.body},
        CLOUDWATCH.operation_model(operation).output_shape,
    )
    return parsed


QUERY = {
    "MetricDataQueries": [
        {
            "Id": "m1",
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/SageMaker",
                    "MetricName": "ModelLatency",
                    "Dimensions": [{"Name": "EndpointName", "Value": "ep"}],
                },
                "Period": 60,
                "Stat": "p99",
            },
            "ReturnData": False,
        },
        {"Id": "e1", "Expression": "m1 / 1000", "Label": "ms"},
    ],
    "StartTime": datetime.datetime(2026, 1, 2, 3, 0, tzinfo=UTC),
    "EndTime": datetime.datetime(2026, 1, 2, 4, 0, 0, 250000, tzinfo=UTC),
    "ScanBy": "TimestampAscending",
    "MaxDatapoints": 10,
}


def test_a_request_decodes_to_what_botocore_was_given() -> None:
    sent = request("GetMetricData", QUERY)
    assert sent["url_path"] == "/service/GraniteServiceVersion20100801/operation/GetMetricData"
    assert sent["headers"]["smithy-protocol"] == "rpc-v2-cbor"
    assert sent["headers"]["x-amzn-query-mode"] == "true"
    assert CODEC.claims_path(sent["url_path"])
    parsed = CODEC.parse(HttpHead.of("POST", sent["url_path"], "", sent["headers"]), sent["body"])
    assert parsed.name == "GetMetricData"
    assert parsed.params == QUERY


def test_gzip_and_empty_bodies() -> None:
    sent = request("GetMetricData", QUERY)
    headers = {**sent["headers"], "Content-Encoding": "gzip"}
    assert (
        CODEC.parse(
            HttpHead.of("POST", sent["url_path"], "", headers), gzip.compress(sent["body"])
        ).params
        == QUERY
    )
    listed = CODEC.parse(HttpHead.of("POST", CODEC.path_prefix + "ListMetrics"), b"")
    assert (listed.name, listed.params) == ("ListMetrics", {})


def test_a_reply_parses_as_botocore_reads_it() -> None:
    result = {
        "MetricDataResults": [
            {
                "Id": "e1",
                "Label": "ms",
                "Timestamps": [
                    datetime.datetime(2026, 1, 2, 3, 0, tzinfo=UTC),
                    datetime.datetime(2026, 1, 2, 3, 1, 0, 500000, tzinfo=UTC),
                ],
                "Values": [1.25, 0.0],
                "StatusCode": "Complete",
                "Messages": [],
            }
        ],
        "Messages": [],
        "NextToken": "abc",
    }
    response = CODEC.serialize("GetMetricData", result, request_id="rid-1")
    assert ("smithy-protocol", "rpc-v2-cbor") in response.headers
    assert ("Content-Type", "application/cbor") in response.headers
    # Tag 1 (0xc1) around epoch seconds: an integer, or a float64 (0xfb) when sub-second.
    assert b"\xc1\x1a" + (1767322800).to_bytes(4, "big") in response.body
    assert b"\xc1\xfb" + struct.pack(">d", 1767322860.5) in response.body
    parsed = parse("GetMetricData", response)
    assert parsed["ResponseMetadata"]["RequestId"] == "rid-1"
    del parsed["ResponseMetadata"]
    assert parsed == result


def test_errors_carry_type_message_and_query_code() -> None:
    error = ServiceError(
        "InvalidParameterCombination", "Must specify either Statistics or ExtendedStatistics"
    )
    response = CODEC.serialize_error(error, "rid-2")
    assert response.status == 400
    assert response.header("x-amzn-query-error") == "InvalidParameterCombination;Sender"
    assert cbor2.loads(response.body)["__type"] == "InvalidParameterCombinationException"
    parsed = parse("GetMetricStatistics", response)
    assert parsed["Error"]["Code"] == "InvalidParameterCombination"
    assert parsed["Error"]["QueryErrorCode"] == "InvalidParameterCombinationException"
    assert parsed["Error"]["Message"] == "Must specify either Statistics or ExtendedStatistics"


OP = "/service/GraniteServiceVersion20100801/operation/"


@pytest.mark.parametrize(
    ("path", "body", "code", "status"),
    [
        (OP + "Nope", b"", "UnknownOperationException", 404),
        (OP + "ListMetrics", b"\xff\x00", "SerializationException", 400),
        (OP + "ListMetrics", cbor2.dumps({"Namespace": 5}), "SerializationException", 400),
        (OP + "ListMetrics", cbor2.dumps([1]), "SerializationException", 400),
        (OP + "ListMetrics", cbor2.dumps({"Namespace": ""}), "ValidationError", 400),
    ],
)
def test_bad_requests(path: str, body: bytes, code: str, status: int) -> None:
    with pytest.raises(ServiceError) as caught:
        CODEC.parse(HttpHead.of("POST", path, "", {"smithy-protocol": "rpc-v2-cbor"}), body)
    assert (caught.value.code, caught.value.status) == (code, status)

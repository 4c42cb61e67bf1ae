"""The awsQuery codec (emulator/wire/query.py) against botocore's own QuerySerializer and
QueryParser: requests decode to the parameters botocore was given, replies and errors parse back
as botocore reads them; also a synthetic model with flattened lists, maps, booleans and blobs."""

from __future__ import annotations

import datetime
import gzip
from typing import Any
from urllib.parse import urlencode

import pytest
from botocore.model import ServiceModel
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from endpointlab.emulator.errors import ServiceError
from endpointlab.emulator.wire import HttpHead, QueryCodec, service_model
from endpointlab.emulator.wire.exchange import WireResponse

UTC = datetime.UTC
FORM = {"content-type": "application/x-www-form-urlencoded; charset=utf-8"}
CLOUDWATCH = service_model("cloudwatch")
CODEC = QueryCodec(CLOUDWATCH)


def encode(model: ServiceModel, operation: str, params: dict[str, Any]) -> bytes:
    request = create_serializer("query").serialize_to_request(
        params, model.operation_model(operation)
    )
    return urlencode(request["body"]).encode()


def parse(model: ServiceModel, operation: str, response: WireResponse) -> dict[str, Any]:
    parsed: dict[str, Any] = create_parser("query").parse(
        {"status_code": response.status, "headers": dict(response.headers), "body": response.body},
        model.operation_model(operation).output_shape,
    )
    return parsed


PUT = {
    "Namespace": "Shop/Orders",
    "MetricData": [
        {
            "MetricName": "Latency",
            "Dimensions": [{"Name": "Host", "Value": "a"}, {"Name": "Az", "Value": "b"}],
            "Timestamp": datetime.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
            "Values": [1.5, 2.0, 1e-9],
            "Counts": [1.0, 3.0, 1.0],
            "Unit": "Milliseconds",
            "StorageResolution": 1,
        },
        {
            "MetricName": "Orders",
            "StatisticValues": {"SampleCount": 3.0, "Sum": 7.0, "Minimum": 1.0, "Maximum": 4.0},
        },
        {"MetricName": "Zero", "Value": 0.0},
    ],
}


def test_a_request_decodes_to_what_botocore_was_given() -> None:
    parsed = CODEC.parse(
        HttpHead.of("POST", "/", "", FORM), encode(CLOUDWATCH, "PutMetricData", PUT)
    )
    assert parsed.name == "PutMetricData"
    assert parsed.params == PUT


def test_gzip_bodies_and_query_string_parameters() -> None:
    body = gzip.compress(encode(CLOUDWATCH, "PutMetricData", PUT))
    parsed = CODEC.parse(HttpHead.of("POST", "/", "", {**FORM, "content-encoding": "gzip"}), body)
    assert parsed.params == PUT
    listed = CODEC.parse(
        HttpHead.of("GET", "/", "Action=ListMetrics&Version=2010-08-01&Namespace=X"), b""
    )
    assert (listed.name, listed.params) == ("ListMetrics", {"Namespace": "X"})


def test_empty_lists_decode_as_empty() -> None:
    body = encode(CLOUDWATCH, "ListMetrics", {"Dimensions": []})
    assert b"Dimensions=" in body
    assert CODEC.parse(HttpHead.of("POST", "/", "", FORM), body).params == {"Dimensions": []}


def test_a_reply_parses_as_botocore_reads_it() -> None:
    result = {
        "Label": "Latency",
        "Datapoints": [
            {
                "Timestamp": datetime.datetime(2026, 1, 2, 3, 4, tzinfo=UTC),
                "SampleCount": 5.0,
                "Average": 0.1,
                "Unit": "Milliseconds",
                "ExtendedStatistics": {"p99": 12.5, "p99.9": 1e-7},
            }
        ],
    }
    response = CODEC.serialize("GetMetricStatistics", result, request_id="rid-1")
    assert response.status == 200
    assert response.body.startswith(
        b'<GetMetricStatisticsResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/">'
        b"<GetMetricStatisticsResult>"
    )
    parsed = parse(CLOUDWATCH, "GetMetricStatistics", response)
    assert parsed["ResponseMetadata"]["RequestId"] == "rid-1"
    del parsed["ResponseMetadata"]
    assert parsed == result


def test_an_operation_without_output_still_answers_its_request_id() -> None:
    response = CODEC.serialize("PutMetricData", {}, request_id="rid-2")
    assert response.body == (
        b'<PutMetricDataResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/">'
        b"<ResponseMetadata><RequestId>rid-2</RequestId></ResponseMetadata>"
        b"</PutMetricDataResponse>"
    )


def test_errors_carry_the_query_code_and_fault_side() -> None:
    error = ServiceError(
        "InvalidParameterValue", "The value AWS/ for parameter Namespace is invalid."
    )
    response = CODEC.serialize_error(error, "rid-3")
    assert response.status == 400
    parsed = parse(CLOUDWATCH, "PutMetricData", response)
    assert parsed["Error"] == {
        "Type": "Sender",
        "Code": "InvalidParameterValue",
        "Message": "The value AWS/ for parameter Namespace is invalid.",
    }
    assert parsed["ResponseMetadata"]["RequestId"] == "rid-3"
    internal = CODEC.serialize_error(
        ServiceError("InternalFailure", "boom", status=500, sender_fault=False)
    )
    assert parse(CLOUDWATCH, "PutMetricData", internal)["Error"]["Type"] == "Receiver"


@pytest.mark.parametrize(
    ("query", "body", "code"),
    [
        ("", b"Version=2010-08-01", "MissingAction"),
        ("", b"Action=Nope&Version=2010-08-01", "InvalidAction"),
        ("", b"Action=GetMetricStatistics&Period=abc", "InvalidParameterValue"),
        ("", b"Action=ListMetrics&Namespace=" + b"x" * 300, "ValidationError"),
        ("", b"Action=PutMetricData", "ValidationError"),  # Namespace is required
    ],
)
def test_bad_requests(query: str, body: bytes, code: str) -> None:
    with pytest.raises(ServiceError) as caught:
        CODEC.parse(HttpHead.of("POST", "/", query, FORM), body)
    assert caught.value.code == code


SYNTHETIC = ServiceModel(
    {
        "metadata": {
            "protocol": "query",
            "apiVersion": "2020-01-01",
            "xmlNamespace": "urn:test",
            "serviceId": "Synthetic",
            "endpointPrefix": "synthetic",
            "signatureVersion": "v4",
        },
        "operations": {
            "Echo": {
                "name": "Echo",
                "http": {"method": "POST", "requestUri": "/"},
                "input": {"shape": "Thing"},
                "output": {"shape": "Thing", "resultWrapper": "EchoResult"},
            }
        },
        "shapes": {
            "Thing": {
                "type": "structure",
                "members": {
                    "Flat": {"shape": "FlatList"},
                    "Named": {"shape": "NamedList"},
                    "Tags": {"shape": "TagMap"},
                    "FlatTags": {"shape": "FlatMap"},
                    "On": {"shape": "Bool"},
                    "Data": {"shape": "Blob"},
                    "Count": {"shape": "Long"},
                    "Renamed": {"shape": "Str", "locationName": "OtherName"},
                },
            },
            "FlatList": {"type": "list", "member": {"shape": "Str"}, "flattened": True},
            "NamedList": {"type": "list", "member": {"shape": "Str", "locationName": "item"}},
            "TagMap": {"type": "map", "key": {"shape": "Str"}, "value": {"shape": "Str"}},
            "FlatMap": {
                "type": "map",
                "key": {"shape": "Str", "locationName": "K"},
                "value": {"shape": "Str", "locationName": "V"},
                "flattened": True,
            },
            "Str": {"type": "string"},
            "Bool": {"type": "boolean"},
            "Blob": {"type": "blob"},
            "Long": {"type": "long"},
        },
    },
    service_name="synthetic",
)


def test_flattened_lists_maps_booleans_and_blobs_round_trip() -> None:
    thing = {
        "Flat": ["a", "b"],
        "Named": ["c"],
        "Tags": {"k1": "v1", "k2": "v2"},
        "FlatTags": {"x": "y"},
        "On": False,
        "Data": b"\x00\xffbytes",
        "Count": 2**40,
        "Renamed": "r",
    }
    codec = QueryCodec(SYNTHETIC)
    parsed = codec.parse(HttpHead.of("POST", "/", "", FORM), encode(SYNTHETIC, "Echo", thing))
    assert parsed.params == thing
    echoed = parse(SYNTHETIC, "Echo", codec.serialize("Echo", thing))
    del echoed["ResponseMetadata"]
    assert echoed == thing

"""Operation + parameters -> IAM action and resource ARN (emulator/auth/actions.py)."""

from __future__ import annotations

from typing import Any

import pytest

from endpointlab.emulator.auth import Check, access_checks

SM = "arn:aws:sagemaker:eu-west-1:123456789012"

TABLE: list[tuple[str, str, dict[str, Any], tuple[tuple[str, str], ...]]] = [
    (
        "sagemaker",
        "CreateModel",
        {"ModelName": "My-Model"},
        (("sagemaker:CreateModel", f"{SM}:model/my-model"),),
    ),
    (
        "sagemaker",
        "DeleteEndpointConfig",
        {"EndpointConfigName": "Cfg"},
        (("sagemaker:DeleteEndpointConfig", f"{SM}:endpoint-config/cfg"),),
    ),
    (
        "sagemaker",
        "CreateEndpoint",
        {"EndpointName": "EP", "EndpointConfigName": "cfg"},
        (
            ("sagemaker:CreateEndpoint", f"{SM}:endpoint/ep"),
            ("sagemaker:CreateEndpoint", f"{SM}:endpoint-config/cfg"),
        ),
    ),
    (
        "sagemaker",
        "DescribeEndpoint",
        {"EndpointName": "ep"},
        (("sagemaker:DescribeEndpoint", f"{SM}:endpoint/ep"),),
    ),
    ("sagemaker", "ListEndpoints", {}, (("sagemaker:ListEndpoints", "*"),)),
    (
        "sagemaker",
        "AddTags",
        {"ResourceArn": f"{SM}:endpoint/ep", "Tags": []},
        (("sagemaker:AddTags", f"{SM}:endpoint/ep"),),
    ),
    (
        "sagemaker-runtime",
        "InvokeEndpoint",
        {"EndpointName": "Prod", "Body": b""},
        (("sagemaker:InvokeEndpoint", f"{SM}:endpoint/prod"),),
    ),
    (
        "sagemaker-runtime",
        "InvokeEndpointWithResponseStream",
        {"EndpointName": "p"},
        (("sagemaker:InvokeEndpoint", f"{SM}:endpoint/p"),),
    ),
    (
        "sagemaker-runtime",
        "InvokeEndpointAsync",
        {"EndpointName": "p"},
        (("sagemaker:InvokeEndpointAsync", f"{SM}:endpoint/p"),),
    ),
    (
        "cloudwatch",
        "GetMetricData",
        {"MetricDataQueries": []},
        (("cloudwatch:GetMetricData", "*"),),
    ),
    ("cloudwatch", "PutMetricData", {"Namespace": "x"}, (("cloudwatch:PutMetricData", "*"),)),
    (
        "cloudwatch",
        "PutMetricAlarm",
        {"AlarmName": "high"},
        (("cloudwatch:PutMetricAlarm", "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:high"),),
    ),
    (
        "cloudwatch",
        "DeleteAlarms",
        {"AlarmNames": ["a", "b"]},
        (
            ("cloudwatch:DeleteAlarms", "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:a"),
            ("cloudwatch:DeleteAlarms", "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:b"),
        ),
    ),
    (
        "application-autoscaling",
        "RegisterScalableTarget",
        {"ResourceId": "endpoint/x"},
        (("application-autoscaling:RegisterScalableTarget", "*"),),
    ),
    (
        "s3",
        "GetObject",
        {"Bucket": "b", "Key": "a/b c.txt"},
        (("s3:GetObject", "arn:aws:s3:::b/a/b c.txt"),),
    ),
    (
        "s3",
        "GetObject",
        {"Bucket": "b", "Key": "k", "VersionId": "3"},
        (("s3:GetObjectVersion", "arn:aws:s3:::b/k"),),
    ),
    ("s3", "HeadObject", {"Bucket": "b", "Key": "k"}, (("s3:GetObject", "arn:aws:s3:::b/k"),)),
    ("s3", "PutObject", {"Bucket": "b", "Key": "k"}, (("s3:PutObject", "arn:aws:s3:::b/k"),)),
    ("s3", "ListObjectsV2", {"Bucket": "b"}, (("s3:ListBucket", "arn:aws:s3:::b"),)),
    ("s3", "HeadBucket", {"Bucket": "b"}, (("s3:ListBucket", "arn:aws:s3:::b"),)),
    ("s3", "CreateBucket", {"Bucket": "b"}, (("s3:CreateBucket", "arn:aws:s3:::b"),)),
    ("s3", "ListBuckets", {}, (("s3:ListAllMyBuckets", "*"),)),
    (
        "s3",
        "CompleteMultipartUpload",
        {"Bucket": "b", "Key": "k", "UploadId": "u"},
        (("s3:PutObject", "arn:aws:s3:::b/k"),),
    ),
    (
        "s3",
        "CopyObject",
        {"Bucket": "b", "Key": "k", "CopySource": "src/a%20b?versionId=7"},
        (("s3:PutObject", "arn:aws:s3:::b/k"), ("s3:GetObjectVersion", "arn:aws:s3:::src/a b")),
    ),
    (
        "s3",
        "DeleteObjects",
        {"Bucket": "b", "Delete": {"Objects": [{"Key": "x"}, {"Key": "y"}]}},
        (("s3:DeleteObject", "arn:aws:s3:::b/x"), ("s3:DeleteObject", "arn:aws:s3:::b/y")),
    ),
]


@pytest.mark.parametrize(("service", "operation", "params", "expected"), TABLE)
def test_operations_map_to_actions_and_resources(
    service: str, operation: str, params: dict[str, Any], expected: tuple[tuple[str, str], ...]
) -> None:
    checks = access_checks(service, operation, params, "eu-west-1")
    assert checks == tuple(Check(action, resource) for action, resource in expected)

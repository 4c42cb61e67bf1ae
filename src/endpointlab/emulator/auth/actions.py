"""Which IAM action and resource ARN each operation needs, per service, from its parameters.

SageMaker hosting resources are ``arn:aws:sagemaker:<region>:<account>:endpoint/<name>`` with
the name lower-cased (model/, endpoint-config/ alike); the runtime's actions are ``sagemaker:``
too (InvokeEndpointWithResponseStream needs ``sagemaker:InvokeEndpoint``). S3 maps operations to
its own action names (ListObjectsV2 -> ``s3:ListBucket``). Actions without resource-level
permissions (List*, CloudWatch metrics) are checked against ``*``; STS GetCallerIdentity needs
none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from endpointlab.emulator.records import ACCOUNT_ID, ResourceKind, arn

ANY = "*"
IAM_PREFIX = {
    "sagemaker": "sagemaker",
    "sagemaker-runtime": "sagemaker",
    "cloudwatch": "cloudwatch",
    "application-autoscaling": "application-autoscaling",
    "s3": "s3",
    "sts": "sts",
}
# SageMaker operations whose resources are named by their parameters: (kind, member).
_MODEL = ((ResourceKind.MODEL, "ModelName"),)
_CONFIG = ((ResourceKind.ENDPOINT_CONFIG, "EndpointConfigName"),)
_ENDPOINT = ((ResourceKind.ENDPOINT, "EndpointName"),)
_SAGEMAKER: Mapping[str, tuple[tuple[ResourceKind, str], ...]] = {
    **dict.fromkeys(("CreateModel", "DescribeModel", "DeleteModel"), _MODEL),
    **dict.fromkeys(
        ("CreateEndpointConfig", "DescribeEndpointConfig", "DeleteEndpointConfig"), _CONFIG
    ),
    **dict.fromkeys(
        ("DescribeEndpoint", "DeleteEndpoint", "UpdateEndpointWeightsAndCapacities"), _ENDPOINT
    ),
    **dict.fromkeys(("CreateEndpoint", "UpdateEndpoint"), _ENDPOINT + _CONFIG),
}
_RUNTIME_ACTIONS = {
    "InvokeEndpoint": "sagemaker:InvokeEndpoint",
    "InvokeEndpointWithResponseStream": "sagemaker:InvokeEndpoint",
    "InvokeEndpointAsync": "sagemaker:InvokeEndpointAsync",
}
_CLOUDWATCH_ALARMS = ("PutMetricAlarm", "SetAlarmState", "DescribeAlarmHistory")
_CLOUDWATCH_ALARM_LISTS = ("DeleteAlarms", "EnableAlarmActions", "DisableAlarmActions")
_S3_ACTIONS = {
    "HeadObject": "s3:GetObject",
    "CopyObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "UploadPartCopy": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "DeleteObjects": "s3:DeleteObject",
    "ListObjects": "s3:ListBucket",
    "ListObjectsV2": "s3:ListBucket",
    "HeadBucket": "s3:ListBucket",
    "ListObjectVersions": "s3:ListBucketVersions",
    "ListBuckets": "s3:ListAllMyBuckets",
    "ListMultipartUploads": "s3:ListBucketMultipartUploads",
    "ListParts": "s3:ListMultipartUploadParts",
}
_S3_VERSIONED = {
    "GetObject": "s3:GetObjectVersion",
    "HeadObject": "s3:GetObjectVersion",
    "DeleteObject": "s3:DeleteObjectVersion",
}


@dataclass(frozen=True)
class Check:
    """One thing a request needs: ``action`` on ``resource`` (an ARN or ``*``)."""

    action: str
    resource: str


def access_checks(
    service: str, operation: str, params: Mapping[str, Any], region: str
) -> tuple[Check, ...]:
    """Every action/resource pair ``operation`` of botocore service ``service`` needs."""
    if service == "sagemaker":
        return _sagemaker(operation, params, region)
    if service == "sagemaker-runtime":
        action = _RUNTIME_ACTIONS.get(operation, f"sagemaker:{operation}")
        name = params.get("EndpointName")
        resource = arn(region, ResourceKind.ENDPOINT, name) if isinstance(name, str) else ANY
        return (Check(action, resource),)
    if service == "cloudwatch":
        return _cloudwatch(operation, params, region)
    if service == "s3":
        return _s3(operation, params)
    if service == "sts" and operation == "GetCallerIdentity":
        return ()  # needs no permission; even an explicit Deny does not stop it (IAM docs)
    prefix = IAM_PREFIX.get(service, service)
    return (Check(f"{prefix}:{operation}", _tagged_resource(params)),)


def _sagemaker(operation: str, params: Mapping[str, Any], region: str) -> tuple[Check, ...]:
    action = f"sagemaker:{operation}"
    named = _SAGEMAKER.get(operation)
    if named is None:
        return (Check(action, _tagged_resource(params)),)
    return tuple(
        Check(action, arn(region, kind, str(params[member])))
        for kind, member in named
        if isinstance(params.get(member), str)
    ) or (Check(action, ANY),)


def _cloudwatch(operation: str, params: Mapping[str, Any], region: str) -> tuple[Check, ...]:
    action = f"cloudwatch:{operation}"
    names: list[str] = []
    if operation in _CLOUDWATCH_ALARMS and isinstance(params.get("AlarmName"), str):
        names = [params["AlarmName"]]
    elif operation in _CLOUDWATCH_ALARM_LISTS:
        names = [n for n in params.get("AlarmNames") or [] if isinstance(n, str)]
    if names:
        prefix = f"arn:aws:cloudwatch:{region}:{ACCOUNT_ID}:alarm:"
        return tuple(Check(action, prefix + name) for name in names)
    return (Check(action, _tagged_resource(params)),)


def _s3(operation: str, params: Mapping[str, Any]) -> tuple[Check, ...]:
    bucket = params.get("Bucket")
    key = params.get("Key")
    versioned = operation in _S3_VERSIONED and params.get("VersionId")
    action = _S3_VERSIONED[operation] if versioned else _S3_ACTIONS.get(operation)
    action = action or f"s3:{operation}"
    if isinstance(bucket, str) and operation == "DeleteObjects":
        objects = (params.get("Delete") or {}).get("Objects") or []
        keys = [
            o["Key"] for o in objects if isinstance(o, Mapping) and isinstance(o.get("Key"), str)
        ]
        return tuple(Check(action, s3_arn(bucket, k)) for k in keys) or (
            Check(action, s3_arn(bucket, ANY)),
        )
    if not isinstance(bucket, str):
        return (Check(action, ANY),)
    checks = [Check(action, s3_arn(bucket, key if isinstance(key, str) else None))]
    source = params.get("CopySource")
    if operation in ("CopyObject", "UploadPartCopy") and isinstance(source, str):
        checks.append(_copy_source(source))
    return tuple(checks)


def _copy_source(source: str) -> Check:
    path, _, query = unquote(source).lstrip("/").partition("?versionId=")
    bucket, _, key = path.partition("/")
    return Check("s3:GetObjectVersion" if query else "s3:GetObject", s3_arn(bucket, key))


def s3_arn(bucket: str, key: str | None = None) -> str:
    """``arn:aws:s3:::bucket`` or ``arn:aws:s3:::bucket/key``."""
    return f"arn:aws:s3:::{bucket}" if key is None else f"arn:aws:s3:::{bucket}/{key}"


def _tagged_resource(params: Mapping[str, Any]) -> str:
    # Tagging operations name their resource by ARN; everything else is account-wide.
    for member in ("ResourceArn", "ResourceARN"):
        value = params.get(member)
        if isinstance(value, str) and value.startswith("arn:"):
            return value
    return ANY

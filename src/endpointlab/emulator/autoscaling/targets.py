"""Scalable targets, scaling policies and scaling activities as records, and the checks that
turn RegisterScalableTarget / PutScalingPolicy parameters into them.

A policy keeps its configuration exactly as the client sent it (``spec``: DescribeScalingPolicies
echoes it, and the data dir stores it) and the typed form the scaler acts on, parsed from it.
Error codes are the API reference's; wordings marked UNCONFIRMED were not seen from AWS.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from endpointlab.emulator.autoscaling.policies import AdjustmentType, Step, StepConfig
from endpointlab.emulator.errors import ServiceError
from endpointlab.emulator.metrics import SAGEMAKER_NAMESPACE
from endpointlab.emulator.metrics import catalogue as names
from endpointlab.emulator.records import ACCOUNT_ID

NAMESPACE = "sagemaker"
STEP = "StepScaling"
TRACKING = "TargetTrackingScaling"
# AAS's default cooldowns for SageMaker variants (facts §7.4).
DEFAULT_COOLDOWN_S = 300
_RESOURCE = re.compile(r"endpoint/([^/]+)/variant/([^/]+)")

TargetKey = tuple[str, str, str]  # (ServiceNamespace, ResourceId, ScalableDimension)


def validation(message: str) -> ServiceError:
    return ServiceError("ValidationException", message)


def not_found(message: str) -> ServiceError:
    return ServiceError("ObjectNotFoundException", message)


def split_resource(resource_id: str) -> tuple[str, str]:
    """``endpoint/<name>/variant/<variant>`` -> (name, variant), else ValidationException."""
    match = _RESOURCE.fullmatch(resource_id)
    if match is None:
        raise validation(  # UNCONFIRMED wording
            f"Unsupported resource ID {resource_id} for service namespace sagemaker: the "
            "emulator scales production variants (endpoint/<endpoint>/variant/<variant>)."
        )
    return match.group(1), match.group(2)


@dataclass
class ScalableTarget:
    key: TargetKey
    min_capacity: int
    max_capacity: int
    role_arn: str
    creation_time: datetime
    arn: str
    suspended: dict[str, bool] = field(default_factory=dict)

    @property
    def resource_id(self) -> str:
        return self.key[1]

    @property
    def dimension(self) -> str:
        return self.key[2]

    @property
    def endpoint(self) -> str:
        return split_resource(self.resource_id)[0]

    @property
    def variant(self) -> str:
        return split_resource(self.resource_id)[1]

    def suspended_for(self, scale_out: bool) -> bool:
        member = "DynamicScalingOutSuspended" if scale_out else "DynamicScalingInSuspended"
        return bool(self.suspended.get(member))


@dataclass(frozen=True)
class MetricSpec:
    """The metric a target-tracking policy's alarms watch."""

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    statistic: str
    unit: str | None = None
    period: int = 60


@dataclass(frozen=True)
class TrackingConfig:
    target: float
    metric: MetricSpec
    scale_out_cooldown_s: int
    scale_in_cooldown_s: int
    disable_scale_in: bool


@dataclass(frozen=True)
class ScalingPolicy:
    name: str
    arn: str
    key: TargetKey
    policy_type: str
    spec: Mapping[str, Any]  # the policy's configuration as sent
    creation_time: datetime
    alarms: tuple[tuple[str, str], ...] = ()  # (AlarmName, AlarmARN) of the alarms it owns
    step: StepConfig | None = None
    cooldown_s: int = DEFAULT_COOLDOWN_S  # step scaling's Cooldown
    tracking: TrackingConfig | None = None


@dataclass
class Activity:
    activity_id: str
    key: TargetKey
    description: str
    cause: str
    start_time: datetime
    status: str = "InProgress"
    end_time: datetime | None = None
    status_message: str | None = None
    capacity: int = 0  # the capacity it sets...
    previous: int = 0  # ...and the one it started from

    @property
    def scale_out(self) -> bool:
        return self.capacity > self.previous


def policy_arn(region: str, key: TargetKey, name: str, policy_id: str) -> str:
    """``arn:aws:autoscaling:<r>:<acct>:scalingPolicy:<uuid>:resource/sagemaker/<id>:policyName/<n>``
    (facts §7.3)."""
    return (
        f"arn:aws:autoscaling:{region}:{ACCOUNT_ID}:scalingPolicy:{policy_id}:resource/"
        f"{key[0]}/{key[1]}:policyName/{name}"
    )


def parse_step(spec: Mapping[str, Any]) -> tuple[StepConfig, int]:
    """A StepScalingPolicyConfiguration -> (StepConfig, Cooldown)."""
    kind = spec.get("AdjustmentType")
    if kind is None:  # UNCONFIRMED wording (as the step checks below)
        raise validation("AdjustmentType is required for a StepScaling policy.")
    raw = spec.get("StepAdjustments") or []
    if not raw:
        raise validation("StepAdjustments are required for a StepScaling policy.")
    steps = tuple(
        Step(s.get("MetricIntervalLowerBound"), s.get("MetricIntervalUpperBound"),
             int(s["ScalingAdjustment"]))
        for s in raw
    )  # fmt: skip
    for step in steps:
        if step.lower is None and step.upper is None and len(steps) > 1:
            raise validation("Only one step adjustment may have no bounds.")
        if step.lower is not None and step.upper is not None and step.lower >= step.upper:
            raise validation(
                "The lower bound of a step adjustment must be less than its upper bound."
            )
    if sum(1 for s in steps if s.lower is None) > 1 or sum(1 for s in steps if s.upper is None) > 1:
        raise validation("Only one step adjustment may have a null lower or upper bound.")
    if kind == AdjustmentType.EXACT and any(s.adjustment < 0 for s in steps):
        raise validation("The scaling adjustment of an ExactCapacity step cannot be negative.")
    magnitude = spec.get("MinAdjustmentMagnitude")
    if magnitude is not None and kind != AdjustmentType.PERCENT:
        raise validation(
            "MinAdjustmentMagnitude is only supported with the PercentChangeInCapacity "
            "adjustment type."
        )
    config = StepConfig(AdjustmentType(kind), steps, magnitude)
    return config, int(spec.get("Cooldown", DEFAULT_COOLDOWN_S))


# The predefined metrics of SageMaker variants the emulator records: metric, statistic.
PREDEFINED = {
    "SageMakerVariantInvocationsPerInstance": (names.INVOCATIONS_PER_INSTANCE, "Sum"),
    "SageMakerVariantProvisionedConcurrencyUtilization": (
        names.SERVERLESS_PROVISIONED_CONCURRENCY_UTILIZATION,
        "Average",
    ),
}


def parse_tracking(spec: Mapping[str, Any], key: TargetKey) -> TrackingConfig:
    """A TargetTrackingScalingPolicyConfiguration -> TrackingConfig."""
    endpoint, variant = split_resource(key[1])
    predefined = spec.get("PredefinedMetricSpecification")
    custom = spec.get("CustomizedMetricSpecification")
    if (predefined is None) == (custom is None):
        raise validation(  # UNCONFIRMED wording
            "Exactly one of PredefinedMetricSpecification and CustomizedMetricSpecification "
            "must be specified."
        )
    if predefined is not None:
        metric_type = predefined["PredefinedMetricType"]
        if metric_type not in PREDEFINED:
            raise validation(  # UNCONFIRMED wording
                f"Unsupported metric type {metric_type} for a SageMaker variant in the "
                f"emulator; supported: {', '.join(sorted(PREDEFINED))}."
            )
        name, statistic = PREDEFINED[metric_type]
        pairs = (("EndpointName", endpoint), ("VariantName", variant))
        metric = MetricSpec(SAGEMAKER_NAMESPACE, name, pairs, statistic)
    else:
        assert custom is not None
        if custom.get("Metrics"):
            raise validation(  # the emulator's limit, not AWS's
                "The emulator does not evaluate metric math in CustomizedMetricSpecification "
                "(Metrics); name one metric with Namespace, MetricName and Statistic."
            )
        missing = [m for m in ("MetricName", "Namespace", "Statistic") if not custom.get(m)]
        if missing:
            raise validation(f"CustomizedMetricSpecification must specify {', '.join(missing)}.")
        dimensions = tuple((d["Name"], d["Value"]) for d in custom.get("Dimensions") or [])
        metric = MetricSpec(
            custom["Namespace"], custom["MetricName"], dimensions, custom["Statistic"],
            custom.get("Unit"),
        )  # fmt: skip
    target = float(spec["TargetValue"])
    if target <= 0:  # UNCONFIRMED wording
        raise validation("The target value must be greater than 0.")
    return TrackingConfig(
        target=target,
        metric=metric,
        scale_out_cooldown_s=int(spec.get("ScaleOutCooldown", DEFAULT_COOLDOWN_S)),
        scale_in_cooldown_s=int(spec.get("ScaleInCooldown", DEFAULT_COOLDOWN_S)),
        disable_scale_in=bool(spec.get("DisableScaleIn", False)),
    )

"""Application Auto Scaling's resources: scalable targets, scaling policies and activities.

Registering checks the variant against its endpoint kind (which dimension it scales, its least
MinCapacity); a target-tracking policy creates and owns its AlarmHigh/AlarmLow alarms, named
and set as AWS sets them; deregistering a target deletes its policies, deleting a policy its
alarms. Everything is persisted in the control store's documents table.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from endpointlab.config import TrackingAlarms
from endpointlab.emulator.autoscaling.book import AlarmBook, AlarmDefinition, Documents
from endpointlab.emulator.autoscaling.targets import (
    NAMESPACE,
    STEP,
    TRACKING,
    Activity,
    ScalableTarget,
    ScalingPolicy,
    TargetKey,
    TrackingConfig,
    not_found,
    parse_step,
    parse_tracking,
    policy_arn,
    split_resource,
    validation,
)
from endpointlab.emulator.control.registry import Registry
from endpointlab.emulator.endpoints.base import EndpointKind
from endpointlab.emulator.endpoints.kinds import KINDS, kind_of
from endpointlab.emulator.records import ACCOUNT_ID, Endpoint, VariantState

TARGET_KIND = "scalable-target"
POLICY_KIND = "scaling-policy"
ACTIVITY_KIND = "scaling-activity"
MAX_ACTIVITIES = 1000  # per account, newest kept (AWS keeps six weeks)


class ScalingResources:
    """The account's scalable targets, policies and activities."""

    def __init__(
        self,
        registry: Registry,
        book: AlarmBook,
        documents: Documents,
        region: str,
        tracking_alarms: TrackingAlarms | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """``tracking_alarms``: how target tracking sets its alarms (facts §7.4)."""
        self.registry = registry
        self._tracking_alarms = tracking_alarms or TrackingAlarms()
        self.book = book
        self._documents = documents
        self._region = region
        self._now = now
        self.targets: dict[TargetKey, ScalableTarget] = {}
        self.policies: dict[tuple[TargetKey, str], ScalingPolicy] = {}
        self.activities: list[Activity] = []
        for body in documents.load_documents(TARGET_KIND):
            target = _load_target(body)
            self.targets[target.key] = target
        for body in documents.load_documents(POLICY_KIND):
            policy = _parse_policy(
                body["name"], body["arn"], _key(body["key"]), body["policy_type"], body["spec"],
                datetime.fromisoformat(body["creation_time"]),
                tuple((a, b) for a, b in body["alarms"]),
            )  # fmt: skip
            self.policies[policy.key, policy.name] = policy
        loaded = [_load_activity(b) for b in documents.load_documents(ACTIVITY_KIND)]
        self.activities = sorted(loaded, key=lambda a: a.start_time)

    # --- scalable targets -----------------------------------------------------------------------

    def variant(self, key: TargetKey) -> tuple[Endpoint, VariantState, type[EndpointKind]]:
        """The endpoint and variant a target names, with the variant's kind."""
        namespace, resource_id, dimension = key
        if namespace != NAMESPACE:
            raise validation(  # UNCONFIRMED wording
                f"Unsupported service namespace {namespace}: the emulator scales SageMaker "
                "variants only."
            )
        endpoint_name, variant_name = split_resource(resource_id)
        endpoint = self.registry.find_endpoint(endpoint_name)
        state = None
        if endpoint is not None:
            state = next((v for v in endpoint.variants if v.name == variant_name), None)
        if endpoint is None or state is None:
            raise validation(  # UNCONFIRMED wording
                f"The endpoint variant {resource_id} does not exist in account {ACCOUNT_ID}."
            )
        kind = kind_of(state)
        if dimension != kind.scalable_dimension:
            dimensions = sorted({k.scalable_dimension for k in KINDS})
            if dimension not in dimensions:
                raise validation(  # UNCONFIRMED wording
                    f"Unsupported scalable dimension {dimension} for resource {resource_id}."
                )
            raise validation(  # UNCONFIRMED wording
                f"Scalable dimension {dimension} is not supported for production variant "
                f"{variant_name} of {kind.label}; use {kind.scalable_dimension}."
            )
        return endpoint, state, kind

    def register(self, key: TargetKey, params: Mapping[str, Any]) -> ScalableTarget:
        _, _, kind = self.variant(key)
        existing = self.targets.get(key)
        minimum, maximum = params.get("MinCapacity"), params.get("MaxCapacity")
        if existing is None and (minimum is None or maximum is None):
            raise validation(  # UNCONFIRMED wording
                "MinCapacity and MaxCapacity are required when registering a new scalable target."
            )
        low = existing.min_capacity if minimum is None and existing else int(minimum or 0)
        high = existing.max_capacity if maximum is None and existing else int(maximum or 0)
        if low < kind.min_capacity:
            raise validation(  # UNCONFIRMED wording
                f"The minimum capacity {low} is not valid for {kind.label}: it must be at "
                f"least {kind.min_capacity} for {key[2]}."
            )
        if low > high:
            raise validation("Minimum capacity cannot be greater than maximum capacity.")
        suspended = dict(existing.suspended) if existing else {}
        suspended.update(params.get("SuspendedState") or {})
        role = params.get("RoleARN") or (
            existing.role_arn
            if existing
            else f"arn:aws:iam::{ACCOUNT_ID}:role/aws-service-role/sagemaker.application-"
            "autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
        )
        target = ScalableTarget(
            key=key,
            min_capacity=low,
            max_capacity=high,
            role_arn=role,
            creation_time=existing.creation_time if existing else self._now(),
            arn=existing.arn if existing else self._target_arn(),
            suspended=suspended,
        )
        self.targets[key] = target
        self._documents.put_document(TARGET_KIND, _text(key), _dump_target(target))
        return target

    def target(self, key: TargetKey) -> ScalableTarget:
        target = self.targets.get(key)
        if target is None:
            raise not_found(
                f"No scalable target registered for service namespace: {key[0]}, resource ID: "
                f"{key[1]}, scalable dimension: {key[2]}"
            )
        return target

    def deregister(self, key: TargetKey) -> None:
        self.target(key)
        for (policy_key, name), _ in list(self.policies.items()):
            if policy_key == key:
                self.delete_policy(key, name)
        del self.targets[key]
        self._documents.delete_document(TARGET_KIND, _text(key))

    def _target_arn(self) -> str:
        return (
            f"arn:aws:application-autoscaling:{self._region}:{ACCOUNT_ID}:scalable-target/"
            f"0{uuid.uuid4().hex}"
        )

    # --- scaling policies -----------------------------------------------------------------------

    def put_policy(self, key: TargetKey, name: str, params: Mapping[str, Any]) -> ScalingPolicy:
        self.target(key)
        policy_type = params.get("PolicyType") or STEP
        if policy_type not in (STEP, TRACKING):
            raise validation(  # UNCONFIRMED wording
                f"Unsupported policy type {policy_type} for a SageMaker variant."
            )
        member = (
            "StepScalingPolicyConfiguration"
            if policy_type == STEP
            else "TargetTrackingScalingPolicyConfiguration"
        )
        spec = params.get(member)
        if spec is None:  # UNCONFIRMED wording
            raise validation(f"{member} is required for a policy of type {policy_type}.")
        existing = self.policies.get((key, name))
        arn = existing.arn if existing else policy_arn(self._region, key, name, str(uuid.uuid4()))
        created = existing.creation_time if existing else self._now()
        alarms = existing.alarms if existing and existing.policy_type == policy_type else ()
        policy = _parse_policy(name, arn, key, policy_type, dict(spec), created, alarms)
        if policy.tracking is not None:
            policy = replace(policy, alarms=self._own_alarms(policy, policy.tracking))
        elif existing is not None:
            self.book.delete(alarm for alarm, _ in existing.alarms)
        self.policies[key, name] = policy
        self._documents.put_document(POLICY_KIND, _text(key) + "|" + name, _dump_policy(policy))
        return policy

    def _own_alarms(
        self, policy: ScalingPolicy, config: TrackingConfig
    ) -> tuple[tuple[str, str], ...]:
        """Create or update the policy's AlarmHigh and (unless DisableScaleIn) AlarmLow."""
        stem = f"TargetTracking-{policy.key[1]}-"
        kept = {name.removeprefix(stem).split("-", 1)[0]: name for name, _ in policy.alarms}
        owned = []
        settings = self._tracking_alarms
        for label, comparison, periods, factor in (
            ("AlarmHigh", "GreaterThanThreshold", settings.high_periods, 1.0),
            ("AlarmLow", "LessThanThreshold", settings.low_periods, settings.low_ratio),
        ):
            name = kept.pop(label, None) or f"{stem}{label}-{uuid.uuid4()}"
            if label == "AlarmLow" and config.disable_scale_in:
                self.book.delete([name])
                continue
            metric = config.metric
            spec: dict[str, Any] = {
                "AlarmName": name,
                "AlarmDescription": "DO NOT EDIT OR DELETE. For TargetTrackingScaling policy "
                f"{policy.arn}.",
                "ActionsEnabled": True,
                "AlarmActions": [policy.arn],
                "MetricName": metric.name,
                "Namespace": metric.namespace,
                "Statistic": metric.statistic,
                "Dimensions": [{"Name": n, "Value": v} for n, v in metric.dimensions],
                "Period": metric.period,
                "EvaluationPeriods": periods,
                "DatapointsToAlarm": periods,
                "Threshold": config.target * factor,
                "ComparisonOperator": comparison,
            }
            if metric.unit is not None:
                spec["Unit"] = metric.unit
            alarm = self.book.put(AlarmDefinition.of(spec))
            owned.append((alarm.name, alarm.arn))
        return tuple(owned)

    def policy(self, key: TargetKey, name: str) -> ScalingPolicy:
        policy = self.policies.get((key, name))
        if policy is None:
            raise not_found(  # UNCONFIRMED wording
                f"No scaling policy found for service namespace: {key[0]}, resource ID: "
                f"{key[1]}, scalable dimension: {key[2]}, policy name: {name}"
            )
        return policy

    def policy_by_arn(self, arn: str) -> ScalingPolicy | None:
        return next((p for p in self.policies.values() if p.arn == arn), None)

    def delete_policy(self, key: TargetKey, name: str) -> None:
        policy = self.policy(key, name)
        self.book.delete(alarm for alarm, _ in policy.alarms)
        del self.policies[key, name]
        self._documents.delete_document(POLICY_KIND, _text(key) + "|" + name)

    # --- activities -----------------------------------------------------------------------------

    def record(self, activity: Activity) -> None:
        """Add or update an activity (and drop the oldest past MAX_ACTIVITIES)."""
        if activity not in self.activities:
            self.activities.append(activity)
        while len(self.activities) > MAX_ACTIVITIES:
            old = self.activities.pop(0)
            self._documents.delete_document(ACTIVITY_KIND, old.activity_id)
        self._documents.put_document(ACTIVITY_KIND, activity.activity_id, _dump_activity(activity))


def _parse_policy(
    name: str,
    arn: str,
    key: TargetKey,
    policy_type: str,
    spec: Mapping[str, Any],
    created: datetime,
    alarms: tuple[tuple[str, str], ...],
) -> ScalingPolicy:
    policy = ScalingPolicy(name, arn, key, policy_type, spec, created, alarms)
    if policy_type == STEP:
        step, cooldown = parse_step(spec)
        return replace(policy, step=step, cooldown_s=cooldown)
    return replace(policy, tracking=parse_tracking(spec, key))


def _text(key: TargetKey) -> str:
    return "|".join(key)


def _key(value: list[str]) -> TargetKey:
    return (value[0], value[1], value[2])


def _dump_target(target: ScalableTarget) -> dict[str, Any]:
    return {
        "key": list(target.key),
        "min_capacity": target.min_capacity,
        "max_capacity": target.max_capacity,
        "role_arn": target.role_arn,
        "creation_time": target.creation_time.isoformat(),
        "arn": target.arn,
        "suspended": target.suspended,
    }


def _load_target(body: Mapping[str, Any]) -> ScalableTarget:
    return ScalableTarget(
        key=_key(body["key"]),
        min_capacity=body["min_capacity"],
        max_capacity=body["max_capacity"],
        role_arn=body["role_arn"],
        creation_time=datetime.fromisoformat(body["creation_time"]),
        arn=body["arn"],
        suspended=dict(body["suspended"]),
    )


def _dump_policy(policy: ScalingPolicy) -> dict[str, Any]:
    return {
        "name": policy.name,
        "arn": policy.arn,
        "key": list(policy.key),
        "policy_type": policy.policy_type,
        "spec": dict(policy.spec),
        "creation_time": policy.creation_time.isoformat(),
        "alarms": [list(alarm) for alarm in policy.alarms],
    }


def _dump_activity(activity: Activity) -> dict[str, Any]:
    return {
        "activity_id": activity.activity_id,
        "key": list(activity.key),
        "description": activity.description,
        "cause": activity.cause,
        "start_time": activity.start_time.isoformat(),
        "status": activity.status,
        "end_time": activity.end_time.isoformat() if activity.end_time else None,
        "status_message": activity.status_message,
        "capacity": activity.capacity,
        "previous": activity.previous,
    }


def _load_activity(body: Mapping[str, Any]) -> Activity:
    end = body["end_time"]
    return Activity(
        activity_id=body["activity_id"],
        key=_key(body["key"]),
        description=body["description"],
        cause=body["cause"],
        start_time=datetime.fromisoformat(body["start_time"]),
        status=body["status"],
        end_time=datetime.fromisoformat(end) if end else None,
        status_message=body["status_message"],
        capacity=body["capacity"],
        previous=body["previous"],
    )

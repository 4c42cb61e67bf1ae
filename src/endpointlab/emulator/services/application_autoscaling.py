"""Application Auto Scaling (awsJson 1.1, ``AnyScaleFrontendService``) for SageMaker variants.

Thin: RegisterScalableTarget, DescribeScalableTargets, DeregisterScalableTarget,
PutScalingPolicy, DescribeScalingPolicies, DeleteScalingPolicy and DescribeScalingActivities,
wire members in and out; ``autoscaling.resources`` holds the records and ``autoscaling.scaler``
changes capacity (also when a registration moves Min/MaxCapacity past the current capacity).
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from endpointlab.emulator.autoscaling.policies import clamp
from endpointlab.emulator.autoscaling.resources import ScalingResources
from endpointlab.emulator.autoscaling.scaler import Autoscaler
from endpointlab.emulator.autoscaling.targets import (
    Activity,
    ScalableTarget,
    ScalingPolicy,
    TargetKey,
)
from endpointlab.emulator.errors import ServiceError

Params = Mapping[str, Any]
Result = dict[str, Any]
PAGE = 50


class ApplicationAutoScalingService:
    """Dispatches the Application Auto Scaling operations by name."""

    def __init__(self, resources: ScalingResources, scaler: Autoscaler) -> None:
        self._resources = resources
        self._scaler = scaler
        self._operations: dict[str, Callable[[Params], Awaitable[Result] | Result]] = {
            "RegisterScalableTarget": self.register_scalable_target,
            "DescribeScalableTargets": self.describe_scalable_targets,
            "DeregisterScalableTarget": self.deregister_scalable_target,
            "PutScalingPolicy": self.put_scaling_policy,
            "DescribeScalingPolicies": self.describe_scaling_policies,
            "DeleteScalingPolicy": self.delete_scaling_policy,
            "DescribeScalingActivities": self.describe_scaling_activities,
        }

    async def handle(self, operation: str, params: Params) -> Result:
        handler = self._operations.get(operation)
        if handler is None:
            raise ServiceError(
                "UnknownOperationException",
                f"The emulator does not implement Application Auto Scaling {operation}.",
            )
        result = handler(params)
        return await result if isinstance(result, Awaitable) else result

    async def register_scalable_target(self, params: Params) -> Result:
        key = _key(params)
        target = self._resources.register(key, params)
        _, state, kind = self._resources.variant(key)
        current = kind.capacity(state)
        wanted = clamp(current, target.min_capacity, target.max_capacity)
        if wanted != current:  # UNCONFIRMED cause wording
            bound = "minimum" if wanted > current else "maximum"
            await self._scaler.set_capacity(key, wanted, f"{bound} capacity was set to {wanted}")
        return {"ScalableTargetARN": target.arn}

    def describe_scalable_targets(self, params: Params) -> Result:
        ids = set(params.get("ResourceIds") or ())
        dimension = params.get("ScalableDimension")
        chosen = [
            _target(t)
            for key, t in sorted(self._resources.targets.items())
            if key[0] == params["ServiceNamespace"]
            and (not ids or key[1] in ids)
            and (dimension is None or key[2] == dimension)
        ]
        return _page(chosen, params, "ScalableTargets")

    def deregister_scalable_target(self, params: Params) -> Result:
        self._resources.deregister(_key(params))
        return {}

    def put_scaling_policy(self, params: Params) -> Result:
        policy = self._resources.put_policy(_key(params), params["PolicyName"], params)
        self._scaler.wake()
        result: Result = {"PolicyARN": policy.arn}
        if policy.alarms:
            result["Alarms"] = _alarms(policy)
        return result

    def describe_scaling_policies(self, params: Params) -> Result:
        names = set(params.get("PolicyNames") or ())
        resource, dimension = params.get("ResourceId"), params.get("ScalableDimension")
        chosen = [
            _policy(p)
            for (key, name), p in sorted(self._resources.policies.items())
            if key[0] == params["ServiceNamespace"]
            and (resource is None or key[1] == resource)
            and (dimension is None or key[2] == dimension)
            and (not names or name in names)
        ]
        return _page(chosen, params, "ScalingPolicies")

    def delete_scaling_policy(self, params: Params) -> Result:
        self._resources.delete_policy(_key(params), params["PolicyName"])
        return {}

    def describe_scaling_activities(self, params: Params) -> Result:
        self._scaler.settle()
        resource, dimension = params.get("ResourceId"), params.get("ScalableDimension")
        chosen = [
            _activity(a)
            for a in reversed(self._resources.activities)  # newest first
            if a.key[0] == params["ServiceNamespace"]
            and (resource is None or a.key[1] == resource)
            and (dimension is None or a.key[2] == dimension)
        ]
        return _page(chosen, params, "ScalingActivities")


def _key(params: Params) -> TargetKey:
    return (params["ServiceNamespace"], params["ResourceId"], params["ScalableDimension"])


def _page(items: Sequence[Result], params: Params, member: str) -> Result:
    size = int(params.get("MaxResults") or PAGE)
    offset = 0
    token = params.get("NextToken")
    if token:
        try:
            offset = int(base64.urlsafe_b64decode(token.encode()).decode())
        except ValueError:
            raise ServiceError("InvalidNextTokenException", "Invalid token") from None
    result: Result = {member: list(items[offset : offset + size])}
    if offset + size < len(items):
        result["NextToken"] = base64.urlsafe_b64encode(str(offset + size).encode()).decode()
    return result


def _target(target: ScalableTarget) -> Result:
    return {
        "ServiceNamespace": target.key[0],
        "ResourceId": target.key[1],
        "ScalableDimension": target.key[2],
        "MinCapacity": target.min_capacity,
        "MaxCapacity": target.max_capacity,
        "RoleARN": target.role_arn,
        "CreationTime": target.creation_time,
        "SuspendedState": {
            member: bool(target.suspended.get(member))
            for member in (
                "DynamicScalingInSuspended",
                "DynamicScalingOutSuspended",
                "ScheduledScalingSuspended",
            )
        },
        "ScalableTargetARN": target.arn,
    }


def _alarms(policy: ScalingPolicy) -> list[Result]:
    return [{"AlarmName": name, "AlarmARN": arn} for name, arn in policy.alarms]


def _policy(policy: ScalingPolicy) -> Result:
    member = (
        "StepScalingPolicyConfiguration"
        if policy.step is not None
        else "TargetTrackingScalingPolicyConfiguration"
    )
    return {
        "PolicyARN": policy.arn,
        "PolicyName": policy.name,
        "ServiceNamespace": policy.key[0],
        "ResourceId": policy.key[1],
        "ScalableDimension": policy.key[2],
        "PolicyType": policy.policy_type,
        member: dict(policy.spec),
        "Alarms": _alarms(policy),
        "CreationTime": policy.creation_time,
    }


def _activity(activity: Activity) -> Result:
    result: Result = {
        "ActivityId": activity.activity_id,
        "ServiceNamespace": activity.key[0],
        "ResourceId": activity.key[1],
        "ScalableDimension": activity.key[2],
        "Description": activity.description,
        "Cause": activity.cause,
        "StartTime": activity.start_time,
        "StatusCode": activity.status,
    }
    if activity.end_time is not None:
        result["EndTime"] = activity.end_time
    if activity.status_message is not None:
        result["StatusMessage"] = activity.status_message
    return result

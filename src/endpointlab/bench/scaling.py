"""A real-time configuration's autoscaling through Application Auto Scaling (boto3): the
scalable target and a target-tracking policy registered after deploy, removed at teardown, and
what is left of them afterwards."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from endpointlab.bench.plan import Autoscaling

NAMESPACE = "sagemaker"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
POLICY = "endpointlab-invocations"


def resource_id(endpoint: str, variant: str) -> str:
    return f"endpoint/{endpoint}/variant/{variant}"


def _reason(error: Exception) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Message") or error)
    return str(error)


def attach(client: Any, resource: str, scaling: Autoscaling) -> str:
    """Register ``resource`` as a scalable target and put the target-tracking policy; "" when
    done, else the one-line problem."""
    try:
        client.register_scalable_target(
            ServiceNamespace=NAMESPACE,
            ResourceId=resource,
            ScalableDimension=DIMENSION,
            MinCapacity=scaling.min_instances,
            MaxCapacity=scaling.max_instances,
        )
        client.put_scaling_policy(
            PolicyName=POLICY,
            ServiceNamespace=NAMESPACE,
            ResourceId=resource,
            ScalableDimension=DIMENSION,
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": scaling.target_invocations_per_instance,
                "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
                },
                "ScaleInCooldown": round(scaling.scale_in_cooldown),
                "ScaleOutCooldown": round(scaling.scale_out_cooldown),
            },
        )
    except (ClientError, BotoCoreError) as error:
        return f"cannot set up autoscaling on {resource}: {_reason(error)}"
    return ""


def detach(client: Any, resource: str) -> list[str]:
    """Delete the policy and deregister the target (whatever of them exists); the problems."""
    problems = []
    common = {"ServiceNamespace": NAMESPACE, "ResourceId": resource, "ScalableDimension": DIMENSION}
    for what, call, extra in (
        ("scaling policy", client.delete_scaling_policy, {"PolicyName": POLICY}),
        ("scalable target", client.deregister_scalable_target, {}),
    ):
        try:
            call(**common, **extra)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ObjectNotFoundException":
                problems.append(f"cannot delete the {what} of {resource}: {_reason(error)}")
        except BotoCoreError as error:
            problems.append(f"cannot delete the {what} of {resource}: {error}")
    return problems


def left(client: Any, resource: str) -> list[str]:
    """The scalable target and policies still registered for ``resource``."""
    common = {"ServiceNamespace": NAMESPACE, "ResourceIds": [resource]}
    try:
        targets = client.describe_scalable_targets(**common)["ScalableTargets"]
        policies = client.describe_scaling_policies(
            ServiceNamespace=NAMESPACE, ResourceId=resource
        )["ScalingPolicies"]
    except (ClientError, BotoCoreError) as error:
        return [f"(cannot list the autoscaling of {resource}: {_reason(error)})"]
    return [f"scalable target {resource}" for _ in targets] + [
        f"scaling policy {p['PolicyName']}" for p in policies
    ]

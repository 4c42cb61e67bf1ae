"""Application Auto Scaling through boto3 (services/application_autoscaling.py, autoscaling/):
a real-time variant scales out under load and back in through target tracking, with its
activities; step scaling on an alarm changes serverless provisioned concurrency; the
registration rules and errors; everything survives a restart. The emulator runs its scaling
clock 60x faster (a period is a second, a 300 s cooldown 5 s)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from endpointlab.config import EmulatorSettings, TrackingAlarms
from tests.api.serverless_support import ServerlessDeployer
from tests.api.support import (
    Deployer,
    EmulatorThread,
    client,
    error_of,
    invoke_json,
    probe_archive,
)

INSTANCES = "sagemaker:variant:DesiredInstanceCount"
PROVISIONED = "sagemaker:variant:DesiredProvisionedConcurrency"
SCALING_CLOCK = 60.0


@pytest.fixture(scope="module")
def scaling_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("scaling")
    thread = EmulatorThread(EmulatorSettings(port=0, data_dir=data_dir, scaling_clock=60))
    thread.start()
    try:
        yield thread.url
    finally:
        thread.stop()


@pytest.fixture(scope="module")
def clients(scaling_url: str) -> dict[str, Any]:
    names = ("sagemaker", "sagemaker-runtime", "application-autoscaling", "cloudwatch")
    return {name: client(name, scaling_url) for name in names}


@pytest.fixture(scope="module")
def slow_loading_probe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A probe whose instances take half a second to load, so Updating lasts long enough to
    be seen by polling."""
    return probe_archive(tmp_path_factory.mktemp("probe"), load_delay_s=0.5)


def resource(endpoint: str) -> str:
    return f"endpoint/{endpoint}/variant/AllTraffic"


def activities(aas: Any, endpoint: str) -> list[dict[str, Any]]:
    found = aas.describe_scaling_activities(
        ServiceNamespace="sagemaker", ResourceId=resource(endpoint)
    )
    return list(found["ScalingActivities"])


def wait_for(check: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)  # polling the API, as a client watching scaling does


class Load:
    """Requests to an endpoint from a thread at about ``rate`` per second until stopped."""

    def __init__(self, url: str, endpoint: str, rate: float) -> None:
        self.rate = rate
        self._runtime = client("sagemaker-runtime", url)
        self._endpoint = endpoint
        self._stop = threading.Event()
        self.errors: list[str] = []
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                invoke_json(self._runtime, self._endpoint, "x")
            except ClientError as exc:  # kept going: the test checks there were none
                self.errors.append(str(exc))
            self._stop.wait(1 / self.rate)  # the pace of the load, not simulated work

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def test_a_realtime_variant_scales_out_under_load_and_back_in(
    clients: dict[str, Any], scaling_url: str, slow_loading_probe: Path
) -> None:
    sagemaker, aas, cw = (
        clients["sagemaker"],
        clients["application-autoscaling"],
        clients["cloudwatch"],
    )
    deployer = Deployer(sagemaker)
    try:
        endpoint = deployer.deploy(slow_loading_probe).endpoint
        aas.register_scalable_target(
            ServiceNamespace="sagemaker", ResourceId=resource(endpoint),
            ScalableDimension=INSTANCES, MinCapacity=1, MaxCapacity=3,
        )  # fmt: skip
        policy = aas.put_scaling_policy(
            PolicyName="invocations", ServiceNamespace="sagemaker", ResourceId=resource(endpoint),
            ScalableDimension=INSTANCES, PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 5.0,
                "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
                },
            },
        )  # fmt: skip
        high, low = (a["AlarmName"] for a in policy["Alarms"])
        assert high.startswith(f"TargetTracking-{resource(endpoint)}-AlarmHigh-")
        assert low.startswith(f"TargetTracking-{resource(endpoint)}-AlarmLow-")
        owned = {
            a["AlarmName"]: a for a in cw.describe_alarms(AlarmNames=[high, low])["MetricAlarms"]
        }
        assert (owned[high]["EvaluationPeriods"], owned[high]["Threshold"]) == (3, 5.0)
        assert (owned[low]["EvaluationPeriods"], owned[low]["Threshold"]) == (15, 4.5)
        assert owned[high]["MetricName"] == "InvocationsPerInstance"
        assert owned[high]["AlarmActions"] == [policy["PolicyARN"]]

        def variant() -> tuple[str, int, int]:
            described = sagemaker.describe_endpoint(EndpointName=endpoint)
            counts = described["ProductionVariants"][0]
            status = described["EndpointStatus"]
            return status, counts["CurrentInstanceCount"], counts["DesiredInstanceCount"]

        load = Load(scaling_url, endpoint, rate=25.0)  # ~25 per second on one instance
        try:

            def updating() -> tuple[str, int, int] | None:
                state = variant()
                return state if state[0] == "Updating" else None

            seen = wait_for(updating)
            # The load drops once the decision is made: 3 per second is well under 90% of the
            # target on three instances, and never over it on one.
            load.rate = 3.0
            assert seen == ("Updating", 1, 3)  # ceil(1 x 25 / 5), at most MaxCapacity
            assert wait_for(lambda: variant() == ("InService", 3, 3))
            assert wait_for(lambda: variant() == ("InService", 1, 1), timeout=60)
        finally:
            load.stop()
        assert load.errors == []  # no request failed while instances came and went
        scaled_in, scaled_out = activities(aas, endpoint)[:2]
        assert scaled_out["Description"] == "Setting desired instance count to 3."
        assert (
            scaled_out["Cause"]
            == f"monitor alarm {high} in state ALARM triggered policy invocations"
        )
        assert scaled_out["StatusCode"] == "Successful"
        assert scaled_out["StatusMessage"] == (
            "Successfully set desired instance count to 3. Change successfully fulfilled by "
            "sagemaker."
        )
        assert scaled_out["EndTime"] >= scaled_out["StartTime"]
        assert scaled_in["Description"] == "Setting desired instance count to 1."
        assert (
            scaled_in["Cause"] == f"monitor alarm {low} in state ALARM triggered policy invocations"
        )
        assert scaled_in["StatusCode"] == "Successful"
        aas.deregister_scalable_target(
            ServiceNamespace="sagemaker", ResourceId=resource(endpoint), ScalableDimension=INSTANCES
        )
        assert cw.describe_alarms(AlarmNames=[high, low])["MetricAlarms"] == []  # owned: gone
    finally:
        deployer.cleanup()


def test_registration_rules_and_errors(clients: dict[str, Any], probe: Path) -> None:
    sagemaker, aas = clients["sagemaker"], clients["application-autoscaling"]
    deployer = Deployer(sagemaker)
    try:
        endpoint = deployer.deploy(probe).endpoint
        key = {"ServiceNamespace": "sagemaker", "ResourceId": resource(endpoint)}
        refusals = [
            ({**key, "ScalableDimension": INSTANCES, "MinCapacity": 0, "MaxCapacity": 2},
             "The minimum capacity 0 is not valid"),
            ({**key, "ScalableDimension": INSTANCES, "MinCapacity": 3, "MaxCapacity": 2},
             "Minimum capacity cannot be greater than maximum capacity."),
            ({**key, "ScalableDimension": INSTANCES, "MinCapacity": 1},
             "MinCapacity and MaxCapacity are required"),
            ({**key, "ScalableDimension": PROVISIONED, "MinCapacity": 1, "MaxCapacity": 2},
             "is not supported for production variant AllTraffic"),
            ({**key, "ResourceId": resource("missing"), "ScalableDimension": INSTANCES,
              "MinCapacity": 1, "MaxCapacity": 2}, "does not exist"),
        ]  # fmt: skip
        for params, words in refusals:
            with pytest.raises(ClientError) as caught:
                aas.register_scalable_target(**params)
            assert error_of(caught)["Code"] == "ValidationException", params
            assert words in error_of(caught)["Message"]
        policy = {
            **key,
            "ScalableDimension": INSTANCES,
            "PolicyName": "p",
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": {
                "TargetValue": 70.0,
                "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
                },
            },
        }
        with pytest.raises(ClientError) as caught:
            aas.put_scaling_policy(**policy)
        assert error_of(caught) == {
            "Code": "ObjectNotFoundException",
            "Message": f"No scalable target registered for service namespace: sagemaker, "
            f"resource ID: {resource(endpoint)}, scalable dimension: {INSTANCES}",
            "Status": 400,
        }
        # Registering a minimum above the current capacity scales the variant up to it.
        aas.register_scalable_target(
            **key, ScalableDimension=INSTANCES, MinCapacity=2, MaxCapacity=4
        )
        [raised] = wait_for(
            lambda: [a for a in activities(aas, endpoint) if a["StatusCode"] == "Successful"]
        )
        assert (raised["Description"], raised["Cause"]) == (
            "Setting desired instance count to 2.",
            "minimum capacity was set to 2",
        )
        counts = sagemaker.describe_endpoint(EndpointName=endpoint)["ProductionVariants"][0]
        assert (counts["CurrentInstanceCount"], counts["DesiredInstanceCount"]) == (2, 2)
        aas.register_scalable_target(**key, ScalableDimension=INSTANCES, MaxCapacity=5)
        [target] = aas.describe_scalable_targets(
            ServiceNamespace="sagemaker", ResourceIds=[resource(endpoint)]
        )["ScalableTargets"]
        assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 5)
        assert target["ScalableTargetARN"].startswith(
            "arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/"
        )
        unsupported = {"PredefinedMetricType": "SageMakerInferenceComponentInvocationsPerCopy"}
        with pytest.raises(ClientError) as caught:
            config = {**policy["TargetTrackingScalingPolicyConfiguration"]}
            config["PredefinedMetricSpecification"] = unsupported
            aas.put_scaling_policy(**{**policy, "TargetTrackingScalingPolicyConfiguration": config})
        assert error_of(caught)["Code"] == "ValidationException"
        put = aas.put_scaling_policy(**policy)
        [described] = aas.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
        assert described["PolicyARN"] == put["PolicyARN"]
        assert described["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 70.0
        assert put["PolicyARN"].endswith(f":resource/sagemaker/{resource(endpoint)}:policyName/p")
        check_custom_metric_alarms(clients, policy, endpoint)
        aas.delete_scaling_policy(**key, ScalableDimension=INSTANCES, PolicyName="p")
        with pytest.raises(ClientError) as caught:
            aas.delete_scaling_policy(**key, ScalableDimension=INSTANCES, PolicyName="p")
        assert error_of(caught)["Code"] == "ObjectNotFoundException"
        aas.deregister_scalable_target(**key, ScalableDimension=INSTANCES)
        with pytest.raises(ClientError) as caught:
            aas.deregister_scalable_target(**key, ScalableDimension=INSTANCES)
        assert error_of(caught)["Code"] == "ObjectNotFoundException"
    finally:
        deployer.cleanup()


def check_custom_metric_alarms(
    clients: dict[str, Any], policy: dict[str, Any], endpoint: str
) -> None:
    """A target-tracking policy on a custom metric (the async recipe's) watches that metric."""
    aas = clients["application-autoscaling"]
    backlog = {  # the async recipe's metric: any recorded metric will do
        "TargetValue": 5.0,
        "CustomizedMetricSpecification": {
            "MetricName": "ApproximateBacklogSizePerInstance",
            "Namespace": "AWS/SageMaker",
            "Dimensions": [{"Name": "EndpointName", "Value": endpoint}],
            "Statistic": "Average",
        },
    }
    custom = aas.put_scaling_policy(
        **{
            **policy,
            "PolicyName": "backlog",
            "TargetTrackingScalingPolicyConfiguration": backlog,
        }
    )
    names = [alarm["AlarmName"] for alarm in custom["Alarms"]]
    watched = clients["cloudwatch"].describe_alarms(AlarmNames=names)["MetricAlarms"]
    assert {(a["MetricName"], a["Statistic"], a["Threshold"]) for a in watched} == {
        ("ApproximateBacklogSizePerInstance", "Average", 5.0),
        ("ApproximateBacklogSizePerInstance", "Average", 4.5),
    }
    assert all(a["Dimensions"] == [{"Name": "EndpointName", "Value": endpoint}] for a in watched)


def test_step_scaling_on_an_alarm_sets_provisioned_concurrency(
    clients: dict[str, Any], probe: Path
) -> None:
    sagemaker, aas, cw = (
        clients["sagemaker"],
        clients["application-autoscaling"],
        clients["cloudwatch"],
    )
    deployer = ServerlessDeployer(sagemaker, probe)
    alarm = f"queue-{time.time_ns()}"
    try:
        endpoint = deployer.endpoint(max_concurrency=4, provisioned=1)
        key = {"ServiceNamespace": "sagemaker", "ResourceId": resource(endpoint),
               "ScalableDimension": PROVISIONED}  # fmt: skip
        with pytest.raises(ClientError) as caught:  # provisioned concurrency is at least 1
            aas.register_scalable_target(**key, MinCapacity=0, MaxCapacity=3)
        assert error_of(caught)["Code"] == "ValidationException"
        aas.register_scalable_target(**key, MinCapacity=1, MaxCapacity=3)
        policy = aas.put_scaling_policy(
            **key, PolicyName="burst", PolicyType="StepScaling",
            StepScalingPolicyConfiguration={
                "AdjustmentType": "ChangeInCapacity",
                "StepAdjustments": [{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 2}],
                "Cooldown": 300,
            },
        )  # fmt: skip
        cw.put_metric_alarm(
            AlarmName=alarm, Namespace="Test/queue", MetricName="Depth", Statistic="Maximum",
            Period=60, EvaluationPeriods=1, Threshold=1.0, TreatMissingData="ignore",
            ComparisonOperator="GreaterThanOrEqualToThreshold", AlarmActions=[policy["PolicyARN"]],
        )  # fmt: skip
        cw.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="testing scaling")

        def provisioned() -> int:
            described = sagemaker.describe_endpoint(EndpointName=endpoint)
            if described["EndpointStatus"] != "InService":
                return 0
            config = described["ProductionVariants"][0]["CurrentServerlessConfig"]
            return int(config["ProvisionedConcurrency"])

        assert wait_for(lambda: provisioned() == 3)
        [activity] = wait_for(lambda: activities(aas, endpoint))
        assert activity["Description"] == "Setting desired provisioned concurrency to 3."
        assert activity["Cause"] == f"monitor alarm {alarm} in state ALARM triggered policy burst"
        assert activity["StatusCode"] == "Successful"
    finally:
        with contextlib.suppress(ClientError):
            cw.delete_alarms(AlarmNames=[alarm])
        deployer.cleanup()


def test_targets_policies_alarms_and_activities_survive_a_restart(
    tmp_path: Path, probe: Path
) -> None:
    # Target tracking's alarm settings are AWS's as observed (UNCONFIRMED), so configurable.
    alarms = TrackingAlarms(high_periods=2, low_periods=5, low_ratio=0.8)
    settings = EmulatorSettings(
        port=0, data_dir=tmp_path / "data", scaling_clock=SCALING_CLOCK, tracking_alarms=alarms
    )
    first = EmulatorThread(settings)
    url = first.start()
    try:
        sagemaker, aas = client("sagemaker", url), client("application-autoscaling", url)
        endpoint = Deployer(sagemaker).deploy(probe).endpoint
        key = {"ServiceNamespace": "sagemaker", "ResourceId": resource(endpoint),
               "ScalableDimension": INSTANCES}  # fmt: skip
        aas.register_scalable_target(**key, MinCapacity=2, MaxCapacity=3)
        aas.put_scaling_policy(
            **key, PolicyName="p", PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 9.0, "DisableScaleIn": True,
                "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
                },
            },
        )  # fmt: skip
        wait_for(lambda: activities(aas, endpoint)[0]["StatusCode"] == "Successful")
        before = {
            "targets": aas.describe_scalable_targets(ServiceNamespace="sagemaker"),
            "policies": aas.describe_scaling_policies(ServiceNamespace="sagemaker"),
            "activities": aas.describe_scaling_activities(ServiceNamespace="sagemaker"),
            "alarms": client("cloudwatch", url).describe_alarms()["MetricAlarms"],
        }
    finally:
        first.stop()
    second = EmulatorThread(settings)
    url = second.start()
    try:
        aas = client("application-autoscaling", url)
        after = {
            "targets": aas.describe_scalable_targets(ServiceNamespace="sagemaker"),
            "policies": aas.describe_scaling_policies(ServiceNamespace="sagemaker"),
            "activities": aas.describe_scaling_activities(ServiceNamespace="sagemaker"),
            "alarms": client("cloudwatch", url).describe_alarms()["MetricAlarms"],
        }
        for name, answer in before.items():
            if isinstance(answer, dict):
                answer.pop("ResponseMetadata")
                after[name].pop("ResponseMetadata")
        [high] = before["alarms"]  # AlarmHigh only: DisableScaleIn
        assert (high["EvaluationPeriods"], high["DatapointsToAlarm"]) == (2, 2)
        assert after == before
    finally:
        second.stop()

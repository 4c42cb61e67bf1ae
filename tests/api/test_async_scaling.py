"""Async endpoints scale to zero and back through boto3, with AWS's documented recipe: a scalable
target with MinCapacity 0, target tracking on ApproximateBacklogSizePerInstance that scales in
when idle, and step scaling (+1) on an alarm over HasBacklogWithoutCapacity that brings an
instance back when a request waits. A restart keeps the count the autoscaler set. The scaling
clock runs 60x faster (a period is a second, a 300 s cooldown 5 s)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from endpointlab.config import EmulatorSettings, TrackingAlarms
from tests.api.support import INSTANCE, Deployer, EmulatorThread, client, unique

INSTANCES = "sagemaker:variant:DesiredInstanceCount"
BUCKET = "scaling-bucket"
# Target tracking's AlarmLow after 2 low periods rather than AWS's 15 (UNCONFIRMED, configurable).
ALARMS = TrackingAlarms(high_periods=3, low_periods=2, low_ratio=0.9)


def settings(data_dir: Path) -> EmulatorSettings:
    return EmulatorSettings(
        port=0,
        data_dir=data_dir,
        scaling_clock=60,
        tracking_alarms=ALARMS,
        metrics_sample_interval_s=0.25,
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("async-scaling")


@pytest.fixture(scope="module")
def url(data_dir: Path) -> Iterator[str]:
    thread = EmulatorThread(settings(data_dir))
    started = thread.start()
    try:
        client("s3", started).create_bucket(Bucket=BUCKET)
        yield started
    finally:
        thread.stop()


def wait_for(check: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)  # polling the API, as a client watching scaling does


def deploy_async(sagemaker: Any, archive: Path) -> str:
    deployer = Deployer(sagemaker)
    model = deployer.model(archive)
    config = unique("async-config")
    sagemaker.create_endpoint_config(
        EndpointConfigName=config,
        ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": model, "InstanceType": INSTANCE,
             "InitialInstanceCount": 1}
        ],
        AsyncInferenceConfig={"OutputConfig": {"S3OutputPath": f"s3://{BUCKET}/out"}},
    )  # fmt: skip
    return deployer.endpoint(config)


def counts(sagemaker: Any, endpoint: str) -> tuple[str, int, int]:
    described = sagemaker.describe_endpoint(EndpointName=endpoint)
    variant = described["ProductionVariants"][0]
    return (
        described["EndpointStatus"],
        variant["CurrentInstanceCount"],
        variant["DesiredInstanceCount"],
    )


def alarm_state(cw: Any, name: str) -> str:
    return str(cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"])


def output(s3: Any, location: str) -> bytes | None:
    bucket, _, key = location.removeprefix("s3://").partition("/")
    try:
        return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except ClientError:
        return None


def test_the_scale_to_zero_recipe_scales_in_when_idle_and_out_on_a_request(
    url: str, probe: Path
) -> None:
    sagemaker, aas, cw = (client(s, url) for s in ("sagemaker", "application-autoscaling",
                                                    "cloudwatch"))  # fmt: skip
    runtime, s3 = client("sagemaker-runtime", url), client("s3", url)
    endpoint = deploy_async(sagemaker, probe)
    target = {"ServiceNamespace": "sagemaker", "ScalableDimension": INSTANCES,
              "ResourceId": f"endpoint/{endpoint}/variant/AllTraffic"}  # fmt: skip
    aas.register_scalable_target(**target, MinCapacity=0, MaxCapacity=2)
    tracking = aas.put_scaling_policy(
        **target, PolicyName="backlog", PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 5.0, "ScaleInCooldown": 600, "ScaleOutCooldown": 300,
            "CustomizedMetricSpecification": {
                "MetricName": "ApproximateBacklogSizePerInstance", "Namespace": "AWS/SageMaker",
                "Dimensions": [{"Name": "EndpointName", "Value": endpoint}],
                "Statistic": "Average",
            },
        },
    )  # fmt: skip
    step = aas.put_scaling_policy(
        **target, PolicyName="from-zero", PolicyType="StepScaling",
        StepScalingPolicyConfiguration={
            "AdjustmentType": "ChangeInCapacity", "MetricAggregationType": "Average",
            "Cooldown": 300,
            "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
        },
    )  # fmt: skip
    waiting = unique("has-backlog")
    cw.put_metric_alarm(
        AlarmName=waiting, MetricName="HasBacklogWithoutCapacity", Namespace="AWS/SageMaker",
        Dimensions=[{"Name": "EndpointName", "Value": endpoint}], Statistic="Average",
        Period=60, EvaluationPeriods=2, DatapointsToAlarm=2, Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="missing",
        AlarmActions=[step["PolicyARN"]],
    )  # fmt: skip
    low = next(a["AlarmName"] for a in tracking["Alarms"] if "AlarmLow" in a["AlarmName"])

    # Idle: the backlog per instance stays under 90% of the target, AlarmLow fires, and target
    # tracking takes the variant to zero instances.
    assert wait_for(lambda: counts(sagemaker, endpoint) == ("InService", 0, 0))
    assert alarm_state(cw, low) == "ALARM"
    assert alarm_state(cw, waiting) != "ALARM"
    [scaled_in] = aas.describe_scaling_activities(**target)["ScalingActivities"]
    assert scaled_in["Description"] == "Setting desired instance count to 0."
    assert scaled_in["Cause"] == f"monitor alarm {low} in state ALARM triggered policy backlog"

    # A request at zero instances waits; the alarm on HasBacklogWithoutCapacity fires, the step
    # policy adds an instance, and the request is answered.
    key = f"in/{unique('request')}.txt"
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"from zero")
    reply = runtime.invoke_endpoint_async(
        EndpointName=endpoint, InputLocation=f"s3://{BUCKET}/{key}"
    )
    assert output(s3, reply["OutputLocation"]) is None
    assert wait_for(lambda: alarm_state(cw, waiting) == "ALARM")
    answer = wait_for(lambda: output(s3, reply["OutputLocation"]))
    assert json.loads(answer)["body"] == "from zero"
    assert wait_for(lambda: counts(sagemaker, endpoint) == ("InService", 1, 1))

    def latest() -> dict[str, Any]:
        return dict(aas.describe_scaling_activities(**target)["ScalingActivities"][0])

    assert wait_for(lambda: latest()["StatusCode"] == "Successful")
    scaled_out = latest()
    assert scaled_out["Description"] == "Setting desired instance count to 1."
    assert (
        scaled_out["Cause"] == f"monitor alarm {waiting} in state ALARM triggered policy from-zero"
    )


def test_a_real_time_variant_still_cannot_register_min_capacity_zero(url: str, probe: Path) -> None:
    sagemaker, aas = client("sagemaker", url), client("application-autoscaling", url)
    endpoint = Deployer(sagemaker).deploy(probe).endpoint
    with pytest.raises(ClientError) as caught:
        aas.register_scalable_target(
            ServiceNamespace="sagemaker", ScalableDimension=INSTANCES, MinCapacity=0,
            MaxCapacity=2, ResourceId=f"endpoint/{endpoint}/variant/AllTraffic",
        )  # fmt: skip
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "The minimum capacity 0 is not valid" in caught.value.response["Error"]["Message"]


def test_a_restart_keeps_an_async_variant_at_the_count_it_was_scaled_to(
    tmp_path: Path, probe: Path
) -> None:
    first = EmulatorThread(settings(tmp_path / "data"))
    url = first.start()
    try:
        sagemaker = client("sagemaker", url)
        client("s3", url).create_bucket(Bucket=BUCKET)
        endpoint = deploy_async(sagemaker, probe)
        sagemaker.update_endpoint_weights_and_capacities(
            EndpointName=endpoint,
            DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredInstanceCount": 0}],
        )
        assert wait_for(lambda: counts(sagemaker, endpoint) == ("InService", 0, 0))
    finally:
        first.stop()
    second = EmulatorThread(settings(tmp_path / "data"))
    url = second.start()
    try:
        sagemaker = client("sagemaker", url)
        assert wait_for(lambda: counts(sagemaker, endpoint)[0] == "InService")
        assert counts(sagemaker, endpoint) == ("InService", 0, 0)  # not the config's 1
    finally:
        second.stop()

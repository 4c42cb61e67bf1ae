"""Autoscaling in plans: the plan's fields, Application Auto Scaling's calls (botocore's Stubber:
the call sequence and the teardown) and the cost of a configuration as it scaled (pure)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from click.testing import CliRunner

from endpointlab.analysis.cost import HOURS_PER_MONTH, Price, PriceTable, configuration_cost
from endpointlab.bench import scaling
from endpointlab.bench.plan import PlanError, parse_plan
from endpointlab.cli import main
from endpointlab.results.run_result import Traffic
from tests.unit.analysis_records import configuration

PLAN = """\
name: scaled
model: {{artifact: model.tar.gz}}
objective: {{latency_ms: 100}}
scaling_clock: 60
configurations:
  - name: c5
    kind: realtime
    instance_type: ml.c5.large
    instance_count: {count}
    autoscaling:
      min_instances: {low}
      max_instances: 4
      target_invocations_per_instance: 50
      scale_in_cooldown: 10s
phases:
  - {{name: ramp, rate: [1, 20], duration: 30s}}
"""
RESOURCE = "endpoint/e/variant/AllTraffic"
KEYS = {
    "ServiceNamespace": "sagemaker",
    "ResourceId": RESOURCE,
    "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
}


def test_a_plan_carries_autoscaling_and_its_scaling_clock() -> None:
    plan = parse_plan(PLAN.format(count=1, low=1))
    config = plan.configurations[0]
    assert plan.scaling_clock == 60
    assert config.kind == "realtime" and config.autoscaling is not None
    assert (config.autoscaling.scale_in_cooldown, config.autoscaling.scale_out_cooldown) == (
        10.0,
        300.0,
    )
    with pytest.raises(PlanError) as low_above_high:
        parse_plan(PLAN.format(count=5, low=5))
    assert str(low_above_high.value) == (
        "plan line 10: configurations.0.autoscaling: min_instances cannot exceed max_instances"
    )
    with pytest.raises(PlanError) as outside:
        parse_plan(PLAN.format(count=3, low=4))
    assert str(outside.value) == (
        "plan line 6: configurations.0: instance_count must lie between min_instances and "
        "max_instances"
    )


def client() -> Any:
    return boto3.client(
        "application-autoscaling",
        region_name="us-east-1",
        aws_access_key_id="a",
        aws_secret_access_key="b",
    )


def test_attach_registers_the_target_then_the_target_tracking_policy() -> None:
    plan = parse_plan(PLAN.format(count=1, low=1))
    policy = plan.configurations[0].autoscaling
    assert policy is not None
    aas = client()
    with Stubber(aas) as stub:
        stub.add_response(
            "register_scalable_target", {}, {**KEYS, "MinCapacity": 1, "MaxCapacity": 4}
        )
        stub.add_response(
            "put_scaling_policy",
            {"PolicyARN": "arn:aws:autoscaling:us-east-1:1:scalingPolicy:x", "Alarms": []},
            {
                **KEYS,
                "PolicyName": "endpointlab-invocations",
                "PolicyType": "TargetTrackingScaling",
                "TargetTrackingScalingPolicyConfiguration": {
                    "TargetValue": 50.0,
                    "PredefinedMetricSpecification": {
                        "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
                    },
                    "ScaleInCooldown": 10,
                    "ScaleOutCooldown": 300,
                },
            },
        )
        assert scaling.attach(aas, RESOURCE, policy) == ""
        stub.assert_no_pending_responses()
        stub.add_client_error("register_scalable_target", "ValidationException", "no endpoint")
        assert scaling.attach(aas, RESOURCE, policy) == (
            f"cannot set up autoscaling on {RESOURCE}: no endpoint"
        )


def test_detach_deletes_the_policy_then_the_target_and_left_lists_what_remains() -> None:
    aas = client()
    with Stubber(aas) as stub:
        stub.add_response(
            "delete_scaling_policy", {}, {**KEYS, "PolicyName": "endpointlab-invocations"}
        )
        stub.add_client_error("deregister_scalable_target", "ObjectNotFoundException", "gone")
        assert scaling.detach(aas, RESOURCE) == []  # already gone is fine
        stub.add_client_error("delete_scaling_policy", "ConcurrentUpdateException", "busy")
        stub.add_response("deregister_scalable_target", {}, KEYS)
        assert scaling.detach(aas, RESOURCE) == [
            f"cannot delete the scaling policy of {RESOURCE}: busy"
        ]
        stub.add_response(
            "describe_scalable_targets",
            {"ScalableTargets": []},
            {"ServiceNamespace": "sagemaker", "ResourceIds": [RESOURCE]},
        )
        stub.add_response(
            "describe_scaling_policies",
            {"ScalingPolicies": []},
            {"ServiceNamespace": "sagemaker", "ResourceId": RESOURCE},
        )
        assert scaling.left(aas, RESOURCE) == []
        stub.assert_no_pending_responses()


def test_an_autoscaled_configuration_is_priced_by_the_instance_time_it_used() -> None:
    prices = PriceTable(region="us-east-1", prices={"instance.ml.c5.large": Price(0.1)})
    settings = {
        "InstanceType": "ml.c5.large",
        "InitialInstanceCount": 1,
        "MinInstanceCount": 1,
        "MaxInstanceCount": 4,
    }
    # 1, 1, 3, 3 instances over 4 s (8 instance-seconds) for 10 requests: 0.8 s a request
    config = configuration("auto", "realtime", settings, [50.0] * 10, instances=[1, 1, 3, 3])
    busy = configuration_cost(config, Traffic(requests_per_month=1e7), prices)
    assert busy.per_month_usd == pytest.approx(1e7 * 0.8 / 3600 * 0.1)
    assert "under its autoscaling policy" in busy.basis
    quiet = configuration_cost(config, Traffic(requests_per_month=1e3), prices)
    assert quiet.per_month_usd == pytest.approx(0.1 * HOURS_PER_MONTH)  # min_instances all month


def test_the_realtime_plan_ends_with_an_autoscaled_ramp_on_a_compressed_clock() -> None:
    from endpointlab.bench.builtin import builtin_plan

    for quick, clock, target in ((True, 60.0, 5.0), (False, 10.0, 30.0)):
        plan = builtin_plan("realtime", quick, {"artifact": "model.tar.gz"})
        last = plan.configurations[-1]
        assert plan.scaling_clock == clock
        assert last.kind == "realtime" and last.autoscaling is not None
        # 5 invocations a second per instance, summed over the clock's alarm period
        assert last.autoscaling.target_invocations_per_instance == target
        assert last.phases is not None and last.phases[0].rate == (2, 20)


def test_the_aws_estimate_bounds_an_autoscaled_configuration_by_its_maximum() -> None:
    from endpointlab.bench.estimate import DEPLOY_ALLOWANCE_S, estimate

    prices = PriceTable(region="us-east-1", prices={"instance.ml.c5.large": Price(0.1)})
    (line,) = estimate(parse_plan(PLAN.format(count=1, low=1)), prices).lines
    assert line.what == "4 x ml.c5.large for 16 min (autoscaling max)"
    assert line.usd == pytest.approx(4 * 0.1 * (30 + DEPLOY_ALLOWANCE_S) / 3600)


def test_on_aws_the_plan_says_its_scaling_clock_is_the_emulators(tmp_path: Path) -> None:
    from tests.unit.test_bench_aws import IMAGE, MODEL, ROLE

    (tmp_path / "args.jsonl").write_text('{"Body": "1,2", "ContentType": "text/csv"}\n')
    env = {
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    }
    arguments = ["bench", "realtime", "--quick", "--target", "aws", "--model", MODEL]
    arguments += ["--invoke-args", str(tmp_path / "args.jsonl"), "--out", str(tmp_path / "r")]
    arguments += ["--role-arn", ROLE, "--image", IMAGE, "--max-cost", "0.001"]
    outcome = CliRunner().invoke(main, arguments, env=env)
    assert outcome.exit_code == 2, outcome.output
    assert "scaling_clock 60 applies to the local emulator: on AWS scaling runs at" in (
        outcome.output
    )
    assert "4 x ml.c5.large for 15 min (autoscaling max)" in outcome.output

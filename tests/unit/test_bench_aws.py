"""``--target aws`` without reaching AWS: the call sequence of a deployment and its teardown
(botocore's Stubber checks every call and its parameters, in order), teardown after a refused
deployment, and the cost guard that stops a plan before anything is created."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from click.testing import CliRunner

from endpointlab.bench.deploy import deploy, leftovers, names_for, teardown, variant
from endpointlab.bench.estimate import DEPLOY_ALLOWANCE_S, estimate
from endpointlab.bench.execute import Runner
from endpointlab.bench.measure import RunSettings
from endpointlab.bench.plan import parse_plan
from endpointlab.bench.rundir import environment
from endpointlab.bench.targets import Connection
from endpointlab.catalogue import instance_type
from endpointlab.cli import main
from endpointlab.loadgen.client import Invocation, Target
from endpointlab.loadgen.signing import Credentials
from endpointlab.prices import load_prices
from endpointlab.results.run_result import load_run_result

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
MODEL = "s3://my-bucket/models/model.tar.gz"
PLAN = f"""\
name: on-aws
target: aws
model: {{artifact: "{MODEL}", image: "{IMAGE}"}}
aws: {{role_arn: "{ROLE}", region: us-east-1}}
objective: {{latency_ms: 100}}
configurations:
  - {{name: c5, kind: realtime, instance_type: ml.c5.large, instance_count: 2}}
phases:
  - {{name: steady, rate: 5, duration: 2m}}
"""
NOW = datetime(2026, 12, 7, tzinfo=UTC)


def described(name: str, status: str) -> dict[str, Any]:
    return {
        "EndpointName": name,
        "EndpointArn": f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{name}",
        "EndpointConfigName": name,
        "EndpointStatus": status,
        "CreationTime": NOW,
        "LastModifiedTime": NOW,
    }


def connection() -> tuple[Connection, Stubber, Stubber]:
    session = boto3.session.Session(
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret", region_name="us-east-1"
    )
    sagemaker, cloudwatch = session.client("sagemaker"), session.client("cloudwatch")
    target = Target(
        "https://runtime.sagemaker.us-east-1.amazonaws.com",
        "us-east-1",
        Credentials("AKIDEXAMPLE", "secret", None),
    )
    made = Connection("aws", "us-east-1", sagemaker, cloudwatch, target, ROLE, IMAGE, "aws")
    return made, Stubber(sagemaker), Stubber(cloudwatch)


def expect_teardown(stub: Stubber, name: str, *, endpoint_exists: bool) -> None:
    if endpoint_exists:
        stub.add_response("delete_endpoint", {}, {"EndpointName": name})
        stub.add_client_error(
            "describe_endpoint",
            "ValidationException",
            f'Could not find endpoint "{name}".',
            400,
            {"EndpointName": name},
        )
    else:
        stub.add_client_error(
            "delete_endpoint",
            "ValidationException",
            f'Could not find endpoint "{name}".',
            400,
            {"EndpointName": name},
        )
    stub.add_response("delete_endpoint_config", {}, {"EndpointConfigName": name})
    stub.add_response("delete_model", {}, {"ModelName": name})
    stub.add_response("list_endpoints", {"Endpoints": []}, {"NameContains": name})
    stub.add_response("list_endpoint_configs", {"EndpointConfigs": []}, {"NameContains": name})
    stub.add_response("list_models", {"Models": []}, {"NameContains": name})


def test_deploy_waits_for_in_service_and_teardown_deletes_everything_it_made() -> None:
    made, stub, _ = connection()
    plan = parse_plan(PLAN)
    names = names_for("el-1234abcd", "c5")
    production = variant(plan.configurations[0], names.model)
    arn = "arn:aws:sagemaker:us-east-1:123456789012"
    stub.add_response(
        "create_model",
        {"ModelArn": f"{arn}:model/{names.model}"},
        {
            "ModelName": names.model,
            "ExecutionRoleArn": ROLE,
            "PrimaryContainer": {"Image": IMAGE, "ModelDataUrl": MODEL},
        },
    )
    stub.add_response(
        "create_endpoint_config",
        {"EndpointConfigArn": f"{arn}:endpoint-config/{names.endpoint_config}"},
        {
            "EndpointConfigName": names.endpoint_config,
            "ProductionVariants": [
                {
                    "VariantName": "AllTraffic",
                    "ModelName": names.model,
                    "InstanceType": "ml.c5.large",
                    "InitialInstanceCount": 2,
                }
            ],
        },
    )
    stub.add_response(
        "create_endpoint",
        {"EndpointArn": f"{arn}:endpoint/{names.endpoint}"},
        {"EndpointName": names.endpoint, "EndpointConfigName": names.endpoint},
    )
    stub.add_response(
        "describe_endpoint", described(names.endpoint, "Creating"), {"EndpointName": names.endpoint}
    )
    stub.add_response(
        "describe_endpoint",
        described(names.endpoint, "InService"),
        {"EndpointName": names.endpoint},
    )
    expect_teardown(stub, names.endpoint, endpoint_exists=True)
    with stub:
        deploy(made, names, production, MODEL, {}, poll_s=0.01, timeout_s=1.0)
        assert teardown(made, names, poll_s=0.01, timeout_s=1.0) == []
        assert leftovers(made, names.endpoint) == []
        stub.assert_no_pending_responses()


def test_a_refused_deployment_is_recorded_as_failed_and_still_torn_down(tmp_path: Path) -> None:
    made, stub, metrics = connection()
    plan = parse_plan(PLAN)
    invocations = [Invocation.from_args({"Body": "1,2", "ContentType": "text/csv"})]
    runner = Runner(
        plan,
        made,
        tmp_path / "run",
        invocations,
        MODEL,
        RunSettings(poll_s=0.01, deploy_timeout_s=1.0),
        lambda text: None,
    )
    name = f"{runner.prefix}-c5"
    stub.add_response("create_model", {"ModelArn": "arn:aws:sagemaker:us-east-1:1:model/m"})
    stub.add_response(
        "create_endpoint_config",
        {"EndpointConfigArn": "arn:aws:sagemaker:us-east-1:1:endpoint-config/c"},
    )
    stub.add_client_error(
        "create_endpoint",
        "ResourceLimitExceeded",
        "The account-level service limit 'ml.c5.large for endpoint usage' is 0",
        400,
    )
    expect_teardown(stub, name, endpoint_exists=False)
    metrics.add_response("get_metric_data", {"MetricDataResults": []})
    with stub, metrics:
        result = runner.run(environment("aws", "us-east-1", "aws"))
        stub.assert_no_pending_responses()
        metrics.assert_no_pending_responses()
    saved = load_run_result(tmp_path / "run").configuration("c5")
    assert saved.status == "failed" == result.configurations[0].status
    assert "service limit" in saved.status_reason


def test_the_estimate_bills_instances_for_the_phases_and_a_deployment_allowance() -> None:
    plan = parse_plan(PLAN)
    quote = estimate(plan, load_prices("us-east-1"))
    hourly = instance_type("ml.c5.large").usd_per_hour  # type: ignore[union-attr]
    assert hourly is not None
    assert quote.total_usd == pytest.approx(hourly * 2 * (120 + DEPLOY_ALLOWANCE_S) / 3600)


@pytest.mark.parametrize(
    ("flags", "answer", "message"),
    [
        (["--max-cost", "0.01"], "", "exceeds --max-cost $0.01: nothing was created"),
        ([], "n\n", "not confirmed: nothing was created"),
    ],
)
def test_the_cost_guard_and_the_confirmation_stop_before_any_call(
    tmp_path: Path, flags: list[str], answer: str, message: str
) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN)
    (tmp_path / "args.jsonl").write_text('{"Body": "1,2", "ContentType": "text/csv"}\n')
    env = {
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        # Any call that got through would fail differently: nothing listens here.
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    }
    outcome = CliRunner().invoke(
        main,
        [
            "bench",
            str(plan),
            "--invoke-args",
            str(tmp_path / "args.jsonl"),
            "--out",
            str(tmp_path / "run"),
            *flags,
        ],
        input=answer,
        env=env,
    )
    assert outcome.exit_code == 2, outcome.output
    assert "ml.c5.large" in outcome.output and "Estimated cost: at most $" in outcome.output
    assert outcome.output.strip().endswith(message)


def test_an_endpoint_still_creating_is_deleted_once_it_settles() -> None:
    made, stub, _ = connection()
    names = names_for("el-1234abcd", "c5")
    name = names.endpoint
    stub.add_client_error(
        "delete_endpoint",
        "ValidationException",
        f'Cannot delete endpoint "{name}" while it is Creating.',
        400,
        {"EndpointName": name},
    )
    stub.add_response("describe_endpoint", described(name, "InService"), {"EndpointName": name})
    stub.add_response("delete_endpoint", {}, {"EndpointName": name})
    stub.add_client_error(
        "describe_endpoint", "ValidationException", "Could not find endpoint", 400
    )
    stub.add_response("delete_endpoint_config", {}, {"EndpointConfigName": name})
    stub.add_response("delete_model", {}, {"ModelName": name})
    with stub:
        assert teardown(made, names, poll_s=0.01, timeout_s=1.0) == []
        stub.assert_no_pending_responses()


def test_a_builtin_plan_goes_to_aws_with_an_s3_model_and_is_estimated(tmp_path: Path) -> None:
    (tmp_path / "args.jsonl").write_text('{"Body": "1,2", "ContentType": "text/csv"}\n')
    env = {
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    }
    arguments = ["bench", "compare", "--quick", "--target", "aws", "--model", MODEL]
    arguments += ["--invoke-args", str(tmp_path / "args.jsonl"), "--out", str(tmp_path / "r")]
    missing = CliRunner().invoke(main, [*arguments, "--role-arn", ROLE], env=env)
    assert missing.exit_code == 2
    assert missing.output.endswith(
        "needs the inference image: --image or model.image in the plan\n"
    )
    outcome = CliRunner().invoke(
        main, [*arguments, "--role-arn", ROLE, "--image", IMAGE, "--max-cost", "0.001"], env=env
    )
    assert outcome.exit_code == 2, outcome.output
    assert "serverless-2048" in outcome.output and "realtime-c5-large" in outcome.output
    assert "exceeds --max-cost $0.00: nothing was created" in outcome.output
    saved = (tmp_path / "r" / "plan.yaml").read_text()
    assert f"artifact: {MODEL}" in saved and f"image: {IMAGE}" in saved

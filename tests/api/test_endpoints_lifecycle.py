"""Endpoint lifecycle through boto3 (control/lifecycle.py): Creating -> InService | Failed,
blue/green UpdateEndpoint, UpdateEndpointWeightsAndCapacities, DeleteEndpoint, the waiters."""

from __future__ import annotations

import json
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, WaiterError

from tests.api.support import (
    FAILING_LOAD_SOURCE,
    FAST_WAIT,
    IMAGE,
    Deployer,
    EmulatorThread,
    Examples,
    arn,
    client,
    descendants,
    error_of,
    handler_archive,
    invoke_json,
    probe_archive,
    still_running,
    unique,
)


@pytest.mark.parametrize("example", ["rtb-ctr", "image-classifier"])
def test_whole_lifecycle_of_each_example_model(
    example: str, examples: Examples, sagemaker: Any, runtime: Any
) -> None:
    built = examples[example]
    model, config, endpoint = unique("model"), unique("config"), unique("endpoint")
    sagemaker.create_model(
        ModelName=model,
        PrimaryContainer={
            "Image": IMAGE,
            "ModelDataUrl": str(built.archive),
            "Environment": {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"},
        },
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=config,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": model,
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    created = sagemaker.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
    assert created["EndpointArn"] == arn("endpoint", endpoint)
    assert sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointStatus"] == "Creating"

    sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=endpoint, WaiterConfig=FAST_WAIT)
    described = sagemaker.describe_endpoint(EndpointName=endpoint)
    assert described["EndpointStatus"] == "InService"
    assert described["EndpointConfigName"] == config
    assert isinstance(described["CreationTime"], datetime)
    assert described["LastModifiedTime"] >= described["CreationTime"]
    [variant] = described["ProductionVariants"]
    assert variant["VariantName"] == "AllTraffic"
    assert variant["CurrentInstanceCount"] == variant["DesiredInstanceCount"] == 1
    assert variant["CurrentWeight"] == variant["DesiredWeight"] == 1.0
    assert variant["DeployedImages"][0]["SpecifiedImage"] == IMAGE
    assert "FailureReason" not in described

    for request in built.requests:
        response = runtime.invoke_endpoint(EndpointName=endpoint, **request)
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
        assert response["InvokedProductionVariant"] == "AllTraffic"
        body = response["Body"].read()
        assert body
        accept = request.get("Accept", "*/*")
        if accept != "*/*":
            assert response["ContentType"] == accept

    sagemaker.delete_endpoint(EndpointName=endpoint)
    sagemaker.get_waiter("endpoint_deleted").wait(EndpointName=endpoint, WaiterConfig=FAST_WAIT)
    with pytest.raises(ClientError) as caught:
        sagemaker.describe_endpoint(EndpointName=endpoint)
    assert error_of(caught) == {
        "Code": "ValidationException",
        "Message": f'Could not find endpoint "{arn("endpoint", endpoint)}".',
        "Status": 400,
    }
    with pytest.raises(ClientError) as caught:
        runtime.invoke_endpoint(EndpointName=endpoint, **built.requests[0])
    assert error_of(caught)["Code"] == "ValidationError"
    sagemaker.delete_endpoint_config(EndpointConfigName=config)
    sagemaker.delete_model(ModelName=model)
    assert not sagemaker.list_endpoints(NameContains=endpoint)["Endpoints"]


def assert_no_new_processes(before: set[int]) -> None:
    """Every process started since ``before`` was taken has exited (within ten seconds)."""
    left = still_running(descendants() - before)
    assert not left, f"worker processes left running: {left}"


def test_create_endpoint_needs_an_existing_config(sagemaker: Any) -> None:
    endpoint, config = unique("endpoint"), unique("no-such-config")
    with pytest.raises(ClientError) as caught:
        sagemaker.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
    assert error_of(caught) == {
        "Code": "ValidationException",
        "Message": f'Could not find endpoint configuration "{arn("endpoint-config", config)}".',
        "Status": 400,
    }
    with pytest.raises(ClientError):
        sagemaker.describe_endpoint(EndpointName=endpoint)


def test_duplicate_endpoint_names_are_refused(
    sagemaker: Any, deployer: Deployer, probe: Path
) -> None:
    deployment = deployer.deploy(probe, wait=False)
    for again in (deployment.endpoint, deployment.endpoint.upper()):
        with pytest.raises(ClientError) as caught:
            sagemaker.create_endpoint(EndpointName=again, EndpointConfigName=deployment.config)
        assert error_of(caught) == {
            "Code": "ValidationException",
            "Message": "Cannot create already existing endpoint "
            f'"{arn("endpoint", deployment.endpoint)}".',
            "Status": 400,
        }
    deployer.wait_in_service(deployment.endpoint)


def test_endpoint_names_are_validated(emulator_url: str, deployer: Deployer, probe: Path) -> None:
    loose = client("sagemaker", emulator_url, parameter_validation=False)
    config = deployer.config(deployer.model(probe))
    for name in ("under_score", "e" * 64, "ends-with-"):
        with pytest.raises(ClientError) as caught:
            loose.create_endpoint(EndpointName=name, EndpointConfigName=config)
        error = error_of(caught)
        assert error["Code"] == "ValidationException"
        assert f"Value '{name}' at 'endpointName' failed to satisfy constraint" in error["Message"]


def endpoint_log(emulator: EmulatorThread, endpoint: str, variant: str = "AllTraffic") -> Path:
    return emulator.emulator.settings.data_dir / "logs" / endpoint / variant / "primary.log"


def test_a_model_that_cannot_load_leaves_a_failed_endpoint_that_can_be_deleted(
    sagemaker: Any, deployer: Deployer, tmp_path: Path, emulator: EmulatorThread
) -> None:
    before = descendants()
    deployment = deployer.deploy(handler_archive(tmp_path, FAILING_LOAD_SOURCE), wait=False)
    with pytest.raises(WaiterError) as waited:
        deployer.wait_in_service(deployment.endpoint)
    assert "Failed" in str(waited.value)
    described = sagemaker.describe_endpoint(EndpointName=deployment.endpoint)
    assert described["EndpointStatus"] == "Failed"
    # AWS's wording (facts §10); the exception is only in the endpoint's log.
    assert described["FailureReason"] == (
        "The primary container for production variant AllTraffic did not pass the ping health "
        "check. Please check CloudWatch logs for this endpoint."
    )
    log = endpoint_log(emulator, deployment.endpoint).read_text()
    assert "loading the model failed:\nTraceback (most recent call last):" in log
    assert "RuntimeError: the weights file is corrupt" in log
    refused = {
        "Code": "ValidationException",
        "Message": f'Cannot update failed endpoint "{arn("endpoint", deployment.endpoint)}".',
        "Status": 400,
    }
    with pytest.raises(ClientError) as caught:
        sagemaker.update_endpoint(
            EndpointName=deployment.endpoint, EndpointConfigName=deployment.config
        )
    assert error_of(caught) == refused
    with pytest.raises(ClientError) as caught:
        sagemaker.update_endpoint_weights_and_capacities(
            EndpointName=deployment.endpoint,
            DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredWeight": 2.0}],
        )
    assert error_of(caught) == refused
    sagemaker.delete_endpoint(EndpointName=deployment.endpoint)  # a Failed endpoint can go
    deployer.wait_deleted(deployment.endpoint)
    assert_no_new_processes(before)


def test_an_endpoint_whose_model_was_deleted_fails_with_the_reason(
    sagemaker: Any, deployer: Deployer, probe: Path
) -> None:
    model = deployer.model(probe)
    config = deployer.config(model)
    sagemaker.delete_model(ModelName=model)
    endpoint = deployer.endpoint(config, wait=False)
    with pytest.raises(WaiterError):
        deployer.wait_in_service(endpoint)
    described = sagemaker.describe_endpoint(EndpointName=endpoint)
    assert described["EndpointStatus"] == "Failed"
    assert arn("model", model) in described["FailureReason"]


def test_an_unreadable_artifact_fails_the_endpoint_not_the_model(
    sagemaker: Any, deployer: Deployer, tmp_path: Path
) -> None:
    garbage = tmp_path / "model.tar.gz"
    garbage.write_bytes(b"this is not a gzip archive")
    deployment = deployer.deploy(garbage, wait=False)
    with pytest.raises(WaiterError):
        deployer.wait_in_service(deployment.endpoint)
    described = sagemaker.describe_endpoint(EndpointName=deployment.endpoint)
    assert described["EndpointStatus"] == "Failed"
    # AWS's wording for an archive it cannot extract, then the emulator's reason.
    url = garbage.as_uri()
    assert described["FailureReason"].startswith(
        f'Failed to extract model data archive for container "container_1" from URL "{url}". '
        "Please ensure that the object located at the URL is a valid tar.gz archive. ("
    )
    assert "not a readable tar.gz archive" in described["FailureReason"]
    # The model only names the artifact: it is still there, unchanged by the failure.
    [model] = deployment.models
    assert sagemaker.describe_model(ModelName=model)["ModelName"] == model
    assert model in {m["ModelName"] for m in sagemaker.list_models(NameContains=model)["Models"]}


def in_progress(endpoint: str) -> dict[str, Any]:
    """SageMaker's answer to a change of an endpoint that is Creating or Updating (the wording
    AWS's Kubernetes operator matches on for DeleteEndpoint)."""
    return {
        "Code": "ValidationException",
        "Message": f'Cannot update in-progress endpoint "{arn("endpoint", endpoint)}".',
        "Status": 400,
    }


def test_a_creating_endpoint_cannot_be_deleted_until_it_settles(
    sagemaker: Any, deployer: Deployer, tmp_path: Path
) -> None:
    before = descendants()
    deployment = deployer.deploy(probe_archive(tmp_path, "slow", load_delay_s=2.0), wait=False)
    # The model takes two seconds to load: the endpoint is still Creating when it is deleted.
    described = sagemaker.describe_endpoint(EndpointName=deployment.endpoint)
    assert described["EndpointStatus"] == "Creating"
    with pytest.raises(ClientError) as caught:
        sagemaker.delete_endpoint(EndpointName=deployment.endpoint)
    assert error_of(caught) == in_progress(deployment.endpoint)
    assert sagemaker.describe_endpoint(EndpointName=deployment.endpoint)["EndpointStatus"] == (
        "Creating"
    )
    # What cleanup code does on AWS: wait for InService (or Failed), then delete.
    deployer.wait_in_service(deployment.endpoint)
    sagemaker.delete_endpoint(EndpointName=deployment.endpoint)
    deployer.wait_deleted(deployment.endpoint)
    assert not sagemaker.list_endpoints(NameContains=deployment.endpoint)["Endpoints"]
    assert_no_new_processes(before)


def test_an_updating_endpoint_refuses_updates_scaling_and_deletion(
    sagemaker: Any, runtime: Any, deployer: Deployer, probe: Path, tmp_path: Path
) -> None:
    deployment = deployer.deploy(probe)
    new_config = deployer.config(deployer.model(probe_archive(tmp_path, "v2", load_delay_s=2.0)))
    sagemaker.update_endpoint(EndpointName=deployment.endpoint, EndpointConfigName=new_config)
    calls = (
        lambda: sagemaker.delete_endpoint(EndpointName=deployment.endpoint),
        lambda: sagemaker.update_endpoint(
            EndpointName=deployment.endpoint, EndpointConfigName=new_config
        ),
        lambda: sagemaker.update_endpoint_weights_and_capacities(
            EndpointName=deployment.endpoint,
            DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredWeight": 2.0}],
        ),
    )
    for call in calls:
        with pytest.raises(ClientError) as caught:
            call()
        assert error_of(caught) == in_progress(deployment.endpoint)
    # Refused, not half-done: the old fleet still serves and the update completes.
    assert sagemaker.describe_endpoint(EndpointName=deployment.endpoint)["EndpointStatus"] == (
        "Updating"
    )
    assert invoke_json(runtime, deployment.endpoint)["version"] == "v1"
    deployer.wait_in_service(deployment.endpoint)
    assert invoke_json(runtime, deployment.endpoint)["version"] == "v2"


def test_deleting_the_config_and_model_of_a_live_endpoint_keeps_it_serving(
    sagemaker: Any, runtime: Any, deployer: Deployer, probe: Path
) -> None:
    deployment = deployer.deploy(probe)
    sagemaker.delete_endpoint_config(EndpointConfigName=deployment.config)
    sagemaker.delete_model(ModelName=deployment.models[0])
    assert invoke_json(runtime, deployment.endpoint)["version"] == "v1"
    described = sagemaker.describe_endpoint(EndpointName=deployment.endpoint)
    assert described["EndpointStatus"] == "InService"
    assert described["EndpointConfigName"] == deployment.config


def test_update_endpoint_is_blue_green(
    sagemaker: Any, runtime: Any, deployer: Deployer, probe: Path, tmp_path: Path
) -> None:
    deployment = deployer.deploy(probe)
    old_pid = invoke_json(runtime, deployment.endpoint)["pid"]
    # The new model takes a second to load, so the Updating window can be observed.
    new_model = deployer.model(probe_archive(tmp_path, "v2", load_delay_s=1.0))
    new_config = deployer.config(new_model)
    updated = sagemaker.update_endpoint(
        EndpointName=deployment.endpoint, EndpointConfigName=new_config
    )
    assert updated["EndpointArn"] == arn("endpoint", deployment.endpoint)

    during = sagemaker.describe_endpoint(EndpointName=deployment.endpoint)
    assert during["EndpointStatus"] == "Updating"
    assert during["EndpointConfigName"] == deployment.config
    assert during["PendingDeploymentSummary"]["EndpointConfigName"] == new_config
    assert isinstance(during["PendingDeploymentSummary"]["StartTime"], datetime)
    # The old fleet keeps serving until the new one is InService.
    assert invoke_json(runtime, deployment.endpoint)["version"] == "v1"
    with pytest.raises(ClientError) as caught:  # one change at a time
        sagemaker.update_endpoint(EndpointName=deployment.endpoint, EndpointConfigName=new_config)
    assert error_of(caught)["Code"] == "ValidationException"

    deployer.wait_in_service(deployment.endpoint)
    after = sagemaker.describe_endpoint(EndpointName=deployment.endpoint)
    assert after["EndpointConfigName"] == new_config
    assert "PendingDeploymentSummary" not in after
    assert after["LastModifiedTime"] > during["LastModifiedTime"]
    assert after["CreationTime"] == during["CreationTime"]
    assert invoke_json(runtime, deployment.endpoint)["version"] == "v2"
    # The old fleet is retired once the new one serves.
    assert not still_running([old_pid])


def test_a_client_invoking_in_a_loop_sees_no_error_during_an_update(
    sagemaker: Any, emulator_url: str, deployer: Deployer, probe: Path, tmp_path: Path
) -> None:
    deployment = deployer.deploy(probe)
    new_config = deployer.config(deployer.model(probe_archive(tmp_path, "v2", load_delay_s=0.5)))
    loop_client = client("sagemaker-runtime", emulator_url)
    versions: list[str] = []
    errors: list[Exception] = []
    switched = threading.Event()

    def invoke_in_a_loop() -> None:
        after_switch = 0
        while after_switch < 20:
            try:
                versions.append(invoke_json(loop_client, deployment.endpoint)["version"])
            except Exception as exc:  # every failure is a finding here
                errors.append(exc)
                return
            if switched.is_set():
                after_switch += 1

    invoker = threading.Thread(target=invoke_in_a_loop)
    invoker.start()
    try:
        sagemaker.update_endpoint(EndpointName=deployment.endpoint, EndpointConfigName=new_config)
        deployer.wait_in_service(deployment.endpoint)
    finally:
        switched.set()
        invoker.join(timeout=60)
    assert not errors, errors
    assert versions[0] == "v1"
    assert versions[-1] == "v2"
    first_v2 = versions.index("v2")
    assert set(versions[first_v2:]) == {"v2"}, "traffic went back to the old fleet"
    assert "v1" in versions[:first_v2]


def test_a_failed_update_keeps_the_old_fleet_serving(
    sagemaker: Any,
    runtime: Any,
    deployer: Deployer,
    probe: Path,
    tmp_path: Path,
    emulator: EmulatorThread,
) -> None:
    deployment = deployer.deploy(probe)
    broken_config = deployer.config(deployer.model(handler_archive(tmp_path, FAILING_LOAD_SOURCE)))
    sagemaker.update_endpoint(EndpointName=deployment.endpoint, EndpointConfigName=broken_config)
    deployer.wait_in_service(deployment.endpoint)  # a rolled-back update ends InService
    described = sagemaker.describe_endpoint(EndpointName=deployment.endpoint)
    assert described["EndpointConfigName"] == deployment.config
    assert "did not pass the ping health check" in described["FailureReason"]
    assert "the weights file is corrupt" in endpoint_log(emulator, deployment.endpoint).read_text()
    assert "PendingDeploymentSummary" not in described
    assert invoke_json(runtime, deployment.endpoint)["version"] == "v1"
    # The reason stays until the next update.
    good_config = deployer.config(deployment.models[0])
    sagemaker.update_endpoint(EndpointName=deployment.endpoint, EndpointConfigName=good_config)
    assert "FailureReason" not in sagemaker.describe_endpoint(EndpointName=deployment.endpoint)
    deployer.wait_in_service(deployment.endpoint)


def test_update_endpoint_needs_an_existing_endpoint_and_config(
    sagemaker: Any, deployer: Deployer, probe: Path
) -> None:
    deployment = deployer.deploy(probe)
    missing = unique("missing")
    with pytest.raises(ClientError) as caught:
        sagemaker.update_endpoint(EndpointName=deployment.endpoint, EndpointConfigName=missing)
    assert error_of(caught) == {
        "Code": "ValidationException",
        "Message": f'Could not find endpoint configuration "{arn("endpoint-config", missing)}".',
        "Status": 400,
    }
    with pytest.raises(ClientError) as caught:
        sagemaker.update_endpoint(EndpointName=missing, EndpointConfigName=deployment.config)
    assert error_of(caught) == {
        "Code": "ValidationException",
        "Message": f'Could not find endpoint "{arn("endpoint", missing)}".',
        "Status": 400,
    }
    assert sagemaker.describe_endpoint(EndpointName=deployment.endpoint)["EndpointStatus"] == (
        "InService"
    )


def test_update_endpoint_while_creating_is_refused(
    sagemaker: Any, deployer: Deployer, probe: Path, tmp_path: Path
) -> None:
    deployment = deployer.deploy(probe_archive(tmp_path, "slow", load_delay_s=1.0), wait=False)
    with pytest.raises(ClientError) as caught:
        sagemaker.update_endpoint(
            EndpointName=deployment.endpoint, EndpointConfigName=deployment.config
        )
    assert error_of(caught) == in_progress(deployment.endpoint)
    deployer.wait_in_service(deployment.endpoint)


def test_delete_endpoint_of_a_missing_endpoint(sagemaker: Any) -> None:
    name = unique("missing")
    with pytest.raises(ClientError) as caught:
        sagemaker.delete_endpoint(EndpointName=name)
    assert error_of(caught) == {
        "Code": "ValidationException",
        "Message": f'Could not find endpoint "{arn("endpoint", name)}".',
        "Status": 400,
    }
    # The waiter treats that very error as "deleted".
    sagemaker.get_waiter("endpoint_deleted").wait(EndpointName=name, WaiterConfig=FAST_WAIT)


def test_the_in_service_waiter_fails_fast_on_a_missing_endpoint(sagemaker: Any) -> None:
    with pytest.raises(WaiterError) as caught:
        sagemaker.get_waiter("endpoint_in_service").wait(
            EndpointName=unique("missing"), WaiterConfig={"Delay": 0.2, "MaxAttempts": 3}
        )
    assert "ValidationException" in str(caught.value)


def test_model_names_in_a_config_are_case_insensitive(
    runtime: Any, deployer: Deployer, probe: Path
) -> None:
    model = deployer.model(probe, name=unique("CaseModel"))
    config = deployer.config(model.lower())  # found under either spelling, as its ARN is
    endpoint = deployer.endpoint(config)
    assert invoke_json(runtime, endpoint)["version"] == "v1"


ENVIRONMENT_SOURCE = """
import json
import os


def model_fn(model_dir):
    return None


def transform_fn(model, data, content_type, accept):
    return json.dumps({"greeting": os.environ.get("GREETING")}), "application/json"
"""


def test_the_container_environment_reaches_the_handler(
    runtime: Any, deployer: Deployer, tmp_path: Path
) -> None:
    archive = handler_archive(tmp_path, ENVIRONMENT_SOURCE)
    model = deployer.model(archive, environment={"GREETING": "hello from CreateModel"})
    endpoint = deployer.endpoint(deployer.config(model))
    answer = runtime.invoke_endpoint(EndpointName=endpoint, Body=b"x")
    assert json.loads(answer["Body"].read()) == {"greeting": "hello from CreateModel"}

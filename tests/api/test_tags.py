"""SageMaker tags through boto3 (services/sagemaker_tags.py, control/tags.py, the registry and
the store): Tags on CreateModel/CreateEndpointConfig/CreateEndpoint, AddTags, ListTags,
DeleteTags, by the ARNs Create*/Describe* return; kept with the resource across restarts and
gone with it; AWS's errors for bad ARNs, missing resources, reserved keys and too many tags."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from endpointlab.config import EmulatorSettings
from tests.api.support import (
    ACCOUNT,
    IMAGE,
    ONE_WORKER,
    REGION,
    Deployer,
    arn,
    client,
    error_of,
    running_emulator,
    unique,
)

ARN_PATTERN = "arn:aws[a-z-]*:sagemaker:[a-z0-9-]*:[0-9]{12}:.+"


def tags(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in pairs]


def listed(sagemaker: Any, resource_arn: str) -> list[dict[str, str]]:
    """Every tag of the resource, through the SDK's paginator (as the SageMaker SDK pages)."""
    paginator = sagemaker.get_paginator("list_tags")
    pages = paginator.paginate(ResourceArn=resource_arn, PaginationConfig={"PageSize": 50})
    return [tag for page in pages for tag in page["Tags"]]


def refused(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return error_of(caught)


@pytest.fixture(scope="module")
def loose(emulator_url: str) -> Any:
    """A SageMaker client that sends what it is given (botocore checks only minimums)."""
    return client("sagemaker", emulator_url, parameter_validation=False)


def test_tags_given_at_creation_are_listed_under_the_arns_create_and_describe_return(
    sagemaker: Any, deployer: Deployer, probe: Path
) -> None:
    name = unique("Tagged")  # mixed case: ARNs carry the name lower-cased
    created = sagemaker.create_model(
        ModelName=name,
        PrimaryContainer={
            "Image": IMAGE,
            "ModelDataUrl": probe.as_uri(),
            "Environment": ONE_WORKER,
        },
        Tags=tags(("team", "ml"), ("cost-center", "42")),
    )
    deployer.models.append(name)
    model_arn = sagemaker.describe_model(ModelName=name)["ModelArn"]
    assert created["ModelArn"] == model_arn == arn("model", name)
    assert listed(sagemaker, model_arn) == tags(("team", "ml"), ("cost-center", "42"))

    variant = {
        "VariantName": "AllTraffic",
        "ModelName": name,
        "InstanceType": "ml.m5.large",
        "InitialInstanceCount": 1,
    }
    config = sagemaker.create_endpoint_config(
        EndpointConfigName=name, ProductionVariants=[variant], Tags=tags(("stage", "blue"))
    )
    deployer.configs.append(name)
    config_arn = sagemaker.describe_endpoint_config(EndpointConfigName=name)["EndpointConfigArn"]
    assert config["EndpointConfigArn"] == config_arn
    # What the SageMaker SDK's Predictor.update_endpoint() sends first.
    answer = sagemaker.list_tags(ResourceArn=config_arn, MaxResults=50)
    assert answer["Tags"] == tags(("stage", "blue"))
    assert "NextToken" not in answer

    endpoint = sagemaker.create_endpoint(
        EndpointName=name, EndpointConfigName=name, Tags=tags(("owner", "me"))
    )
    deployer.endpoints.append(name)
    endpoint_arn = sagemaker.describe_endpoint(EndpointName=name)["EndpointArn"]
    assert endpoint["EndpointArn"] == endpoint_arn
    assert listed(sagemaker, endpoint_arn) == tags(("owner", "me"))  # while Creating, too
    deployer.wait_in_service(name)
    assert listed(sagemaker, endpoint_arn) == tags(("owner", "me"))
    # The name's case in the ARN does not matter, as for every SageMaker name.
    assert listed(sagemaker, f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/{name.upper()}")


def test_resources_made_without_tags_have_none(
    sagemaker: Any, deployer: Deployer, probe: Path
) -> None:
    model = deployer.model(probe)
    config = deployer.config(model)
    assert listed(sagemaker, arn("model", model)) == []
    assert sagemaker.list_tags(ResourceArn=arn("endpoint-config", config))["Tags"] == []


def test_add_tags_overwrites_by_key_and_answers_the_tags_it_added(
    sagemaker: Any, deployer: Deployer, probe: Path
) -> None:
    model_arn = arn("model", deployer.model(probe))
    sagemaker.add_tags(ResourceArn=model_arn, Tags=tags(("a", "1"), ("b", "2")))
    answer = sagemaker.add_tags(ResourceArn=model_arn, Tags=tags(("b", "two"), ("c", "")))
    assert answer["Tags"] == tags(("b", "two"), ("c", ""))
    assert listed(sagemaker, model_arn) == tags(("a", "1"), ("b", "two"), ("c", ""))
    # Overwriting keeps the count: a resource at the limit may still change its values.
    sagemaker.add_tags(ResourceArn=model_arn, Tags=tags(*((f"k{i}", "x") for i in range(47))))
    sagemaker.add_tags(ResourceArn=model_arn, Tags=tags(("a", "new"), ("k0", "y")))
    everything = listed(sagemaker, model_arn)
    assert len(everything) == 50
    assert {"Key": "a", "Value": "new"} in everything


def test_delete_tags_removes_keys_and_ignores_absent_ones(
    sagemaker: Any, deployer: Deployer, probe: Path
) -> None:
    config_arn = arn("endpoint-config", deployer.config(deployer.model(probe)))
    sagemaker.add_tags(ResourceArn=config_arn, Tags=tags(("a", "1"), ("b", "2"), ("c", "3")))
    sagemaker.delete_tags(ResourceArn=config_arn, TagKeys=["b", "never-there"])
    assert listed(sagemaker, config_arn) == tags(("a", "1"), ("c", "3"))
    sagemaker.delete_tags(ResourceArn=config_arn, TagKeys=["a", "c"])
    assert listed(sagemaker, config_arn) == []


def test_a_full_page_of_tags_and_pagination_tokens(
    sagemaker: Any, loose: Any, deployer: Deployer, probe: Path
) -> None:
    model_arn = arn("model", deployer.model(probe))
    fifty = tags(*((f"key-{i:02d}", f"value-{i}") for i in range(50)))
    sagemaker.add_tags(ResourceArn=model_arn, Tags=fifty)
    answer = sagemaker.list_tags(ResourceArn=model_arn)  # MaxResults defaults to 50
    assert answer["Tags"] == fifty
    assert "NextToken" not in answer
    assert listed(sagemaker, model_arn) == fifty
    error = refused(loose.list_tags, ResourceArn=model_arn, MaxResults=10)
    assert error == {
        "Code": "ValidationException",
        "Message": "1 validation error detected: Value '10' at 'maxResults' failed to satisfy "
        "constraint: Member must have value greater than or equal to 50",
        "Status": 400,
    }
    error = refused(sagemaker.list_tags, ResourceArn=model_arn, NextToken="not-a-token")
    assert (error["Code"], error["Status"]) == ("ValidationException", 400)


def test_an_update_keeps_the_configs_tags_as_the_sagemaker_sdk_copies_them(
    sagemaker: Any, deployer: Deployer, probe: Path
) -> None:
    # Predictor.update_endpoint(): read the live config and its tags, create a new config with
    # them (the SDK drops aws:-prefixed keys), move the endpoint to it.
    model = deployer.model(probe)
    old = unique("config")
    sagemaker.create_endpoint_config(
        EndpointConfigName=old,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": model,
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
        Tags=tags(("project", "ctr")),
    )
    deployer.configs.append(old)
    endpoint = deployer.endpoint(old)
    live = sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
    described = sagemaker.describe_endpoint_config(EndpointConfigName=live)
    kept = sagemaker.list_tags(ResourceArn=described["EndpointConfigArn"], MaxResults=50)["Tags"]
    new = unique("config")
    sagemaker.create_endpoint_config(
        EndpointConfigName=new,
        ProductionVariants=described["ProductionVariants"],
        Tags=[t for t in kept if not t["Key"].startswith("aws:")],
    )
    deployer.configs.append(new)
    sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=new)
    deployer.wait_in_service(endpoint)
    assert listed(sagemaker, arn("endpoint-config", new)) == tags(("project", "ctr"))


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["", "not-an-arn", f"arn:aws:s3:::bucket/{ACCOUNT}"])
def test_a_malformed_arn_fails_the_models_pattern(loose: Any, bad: str) -> None:
    # The wording AWS gives (captured: aws-samples/mlops-sagemaker-github-actions issue #6).
    for call, extra in [
        (loose.list_tags, {}),
        (loose.add_tags, {"Tags": tags(("a", "1"))}),
        (loose.delete_tags, {"TagKeys": ["a"]}),
    ]:
        assert refused(call, ResourceArn=bad, **extra) == {
            "Code": "ValidationException",
            "Message": f"1 validation error detected: Value '{bad}' at 'resourceArn' failed to "
            f"satisfy constraint: Member must satisfy regular expression pattern: {ARN_PATTERN}",
            "Status": 400,
        }


@pytest.mark.parametrize(
    ("resource_arn", "label"),
    [
        (arn("model", "no-such-model"), "model"),
        (arn("endpoint-config", "no-such-config"), "endpoint configuration"),
        (arn("endpoint", "no-such-endpoint"), "endpoint"),
        (f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/job", "resource"),
        (f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint", "resource"),
    ],
)
def test_an_arn_naming_no_resource_is_a_validation_exception(
    sagemaker: Any, resource_arn: str, label: str
) -> None:
    expected = {
        "Code": "ValidationException",
        "Message": f'Could not find {label} "{resource_arn}".',
        "Status": 400,
    }
    assert refused(sagemaker.list_tags, ResourceArn=resource_arn) == expected
    assert refused(sagemaker.add_tags, ResourceArn=resource_arn, Tags=tags(("a", "1"))) == expected
    assert refused(sagemaker.delete_tags, ResourceArn=resource_arn, TagKeys=["a"]) == expected


def test_an_arn_of_another_region_or_account_names_nothing_here(
    sagemaker: Any, deployer: Deployer, probe: Path
) -> None:
    model = deployer.model(probe)
    for other in (
        f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:model/{model}",
        f"arn:aws:sagemaker:{REGION}:210987654321:model/{model}",
        f"arn:aws-cn:sagemaker:{REGION}:{ACCOUNT}:model/{model}",
    ):
        error = refused(sagemaker.list_tags, ResourceArn=other)
        assert error["Message"] == f'Could not find model "{other}".'


def test_reserved_aws_keys_are_refused_and_nothing_changes(
    sagemaker: Any, deployer: Deployer, probe: Path
) -> None:
    model_arn = arn("model", deployer.model(probe))
    sagemaker.add_tags(ResourceArn=model_arn, Tags=tags(("keep", "1")))
    message = "System prefix 'aws:' reserved for AWS usage in tag key: {}"
    for key in ("aws:cloudformation:stack-name", "AWS:Mixed"):
        error = refused(
            sagemaker.add_tags, ResourceArn=model_arn, Tags=tags(("fine", "1"), (key, "x"))
        )
        assert error == {
            "Code": "ValidationException",
            "Message": message.format(key),
            "Status": 400,
        }
        error = refused(sagemaker.delete_tags, ResourceArn=model_arn, TagKeys=["keep", key])
        assert error["Message"] == message.format(key)
    assert listed(sagemaker, model_arn) == tags(("keep", "1"))
    # Not a prefix: allowed.
    sagemaker.add_tags(ResourceArn=model_arn, Tags=tags(("not-aws:x", "1"), ("awsome", "2")))


def test_reserved_keys_on_create_refuse_the_resource(
    sagemaker: Any, deployer: Deployer, probe: Path
) -> None:
    name = unique("reserved")
    error = refused(
        sagemaker.create_model,
        ModelName=name,
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": probe.as_uri()},
        Tags=tags(("aws:owner", "me")),
    )
    assert error["Message"] == "System prefix 'aws:' reserved for AWS usage in tag key: aws:owner"
    assert refused(sagemaker.describe_model, ModelName=name)["Code"] == "ValidationException"
    config = deployer.config(deployer.model(probe))
    error = refused(
        sagemaker.create_endpoint,
        EndpointName=name,
        EndpointConfigName=config,
        Tags=tags(("aws:owner", "me")),
    )
    assert error["Code"] == "ValidationException"
    assert sagemaker.list_endpoints(NameContains=name)["Endpoints"] == []


def test_more_than_fifty_tags_are_refused(
    sagemaker: Any, loose: Any, deployer: Deployer, probe: Path
) -> None:
    model_arn = arn("model", deployer.model(probe))
    sagemaker.add_tags(ResourceArn=model_arn, Tags=tags(*((f"k{i}", "v") for i in range(45))))
    error = refused(
        sagemaker.add_tags, ResourceArn=model_arn, Tags=tags(*((f"n{i}", "v") for i in range(6)))
    )
    assert error == {
        "Code": "ValidationException",
        "Message": f"Resource {model_arn} would have 51 tags; a resource can have at most 50 tags.",
        "Status": 400,
    }
    assert len(listed(sagemaker, model_arn)) == 45
    # 51 in one request breaks the model's constraint first (botocore does not check maximums).
    error = refused(
        loose.add_tags, ResourceArn=model_arn, Tags=tags(*((f"n{i}", "v") for i in range(51)))
    )
    assert error["Message"] == (
        "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must "
        "have length less than or equal to 50"
    )


def test_keys_and_values_are_checked_against_the_model(
    sagemaker: Any, loose: Any, deployer: Deployer, probe: Path
) -> None:
    model_arn = arn("model", deployer.model(probe))
    error = refused(loose.add_tags, ResourceArn=model_arn, Tags=tags(("bad#key", "v")))
    assert error["Message"] == (
        "1 validation error detected: Value 'bad#key' at 'tags.1.member.key' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: "
        "([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)"
    )
    error = refused(loose.add_tags, ResourceArn=model_arn, Tags=tags(("k", "v" * 257)))
    assert (
        "at 'tags.1.member.value' failed to satisfy constraint: Member must have length less "
        in (error["Message"])
    )
    assert listed(sagemaker, model_arn) == []


# --- lifetime ----------------------------------------------------------------------------------


def test_deleting_a_resource_deletes_its_tags_and_its_name_starts_afresh(
    sagemaker: Any, deployer: Deployer, probe: Path
) -> None:
    model = deployer.model(probe)
    config = deployer.config(model)
    endpoint = deployer.endpoint(config)
    for kind, name in (("model", model), ("endpoint-config", config), ("endpoint", endpoint)):
        sagemaker.add_tags(ResourceArn=arn(kind, name), Tags=tags(("old", "1")))
    sagemaker.delete_endpoint(EndpointName=endpoint)
    deployer.wait_deleted(endpoint)
    sagemaker.delete_endpoint_config(EndpointConfigName=config)
    sagemaker.delete_model(ModelName=model)
    for kind, name in (("model", model), ("endpoint-config", config), ("endpoint", endpoint)):
        assert refused(sagemaker.list_tags, ResourceArn=arn(kind, name))["Code"] == (
            "ValidationException"
        )
    deployer.model(probe, name=model)
    deployer.config(model, name=config)
    assert listed(sagemaker, arn("model", model)) == []
    assert listed(sagemaker, arn("endpoint-config", config)) == []


def test_tags_survive_a_restart(tmp_path: Path, probe: Path) -> None:
    settings = EmulatorSettings(port=0, data_dir=tmp_path / "data")
    with running_emulator(settings) as url:
        sagemaker = client("sagemaker", url)
        deployer = Deployer(sagemaker)
        model = deployer.model(probe, name="kept-model")
        sagemaker.add_tags(ResourceArn=arn("model", model), Tags=tags(("b", "2"), ("a", "1")))
        sagemaker.delete_tags(ResourceArn=arn("model", model), TagKeys=["b"])
        config = "kept-config"
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
            Tags=tags(("z", "26"), ("y", "25")),
        )
        endpoint = "kept-endpoint"
        sagemaker.create_endpoint(
            EndpointName=endpoint, EndpointConfigName=config, Tags=tags(("e", "5"))
        )
        deployer.wait_in_service(endpoint)
        gone = deployer.model(probe, name="gone-model")
        sagemaker.add_tags(ResourceArn=arn("model", gone), Tags=tags(("old", "1")))
        sagemaker.delete_model(ModelName=gone)
    with running_emulator(settings) as url:
        sagemaker = client("sagemaker", url)
        deployer = Deployer(sagemaker, endpoints=[endpoint], configs=[config], models=[model])
        try:
            assert listed(sagemaker, arn("model", model)) == tags(("a", "1"))
            assert listed(sagemaker, arn("endpoint-config", config)) == tags(
                ("z", "26"), ("y", "25")
            )
            assert listed(sagemaker, arn("endpoint", endpoint)) == tags(("e", "5"))
            assert refused(sagemaker.list_tags, ResourceArn=arn("model", gone))["Message"] == (
                f'Could not find model "{arn("model", gone)}".'
            )
            deployer.model(probe, name=gone)
            assert listed(sagemaker, arn("model", gone)) == []
        finally:
            deployer.cleanup()

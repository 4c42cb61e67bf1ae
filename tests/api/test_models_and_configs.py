"""Models and endpoint configs through boto3 (control/specs.py, control/registry.py): create,
describe, delete, duplicates, names, model data, and the one-variant-kind-per-variant rules."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.support import IMAGE, ROLE, Deployer, arn, client, error_of, unique


def variant(model: str, **overrides: Any) -> dict[str, Any]:
    return {
        "VariantName": "AllTraffic",
        "ModelName": model,
        "InstanceType": "ml.m5.large",
        "InitialInstanceCount": 1,
        **overrides,
    }


@pytest.fixture(scope="module")
def loose(emulator_url: str) -> Any:
    """A client without botocore's own checks, so bad values reach the emulator as from
    another SDK or a hand-written request."""
    return client("sagemaker", emulator_url, parameter_validation=False)


def test_create_describe_delete_model(sagemaker: Any, probe: Path) -> None:
    name = unique("Model-Mixed")
    container = {
        "Image": IMAGE,
        "ModelDataUrl": probe.as_uri(),
        "Environment": {"SAGEMAKER_PROGRAM": "inference.py", "LOG_LEVEL": "debug"},
    }
    created = sagemaker.create_model(
        ModelName=name,
        PrimaryContainer=container,
        ExecutionRoleArn=ROLE,
        Tags=[{"Key": "team", "Value": "ads"}],
    )
    assert created["ModelArn"] == arn("model", name)
    assert created["ModelArn"].endswith("/" + name.lower())  # ARNs lower-case the name

    described = sagemaker.describe_model(ModelName=name)
    assert described["ModelName"] == name
    assert described["ModelArn"] == created["ModelArn"]
    assert described["PrimaryContainer"] == container
    assert described["ExecutionRoleArn"] == ROLE
    assert isinstance(described["CreationTime"], datetime)
    assert "Tags" not in described
    # Names are case-insensitive for look-ups, as their lower-cased ARNs suggest.
    assert sagemaker.describe_model(ModelName=name.upper())["ModelName"] == name

    sagemaker.delete_model(ModelName=name)
    with pytest.raises(ClientError) as caught:
        sagemaker.describe_model(ModelName=name)
    assert error_of(caught) == {
        "Code": "ValidationException",
        "Message": f'Could not find model "{arn("model", name)}".',
        "Status": 400,
    }
    with pytest.raises(ClientError) as caught:
        sagemaker.delete_model(ModelName=name)
    assert error_of(caught)["Code"] == "ValidationException"


def test_duplicate_model_names_are_refused_in_any_case(
    sagemaker: Any, deployer: Deployer, probe: Path
) -> None:
    name = deployer.model(probe, name=unique("dup"))
    for again in (name, name.upper()):
        with pytest.raises(ClientError) as caught:
            deployer.model(probe, name=again)
        assert error_of(caught) == {
            "Code": "ValidationException",
            "Message": f'Cannot create already existing model "{arn("model", name)}".',
            "Status": 400,
        }


@pytest.mark.parametrize(
    ("name", "constraint"),
    [
        ("has_underscore", "Member must satisfy regular expression pattern"),
        ("-leading-hyphen", "Member must satisfy regular expression pattern"),
        ("trailing-hyphen-", "Member must satisfy regular expression pattern"),
        ("a" * 64, "Member must have length less than or equal to 63"),
    ],
)
def test_model_names_must_match_the_pattern_and_length(
    loose: Any, probe: Path, name: str, constraint: str
) -> None:
    with pytest.raises(ClientError) as caught:
        loose.create_model(
            ModelName=name, PrimaryContainer={"Image": IMAGE, "ModelDataUrl": str(probe)}
        )
    error = error_of(caught)
    assert error["Code"] == "ValidationException"
    assert error["Message"].startswith(
        f"1 validation error detected: Value '{name}' at 'modelName' failed to satisfy "
        f"constraint: {constraint}"
    )


def test_longest_allowed_model_name_is_accepted(deployer: Deployer, probe: Path) -> None:
    name = "m" * 62 + "1"
    deployer.model(probe, name=name)
    assert deployer.sagemaker.describe_model(ModelName=name)["ModelName"] == name


def test_model_data_that_does_not_exist_is_refused(sagemaker: Any, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "model.tar.gz"
    name = unique("model")
    with pytest.raises(ClientError) as caught:
        sagemaker.create_model(
            ModelName=name, PrimaryContainer={"Image": IMAGE, "ModelDataUrl": str(missing)}
        )
    # The wording AWS uses for an S3 object that is not there.
    assert error_of(caught) == {
        "Code": "ValidationException",
        "Message": f"Could not find model data at {missing}.",
        "Status": 400,
    }
    with pytest.raises(ClientError) as caught:
        sagemaker.describe_model(ModelName=name)
    assert error_of(caught)["Code"] == "ValidationException"


def test_a_model_needs_a_container(loose: Any) -> None:
    name = unique("model")
    with pytest.raises(ClientError) as caught:
        loose.create_model(ModelName=name)
    assert error_of(caught)["Code"] == "ValidationException"
    with pytest.raises(ClientError) as caught:
        loose.create_model(ModelName=name, PrimaryContainer={"Image": IMAGE})
    assert error_of(caught)["Code"] == "ValidationException"


def test_create_describe_delete_endpoint_config(
    sagemaker: Any, deployer: Deployer, probe: Path
) -> None:
    model = deployer.model(probe)
    name = unique("Config")
    variants = [
        variant(model, VariantName="blue", InitialVariantWeight=3.0),
        variant(model, VariantName="green", InstanceType="ml.c5.xlarge", InitialInstanceCount=2),
    ]
    created = sagemaker.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=variants,
        Tags=[{"Key": "k", "Value": "v"}],
    )
    assert created["EndpointConfigArn"] == arn("endpoint-config", name)
    described = sagemaker.describe_endpoint_config(EndpointConfigName=name)
    assert described["EndpointConfigName"] == name
    assert described["EndpointConfigArn"] == created["EndpointConfigArn"]
    assert described["ProductionVariants"] == variants
    assert isinstance(described["CreationTime"], datetime)
    assert "Tags" not in described

    sagemaker.delete_endpoint_config(EndpointConfigName=name)
    with pytest.raises(ClientError) as caught:
        sagemaker.describe_endpoint_config(EndpointConfigName=name)
    assert error_of(caught) == {
        "Code": "ValidationException",
        "Message": f'Could not find endpoint configuration "{arn("endpoint-config", name)}".',
        "Status": 400,
    }
    with pytest.raises(ClientError) as caught:
        sagemaker.delete_endpoint_config(EndpointConfigName=name)
    assert error_of(caught)["Code"] == "ValidationException"


def test_duplicate_endpoint_config_names_are_refused(
    sagemaker: Any, deployer: Deployer, probe: Path
) -> None:
    config = deployer.config(deployer.model(probe))
    with pytest.raises(ClientError) as caught:
        deployer.config(deployer.models[0], name=config.upper())
    assert error_of(caught) == {
        "Code": "ValidationException",
        "Message": "Cannot create already existing endpoint configuration "
        f'"{arn("endpoint-config", config)}".',
        "Status": 400,
    }


def test_a_config_naming_a_missing_model_is_refused(sagemaker: Any) -> None:
    name, model = unique("config"), unique("missing-model")
    with pytest.raises(ClientError) as caught:
        sagemaker.create_endpoint_config(
            EndpointConfigName=name, ProductionVariants=[variant(model)]
        )
    assert error_of(caught) == {
        "Code": "ValidationException",
        "Message": f'Could not find model "{arn("model", model)}".',
        "Status": 400,
    }
    with pytest.raises(ClientError):
        sagemaker.describe_endpoint_config(EndpointConfigName=name)


@pytest.mark.parametrize(
    "shape",
    [
        {"ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5}},  # both kinds
        {"InstanceType": None, "InitialInstanceCount": None},  # neither kind
        {"InitialInstanceCount": None},  # an instance type without a count
        {"InstanceType": None},  # a count without an instance type
    ],
    ids=["serverless-and-instances", "neither", "no-count", "no-type"],
)
def test_each_variant_is_exactly_one_kind(
    loose: Any, deployer: Deployer, probe: Path, shape: dict[str, Any]
) -> None:
    model = deployer.model(probe)
    spec = {k: v for k, v in {**variant(model), **shape}.items() if v is not None}
    name = unique("config")
    with pytest.raises(ClientError) as caught:
        loose.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[spec])
    assert error_of(caught)["Code"] == "ValidationException"
    with pytest.raises(ClientError):
        loose.describe_endpoint_config(EndpointConfigName=name)


def test_variant_names_must_be_unique_within_a_config(
    loose: Any, deployer: Deployer, probe: Path
) -> None:
    model = deployer.model(probe)
    with pytest.raises(ClientError) as caught:
        loose.create_endpoint_config(
            EndpointConfigName=unique("config"),
            ProductionVariants=[variant(model), variant(model, VariantName="alltraffic")],
        )
    assert error_of(caught)["Code"] == "ValidationException"


@pytest.mark.parametrize(
    ("overrides", "path", "constraint"),
    [
        (
            {"VariantName": "blue_green"},
            "productionVariants.1.member.variantName",
            "Member must satisfy regular expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}",
        ),
        (
            {"InstanceType": "ml.m5.huge"},
            "productionVariants.1.member.instanceType",
            "Member must satisfy enum value set: [ml.t2.medium, ml.t2.large,",
        ),
        (
            {"InitialInstanceCount": 0},
            "productionVariants.1.member.initialInstanceCount",
            "Member must have value greater than or equal to 1",
        ),
        (
            {"InitialVariantWeight": -1.0},
            "productionVariants.1.member.initialVariantWeight",
            "Member must have value greater than or equal to 0",
        ),
    ],
)
def test_variant_fields_are_validated_server_side_with_coral_messages(
    loose: Any,
    deployer: Deployer,
    probe: Path,
    overrides: dict[str, Any],
    path: str,
    constraint: str,
) -> None:
    model = deployer.model(probe)
    with pytest.raises(ClientError) as caught:
        loose.create_endpoint_config(
            EndpointConfigName=unique("config"), ProductionVariants=[variant(model, **overrides)]
        )
    error = error_of(caught)
    assert error["Code"] == "ValidationException"
    assert error["Message"].startswith("1 validation error detected: Value '")
    assert f"' at '{path}' failed to satisfy constraint: {constraint}" in error["Message"]


def test_config_names_must_match_the_pattern(loose: Any, deployer: Deployer, probe: Path) -> None:
    model = deployer.model(probe)
    for name in ("config.v1", "x" * 64, "-config"):
        with pytest.raises(ClientError) as caught:
            loose.create_endpoint_config(
                EndpointConfigName=name, ProductionVariants=[variant(model)]
            )
        error = error_of(caught)
        assert error["Code"] == "ValidationException"
        assert "at 'endpointConfigName' failed to satisfy constraint" in error["Message"]

"""Model artifacts in S3 (objects/model.py's fetcher, objects/remote.py, server.py): CreateModel
reads an ``s3://`` ModelDataUrl from the emulator's S3, refuses one that is not there as
SageMaker does, and with ``--s3-endpoint`` reads it from another S3 instead."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from endpointlab.config import EmulatorSettings, SettingsError
from tests.api.s3_support import new_bucket
from tests.api.support import (
    IMAGE,
    ONE_WORKER,
    ROLE,
    Deployer,
    client,
    error_of,
    invoke_json,
    running_emulator,
    unique,
)


@pytest.fixture
def artifacts(s3: Any) -> Iterator[str]:
    with new_bucket(s3, "artifacts") as name:
        yield name


def create_s3_model(deployer: Deployer, url: str) -> str:
    name = unique("s3-model")
    deployer.sagemaker.create_model(
        ModelName=name,
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": url, "Environment": ONE_WORKER},
    )
    deployer.models.append(name)
    return name


def test_an_endpoint_runs_a_model_uploaded_to_s3(
    s3: Any, artifacts: str, deployer: Deployer, runtime: Any, probe: Path
) -> None:
    s3.upload_file(str(probe), artifacts, "probe/v1/model.tar.gz")
    model = create_s3_model(deployer, f"s3://{artifacts}/probe/v1/model.tar.gz")
    described = deployer.sagemaker.describe_model(ModelName=model)
    assert described["PrimaryContainer"]["ModelDataUrl"] == (
        f"s3://{artifacts}/probe/v1/model.tar.gz"
    )
    endpoint = deployer.endpoint(deployer.config(model))
    answer = invoke_json(runtime, endpoint, "from s3")
    assert (answer["version"], answer["body"]) == ("v1", "from s3")


@pytest.mark.parametrize("where", ["missing-key", "missing-bucket"])
def test_model_data_missing_from_s3_is_refused(sagemaker: Any, artifacts: str, where: str) -> None:
    bucket = artifacts if where == "missing-key" else f"{artifacts}-absent"
    url = f"s3://{bucket}/nothing/model.tar.gz"
    name = unique("model")
    with pytest.raises(ClientError) as caught:
        sagemaker.create_model(
            ModelName=name,
            ExecutionRoleArn=ROLE,
            PrimaryContainer={"Image": IMAGE, "ModelDataUrl": url},
        )
    assert error_of(caught) == {
        "Code": "ValidationException",
        "Message": f"Could not find model data at {url}.",
        "Status": 400,
    }
    with pytest.raises(ClientError):
        sagemaker.describe_model(ModelName=name)


@pytest.mark.slow
def test_an_external_s3_serves_the_artifacts(
    s3: Any,
    artifacts: str,
    emulator_url: str,
    probe: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A second emulator started with ``s3_endpoint`` (``serve --s3-endpoint URL``) reads
    model data from the first one's S3, with the standard AWS credentials of its process."""
    s3.upload_file(str(probe), artifacts, "shared/model.tar.gz")
    for name, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # must not be followed
    settings = EmulatorSettings(port=0, data_dir=tmp_path / "data", s3_endpoint=emulator_url)
    with running_emulator(settings) as url:
        deployer = Deployer(client("sagemaker", url))
        try:
            model = create_s3_model(deployer, f"s3://{artifacts}/shared/model.tar.gz")
            endpoint = deployer.endpoint(deployer.config(model))
            answer = invoke_json(client("sagemaker-runtime", url), endpoint, "remote")
            assert answer["version"] == "v1"
            missing = f"s3://{artifacts}/shared/absent.tar.gz"
            with pytest.raises(ClientError) as caught:
                create_s3_model(deployer, missing)
            assert error_of(caught)["Message"] == f"Could not find model data at {missing}."
        finally:
            deployer.cleanup()


def test_the_s3_endpoint_setting() -> None:
    assert EmulatorSettings.from_env({}).s3_endpoint is None
    assert EmulatorSettings.from_env({}, s3_endpoint="AWS").s3_endpoint == "aws"
    env = {"ENDPOINTLAB_S3_ENDPOINT": "http://minio:9000/"}
    assert EmulatorSettings.from_env(env).s3_endpoint == "http://minio:9000"
    flag = EmulatorSettings.from_env(env, s3_endpoint="https://s3.example.com")
    assert flag.s3_endpoint == "https://s3.example.com"
    with pytest.raises(SettingsError, match="--s3-endpoint"):
        EmulatorSettings.from_env({}, s3_endpoint="ftp://files")

"""The load engine's own SigV4 signatures pass ``serve --auth``, which verifies every request;
a wrong secret is refused there, as AWS would refuse it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from endpointlab.config import EmulatorSettings
from endpointlab.loadgen.client import Invocation, RuntimeClient, Target
from endpointlab.loadgen.retries import RetryMode, RetrySettings
from endpointlab.loadgen.runner import Plan, run_blocking
from endpointlab.loadgen.shapes import Burst
from endpointlab.loadgen.signing import Credentials
from endpointlab.results import RecordWriter, RequestRecord
from tests.api.support import REGION, Deployer, running_emulator

KEY, SECRET = "AKIDLOADER", "loader-secret"


@pytest.fixture(scope="module")
def signed_endpoint(
    tmp_path_factory: pytest.TempPathFactory, probe: Path
) -> Iterator[tuple[str, str]]:
    directory = tmp_path_factory.mktemp("load-auth")
    statement = {"Effect": "Allow", "Action": "*", "Resource": "*"}
    document = {
        "keys": [
            {
                "access_key_id": KEY,
                "secret_access_key": SECRET,
                "user": "loader",
                "policies": [{"Version": "2012-10-17", "Statement": [statement]}],
            }
        ]
    }
    (directory / "auth.json").write_text(json.dumps(document))
    settings = EmulatorSettings(
        port=0, data_dir=directory / "data", auth_file=directory / "auth.json"
    )
    with running_emulator(settings) as url:
        session = boto3.session.Session(
            aws_access_key_id=KEY, aws_secret_access_key=SECRET, region_name=REGION
        )
        sagemaker = session.client(
            "sagemaker", endpoint_url=url, config=Config(retries={"total_max_attempts": 1})
        )
        deployer = Deployer(sagemaker)
        try:
            yield url, deployer.deploy(probe).endpoint
        finally:
            deployer.cleanup()


def burst(url: str, endpoint: str, secret: str, out: Path) -> list[RequestRecord]:
    target = Target(url, REGION, Credentials(KEY, secret))
    client = RuntimeClient(target, endpoint, RetrySettings(RetryMode.STANDARD, 1))
    invocation = Invocation.from_args(
        {"Body": "hello", "ContentType": "text/plain", "CustomAttributes": "a=1,  b=2"}
    )
    writer = RecordWriter(out)
    run_blocking(client, Plan(Burst(5), [invocation]), writer)
    return writer.close()


def test_the_engines_signatures_are_accepted(
    signed_endpoint: tuple[str, str], tmp_path: Path
) -> None:
    url, endpoint = signed_endpoint
    records = burst(url, endpoint, SECRET, tmp_path / "ok.parquet")
    assert [(r.status_response, r.error_code) for r in records] == [(200, "")] * 5
    assert json.loads(records[0].body_response)["custom_attributes"] == "a=1,  b=2"


def test_a_wrong_secret_is_refused(signed_endpoint: tuple[str, str], tmp_path: Path) -> None:
    url, endpoint = signed_endpoint
    records = burst(url, endpoint, "not-the-secret", tmp_path / "bad.parquet")
    assert {(r.status_response, r.error_code) for r in records} == {
        (403, "InvalidSignatureException")
    }

"""STS GetCallerIdentity through boto3 (services/sts.py, app.py), and what requests for services
the emulator does not emulate get: awsQuery ``InvalidAction`` documents (IAM, other STS actions)
and awsJson ``UnknownOperationException`` with a message naming the service and operation."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from xml.etree import ElementTree

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from endpointlab.config import EmulatorSettings
from tests.api.support import ACCOUNT, REGION, client, error_of, raw_request, running_emulator

STS_XMLNS = "{https://sts.amazonaws.com/doc/2011-06-15/}"
FORM = "application/x-www-form-urlencoded; charset=utf-8"


def signed_for(service: str, key: str = "AKIDRAW") -> dict[str, str]:
    """Headers of a form post signed (with a signature no one checks) for ``service``."""
    return {
        "Content-Type": FORM,
        "Authorization": f"AWS4-HMAC-SHA256 Credential={key}/20260101/{REGION}/{service}/"
        "aws4_request, SignedHeaders=host, Signature=" + "0" * 64,
        "X-Amz-Date": "20260101T000000Z",
    }


def refused(call: Any, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return error_of(caught), caught.value.response["Error"]


# --- GetCallerIdentity -------------------------------------------------------------------------


def test_without_auth_every_caller_is_the_accounts_root(emulator_url: str) -> None:
    identity = client("sts", emulator_url).get_caller_identity()
    assert identity["Account"] == ACCOUNT
    assert identity["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"
    assert identity["UserId"] == ACCOUNT
    assert identity["ResponseMetadata"]["RequestId"]
    # What boto3 code builds ARNs from.
    account = client("sts", emulator_url).get_caller_identity()["Account"]
    assert f"arn:aws:iam::{account}:role/SageMaker" == f"arn:aws:iam::{ACCOUNT}:role/SageMaker"


def test_the_reply_is_the_xml_sts_sends(emulator_url: str) -> None:
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    response = raw_request(emulator_url, "POST", "/", signed_for("sts"), body)
    assert response.status == 200
    assert response.headers["content-type"] == "text/xml"
    root = ElementTree.fromstring(response.body)
    assert root.tag == f"{STS_XMLNS}GetCallerIdentityResponse"
    result = root.find(f"{STS_XMLNS}GetCallerIdentityResult")
    assert result is not None
    assert {child.tag.removeprefix(STS_XMLNS): child.text for child in result} == {
        "UserId": ACCOUNT,
        "Account": ACCOUNT,
        "Arn": f"arn:aws:iam::{ACCOUNT}:root",
    }
    request_id = root.findtext(f"{STS_XMLNS}ResponseMetadata/{STS_XMLNS}RequestId")
    assert request_id == response.headers["x-amzn-requestid"]


def test_other_sts_actions_are_invalid_actions(emulator_url: str) -> None:
    sts = client("sts", emulator_url)
    error, raw = refused(
        sts.assume_role, RoleArn=f"arn:aws:iam::{ACCOUNT}:role/x", RoleSessionName="session"
    )
    assert error == {
        "Code": "InvalidAction",
        "Message": "The endpointlab emulator does not implement STS AssumeRole: of STS it "
        "answers GetCallerIdentity only.",
        "Status": 400,
    }
    assert raw["Type"] == "Sender"
    body = b"Action=NoSuchAction&Version=2011-06-15"
    response = raw_request(emulator_url, "POST", "/", signed_for("sts"), body)
    assert response.status == 400
    assert b"<Code>InvalidAction</Code>" in response.body


# --- with --auth: the key's IAM user -----------------------------------------------------------

KEYS = [
    ("AKIDALICE", "alice-secret", "alice", [{"Effect": "Allow", "Action": "*", "Resource": "*"}]),
    # Denied everything, explicitly: GetCallerIdentity still answers (it needs no permission).
    ("AKIDBOB", "bob-secret", "bob", [{"Effect": "Deny", "Action": "*", "Resource": "*"}]),
]


@pytest.fixture(scope="module")
def auth_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("sts-auth")
    document = {
        "keys": [
            {
                "access_key_id": key,
                "secret_access_key": secret,
                "user": user,
                "policies": [{"Version": "2012-10-17", "Statement": statements}],
            }
            for key, secret, user, statements in KEYS
        ]
    }
    (directory / "auth.json").write_text(json.dumps(document))
    settings = EmulatorSettings(
        port=0, data_dir=directory / "data", auth_file=directory / "auth.json"
    )
    with running_emulator(settings) as url:
        yield url


def sts_as(url: str, key: str, secret: str) -> Any:
    session = boto3.session.Session(
        aws_access_key_id=key, aws_secret_access_key=secret, region_name=REGION
    )
    return session.client("sts", endpoint_url=url, config=Config(retries={"total_max_attempts": 1}))


def test_with_auth_the_caller_is_the_keys_user(auth_url: str) -> None:
    ids = {}
    for key, secret, user, _ in KEYS:
        identity = sts_as(auth_url, key, secret).get_caller_identity()
        assert identity["Account"] == ACCOUNT
        assert identity["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/{user}"
        assert re.fullmatch(r"AIDA[A-Z2-7]{17}", identity["UserId"])
        ids[user] = identity["UserId"]
    assert ids["alice"] != ids["bob"]
    # Stable: the same user has the same id on every call.
    assert (
        sts_as(auth_url, "AKIDALICE", "alice-secret").get_caller_identity()["UserId"]
        == (ids["alice"])
    )


def test_with_auth_sts_refuses_in_its_own_words(auth_url: str) -> None:
    error, _ = refused(sts_as(auth_url, "AKIDNOBODY", "x").get_caller_identity)
    assert error == {
        "Code": "InvalidClientTokenId",
        "Message": "The security token included in the request is invalid.",
        "Status": 403,
    }
    error, _ = refused(sts_as(auth_url, "AKIDALICE", "wrong").get_caller_identity)
    assert (error["Code"], error["Status"]) == ("SignatureDoesNotMatch", 403)
    # Other actions need their permission first, as any operation does.
    bob = sts_as(auth_url, "AKIDBOB", "bob-secret")
    error, _ = refused(
        bob.assume_role, RoleArn=f"arn:aws:iam::{ACCOUNT}:role/x", RoleSessionName="s1"
    )
    assert (error["Code"], error["Status"]) == ("AccessDenied", 403)


# --- services the emulator does not emulate ---------------------------------------------------


def test_query_requests_for_other_services_get_invalid_action(emulator_url: str) -> None:
    iam = client("iam", emulator_url)
    error, raw = refused(iam.get_role, RoleName="SageMakerExecutionRole")
    assert error == {
        "Code": "InvalidAction",
        "Message": 'The endpointlab emulator does not emulate the service "iam" '
        "(Action=GetRole, Version=2010-05-08).",
        "Status": 400,
    }
    assert raw["Type"] == "Sender"
    sns = client("sns", emulator_url)
    error, _ = refused(sns.publish, TopicArn=f"arn:aws:sns:{REGION}:{ACCOUNT}:t", Message="m")
    assert error["Message"] == (
        'The endpointlab emulator does not emulate the service "sns" '
        "(Action=Publish, Version=2010-03-31)."
    )


def test_the_query_error_document_is_what_botocore_reads(emulator_url: str) -> None:
    body = b"Action=GetRole&Version=2010-05-08&RoleName=r"
    response = raw_request(emulator_url, "POST", "/", signed_for("iam"), body)
    assert response.status == 400
    root = ElementTree.fromstring(response.body)
    assert root.tag == "ErrorResponse"
    assert [child.tag for child in root] == ["Error", "RequestId"]
    detail = root.find("Error")
    assert detail is not None
    assert [child.tag for child in detail] == ["Type", "Code", "Message"]
    assert root.findtext("Error/Code") == "InvalidAction"
    assert root.findtext("RequestId") == response.headers["x-amzn-requestid"]
    # A GET with the action in the query string is a query request too.
    get = raw_request(
        emulator_url, "GET", "/?Action=ListUsers&Version=2010-05-08", signed_for("iam")
    )
    assert get.status == 400
    assert b"(Action=ListUsers, Version=2010-05-08)" in get.body


def test_with_auth_other_services_are_still_named_not_authenticated(auth_url: str) -> None:
    session = boto3.session.Session(
        aws_access_key_id="AKIDALICE", aws_secret_access_key="alice-secret", region_name=REGION
    )
    config = Config(retries={"total_max_attempts": 1})
    iam = session.client("iam", endpoint_url=auth_url, config=config)
    error, _ = refused(iam.get_role, RoleName="r")
    assert (error["Code"], error["Status"]) == ("InvalidAction", 400)
    logs = session.client("logs", endpoint_url=auth_url, config=config)
    error, _ = refused(logs.describe_log_streams, logGroupName="/aws/sagemaker/Endpoints/x")
    assert (error["Code"], error["Status"]) == ("UnknownOperationException", 400)


@pytest.mark.parametrize(
    ("service", "operation", "kwargs", "target"),
    [
        (
            "logs",
            "describe_log_streams",
            {"logGroupName": "/aws/sagemaker/Endpoints/ctr"},
            "Logs_20140328.DescribeLogStreams",
        ),
        ("secretsmanager", "list_secrets", {}, "secretsmanager.ListSecrets"),
    ],
)
def test_json_requests_for_other_services_name_them(
    emulator_url: str, service: str, operation: str, kwargs: dict[str, Any], target: str
) -> None:
    error, _ = refused(getattr(client(service, emulator_url), operation), **kwargs)
    assert error == {
        "Code": "UnknownOperationException",
        "Message": f'The endpointlab emulator does not emulate the service "{service}" '
        f"(X-Amz-Target: {target}).",
        "Status": 400,
    }


def test_an_unsigned_json_request_for_another_api_names_its_target(emulator_url: str) -> None:
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Nope.ListThings"}
    response = raw_request(emulator_url, "POST", "/", headers, b"{}")
    assert response.status == 400
    assert response.json() == {
        "__type": "com.amazon.coral.service#UnknownOperationException",
        "message": "The endpointlab emulator does not emulate the service of X-Amz-Target: "
        "Nope.ListThings.",
    }

"""What the ``serve --auth`` API tests share: the listed keys and their policies, clients that
sign with them, an emulator that requires them, and the two endpoints the tests call."""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from endpointlab.config import EmulatorSettings
from tests.api.support import ACCOUNT, REGION, Deployer, error_of, running_emulator

ALLOWED = "auth-allowed-ep"
OTHER = "auth-other-ep"
ALLOWED_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{ALLOWED}"
OTHER_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{OTHER}"
USER = f"arn:aws:iam::{ACCOUNT}:user"
BUCKET = "auth-bucket"
PUBLIC_KEY = "public/a b+€.txt"


def allow(action: str | list[str], resource: str | list[str] = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def deny(action: str | list[str], resource: str | list[str] = "*") -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource}


KEYS = {
    "admin": ("AKIDADMIN", "admin-secret", [allow("*")]),
    # The example: this key may invoke one endpoint and do nothing else.
    "invoker": ("AKIDINVOKER", "invoker-secret", [allow("sagemaker:InvokeEndpoint", ALLOWED_ARN)]),
    # Everything is allowed, but two explicit denies override the Allow.
    "restricted": (
        "AKIDRESTRICTED",
        "restricted-secret",
        [
            allow("*"),
            deny(["sagemaker:CreateEndpoint", "sagemaker:DeleteEndpoint"]),
            deny("sagemaker:InvokeEndpoint", ALLOWED_ARN),
        ],
    ),
    "reader": ("AKIDREADER", "reader-secret", [allow(["sagemaker:Describe*", "sagemaker:List*"])]),
    # May read the objects under public/ of one bucket, nothing else.
    "downloader": (
        "AKIDDOWNLOADER",
        "downloader-secret",
        [allow("s3:GetObject", f"arn:aws:s3:::{BUCKET}/public/*")],
    ),
}


def auth_document() -> dict[str, Any]:
    return {
        "keys": [
            {
                "access_key_id": key,
                "secret_access_key": secret,
                "user": user,
                "policies": [{"Version": "2012-10-17", "Statement": statements}],
            }
            for user, (key, secret, statements) in KEYS.items()
        ]
    }


def as_user(service: str, url: str, user: str, **overrides: str) -> Any:
    """A boto3 client signing with ``user``'s listed key (or ``overrides``), no retries."""
    key, secret, _ = KEYS[user]
    session = boto3.session.Session(
        aws_access_key_id=overrides.pop("key", key),
        aws_secret_access_key=overrides.pop("secret", secret),
        region_name=REGION,
    )
    config = Config(
        retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=60, **overrides
    )
    return session.client(service, endpoint_url=url, config=config)


@contextlib.contextmanager
def auth_emulator(directory: Path) -> Iterator[str]:
    """An in-process emulator that requires SigV4 from the keys in KEYS."""
    auth_file = directory / "auth.json"
    auth_file.write_text(json.dumps(auth_document()))
    settings = EmulatorSettings(port=0, data_dir=directory / "data", auth_file=auth_file)
    with running_emulator(settings) as url:
        yield url


@contextlib.contextmanager
def two_endpoints(url: str, archive: Path) -> Iterator[str]:
    """ALLOWED and OTHER, InService, made by the admin key; yields their endpoint config."""
    deployer = Deployer(as_user("sagemaker", url, "admin"))
    try:
        config = deployer.config(deployer.model(archive))
        deployer.endpoint(config, name=ALLOWED)
        deployer.endpoint(config, name=OTHER)
        yield config
    finally:
        deployer.cleanup()


def fill_bucket(url: str) -> str:
    """BUCKET, made by the admin key, holding PUBLIC_KEY and private.txt."""
    s3 = as_user("s3", url, "admin")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key=PUBLIC_KEY, Body=b"public bytes")
    s3.put_object(Bucket=BUCKET, Key="private.txt", Body=b"private bytes")
    return BUCKET


def denied(caught: Any) -> tuple[str, int, str]:
    error = error_of(caught)
    return error["Code"], error["Status"], error["Message"]


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()

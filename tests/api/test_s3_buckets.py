"""S3 buckets and listings through boto3 (services/s3_buckets.py, objects/local.py): create,
head, list and delete buckets with S3's naming and region rules; ListObjects(V2) with
prefixes, delimiters, markers and continuation tokens; DeleteObjects."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.s3_support import (
    bucket_name,
    empty_and_delete,
    error_code,
    new_bucket,
)
from tests.api.support import client, error_of


@pytest.fixture
def bucket(s3: Any) -> Iterator[str]:
    with new_bucket(s3) as name:
        yield name


# --- buckets ----------------------------------------------------------------------------------


def test_a_bucket_is_created_headed_listed_and_deleted(s3: Any) -> None:
    name = bucket_name()
    assert s3.create_bucket(Bucket=name)["Location"] == f"/{name}"
    head = s3.head_bucket(Bucket=name)
    assert head["BucketRegion"] == "us-east-1"
    listed = s3.list_buckets()
    assert name in [b["Name"] for b in listed["Buckets"]]
    assert isinstance(listed["Owner"]["ID"], str)
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] is None

    deleted = s3.delete_bucket(Bucket=name)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as caught:
        s3.head_bucket(Bucket=name)
    assert error_code(caught) == ("404", 404)  # HEAD answers carry no error document
    with pytest.raises(ClientError) as caught:
        s3.delete_bucket(Bucket=name)
    assert error_of(caught) == {
        "Code": "NoSuchBucket",
        "Message": "The specified bucket does not exist",
        "Status": 404,
    }
    assert caught.value.response["Error"]["BucketName"] == name


def test_creating_an_owned_bucket_again_is_idempotent_only_in_us_east_1(
    s3: Any, emulator_url: str
) -> None:
    with new_bucket(s3) as name:
        assert s3.create_bucket(Bucket=name)["Location"] == f"/{name}"
    europe = client("s3", emulator_url, region_name="eu-west-1")
    name = bucket_name("eu")
    config = {"LocationConstraint": "eu-west-1"}
    try:
        europe.create_bucket(Bucket=name, CreateBucketConfiguration=config)
        assert europe.get_bucket_location(Bucket=name)["LocationConstraint"] == "eu-west-1"
        assert s3.head_bucket(Bucket=name)["BucketRegion"] == "eu-west-1"
        with pytest.raises(ClientError) as caught:
            europe.create_bucket(Bucket=name, CreateBucketConfiguration=config)
        assert error_of(caught) == {
            "Code": "BucketAlreadyOwnedByYou",
            "Message": "Your previous request to create the named bucket succeeded and you "
            "already own it.",
            "Status": 409,
        }
    finally:
        empty_and_delete(europe, name)


def test_location_constraints_follow_the_signing_region(s3: Any, emulator_url: str) -> None:
    with pytest.raises(ClientError) as caught:
        s3.create_bucket(
            Bucket=bucket_name(), CreateBucketConfiguration={"LocationConstraint": "us-east-1"}
        )
    assert error_code(caught) == ("InvalidLocationConstraint", 400)
    oregon = client("s3", emulator_url, region_name="us-west-2")
    with pytest.raises(ClientError) as caught:
        oregon.create_bucket(Bucket=bucket_name())
    assert error_of(caught) == {
        "Code": "IllegalLocationConstraintException",
        "Message": "The unspecified location constraint is incompatible for the region "
        "specific endpoint this request was sent to.",
        "Status": 400,
    }
    with pytest.raises(ClientError) as caught:
        oregon.create_bucket(
            Bucket=bucket_name(), CreateBucketConfiguration={"LocationConstraint": "eu-west-2"}
        )
    assert error_code(caught) == ("IllegalLocationConstraintException", 400)


@pytest.mark.parametrize(
    "name", ["ab", "Upper-case", "a..b", "192.168.5.4", "xn--bucket", "-dash-first", "x" * 64]
)
def test_invalid_bucket_names_are_refused(s3: Any, name: str) -> None:
    with pytest.raises(ClientError) as caught:
        s3.create_bucket(Bucket=name)
    assert error_of(caught) == {
        "Code": "InvalidBucketName",
        "Message": "The specified bucket is not valid.",
        "Status": 400,
    }


def test_a_bucket_with_objects_cannot_be_deleted(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as caught:
        s3.delete_bucket(Bucket=bucket)
    assert error_of(caught) == {
        "Code": "BucketNotEmpty",
        "Message": "The bucket you tried to delete is not empty",
        "Status": 409,
    }


def test_object_operations_on_a_missing_bucket_fail_with_no_such_bucket(s3: Any) -> None:
    name = bucket_name("missing")
    calls = [
        lambda: s3.put_object(Bucket=name, Key="k", Body=b"x"),
        lambda: s3.get_object(Bucket=name, Key="k"),
        lambda: s3.list_objects_v2(Bucket=name),
        lambda: s3.create_multipart_upload(Bucket=name, Key="k"),
    ]
    for call in calls:
        with pytest.raises(ClientError) as caught:
            call()
        assert error_code(caught) == ("NoSuchBucket", 404)


# --- listings ---------------------------------------------------------------------------------


@pytest.fixture
def tree(s3: Any, bucket: str) -> tuple[str, list[str]]:
    keys = [f"logs/2026/{m:02d}/day-{d}.txt" for m in (1, 2) for d in range(3)]
    keys += [f"models/m{i}.tar.gz" for i in range(5)] + ["readme.md", "zeta"]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b".")
    return bucket, sorted(keys)


def test_list_objects_v2_pages_through_every_key(s3: Any, tree: tuple[str, list[str]]) -> None:
    bucket, keys = tree
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        extra = {"ContinuationToken": token} if token else {}
        page = s3.list_objects_v2(Bucket=bucket, MaxKeys=5, **extra)
        pages += 1
        assert page["KeyCount"] == len(page.get("Contents", []))
        seen += [item["Key"] for item in page.get("Contents", [])]
        if not page["IsTruncated"]:
            assert "NextContinuationToken" not in page
            break
        token = page["NextContinuationToken"]
    assert seen == keys
    assert pages == 3
    paginator = s3.get_paginator("list_objects_v2")
    paginated = paginator.paginate(Bucket=bucket, PaginationConfig={"PageSize": 4})
    assert [i["Key"] for p in paginated for i in p.get("Contents", [])] == keys


def test_delimiters_roll_keys_up_into_common_prefixes(s3: Any, tree: tuple[str, list[str]]) -> None:
    bucket, _ = tree
    top = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["logs/", "models/"]
    assert [i["Key"] for i in top["Contents"]] == ["readme.md", "zeta"]
    assert top["KeyCount"] == 4
    months = s3.list_objects_v2(Bucket=bucket, Prefix="logs/2026/", Delimiter="/")
    assert [p["Prefix"] for p in months["CommonPrefixes"]] == ["logs/2026/01/", "logs/2026/02/"]
    assert "Contents" not in months

    # Paging counts a common prefix as one entry and never repeats it.
    first = s3.list_objects_v2(Bucket=bucket, Delimiter="/", MaxKeys=1)
    assert [p["Prefix"] for p in first["CommonPrefixes"]] == ["logs/"]
    second = s3.list_objects_v2(
        Bucket=bucket, Delimiter="/", MaxKeys=2, ContinuationToken=first["NextContinuationToken"]
    )
    assert [p["Prefix"] for p in second["CommonPrefixes"]] == ["models/"]
    assert [i["Key"] for i in second["Contents"]] == ["readme.md"]
    assert second["IsTruncated"] is True


def test_start_after_prefix_and_v1_markers(s3: Any, tree: tuple[str, list[str]]) -> None:
    bucket, keys = tree
    after = s3.list_objects_v2(Bucket=bucket, StartAfter="models/m2.tar.gz")
    assert [i["Key"] for i in after["Contents"]] == [k for k in keys if k > "models/m2.tar.gz"]
    assert after["StartAfter"] == "models/m2.tar.gz"
    models = s3.list_objects_v2(Bucket=bucket, Prefix="models/")
    assert [i["Key"] for i in models["Contents"]] == [f"models/m{i}.tar.gz" for i in range(5)]

    v1 = s3.list_objects(Bucket=bucket, MaxKeys=3, Delimiter="/")
    assert v1["IsTruncated"] is True and v1["NextMarker"] == "readme.md"
    rest = s3.list_objects(Bucket=bucket, Marker=v1["NextMarker"], Delimiter="/")
    assert [i["Key"] for i in rest["Contents"]] == ["zeta"]
    plain = s3.list_objects(Bucket=bucket, MaxKeys=2)
    assert plain["IsTruncated"] is True and "NextMarker" not in plain  # S3: only with Delimiter


def test_a_forged_continuation_token_is_refused(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as caught:
        s3.list_objects_v2(Bucket=bucket, ContinuationToken="not a token")
    assert error_of(caught) == {
        "Code": "InvalidArgument",
        "Message": "The continuation token provided is incorrect",
        "Status": 400,
    }


def test_delete_objects_in_one_request(s3: Any, tree: tuple[str, list[str]]) -> None:
    bucket, keys = tree
    targets = [{"Key": k} for k in keys[:3]] + [{"Key": "never-existed"}]
    answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": targets})
    assert sorted(d["Key"] for d in answer["Deleted"]) == sorted(t["Key"] for t in targets)
    quiet = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": keys[3]}], "Quiet": True})
    assert "Deleted" not in quiet and "Errors" not in quiet
    remaining = [i["Key"] for i in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert remaining == keys[4:]

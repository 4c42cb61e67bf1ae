"""S3 objects through boto3 (services/s3_objects.py, s3_common.py, objects/local.py): put, get
(ranges, part numbers, conditions, overrides), head, delete and copy objects; metadata, key
characters and limits; Content-MD5 and checksum checks."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.s3_support import crc32_b64, error_code, md5_b64, new_bucket
from tests.api.support import ACCOUNT, error_of


@pytest.fixture
def bucket(s3: Any) -> Iterator[str]:
    with new_bucket(s3) as name:
        yield name


# --- objects ----------------------------------------------------------------------------------


def test_an_object_round_trips_with_its_metadata(s3: Any, bucket: str) -> None:
    body = b"hello, endpointlab"
    put = s3.put_object(
        Bucket=bucket,
        Key="dir/file.txt",
        Body=body,
        ContentType="text/plain",
        CacheControl="max-age=60",
        ContentDisposition='attachment; filename="f.txt"',
        Metadata={"Model-Version": "7", "owner": "ads"},
    )
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    assert put["ChecksumCRC32"] == crc32_b64(body)

    got = s3.get_object(Bucket=bucket, Key="dir/file.txt", ChecksumMode="ENABLED")
    assert got["Body"].read() == body
    assert got["ContentType"] == "text/plain"
    assert got["ContentLength"] == len(body)
    assert got["CacheControl"] == "max-age=60"
    assert got["ContentDisposition"] == 'attachment; filename="f.txt"'
    assert got["Metadata"] == {"model-version": "7", "owner": "ads"}  # S3 lower-cases names
    assert got["ETag"] == put["ETag"]
    assert got["ChecksumCRC32"] == crc32_b64(body)  # botocore validated it too
    assert got["AcceptRanges"] == "bytes"
    assert isinstance(got["LastModified"], datetime)

    head = s3.head_object(Bucket=bucket, Key="dir/file.txt")
    assert (head["ContentLength"], head["ETag"]) == (len(body), put["ETag"])
    assert head["Metadata"] == got["Metadata"]
    assert "ChecksumCRC32" not in head  # only when asked for with ChecksumMode


def test_missing_keys_and_deletes(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=bucket, Key="nope/x.bin")
    assert error_of(caught) == {
        "Code": "NoSuchKey",
        "Message": "The specified key does not exist.",
        "Status": 404,
    }
    assert caught.value.response["Error"]["Key"] == "nope/x.bin"
    with pytest.raises(ClientError) as caught:
        s3.head_object(Bucket=bucket, Key="nope/x.bin")
    assert error_code(caught) == ("404", 404)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert s3.delete_object(Bucket=bucket, Key="k")["ResponseMetadata"]["HTTPStatusCode"] == 204
    # Deleting what is not there succeeds, as in S3.
    assert s3.delete_object(Bucket=bucket, Key="k")["ResponseMetadata"]["HTTPStatusCode"] == 204


@pytest.mark.parametrize(
    "key",
    [
        "plain",
        "with space",
        "plus+sign",
        "ünïcödé/ключ",
        "a//b",
        "/leading",
        "trailing/",
        "q?x=1&y=%20",
        "../../etc/passwd",
        "tab\there",
        "x" * 1024,
    ],
)
def test_keys_of_any_characters_round_trip_and_list(s3: Any, bucket: str, key: str) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()
    listed = s3.list_objects_v2(Bucket=bucket)
    assert [item["Key"] for item in listed["Contents"]] == [key]
    assert [item["Key"] for item in s3.list_objects(Bucket=bucket)["Contents"]] == [key]


def test_keys_longer_than_1024_bytes_are_refused(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=bucket, Key="é" * 513, Body=b"x")
    assert error_of(caught) == {
        "Code": "KeyTooLongError",
        "Message": "Your key is too long",
        "Status": 400,
    }


def test_user_metadata_is_limited_to_2_kb(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", Metadata={"big": "v" * 2100})
    assert error_code(caught) == ("MetadataTooLarge", 400)


@pytest.fixture
def hundred(s3: Any, bucket: str) -> tuple[str, bytes]:
    data = bytes(range(200))[:200]
    s3.put_object(Bucket=bucket, Key="data.bin", Body=data)
    return bucket, data


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-9", 0, 9),
        ("bytes=-10", 190, 199),
        ("bytes=100-", 100, 199),
        ("bytes=150-999", 150, 199),
        ("bytes=-500", 0, 199),
    ],
)
def test_ranged_gets_answer_206_with_content_range(
    s3: Any, hundred: tuple[str, bytes], header: str, first: int, last: int
) -> None:
    bucket, data = hundred
    got = s3.get_object(Bucket=bucket, Key="data.bin", Range=header, ChecksumMode="ENABLED")
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert got["Body"].read() == data[first : last + 1]
    assert got["ContentRange"] == f"bytes {first}-{last}/200"
    assert got["ContentLength"] == last - first + 1
    assert "ChecksumCRC32" not in got  # a whole-object checksum would not match a range


@pytest.mark.parametrize("header", ["bytes=200-", "bytes=500-600", "bytes=-0"])
def test_unsatisfiable_ranges_are_invalid_range(
    s3: Any, hundred: tuple[str, bytes], header: str
) -> None:
    bucket, _ = hundred
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=bucket, Key="data.bin", Range=header)
    assert error_of(caught) == {
        "Code": "InvalidRange",
        "Message": "The requested range is not satisfiable",
        "Status": 416,
    }
    assert caught.value.response["Error"]["ActualObjectSize"] == "200"
    assert caught.value.response["Error"]["RangeRequested"] == header


@pytest.mark.parametrize("header", ["bytes=9-3", "items=0-5", "bytes=0-1,5-6"])
def test_ranges_s3_ignores_return_the_whole_object(
    s3: Any, hundred: tuple[str, bytes], header: str
) -> None:
    bucket, data = hundred
    got = s3.get_object(Bucket=bucket, Key="data.bin", Range=header)
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert got["Body"].read() == data


def test_conditional_gets(s3: Any, hundred: tuple[str, bytes]) -> None:
    bucket, data = hundred
    etag = s3.head_object(Bucket=bucket, Key="data.bin")["ETag"]
    later = datetime.now(UTC) + timedelta(days=1)
    earlier = datetime.now(UTC) - timedelta(days=1)
    assert s3.get_object(Bucket=bucket, Key="data.bin", IfMatch=etag)["Body"].read() == data
    cases: list[tuple[dict[str, Any], tuple[str, int]]] = [
        ({"IfMatch": '"0123"'}, ("PreconditionFailed", 412)),
        ({"IfUnmodifiedSince": earlier}, ("PreconditionFailed", 412)),
        ({"IfNoneMatch": etag}, ("304", 304)),
        ({"IfModifiedSince": later}, ("304", 304)),
    ]
    for condition, expected in cases:
        with pytest.raises(ClientError) as caught:
            s3.get_object(Bucket=bucket, Key="data.bin", **condition)
        assert error_code(caught) == expected, condition
    with pytest.raises(ClientError) as caught:
        s3.head_object(Bucket=bucket, Key="data.bin", IfMatch='"0123"')
    assert error_code(caught) == ("412", 412)
    # If-Match wins over If-Unmodified-Since, as in S3.
    got = s3.get_object(Bucket=bucket, Key="data.bin", IfMatch=etag, IfUnmodifiedSince=earlier)
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_response_overrides_replace_headers(s3: Any, hundred: tuple[str, bytes]) -> None:
    bucket, _ = hundred
    got = s3.get_object(
        Bucket=bucket,
        Key="data.bin",
        ResponseContentType="application/x-test",
        ResponseContentDisposition="inline",
    )
    assert (got["ContentType"], got["ContentDisposition"]) == ("application/x-test", "inline")


def test_conditional_writes(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="once", Body=b"1", IfNoneMatch="*")
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=bucket, Key="once", Body=b"2", IfNoneMatch="*")
    assert error_code(caught) == ("PreconditionFailed", 412)
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=bucket, Key="never", Body=b"2", IfMatch='"abc"')
    assert error_code(caught) == ("NoSuchKey", 404)


# --- integrity --------------------------------------------------------------------------------


def test_content_md5_is_checked(s3: Any, bucket: str) -> None:
    body = b"payload"
    s3.put_object(Bucket=bucket, Key="ok", Body=body, ContentMD5=md5_b64(body))
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=bucket, Key="bad", Body=body, ContentMD5=md5_b64(b"other"))
    assert error_of(caught) == {
        "Code": "BadDigest",
        "Message": "The Content-MD5 you specified did not match what we received.",
        "Status": 400,
    }
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=bucket, Key="bad", Body=body, ContentMD5="not-base64!")
    assert error_of(caught) == {
        "Code": "InvalidDigest",
        "Message": "The Content-MD5 you specified was not valid.",
        "Status": 400,
    }
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="bad")  # nothing was stored


def test_a_wrong_checksum_is_bad_digest(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=bucket, Key="k", Body=b"data", ChecksumCRC32=crc32_b64(b"else"))
    assert error_of(caught) == {
        "Code": "BadDigest",
        "Message": "The CRC32 you specified did not match the calculated checksum.",
        "Status": 400,
    }
    sha = base64.b64encode(hashlib.sha256(b"data").digest()).decode()
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"data", ChecksumSHA256=sha)
    assert put["ChecksumSHA256"] == sha
    got = s3.get_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert got["ChecksumSHA256"] == sha


# --- copies -----------------------------------------------------------------------------------


def test_copy_keeps_or_replaces_metadata(s3: Any, bucket: str) -> None:
    s3.put_object(
        Bucket=bucket, Key="src", Body=b"copy me", ContentType="text/x-src", Metadata={"a": "1"}
    )
    with new_bucket(s3, "target") as other:
        copied = s3.copy_object(
            Bucket=other, Key="dst", CopySource={"Bucket": bucket, "Key": "src"}
        )
        assert copied["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(b"copy me").hexdigest()}"'
        assert isinstance(copied["CopyObjectResult"]["LastModified"], datetime)
        got = s3.get_object(Bucket=other, Key="dst")
        assert (got["Body"].read(), got["ContentType"]) == (b"copy me", "text/x-src")
        assert got["Metadata"] == {"a": "1"}

    s3.copy_object(
        Bucket=bucket,
        Key="src",
        CopySource=f"{bucket}/src",
        MetadataDirective="REPLACE",
        ContentType="text/x-new",
        Metadata={"b": "2"},
    )
    got = s3.get_object(Bucket=bucket, Key="src")
    assert (got["ContentType"], got["Metadata"]) == ("text/x-new", {"b": "2"})
    assert got["Body"].read() == b"copy me"


def test_copy_errors(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"x")
    with pytest.raises(ClientError) as caught:
        s3.copy_object(Bucket=bucket, Key="src", CopySource={"Bucket": bucket, "Key": "src"})
    assert error_of(caught) == {
        "Code": "InvalidRequest",
        "Message": "This copy request is illegal because it is trying to copy an object to "
        "itself without changing the object's metadata, storage class, website redirect "
        "location or encryption attributes.",
        "Status": 400,
    }
    with pytest.raises(ClientError) as caught:
        s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "none"})
    assert error_code(caught) == ("NoSuchKey", 404)
    with pytest.raises(ClientError) as caught:
        s3.copy_object(
            Bucket=bucket, Key="dst", CopySource=f"{bucket}/src", CopySourceIfMatch='"0"'
        )
    assert error_code(caught) == ("PreconditionFailed", 412)
    with pytest.raises(ClientError) as caught:
        s3.copy_object(
            Bucket=bucket, Key="dst", CopySource=f"{bucket}/src", MetadataDirective="MOVE"
        )
    assert error_code(caught) == ("InvalidArgument", 400)


def test_a_bucket_owner_condition_naming_another_account_is_denied(s3: Any, bucket: str) -> None:
    # The SageMaker Python SDK sends ExpectedBucketOwner for its default bucket; S3 answers
    # 403 AccessDenied when the bucket belongs to another account, and does nothing.
    mine, theirs = ACCOUNT, "210987654321"
    s3.put_object(Bucket=bucket, Key="k", Body=b"v", ExpectedBucketOwner=mine)
    assert s3.get_object(Bucket=bucket, Key="k", ExpectedBucketOwner=mine)["Body"].read() == b"v"
    denied = {
        "put": lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"w", ExpectedBucketOwner=theirs),
        "get": lambda: s3.get_object(Bucket=bucket, Key="k", ExpectedBucketOwner=theirs),
        "list": lambda: s3.list_objects_v2(Bucket=bucket, ExpectedBucketOwner=theirs),
        "delete": lambda: s3.delete_object(Bucket=bucket, Key="k", ExpectedBucketOwner=theirs),
        "copy": lambda: s3.copy_object(
            Bucket=bucket, Key="c", CopySource=f"{bucket}/k", ExpectedSourceBucketOwner=theirs
        ),
    }
    for call in denied.values():
        with pytest.raises(ClientError) as caught:
            call()
        assert error_of(caught) == {
            "Code": "AccessDenied",
            "Message": "Access Denied",
            "Status": 403,
        }
    with pytest.raises(ClientError) as caught:
        s3.head_object(Bucket=bucket, Key="k", ExpectedBucketOwner=theirs)
    assert error_code(caught) == ("403", 403)  # HEAD errors have no body
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["k"]

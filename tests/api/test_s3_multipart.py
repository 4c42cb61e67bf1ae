"""S3 multipart uploads and durability through boto3 (services/s3_multipart.py,
objects/multipart.py, objects/local.py): parts, completion rules and ETags, checksums, aborts,
upload_file/download_file of 100 MB, and objects that survive restarts, crashes and clients
that hang up mid-upload."""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from endpointlab.config import EmulatorSettings
from tests.api.s3_support import error_code, new_bucket
from tests.api.support import EmulatorThread, ServeProcess, client, error_of, running_emulator

MIB = 1024 * 1024
PART = 5 * MIB


@pytest.fixture
def bucket(s3: Any) -> Iterator[str]:
    with new_bucket(s3, "multipart") as name:
        yield name


def crc32(data: bytes) -> bytes:
    return zlib.crc32(data).to_bytes(4, "big")


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def multipart_etag(parts: list[bytes]) -> str:
    digests = b"".join(hashlib.md5(p).digest() for p in parts)
    return f'"{hashlib.md5(digests).hexdigest()}-{len(parts)}"'


def upload(
    s3: Any, bucket: str, key: str, parts: list[bytes], **create: Any
) -> tuple[str, list[dict[str, Any]]]:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, **create)["UploadId"]
    done = []
    for number, data in enumerate(parts, start=1):
        answer = s3.upload_part(
            Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data
        )
        done.append({"PartNumber": number, "ETag": answer["ETag"]})
        assert answer["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    return upload_id, done


def test_a_multipart_upload_joins_its_parts(s3: Any, bucket: str) -> None:
    parts = [os.urandom(PART), os.urandom(PART), b"tail" * 100]
    upload_id, done = upload(
        s3, bucket, "joined.bin", parts, ContentType="application/x-tar", Metadata={"stage": "prod"}
    )
    listed = s3.list_parts(Bucket=bucket, Key="joined.bin", UploadId=upload_id)
    assert [(p["PartNumber"], p["Size"]) for p in listed["Parts"]] == [
        (1, PART),
        (2, PART),
        (3, 400),
    ]
    assert listed["IsTruncated"] is False

    completed = s3.complete_multipart_upload(
        Bucket=bucket, Key="joined.bin", UploadId=upload_id, MultipartUpload={"Parts": done}
    )
    assert completed["ETag"] == multipart_etag(parts)
    assert (completed["Bucket"], completed["Key"]) == (bucket, "joined.bin")
    got = s3.get_object(Bucket=bucket, Key="joined.bin")
    assert got["Body"].read() == b"".join(parts)
    assert (got["ETag"], got["ContentType"]) == (completed["ETag"], "application/x-tar")
    assert got["Metadata"] == {"stage": "prod"}

    second = s3.get_object(Bucket=bucket, Key="joined.bin", PartNumber=2)
    assert second["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert second["PartsCount"] == 3
    assert second["Body"].read() == parts[1]
    with pytest.raises(ClientError) as caught:  # the upload is over
        s3.list_parts(Bucket=bucket, Key="joined.bin", UploadId=upload_id)
    assert error_code(caught) == ("NoSuchUpload", 404)


@pytest.mark.parametrize(
    ("kind", "expected"), [("COMPOSITE", "composite"), ("FULL_OBJECT", "full")]
)
def test_checksums_of_multipart_objects(s3: Any, bucket: str, kind: str, expected: str) -> None:
    parts = [os.urandom(PART), os.urandom(1000)]
    upload_id, done = upload(
        s3, bucket, "summed.bin", parts, ChecksumAlgorithm="CRC32", ChecksumType=kind
    )
    listed = s3.list_parts(Bucket=bucket, Key="summed.bin", UploadId=upload_id)
    assert [p["ChecksumCRC32"] for p in listed["Parts"]] == [b64(crc32(p)) for p in parts]
    for entry, data in zip(done, parts, strict=True):
        entry["ChecksumCRC32"] = b64(crc32(data))
    completed = s3.complete_multipart_upload(
        Bucket=bucket, Key="summed.bin", UploadId=upload_id, MultipartUpload={"Parts": done}
    )
    if expected == "composite":
        value = b64(crc32(b"".join(crc32(p) for p in parts))) + "-2"
    else:
        value = b64(crc32(b"".join(parts)))
    assert (completed["ChecksumCRC32"], completed["ChecksumType"]) == (value, kind)
    head = s3.head_object(Bucket=bucket, Key="summed.bin", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == value
    got = s3.get_object(Bucket=bucket, Key="summed.bin", ChecksumMode="ENABLED")
    assert got["Body"].read() == b"".join(parts)  # botocore checks full-object checksums


def test_completion_errors(s3: Any, bucket: str) -> None:
    parts = [os.urandom(PART), os.urandom(PART)]
    upload_id, done = upload(s3, bucket, "k", parts)

    def complete(chosen: list[dict[str, Any]]) -> Any:
        return s3.complete_multipart_upload(
            Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload={"Parts": chosen}
        )

    with pytest.raises(ClientError) as caught:
        complete([done[0], {"PartNumber": 2, "ETag": '"' + "0" * 32 + '"'}])
    assert error_of(caught) == {
        "Code": "InvalidPart",
        "Message": "One or more of the specified parts could not be found.  The part may not "
        "have been uploaded, or the specified entity tag may not match the part's entity tag.",
        "Status": 400,
    }
    assert caught.value.response["Error"]["UploadId"] == upload_id
    with pytest.raises(ClientError) as caught:
        complete([done[1], done[0]])
    assert error_of(caught) == {
        "Code": "InvalidPartOrder",
        "Message": "The list of parts was not in ascending order. Parts must be ordered by "
        "part number.",
        "Status": 400,
    }
    with pytest.raises(ClientError) as caught:
        complete([done[0], {"PartNumber": 7, "ETag": done[1]["ETag"]}])
    assert error_code(caught) == ("InvalidPart", 400)
    with pytest.raises(ClientError) as caught:
        s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id)
    assert error_code(caught) == ("MalformedXML", 400)
    # A failed completion leaves the upload as it was.
    assert complete(done)["ETag"] == multipart_etag(parts)


def test_parts_before_the_last_must_be_at_least_5_mib(s3: Any, bucket: str) -> None:
    upload_id, done = upload(s3, bucket, "small", [b"a" * 1024, b"b" * 10])
    with pytest.raises(ClientError) as caught:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="small", UploadId=upload_id, MultipartUpload={"Parts": done}
        )
    assert error_of(caught) == {
        "Code": "EntityTooSmall",
        "Message": "Your proposed upload is smaller than the minimum allowed size",
        "Status": 400,
    }
    error = caught.value.response["Error"]
    assert (error["ProposedSize"], error["MinSizeAllowed"]) == ("1024", str(PART))
    # One small part alone is fine: the last part has no minimum.
    single = s3.complete_multipart_upload(
        Bucket=bucket, Key="small", UploadId=upload_id, MultipartUpload={"Parts": done[1:]}
    )
    assert single["ETag"] == multipart_etag([b"b" * 10])


def test_aborted_uploads_are_gone(s3: Any, bucket: str) -> None:
    upload_id, done = upload(s3, bucket, "k", [b"x" * 10])
    aborted = s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id)
    assert aborted["ResponseMetadata"]["HTTPStatusCode"] == 204
    calls: list[Callable[[], Any]] = [
        lambda: s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id),
        lambda: s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id),
        lambda: s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1, Body=b"y"),
        lambda: s3.complete_multipart_upload(
            Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload={"Parts": done}
        ),
        lambda: s3.list_parts(Bucket=bucket, Key="k", UploadId="made-up"),
    ]
    for call in calls:
        with pytest.raises(ClientError) as caught:
            call()
        assert error_of(caught) == {
            "Code": "NoSuchUpload",
            "Message": "The specified upload does not exist. The upload ID may be invalid, or "
            "the upload may have been aborted or completed.",
            "Status": 404,
        }


def test_an_upload_belongs_to_its_key(s3: Any, bucket: str) -> None:
    upload_id, _ = upload(s3, bucket, "mine", [b"x"])
    with pytest.raises(ClientError) as caught:
        s3.list_parts(Bucket=bucket, Key="someone-else", UploadId=upload_id)
    assert error_code(caught) == ("NoSuchUpload", 404)


@pytest.mark.parametrize("number", [0, 10001])
def test_part_numbers_run_from_1_to_10000(s3: Any, bucket: str, number: int) -> None:
    upload_id, _ = upload(s3, bucket, "k", [])
    with pytest.raises(ClientError) as caught:
        s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=number, Body=b"x")
    assert error_of(caught) == {
        "Code": "InvalidArgument",
        "Message": "Part number must be an integer between 1 and 10000, inclusive",
        "Status": 400,
    }


def test_a_part_with_a_wrong_md5_is_refused(s3: Any, bucket: str) -> None:
    upload_id, _ = upload(s3, bucket, "k", [])
    wrong = b64(hashlib.md5(b"other").digest())
    with pytest.raises(ClientError) as caught:
        s3.upload_part(
            Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1, Body=b"x", ContentMD5=wrong
        )
    assert error_code(caught) == ("BadDigest", 400)
    assert s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id).get("Parts", []) == []


def test_list_parts_pages_and_reuploads_replace_parts(s3: Any, bucket: str) -> None:
    upload_id, _ = upload(s3, bucket, "k", [bytes([n]) for n in range(5)])
    replaced = s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=2, Body=b"new")
    first = s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id, MaxParts=2)
    assert [p["PartNumber"] for p in first["Parts"]] == [1, 2]
    assert first["Parts"][1]["ETag"] == replaced["ETag"]
    assert first["IsTruncated"] is True and first["NextPartNumberMarker"] == 2
    rest = s3.list_parts(
        Bucket=bucket, Key="k", UploadId=upload_id, PartNumberMarker=first["NextPartNumberMarker"]
    )
    assert [p["PartNumber"] for p in rest["Parts"]] == [3, 4, 5]
    assert rest["IsTruncated"] is False


@pytest.mark.slow
def test_upload_file_and_download_file_of_100_mb(s3: Any, bucket: str, tmp_path: Path) -> None:
    source = tmp_path / "weights.bin"
    with source.open("wb") as handle:
        for _ in range(100):
            handle.write(os.urandom(MIB))
    started = time.monotonic()
    s3.upload_file(str(source), bucket, "model/weights.bin")
    head = s3.head_object(Bucket=bucket, Key="model/weights.bin", ChecksumMode="ENABLED")
    assert head["ContentLength"] == 100 * MIB
    assert head["ETag"].endswith('-13"')  # s3transfer's 8 MiB parts
    assert head["ChecksumType"] == "COMPOSITE"
    target = tmp_path / "back.bin"
    s3.download_file(bucket, "model/weights.bin", str(target))
    elapsed = time.monotonic() - started
    assert sha256(target) == sha256(source)
    assert elapsed < 30, f"100 MB up and down took {elapsed:.1f} s"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(MIB):
            digest.update(chunk)
    return digest.hexdigest()


# --- durability -------------------------------------------------------------------------------


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)  # polling the file system, not simulating work
    return predicate()


def start_put(url: str, path: str, declared: int, sent: int) -> socket.socket:
    """A PUT that declares ``declared`` bytes and sends only ``sent`` of them."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    head = f"PUT {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: {declared}\r\n\r\n"
    sock.sendall(head.encode() + b"x" * sent)
    return sock


def test_a_client_that_hangs_up_mid_upload_leaves_nothing(
    s3: Any, bucket: str, emulator: EmulatorThread, emulator_url: str
) -> None:
    # The session's emulator is shared: only the temp files this upload made are its own.
    temp = emulator.emulator.s3_store.tmp
    before = set(temp.iterdir())
    sock = start_put(emulator_url, f"/{bucket}/torn.bin", 50 * MIB, 2 * MIB)
    assert wait_for(lambda: bool(set(temp.iterdir()) - before)), "the upload never started"
    ours = set(temp.iterdir()) - before
    sock.close()
    assert wait_for(lambda: not any(path.exists() for path in ours)), "temp file left behind"
    with pytest.raises(ClientError) as caught:
        s3.head_object(Bucket=bucket, Key="torn.bin")
    assert error_code(caught) == ("404", 404)
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_objects_and_uploads_survive_a_restart(tmp_path: Path) -> None:
    settings = EmulatorSettings(port=0, data_dir=tmp_path / "data")
    parts = [os.urandom(PART), b"end"]
    with running_emulator(settings) as url:
        s3 = client("s3", url)
        s3.create_bucket(Bucket="durable")
        s3.put_object(Bucket="durable", Key="kept.txt", Body=b"still here", Metadata={"a": "b"})
        upload_id, done = upload(s3, "durable", "later.bin", parts[:1])
    with running_emulator(settings) as url:
        s3 = client("s3", url)
        got = s3.get_object(Bucket="durable", Key="kept.txt")
        assert (got["Body"].read(), got["Metadata"]) == (b"still here", {"a": "b"})
        listed = s3.list_parts(Bucket="durable", Key="later.bin", UploadId=upload_id)
        assert [p["ETag"] for p in listed["Parts"]] == [done[0]["ETag"]]
        answer = s3.upload_part(
            Bucket="durable", Key="later.bin", UploadId=upload_id, PartNumber=2, Body=parts[1]
        )
        done.append({"PartNumber": 2, "ETag": answer["ETag"]})
        s3.complete_multipart_upload(
            Bucket="durable", Key="later.bin", UploadId=upload_id, MultipartUpload={"Parts": done}
        )
        assert s3.get_object(Bucket="durable", Key="later.bin")["Body"].read() == b"".join(parts)


@pytest.mark.slow
def test_a_crash_mid_upload_leaves_the_old_object_whole(
    serve: Callable[[Path], ServeProcess], tmp_path: Path
) -> None:
    """SIGKILL `endpointlab serve` while it writes a new version of an object: after a
    restart the old version is intact and no temp file remains."""
    data_dir = tmp_path / "data"
    server = serve(data_dir)
    url = server.start()
    s3 = client("s3", url)
    s3.create_bucket(Bucket="crash")
    s3.put_object(Bucket="crash", Key="model.tar.gz", Body=b"version 1")
    temp = data_dir / "s3" / "tmp"
    sock = start_put(url, "/crash/model.tar.gz", 64 * MIB, 4 * MIB)
    assert wait_for(lambda: any(temp.iterdir())), "the upload never started"
    server.kill()
    sock.close()
    assert any(temp.iterdir())  # the crash left its temp file ...

    url = server.start()
    s3 = client("s3", url)
    assert not any(temp.iterdir())  # ... which the restart removed
    got = s3.get_object(Bucket="crash", Key="model.tar.gz")
    assert got["Body"].read() == b"version 1"
    assert [i["Key"] for i in s3.list_objects_v2(Bucket="crash")["Contents"]] == ["model.tar.gz"]
    assert server.stop() == 0

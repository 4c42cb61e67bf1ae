"""The file-backed object store (emulator/objects): atomic commits, restarts, listings,
multipart uploads and their ETags/checksums, and the artifact fetcher's errors."""

from __future__ import annotations

import base64
import hashlib
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from endpointlab.emulator.errors import ServiceError
from endpointlab.emulator.objects import (
    LocalObjectStore,
    ObjectAttributes,
    RequestedPart,
    UploadInfo,
    Uploads,
    artifact_fetcher,
)
from endpointlab.emulator.objects.errors import MIN_PART_SIZE

MIB = 1024 * 1024


def crc32_b64(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    made = LocalObjectStore(tmp_path / "s3")
    made.create_bucket("bucket", "us-east-1")
    return made


def put(store: LocalObjectStore, key: str, data: bytes, bucket: str = "bucket") -> str:
    with store.new_blob(("CRC32",)) as blob:
        blob.write(data)
        return store.put(bucket, key, blob, ObjectAttributes()).etag


def read(store: LocalObjectStore, key: str) -> bytes:
    _, handle = store.open("bucket", key)
    with handle:
        return handle.read()


def code_of(caught: pytest.ExceptionInfo[ServiceError]) -> str:
    return caught.value.code


def test_an_object_round_trips_with_its_md5_etag(store: LocalObjectStore) -> None:
    etag = put(store, "a/b.txt", b"hello")
    assert etag == f'"{hashlib.md5(b"hello").hexdigest()}"'
    assert read(store, "a/b.txt") == b"hello"
    info = store.head("bucket", "a/b.txt")
    assert (info.size, info.attributes.content_type) == (5, "binary/octet-stream")


def test_overwriting_replaces_the_data_file_and_keeps_one(store: LocalObjectStore) -> None:
    put(store, "k", b"first")
    old = store.head("bucket", "k").path
    put(store, "k", b"second")
    assert read(store, "k") == b"second"
    assert not old.exists()
    assert len([p for p in old.parent.iterdir() if p.suffix != ".json"]) == 1


def test_a_reader_keeps_the_old_bytes_while_the_object_is_replaced(
    store: LocalObjectStore,
) -> None:
    put(store, "k", b"old bytes")
    _, handle = store.open("bucket", "k")
    put(store, "k", b"new bytes")
    with handle:
        assert handle.read() == b"old bytes"


def test_an_uncommitted_blob_leaves_nothing_behind(store: LocalObjectStore) -> None:
    with pytest.raises(RuntimeError), store.new_blob() as blob:
        blob.write(b"partial")
        raise RuntimeError("the client went away")
    assert list(store.tmp.iterdir()) == []
    with pytest.raises(ServiceError) as caught:
        store.head("bucket", "k")
    assert code_of(caught) == "NoSuchKey"


def test_a_restart_keeps_objects_and_removes_crash_debris(tmp_path: Path) -> None:
    root = tmp_path / "s3"
    store = LocalObjectStore(root)
    store.create_bucket("bucket", "us-east-1")
    put(store, "kept", b"durable")
    abandoned = store.new_blob()  # a write a crash interrupted: never committed nor discarded
    abandoned.write(b"torn")
    directory = store.head("bucket", "kept").path.parent
    orphan = directory / ("0" * 64)
    orphan.write_bytes(b"data renamed into place but never recorded")
    (directory / ".tmp-x.json").write_text("{")

    again = LocalObjectStore(root)
    assert [b.name for b in again.buckets()] == ["bucket"]
    assert read(again, "kept") == b"durable"
    assert list(again.tmp.iterdir()) == []
    assert not orphan.exists()
    assert not (directory / ".tmp-x.json").exists()


def test_keys_need_no_particular_characters(store: LocalObjectStore) -> None:
    keys = ["../escape", "/leading", "trailing/", "a//b", "ü ñ", "x" * 1024, "a+b?c#d"]
    for key in keys:
        put(store, key, key.encode())
    for key in keys:
        assert read(store, key) == key.encode()


def test_listing_rolls_up_at_the_delimiter_and_pages(store: LocalObjectStore) -> None:
    for key in ["a.txt", "photos/2006/jan/1.jpg", "photos/2006/feb/2.jpg", "photos/x.jpg", "z"]:
        put(store, key, b"-")
    top = store.list("bucket", "", "/", "", 1000)
    assert [o.key for o in top.objects] == ["a.txt", "z"]
    assert top.prefixes == ("photos/",)
    inner = store.list("bucket", "photos/2006/", "/", "", 1000)
    assert inner.prefixes == ("photos/2006/feb/", "photos/2006/jan/")

    first = store.list("bucket", "", "/", "", 2)
    assert ([o.key for o in first.objects], first.prefixes) == (["a.txt"], ("photos/",))
    assert first.truncated and first.last == "photos/"
    rest = store.list("bucket", "", "/", first.last or "", 2)
    assert ([o.key for o in rest.objects], rest.prefixes, rest.truncated) == (["z"], (), False)
    assert store.list("bucket", "", "", "", 0).objects == ()


def test_buckets_must_be_empty_to_go(store: LocalObjectStore) -> None:
    put(store, "k", b"x")
    with pytest.raises(ServiceError) as caught:
        store.delete_bucket("bucket")
    assert code_of(caught) == "BucketNotEmpty"
    assert store.delete("bucket", "k") is True
    assert store.delete("bucket", "k") is False
    store.delete_bucket("bucket")
    with pytest.raises(ServiceError) as caught:
        store.head("bucket", "k")
    assert code_of(caught) == "NoSuchBucket"
    assert store.create_bucket("bucket", "us-east-1") is not None


def upload_parts(
    uploads: Uploads, store: LocalObjectStore, sizes: list[int]
) -> tuple[UploadInfo, list[bytes], list[RequestedPart]]:
    upload = uploads.create("bucket", "big", ObjectAttributes(), "CRC32", "COMPOSITE")
    datas = [bytes([n]) * size for n, size in enumerate(sizes, start=1)]
    requested = []
    for number, data in enumerate(datas, start=1):
        with store.new_blob(("CRC32",)) as blob:
            blob.write(data)
            part = uploads.put_part(upload, number, blob)
        requested.append(RequestedPart(number, part.etag))
    return upload, datas, requested


def test_completing_joins_parts_with_the_multipart_etag_and_checksum(
    store: LocalObjectStore,
) -> None:
    uploads = Uploads(store)
    upload, datas, requested = upload_parts(uploads, store, [MIN_PART_SIZE, 3])
    info = uploads.complete(upload, requested)
    md5s = b"".join(hashlib.md5(d).digest() for d in datas)
    assert info.etag == f'"{hashlib.md5(md5s).hexdigest()}-2"'
    crcs = b"".join(zlib.crc32(d).to_bytes(4, "big") for d in datas)
    assert info.checksum is not None
    assert info.checksum.value == f"{crc32_b64(crcs)}-2"
    assert info.checksum.type == "COMPOSITE"
    assert read(store, "big") == b"".join(datas)
    assert info.part_sizes == (MIN_PART_SIZE, 3)
    with pytest.raises(ServiceError) as caught:
        uploads.get(upload.upload_id, "bucket", "big")
    assert code_of(caught) == "NoSuchUpload"


def test_a_full_object_checksum_covers_every_byte(store: LocalObjectStore) -> None:
    uploads = Uploads(store)
    upload = uploads.create("bucket", "full", ObjectAttributes(), "CRC32", "FULL_OBJECT")
    with store.new_blob(("CRC32",)) as blob:
        blob.write(b"only part")
        part = uploads.put_part(upload, 1, blob)
    info = uploads.complete(upload, [RequestedPart(1, part.etag)])
    assert info.checksum is not None
    assert info.checksum.value == crc32_b64(b"only part")


@pytest.mark.parametrize(
    ("order", "code"),
    [
        ([2, 1], "InvalidPartOrder"),
        ([1, 1], "InvalidPartOrder"),
        ([1, 3], "InvalidPart"),
        ([], "MalformedXML"),
    ],
)
def test_completion_refuses_bad_part_lists(
    store: LocalObjectStore, order: list[int], code: str
) -> None:
    uploads = Uploads(store)
    upload, _, requested = upload_parts(uploads, store, [MIN_PART_SIZE, MIN_PART_SIZE])
    by_number = {p.number: p for p in requested}
    chosen = [by_number.get(n, RequestedPart(n, '"0"')) for n in order]
    with pytest.raises(ServiceError) as caught:
        uploads.complete(upload, chosen)
    assert code_of(caught) == code


def test_parts_but_the_last_must_be_five_mib(store: LocalObjectStore) -> None:
    uploads = Uploads(store)
    upload, _, requested = upload_parts(uploads, store, [MIN_PART_SIZE - 1, 10])
    with pytest.raises(ServiceError) as caught:
        uploads.complete(upload, requested)
    assert code_of(caught) == "EntityTooSmall"
    assert caught.value.fields["ProposedSize"] == MIN_PART_SIZE - 1
    assert caught.value.fields["PartNumber"] == 1


def test_a_wrong_etag_is_an_invalid_part(store: LocalObjectStore) -> None:
    uploads = Uploads(store)
    upload, _, requested = upload_parts(uploads, store, [10])
    with pytest.raises(ServiceError) as caught:
        uploads.complete(upload, [RequestedPart(1, '"' + "0" * 32 + '"')])
    assert code_of(caught) == "InvalidPart"
    info = uploads.complete(upload, [RequestedPart(1, requested[0].etag.strip('"'))])
    assert info.size == 10  # ETags match with or without their quotes


def test_uploads_and_their_parts_survive_a_restart(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "s3")
    store.create_bucket("bucket", "us-east-1")
    uploads = Uploads(store)
    upload, datas, requested = upload_parts(uploads, store, [MIN_PART_SIZE, 7])

    store_again = LocalObjectStore(tmp_path / "s3")
    uploads_again = Uploads(store_again)
    found = uploads_again.get(upload.upload_id, "bucket", "big")
    assert [p.size for p in uploads_again.parts(found)] == [MIN_PART_SIZE, 7]
    info = uploads_again.complete(found, requested)
    assert read(store_again, "big") == b"".join(datas)
    assert info.etag.endswith('-2"')


def test_aborting_removes_the_parts(store: LocalObjectStore) -> None:
    uploads = Uploads(store)
    upload, _, _ = upload_parts(uploads, store, [10])
    uploads.abort(upload)
    assert not (store.root / "uploads" / upload.upload_id).exists()
    with pytest.raises(ServiceError) as caught:
        uploads.abort(upload)
    assert code_of(caught) == "NoSuchUpload"


def test_upload_ids_from_clients_never_reach_the_file_system(store: LocalObjectStore) -> None:
    uploads = Uploads(store)
    for hostile in ["../../etc", "", "a/b", "x" * 500]:
        with pytest.raises(ServiceError) as caught:
            uploads.get(hostile, "bucket", "k")
        assert code_of(caught) == "NoSuchUpload"


def test_the_artifact_fetcher_words_missing_data_as_sagemaker_does(
    store: LocalObjectStore,
) -> None:
    fetch = artifact_fetcher(store)
    put(store, "model.tar.gz", b"archive")
    assert fetch("bucket", "model.tar.gz").read_bytes() == b"archive"
    for bucket, key in [("bucket", "missing.tar.gz"), ("nobucket", "model.tar.gz")]:
        with pytest.raises(ServiceError) as caught:
            fetch(bucket, key)
        assert (caught.value.code, caught.value.message) == (
            "ValidationException",
            f"Could not find model data at s3://{bucket}/{key}.",
        )


def test_put_bytes_and_stat_serve_the_control_plane(store: LocalObjectStore) -> None:
    summary = store.put_bytes("bucket", "out/1.json", b'{"a": 1}', content_type="application/json")
    assert summary.size == 8
    assert store.stat("bucket", "out/1.json").content_type == "application/json"
    assert store.head("bucket", "out/1.json").checksum is not None
    assert store.stat("bucket", "out/1.json").last_modified <= datetime.now(UTC)

"""S3 object operations: PutObject, GetObject (ranges, part numbers, conditions), HeadObject,
DeleteObject and CopyObject (metadata directive, copy-source conditions).

Bodies stream into the store's temp files and are committed atomically only after every
integrity check passes; GetObject streams the data file back in 1 MiB chunks. Checksums are
returned only when asked for (``x-amz-checksum-mode: ENABLED``) and only for whole objects.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, BinaryIO
from urllib.parse import unquote

from endpointlab.emulator.errors import ServiceError
from endpointlab.emulator.objects import Checksum, LocalObjectStore, ObjectInfo, errors
from endpointlab.emulator.objects.files import COPY_CHUNK, b64
from endpointlab.emulator.services.s3_common import (
    S3Request,
    S3Result,
    attributes_from,
    check_conditions,
    check_size,
    checksum_members,
    integrity_of,
    object_members,
    receive,
    verify,
)

MAX_PUT_BYTES = 5 * 1024**3
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
Handler = Callable[[S3Request], Awaitable[S3Result]]


class ObjectOperations:
    """The object operations over one local store."""

    def __init__(self, store: LocalObjectStore, storage_classes: frozenset[str]) -> None:
        self._store = store
        self._storage_classes = storage_classes

    def handlers(self) -> dict[str, Handler]:
        return {
            "PutObject": self.put_object,
            "GetObject": self.get_object,
            "HeadObject": self.head_object,
            "DeleteObject": self.delete_object,
            "CopyObject": self.copy_object,
        }

    async def put_object(self, request: S3Request) -> S3Result:
        params = request.params
        bucket, key = params["Bucket"], params["Key"]
        check_key(key)
        attributes = attributes_from(params, self._storage_classes)
        integrity = integrity_of(params, request.headers)
        check_size(request, integrity, MAX_PUT_BYTES)
        store = self._store
        existing = await asyncio.to_thread(_find, store, bucket, key)  # NoSuchBucket first
        _check_write_conditions(params, existing, key)
        assert request.body is not None
        with store.new_blob(integrity.algorithms(), sha256=integrity.sha256 is not None) as blob:
            await receive(request.body, blob, MAX_PUT_BYTES)
            checksum = verify(integrity, blob, request.body.trailers)
            info = await asyncio.to_thread(
                store.put, bucket, key, blob, attributes, checksum=checksum
            )
        return S3Result({"ETag": info.etag, **checksum_members(info.checksum)})

    async def get_object(self, request: S3Request) -> S3Result:
        params = request.params
        check_version(params.get("VersionId"))
        info, handle = await asyncio.to_thread(self._store.open, params["Bucket"], params["Key"])
        try:
            members, status, span = _read_plan(info, params, request.headers)
            for override, member in _OVERRIDES:
                if params.get(override) is not None and status is None:
                    members[member] = params[override]
        except BaseException:
            handle.close()
            raise
        return S3Result(members, status, _stream(handle, *span))

    async def head_object(self, request: S3Request) -> S3Result:
        params = request.params
        check_version(params.get("VersionId"))
        info = await asyncio.to_thread(self._store.head, params["Bucket"], params["Key"])
        members, status, _ = _read_plan(info, params, request.headers)
        return S3Result(members, status)

    async def delete_object(self, request: S3Request) -> S3Result:
        params = request.params
        check_version(params.get("VersionId"))
        await asyncio.to_thread(self._store.delete, params["Bucket"], params["Key"])
        return S3Result({})

    async def copy_object(self, request: S3Request) -> S3Result:
        params = request.params
        bucket, key = params["Bucket"], params["Key"]
        check_key(key)
        source = parse_copy_source(params["CopySource"])
        directive = params.get("MetadataDirective") or "COPY"
        if directive not in ("COPY", "REPLACE"):
            raise errors.invalid_argument(
                "Unknown metadata directive.", "x-amz-metadata-directive", directive
            )
        replaced = attributes_from(params, self._storage_classes)
        storage_change = params.get("StorageClass") is not None

        def check(found: ObjectInfo) -> None:
            check_conditions(found, params, "CopySource", copy=True)
            itself = (found.bucket, found.key) == (bucket, key)
            if itself and directive == "COPY" and not storage_change:
                raise errors.invalid_request(
                    "This copy request is illegal because it is trying to copy an object "
                    "to itself without changing the object's metadata, storage class, "
                    "website redirect location or encryption attributes."
                )

        algorithm = params.get("ChecksumAlgorithm")
        if algorithm is not None and algorithm not in ("CRC32", "SHA1", "SHA256"):
            raise errors.not_implemented("x-amz-checksum-algorithm")
        algorithms = (algorithm,) if algorithm else ("CRC32",)
        store = self._store
        found, blob = await asyncio.to_thread(
            store.copy, source, (bucket, key), replaced, algorithms, check
        )
        with blob:
            attributes = replaced
            if directive == "COPY":
                storage = replaced.storage_class
                attributes = dataclasses.replace(found.attributes, storage_class=storage)
            keep = algorithm or (found.checksum.algorithm if found.checksum else None)
            digest = None if keep is None else blob.checksum(keep)
            checksum = None if keep is None or digest is None else Checksum(keep, b64(digest))
            info = await asyncio.to_thread(
                store.put, bucket, key, blob, attributes, checksum=checksum
            )
        result = {"ETag": info.etag, "LastModified": info.last_modified}
        result.update(checksum_members(info.checksum))
        return S3Result({"CopyObjectResult": result})


_OVERRIDES = (
    ("ResponseCacheControl", "CacheControl"),
    ("ResponseContentDisposition", "ContentDisposition"),
    ("ResponseContentEncoding", "ContentEncoding"),
    ("ResponseContentLanguage", "ContentLanguage"),
    ("ResponseContentType", "ContentType"),
    ("ResponseExpires", "Expires"),
)


def check_key(key: str) -> None:
    size = len(key.encode("utf-8"))
    if size > errors.MAX_KEY_BYTES:
        raise errors.key_too_long(size)


def parse_copy_source(text: str) -> tuple[str, str]:
    """``/bucket/key?versionId=..`` (URL-encoded) -> (bucket, key)."""
    path, _, version = text.partition("?")
    bucket, _, key = unquote(path).lstrip("/").partition("/")
    if not bucket or not key:
        raise errors.invalid_argument("Invalid copy source object key", "x-amz-copy-source", text)
    if version:
        check_version(version.removeprefix("versionId="))
    return bucket, key


def check_version(version: str | None) -> None:
    """Buckets here are unversioned: only the ``null`` version exists (S3's answer to any
    other id in an unversioned bucket is InvalidArgument)."""
    if version is not None and version != "null":
        raise errors.invalid_argument("Invalid version id specified", "versionId", version)


def _find(store: LocalObjectStore, bucket: str, key: str) -> ObjectInfo | None:
    try:
        return store.head(bucket, key)
    except ServiceError as error:
        if error.code == "NoSuchKey":
            return None
        raise


def _check_write_conditions(params: Any, existing: ObjectInfo | None, key: str) -> None:
    if_none_match = params.get("IfNoneMatch")
    if if_none_match is not None and existing is not None:
        raise errors.precondition_failed("If-None-Match")
    if_match = params.get("IfMatch")
    if if_match is not None:
        if existing is None:
            raise errors.no_such_key(key)
        check_conditions(existing, {"IfMatch": if_match})


def _read_plan(
    info: ObjectInfo, params: Any, headers: Any
) -> tuple[dict[str, Any], int | None, tuple[int, int]]:
    """Members, status (206 for a part) and the byte span a GET or HEAD answers with."""
    check_conditions(info, params)
    members = object_members(info)
    header = params.get("Range")
    number = params.get("PartNumber")
    span = (0, info.size)
    status = None
    if header is not None and number is not None:
        raise errors.invalid_request(
            "Cannot specify both Range header and partNumber query parameter"
        )
    chosen = _part_span(info, number) if number is not None else None
    if chosen is None and header is not None:
        chosen = byte_range(header, info.size)
    if chosen is not None:
        first, last = chosen
        span = (first, last - first + 1)
        status = 206
        members["ContentLength"] = span[1]
        members["ContentRange"] = f"bytes {first}-{last}/{info.size}"
        if number is not None:
            members["PartsCount"] = max(1, len(info.part_sizes))
    elif headers.get("x-amz-checksum-mode", "").upper() == "ENABLED":
        members.update(checksum_members(info.checksum))
    return members, status, span


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The inclusive byte span of a ``Range`` header; None if S3 would ignore it (malformed,
    several ranges, end before start); InvalidRange (416) if it cannot be satisfied."""
    found = _RANGE.fullmatch(header.strip())
    if found is None or found[1] == found[2] == "":
        return None
    if found[1] == "":
        suffix = int(found[2])
        if suffix == 0 or size == 0:
            raise errors.invalid_range(header, size)
        return max(0, size - suffix), size - 1
    first = int(found[1])
    last = int(found[2]) if found[2] else size - 1
    if found[2] and last < first:
        return None
    if first >= size:
        raise errors.invalid_range(header, size)
    return first, min(last, size - 1)


def _part_span(info: ObjectInfo, number: int) -> tuple[int, int]:
    sizes = info.part_sizes or (info.size,)
    if not 1 <= number <= len(sizes):
        raise errors.invalid_part_number(number, len(sizes))
    first = sum(sizes[: number - 1])
    return first, first + sizes[number - 1] - 1


async def _stream(handle: BinaryIO, offset: int, length: int) -> AsyncGenerator[bytes, None]:
    """``length`` bytes from ``offset`` of an open data file, read off the event loop."""
    try:
        await asyncio.to_thread(handle.seek, offset)
        remaining = length
        while remaining > 0:
            chunk = await asyncio.to_thread(handle.read, min(COPY_CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        handle.close()

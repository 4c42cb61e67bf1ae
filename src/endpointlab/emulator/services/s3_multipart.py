"""S3 multipart uploads: CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
AbortMultipartUpload and ListParts, over the store's on-disk uploads.

Parts stream to disk like PutObject bodies and pass the same integrity checks; each part also
gets the upload's checksum algorithm, so completion can report the composite (or full-object)
checksum S3 would. Completion order, ETag and size rules live in ``objects.multipart``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from endpointlab.emulator.objects import LocalObjectStore, RequestedPart, Uploads, errors
from endpointlab.emulator.objects.multipart import MAX_PARTS
from endpointlab.emulator.services.s3_common import (
    OWNER,
    S3Request,
    S3Result,
    attributes_from,
    check_size,
    checksum_members,
    integrity_of,
    receive,
    verify,
)
from endpointlab.emulator.services.s3_objects import check_key

MAX_PART_BYTES = 5 * 1024**3
MAX_LIST_PARTS = 1000
SUPPORTED = ("CRC32", "SHA1", "SHA256")
Handler = Callable[[S3Request], Awaitable[S3Result]]


class MultipartOperations:
    """The multipart operations over one local store and its uploads."""

    def __init__(
        self, store: LocalObjectStore, uploads: Uploads, storage_classes: frozenset[str]
    ) -> None:
        self._store = store
        self._uploads = uploads
        self._storage_classes = storage_classes

    def handlers(self) -> dict[str, Handler]:
        return {
            "CreateMultipartUpload": self.create,
            "UploadPart": self.upload_part,
            "CompleteMultipartUpload": self.complete,
            "AbortMultipartUpload": self.abort,
            "ListParts": self.list_parts,
        }

    async def create(self, request: S3Request) -> S3Result:
        params = request.params
        bucket, key = params["Bucket"], params["Key"]
        check_key(key)
        attributes = attributes_from(params, self._storage_classes)
        algorithm = params.get("ChecksumAlgorithm")
        kind = params.get("ChecksumType")
        if algorithm is not None and algorithm not in SUPPORTED:
            raise errors.not_implemented("x-amz-checksum-algorithm")
        if kind is not None and algorithm is None:
            raise errors.invalid_request(
                "The x-amz-checksum-type header can only be used with the "
                "x-amz-checksum-algorithm header."
            )
        if kind == "FULL_OBJECT" and algorithm != "CRC32":
            raise errors.invalid_request(
                f"The FULL_OBJECT checksum type cannot be used with the {str(algorithm).lower()} "
                "checksum algorithm."
            )
        if algorithm is not None and kind is None:
            kind = "COMPOSITE"
        upload = await asyncio.to_thread(
            self._uploads.create, bucket, key, attributes, algorithm, kind
        )
        members: dict[str, Any] = {"Bucket": bucket, "Key": key, "UploadId": upload.upload_id}
        if algorithm is not None:
            members.update(ChecksumAlgorithm=algorithm, ChecksumType=kind)
        return S3Result(members)

    async def upload_part(self, request: S3Request) -> S3Result:
        params = request.params
        number = params["PartNumber"]
        if not 1 <= number <= MAX_PARTS:
            raise errors.invalid_argument(
                "Part number must be an integer between 1 and 10000, inclusive",
                "partNumber",
                str(number),
            )
        upload = self._uploads.get(params["UploadId"], params["Bucket"], params["Key"])
        integrity = integrity_of(params, request.headers)
        check_size(request, integrity, MAX_PART_BYTES)
        algorithms = integrity.algorithms(upload.checksum_algorithm)
        assert request.body is not None
        with self._store.new_blob(algorithms, sha256=integrity.sha256 is not None) as blob:
            await receive(request.body, blob, MAX_PART_BYTES)
            verify(integrity, blob, request.body.trailers)
            part = await asyncio.to_thread(self._uploads.put_part, upload, number, blob)
        members: dict[str, Any] = {"ETag": part.etag}
        if upload.checksum_algorithm and part.checksum:
            members[f"Checksum{upload.checksum_algorithm}"] = part.checksum
        return S3Result(members)

    async def complete(self, request: S3Request) -> S3Result:
        params = request.params
        bucket, key = params["Bucket"], params["Key"]
        upload = self._uploads.get(params["UploadId"], bucket, key)
        document = params.get("MultipartUpload") or {}
        requested = [
            RequestedPart(
                int(part.get("PartNumber", 0)),
                str(part.get("ETag", "")),
                tuple(
                    (name[len("Checksum") :], str(value))
                    for name, value in part.items()
                    if name.startswith("Checksum") and value is not None
                ),
            )
            for part in document.get("Parts") or ()
        ]
        info = await asyncio.to_thread(self._uploads.complete, upload, requested)
        members: dict[str, Any] = {
            "Location": f"http://{request.host}/{bucket}/{quote(key)}",
            "Bucket": bucket,
            "Key": key,
            "ETag": info.etag,
            **checksum_members(info.checksum),
        }
        return S3Result(members)

    async def abort(self, request: S3Request) -> S3Result:
        params = request.params
        upload = self._uploads.get(params["UploadId"], params["Bucket"], params["Key"])
        await asyncio.to_thread(self._uploads.abort, upload)
        return S3Result({})

    async def list_parts(self, request: S3Request) -> S3Result:
        params = request.params
        upload = self._uploads.get(params["UploadId"], params["Bucket"], params["Key"])
        marker = params.get("PartNumberMarker") or 0
        limit = min(params.get("MaxParts", MAX_LIST_PARTS), MAX_LIST_PARTS)
        parts = [p for p in self._uploads.parts(upload) if p.number > marker]
        page = parts[: max(limit, 0)]
        entries = []
        for part in page:
            entry: dict[str, Any] = {
                "PartNumber": part.number,
                "LastModified": part.last_modified,
                "ETag": part.etag,
                "Size": part.size,
            }
            if upload.checksum_algorithm and part.checksum:
                entry[f"Checksum{upload.checksum_algorithm}"] = part.checksum
            entries.append(entry)
        members: dict[str, Any] = {
            "Bucket": upload.bucket,
            "Key": upload.key,
            "UploadId": upload.upload_id,
            "PartNumberMarker": marker,
            "MaxParts": limit,
            "IsTruncated": len(parts) > len(page),
            "Parts": entries,
            "Initiator": OWNER,
            "Owner": OWNER,
            "StorageClass": upload.attributes.storage_class,
        }
        if page:
            members["NextPartNumberMarker"] = page[-1].number
        if upload.checksum_algorithm:
            members["ChecksumAlgorithm"] = upload.checksum_algorithm
            members["ChecksumType"] = upload.checksum_type
        return S3Result(members)

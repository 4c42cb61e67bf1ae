"""The JSON records the object store keeps beside its data files, and back.

One record per bucket, object, multipart upload and part; each is replaced atomically and is
what a restart rebuilds the store from. Data file names are derived here too, so a record
always names the file it commits.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any

from endpointlab.emulator.objects.model import (
    BucketInfo,
    Checksum,
    ObjectAttributes,
    ObjectInfo,
    PartInfo,
    UploadInfo,
)


def key_digest(key: str) -> str:
    """The file-name stem of ``key`` (keys may hold any characters and run to 1,024 bytes)."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def part_path(directory: Path, number: int, version: str) -> Path:
    return directory / f"{number:05d}-{version}"


def bucket_record(info: BucketInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "created": info.created.isoformat(),
        "region": info.region,
        "location": info.location,
    }


def bucket_from(document: dict[str, Any]) -> BucketInfo:
    return BucketInfo(
        document["name"],
        datetime.fromisoformat(document["created"]),
        document["region"],
        document.get("location", ""),
    )


def attributes_record(attributes: ObjectAttributes) -> dict[str, Any]:
    return {
        "content_type": attributes.content_type,
        "metadata": dict(attributes.metadata),
        "headers": dict(attributes.headers),
        "storage_class": attributes.storage_class,
    }


def attributes_from(document: dict[str, Any]) -> ObjectAttributes:
    return ObjectAttributes(
        document["content_type"],
        document["metadata"],
        document["headers"],
        document["storage_class"],
    )


def object_record(info: ObjectInfo) -> dict[str, Any]:
    checksum = info.checksum
    return {
        "key": info.key,
        "version": info.version,
        "size": info.size,
        "etag": info.etag,
        "last_modified": info.last_modified.isoformat(),
        **attributes_record(info.attributes),
        "checksum": None
        if checksum is None
        else {"algorithm": checksum.algorithm, "value": checksum.value, "type": checksum.type},
        "parts": list(info.part_sizes),
    }


def object_from(bucket: str, directory: Path, document: dict[str, Any]) -> ObjectInfo:
    key = document["key"]
    checksum = document.get("checksum")
    return ObjectInfo(
        bucket=bucket,
        key=key,
        size=document["size"],
        etag=document["etag"],
        last_modified=datetime.fromisoformat(document["last_modified"]),
        attributes=attributes_from(document),
        path=directory / f"{key_digest(key)}-{document['version']}",
        version=document["version"],
        checksum=None if checksum is None else Checksum(**checksum),
        part_sizes=tuple(document.get("parts", ())),
    )


def upload_record(upload: UploadInfo) -> dict[str, Any]:
    return {
        "bucket": upload.bucket,
        "key": upload.key,
        "initiated": upload.initiated.isoformat(),
        "attributes": attributes_record(upload.attributes),
        "checksum_algorithm": upload.checksum_algorithm,
        "checksum_type": upload.checksum_type,
    }


def upload_from(upload_id: str, document: dict[str, Any]) -> UploadInfo:
    return UploadInfo(
        upload_id,
        document["bucket"],
        document["key"],
        datetime.fromisoformat(document["initiated"]),
        attributes_from(document["attributes"]),
        document.get("checksum_algorithm"),
        document.get("checksum_type"),
    )


def part_record(part: PartInfo, version: str) -> dict[str, Any]:
    return {
        "number": part.number,
        "size": part.size,
        "etag": part.etag,
        "last_modified": part.last_modified.isoformat(),
        "version": version,
        "checksum": part.checksum,
    }


def part_from(directory: Path, document: dict[str, Any]) -> PartInfo:
    number = int(document["number"])
    return PartInfo(
        number,
        document["size"],
        document["etag"],
        datetime.fromisoformat(document["last_modified"]),
        part_path(directory, number, document["version"]),
        document.get("checksum"),
    )

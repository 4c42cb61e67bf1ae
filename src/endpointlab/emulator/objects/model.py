"""What the object store holds and hands out: buckets, objects, checksums, uploads, listings.

Plain frozen dataclasses shared by the local store, the remote store and the S3 service, plus
the ``ObjectStore`` protocol the control plane uses (fetch a model artifact to a local file,
put an output, head an object) and the fetcher that turns a missing artifact into SageMaker's
ValidationException.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Protocol

from endpointlab.emulator.errors import ServiceError

DEFAULT_CONTENT_TYPE = "binary/octet-stream"
STANDARD = "STANDARD"
_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class BucketInfo:
    """A bucket: its name, creation time and region (``location`` as CreateBucket gave it)."""

    name: str
    created: datetime
    region: str
    location: str = ""


@dataclass(frozen=True)
class Checksum:
    """A stored checksum: algorithm (``CRC32``), base64 value (``...-N`` when composite) and
    type (``FULL_OBJECT`` or ``COMPOSITE``)."""

    algorithm: str
    value: str
    type: str = "FULL_OBJECT"


@dataclass(frozen=True)
class ObjectAttributes:
    """What a writer sets besides the bytes: content type, user metadata, the standard
    representation headers (by model member name: CacheControl, ContentDisposition,
    ContentEncoding, ContentLanguage, Expires) and the storage class."""

    content_type: str = DEFAULT_CONTENT_TYPE
    metadata: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    headers: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    storage_class: str = STANDARD


@dataclass(frozen=True)
class ObjectInfo:
    """A committed object; ``path`` is its data file, ``version`` names that file."""

    bucket: str
    key: str
    size: int
    etag: str
    last_modified: datetime
    attributes: ObjectAttributes
    path: Path
    version: str
    checksum: Checksum | None = None
    part_sizes: tuple[int, ...] = ()


@dataclass(frozen=True)
class Listing:
    """One page of a bucket listing; ``last`` is the last key or common prefix returned."""

    objects: tuple[ObjectInfo, ...]
    prefixes: tuple[str, ...]
    truncated: bool
    last: str | None


@dataclass(frozen=True)
class UploadInfo:
    """A multipart upload in progress."""

    upload_id: str
    bucket: str
    key: str
    initiated: datetime
    attributes: ObjectAttributes
    checksum_algorithm: str | None = None
    checksum_type: str | None = None


@dataclass(frozen=True)
class PartInfo:
    """An uploaded part: number, size, ETag, base64 checksum in the upload's algorithm."""

    number: int
    size: int
    etag: str
    last_modified: datetime
    path: Path
    checksum: str | None = None


@dataclass(frozen=True)
class ObjectSummary:
    """What the control plane learns about an object in either store."""

    bucket: str
    key: str
    size: int
    etag: str
    content_type: str
    last_modified: datetime


class ObjectStore(Protocol):
    """The S3 operations model artifacts and asynchronous inference need, local or remote.

    Missing buckets and keys raise the ``NoSuchBucket`` / ``NoSuchKey`` ``ServiceError``s.
    Every method blocks: call them from a worker thread inside the event loop.
    """

    def fetch(self, bucket: str, key: str) -> Path:
        """A local file holding the object's bytes (the store's own file or a cached copy)."""
        ...

    def stat(self, bucket: str, key: str) -> ObjectSummary:
        """Size, ETag, content type and time of an object, without its bytes."""
        ...

    def put_bytes(
        self,
        bucket: str,
        key: str,
        data: bytes,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectSummary: ...

    def put_file(
        self,
        bucket: str,
        key: str,
        source: Path,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectSummary: ...


def summary(info: ObjectInfo) -> ObjectSummary:
    return ObjectSummary(
        info.bucket,
        info.key,
        info.size,
        info.etag,
        info.attributes.content_type,
        info.last_modified,
    )


def artifact_fetcher(store: ObjectStore) -> Callable[[str, str], Path]:
    """``fetch_object`` for ``ArtifactCache``: a missing bucket or key is CreateModel's
    ``ValidationException: Could not find model data at s3://bucket/key.``"""

    def fetch(bucket: str, key: str) -> Path:
        url = f"s3://{bucket}/{key}"
        try:
            return store.fetch(bucket, key)
        except ServiceError as error:
            if error.code in ("NoSuchBucket", "NoSuchKey", "404"):
                raise ServiceError(
                    "ValidationException", f"Could not find model data at {url}."
                ) from error
            raise ServiceError(
                "ValidationException",
                f"Could not access model data at {url}. The object store answered "
                f"{error.code}: {error.message}",
            ) from error

    return fetch

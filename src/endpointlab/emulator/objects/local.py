"""The file-backed object store behind the emulator's S3: buckets and objects under one root.

Layout: ``buckets/<name>/bucket.json``; each object is a data file
``buckets/<name>/objects/<hh>/<sha256(key)>-<version>`` plus its record ``<sha256(key)>.json``
(key, size, ETag, content type, metadata, checksum). A write goes to a temp file in ``tmp/``,
is fsync'd and renamed into place, and only then is the record replaced (atomically): a crash
leaves the old object or the new one, never a torn one. Orphans and temp files are removed at
start-up. An in-memory sorted index per bucket serves listings; it is rebuilt from the records.
"""

from __future__ import annotations

import bisect
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from endpointlab.emulator.objects import errors
from endpointlab.emulator.objects.files import (
    COPY_CHUNK,
    Blob,
    b64,
    commit_blob,
    commit_file,
    fsync_dir,
    read_json,
    remove_file,
    write_json,
)
from endpointlab.emulator.objects.model import (
    BucketInfo,
    Checksum,
    Listing,
    ObjectAttributes,
    ObjectInfo,
    ObjectSummary,
    summary,
)
from endpointlab.emulator.objects.records import (
    bucket_from,
    bucket_record,
    key_digest,
    object_from,
    object_record,
)

Clock = Callable[[], datetime]


def utc_seconds() -> datetime:
    """Now, to the second: S3 keeps Last-Modified with one-second precision."""
    return datetime.now(UTC).replace(microsecond=0)


class _Index:
    """One bucket's objects by key, with the keys kept sorted for listings."""

    def __init__(self) -> None:
        self.objects: dict[str, ObjectInfo] = {}
        self.keys: list[str] = []

    def set(self, info: ObjectInfo) -> ObjectInfo | None:
        old = self.objects.get(info.key)
        if old is None:
            bisect.insort(self.keys, info.key)
        self.objects[info.key] = info
        return old

    def remove(self, key: str) -> ObjectInfo | None:
        old = self.objects.pop(key, None)
        if old is not None:
            del self.keys[bisect.bisect_left(self.keys, key)]
        return old


class LocalObjectStore:
    """Buckets and objects under ``root``; thread-safe, blocking (call from worker threads
    for anything that reads or writes object data)."""

    def __init__(self, root: Path, *, clock: Clock = utc_seconds) -> None:
        self.root = root
        self.tmp = root / "tmp"
        self._buckets_dir = root / "buckets"
        self._clock = clock
        self.lock = threading.RLock()
        for directory in (root, self.tmp, self._buckets_dir):
            directory.mkdir(parents=True, exist_ok=True)
        for leftover in self.tmp.iterdir():  # temp files of writes a crash interrupted
            shutil.rmtree(leftover) if leftover.is_dir() else remove_file(leftover)
        self._buckets: dict[str, BucketInfo] = {}
        for directory in self._buckets_dir.iterdir():
            record = directory / "bucket.json"
            if record.exists():
                self._buckets[directory.name] = bucket_from(read_json(record))
            else:  # never committed
                shutil.rmtree(directory, ignore_errors=True)
        self._indexes: dict[str, _Index] = {}

    def now(self) -> datetime:
        return self._clock()

    # --- buckets ------------------------------------------------------------------------------

    def create_bucket(self, name: str, region: str, location: str = "") -> BucketInfo | None:
        """Create ``name``; returns None (and changes nothing) if it already exists."""
        with self.lock:
            if name in self._buckets:
                return None
            info = BucketInfo(name, self.now(), region, location)
            staging = self.tmp / f"bucket-{uuid.uuid4().hex}"
            (staging / "objects").mkdir(parents=True)
            write_json(staging / "bucket.json", bucket_record(info))
            commit_file(staging, self._buckets_dir / name)
            self._buckets[name] = info
            self._indexes[name] = _Index()
            return info

    def bucket(self, name: str) -> BucketInfo:
        found = self._buckets.get(name)
        if found is None:
            raise errors.no_such_bucket(name)
        return found

    def buckets(self) -> list[BucketInfo]:
        with self.lock:
            return sorted(self._buckets.values(), key=lambda b: b.name)

    def delete_bucket(self, name: str) -> None:
        """Delete an empty bucket (its unfinished multipart uploads are the caller's)."""
        with self.lock:
            self.bucket(name)
            if self._index(name).keys:
                raise errors.bucket_not_empty(name)
            trash = self.tmp / f"deleted-{uuid.uuid4().hex}"
            commit_file(self._buckets_dir / name, trash)
            del self._buckets[name]
            self._indexes.pop(name, None)
        shutil.rmtree(trash, ignore_errors=True)

    # --- objects ------------------------------------------------------------------------------

    def new_blob(self, algorithms: tuple[str, ...] = (), *, sha256: bool = False) -> Blob:
        """A temp file to write an object or part into (discard it if it is not committed)."""
        return Blob(self.tmp, algorithms, sha256=sha256)

    def put(
        self,
        bucket: str,
        key: str,
        blob: Blob,
        attributes: ObjectAttributes,
        *,
        etag: str | None = None,
        checksum: Checksum | None = None,
        part_sizes: tuple[int, ...] = (),
    ) -> ObjectInfo:
        """Commit a written blob as ``bucket/key`` (blocking: fsync, rename, record)."""
        blob.finish()
        with self.lock:
            self.bucket(bucket)
            index = self._index(bucket)
            directory, digest = self._object_dir(bucket, key)
            directory.mkdir(parents=True, exist_ok=True)
            version = uuid.uuid4().hex
            data = directory / f"{digest}-{version}"
            size = blob.size
            md5 = blob.md5.hex()
            info = ObjectInfo(
                bucket,
                key,
                size,
                etag or f'"{md5}"',
                self.now(),
                attributes,
                data,
                version,
                checksum,
                part_sizes,
            )
            commit_blob(blob, data, directory / f"{digest}.json", object_record(info))
            old = index.set(info)
        if old is not None:
            remove_file(old.path)
        return info

    def head(self, bucket: str, key: str) -> ObjectInfo:
        with self.lock:
            self.bucket(bucket)
            found = self._index(bucket).objects.get(key)
            if found is None:
                raise errors.no_such_key(key)
            return found

    def open(self, bucket: str, key: str) -> tuple[ObjectInfo, BinaryIO]:
        """The object and an open handle on its data (valid even if it is then replaced)."""
        with self.lock:
            info = self.head(bucket, key)
            return info, info.path.open("rb")

    def delete(self, bucket: str, key: str) -> bool:
        """Delete ``bucket/key``; False if there was no such key (not an error in S3)."""
        with self.lock:
            self.bucket(bucket)
            old = self._index(bucket).remove(key)
            if old is None:
                return False
            directory, digest = self._object_dir(bucket, key)
            remove_file(directory / f"{digest}.json")
            fsync_dir(directory)
        remove_file(old.path)
        return True

    def copy(
        self,
        source: tuple[str, str],
        target: tuple[str, str],
        attributes: ObjectAttributes,
        algorithms: tuple[str, ...] = (),
        check: Callable[[ObjectInfo], None] | None = None,
    ) -> tuple[ObjectInfo, Blob]:
        """Copy the source's bytes into a new blob (blocking); returns the source and the blob,
        which the caller commits with ``put`` (or discards). ``check`` may veto the source."""
        info, handle = self.open(*source)
        with handle:
            if check is not None:
                check(info)
            self.bucket(target[0])
            blob = self.new_blob(algorithms)
            try:
                while chunk := handle.read(COPY_CHUNK):
                    blob.write(chunk)
            except BaseException:
                blob.discard()
                raise
        return info, blob

    def list(self, bucket: str, prefix: str, delimiter: str, after: str, max_keys: int) -> Listing:
        """Keys after ``after`` starting with ``prefix``, rolled up at ``delimiter``."""
        with self.lock:
            self.bucket(bucket)
            if max_keys <= 0:
                return Listing((), (), False, None)
            index = self._index(bucket)
            keys = index.keys
            position = bisect.bisect_right(keys, after) if after else 0
            if prefix:
                position = max(position, bisect.bisect_left(keys, prefix))
            objects: list[ObjectInfo] = []
            prefixes: list[str] = []
            last: str | None = None
            for key in _keys_from(keys, position, prefix):
                if delimiter:
                    cut = key.find(delimiter, len(prefix))
                    if cut >= 0:
                        rolled = key[: cut + len(delimiter)]
                        if rolled == last or rolled <= after:
                            continue
                        if len(objects) + len(prefixes) >= max_keys:
                            return Listing(tuple(objects), tuple(prefixes), True, last)
                        prefixes.append(rolled)
                        last = rolled
                        continue
                if len(objects) + len(prefixes) >= max_keys:
                    return Listing(tuple(objects), tuple(prefixes), True, last)
                objects.append(index.objects[key])
                last = key
            return Listing(tuple(objects), tuple(prefixes), False, last)

    # --- the ObjectStore protocol (model artifacts, asynchronous inference outputs) ----------

    def fetch(self, bucket: str, key: str) -> Path:
        return self.head(bucket, key).path

    def stat(self, bucket: str, key: str) -> ObjectSummary:
        return summary(self.head(bucket, key))

    def put_bytes(
        self,
        bucket: str,
        key: str,
        data: bytes,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectSummary:
        with self.new_blob(("CRC32",)) as blob:
            blob.write(data)
            return summary(self._put_simple(bucket, key, blob, content_type, metadata))

    def put_file(
        self,
        bucket: str,
        key: str,
        source: Path,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectSummary:
        with self.new_blob(("CRC32",)) as blob, source.open("rb") as handle:
            while chunk := handle.read(COPY_CHUNK):
                blob.write(chunk)
            return summary(self._put_simple(bucket, key, blob, content_type, metadata))

    def _put_simple(
        self,
        bucket: str,
        key: str,
        blob: Blob,
        content_type: str | None,
        metadata: Mapping[str, str] | None,
    ) -> ObjectInfo:
        attributes = ObjectAttributes(metadata=dict(metadata or {}))
        if content_type:
            attributes = replace(attributes, content_type=content_type)
        crc = blob.checksum("CRC32")
        checksum = None if crc is None else Checksum("CRC32", b64(crc))
        return self.put(bucket, key, blob, attributes, checksum=checksum)

    # --- internals ----------------------------------------------------------------------------

    def _object_dir(self, bucket: str, key: str) -> tuple[Path, str]:
        digest = key_digest(key)
        return self._buckets_dir / bucket / "objects" / digest[:2], digest

    def _index(self, bucket: str) -> _Index:
        index = self._indexes.get(bucket)
        if index is None:
            index = self._indexes[bucket] = self._load_index(bucket)
        return index

    def _load_index(self, bucket: str) -> _Index:
        """Read every record of ``bucket``; remove data files no record names (crash debris)."""
        index = _Index()
        objects = self._buckets_dir / bucket / "objects"
        for directory in sorted(p for p in objects.iterdir() if p.is_dir()):
            referenced: set[str] = set()
            for record in directory.glob("*.json"):
                if record.name.startswith(".tmp-"):
                    remove_file(record)
                    continue
                info = object_from(bucket, directory, read_json(record))
                referenced.add(info.path.name)
                index.set(info)
            for path in directory.iterdir():
                if path.suffix != ".json" and path.name not in referenced:
                    remove_file(path)
        return index


def _keys_from(keys: list[str], position: int, prefix: str) -> Iterator[str]:
    for i in range(position, len(keys)):
        key = keys[i]
        if not key.startswith(prefix):
            return
        yield key

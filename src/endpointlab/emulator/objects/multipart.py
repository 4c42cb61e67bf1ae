"""Multipart uploads on disk: create, upload parts, list, abort, and complete into an object.

Layout: ``uploads/<upload-id>/upload.json`` (bucket, key, attributes, checksum algorithm and
type) and one ``<part:05d>-<version>`` data file per part with its record ``<part:05d>.json``
(size, ETag, checksum), written the way objects are (temp, fsync, rename, then the record).
Completing checks the requested parts as S3 does (order, ETags, the 5 MiB minimum), joins them
into one object whose ETag is the MD5 of the parts' MD5s plus ``-N``, and removes the upload.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import re
import secrets
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from endpointlab.emulator.objects import errors
from endpointlab.emulator.objects.files import (
    COPY_CHUNK,
    Blob,
    b64,
    commit_blob,
    commit_file,
    new_hasher,
    read_json,
    remove_file,
    write_json,
)
from endpointlab.emulator.objects.local import LocalObjectStore
from endpointlab.emulator.objects.model import (
    Checksum,
    ObjectAttributes,
    ObjectInfo,
    PartInfo,
    UploadInfo,
)
from endpointlab.emulator.objects.records import (
    part_from,
    part_path,
    part_record,
    upload_from,
    upload_record,
)

MAX_PARTS = 10_000
_UPLOAD_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


@dataclass(frozen=True)
class RequestedPart:
    """One ``<Part>`` of CompleteMultipartUpload: number, ETag and any checksums sent."""

    number: int
    etag: str
    checksums: tuple[tuple[str, str], ...] = ()


class Uploads:
    """The multipart uploads of one ``LocalObjectStore`` (shares its lock and temp dir)."""

    def __init__(self, store: LocalObjectStore) -> None:
        self._store = store
        self._root = store.root / "uploads"
        self._root.mkdir(parents=True, exist_ok=True)
        self._uploads: dict[str, UploadInfo] = {}
        self._parts: dict[str, dict[int, PartInfo]] = {}
        for directory in self._root.iterdir():
            record = directory / "upload.json"
            if not record.exists():
                shutil.rmtree(directory, ignore_errors=True)
                continue
            upload = upload_from(directory.name, read_json(record))
            self._uploads[upload.upload_id] = upload
            self._parts[upload.upload_id] = self._load_parts(upload.upload_id)

    def create(
        self,
        bucket: str,
        key: str,
        attributes: ObjectAttributes,
        checksum_algorithm: str | None = None,
        checksum_type: str | None = None,
    ) -> UploadInfo:
        store = self._store
        with store.lock:
            store.bucket(bucket)
            upload = UploadInfo(
                secrets.token_urlsafe(48),
                bucket,
                key,
                store.now(),
                attributes,
                checksum_algorithm,
                checksum_type,
            )
            staging = store.tmp / f"upload-{uuid.uuid4().hex}"
            staging.mkdir()
            write_json(staging / "upload.json", upload_record(upload))
            commit_file(staging, self._root / upload.upload_id)
            self._uploads[upload.upload_id] = upload
            self._parts[upload.upload_id] = {}
            return upload

    def get(self, upload_id: str, bucket: str, key: str) -> UploadInfo:
        """The upload, if it exists and belongs to ``bucket/key``; else NoSuchUpload."""
        with self._store.lock:
            self._store.bucket(bucket)
            upload = self._uploads.get(upload_id) if _UPLOAD_ID.fullmatch(upload_id) else None
            if upload is None or upload.bucket != bucket or upload.key != key:
                raise errors.no_such_upload(upload_id)
            return upload

    def of_bucket(self, bucket: str) -> list[UploadInfo]:
        with self._store.lock:
            return [u for u in self._uploads.values() if u.bucket == bucket]

    def put_part(self, upload: UploadInfo, number: int, blob: Blob) -> PartInfo:
        """Commit a written blob as part ``number`` (blocking), replacing any earlier one."""
        blob.finish()
        store = self._store
        with store.lock:
            current = self.get(upload.upload_id, upload.bucket, upload.key)
            directory = self._root / current.upload_id
            version = uuid.uuid4().hex
            data = part_path(directory, number, version)
            digest = None
            if current.checksum_algorithm:
                digest = blob.checksum(current.checksum_algorithm)
            part = PartInfo(
                number,
                blob.size,
                f'"{blob.md5.hex()}"',
                store.now(),
                data,
                None if digest is None else b64(digest),
            )
            commit_blob(blob, data, directory / f"{number:05d}.json", part_record(part, version))
            parts = self._parts[current.upload_id]
            old = parts.get(number)
            parts[number] = part
        if old is not None:
            remove_file(old.path)
        return part

    def parts(self, upload: UploadInfo) -> list[PartInfo]:
        with self._store.lock:
            found = self._parts.get(upload.upload_id, {})
            return [found[n] for n in sorted(found)]

    def abort(self, upload: UploadInfo) -> None:
        with self._store.lock:
            self.get(upload.upload_id, upload.bucket, upload.key)
            self._remove(upload.upload_id)

    def complete(self, upload: UploadInfo, requested: Sequence[RequestedPart]) -> ObjectInfo:
        """Join the requested parts into ``upload``'s object (blocking) and end the upload."""
        chosen = self._choose(upload, requested)
        algorithm = upload.checksum_algorithm
        full = algorithm is not None and upload.checksum_type == "FULL_OBJECT"
        with self._store.new_blob((algorithm,) if full and algorithm else ()) as blob:
            for part in chosen:
                with part.path.open("rb") as handle:
                    while chunk := handle.read(COPY_CHUNK):
                        blob.write(chunk)
            md5s = b"".join(binascii.unhexlify(p.etag.strip('"')) for p in chosen)
            etag = f'"{hashlib.md5(md5s, usedforsecurity=False).hexdigest()}-{len(chosen)}"'
            checksum = None
            if algorithm is not None:
                checksum = _object_checksum(algorithm, full, blob, chosen)

            blob.finish()  # the slow fsync, before taking the store lock
            with self._store.lock:
                self.get(upload.upload_id, upload.bucket, upload.key)  # not aborted meanwhile
                info = self._store.put(
                    upload.bucket,
                    upload.key,
                    blob,
                    upload.attributes,
                    etag=etag,
                    checksum=checksum,
                    part_sizes=tuple(p.size for p in chosen),
                )
                self._remove(upload.upload_id)
            return info

    def remove_bucket_uploads(self, bucket: str) -> None:
        with self._store.lock:
            for upload in self.of_bucket(bucket):
                self._remove(upload.upload_id)

    def _choose(self, upload: UploadInfo, requested: Sequence[RequestedPart]) -> list[PartInfo]:
        if not requested:
            raise errors.malformed_xml()
        numbers = [p.number for p in requested]
        if any(not 1 <= n <= MAX_PARTS for n in numbers):
            raise errors.invalid_argument(
                "Part number must be an integer between 1 and 10000, inclusive",
                "partNumber",
                str(next(n for n in numbers if not 1 <= n <= MAX_PARTS)),
            )
        if any(a >= b for a, b in itertools.pairwise(numbers)):
            raise errors.invalid_part_order(upload.upload_id)
        with self._store.lock:
            self.get(upload.upload_id, upload.bucket, upload.key)
            stored = dict(self._parts[upload.upload_id])
        chosen: list[PartInfo] = []
        for item in requested:
            part = stored.get(item.number)
            if part is None or part.etag.strip('"') != item.etag.strip().strip('"'):
                raise errors.invalid_part(upload.upload_id, item.number, item.etag)
            for algorithm, value in item.checksums:
                if algorithm != upload.checksum_algorithm or value != part.checksum:
                    raise errors.invalid_part(upload.upload_id, item.number, item.etag)
            chosen.append(part)
        for part in chosen[:-1]:
            if part.size < errors.MIN_PART_SIZE:
                raise errors.entity_too_small(part.size, part.number, part.etag)
        return chosen

    def _remove(self, upload_id: str) -> None:
        """Forget an upload and delete its directory (caller holds the lock)."""
        self._uploads.pop(upload_id, None)
        self._parts.pop(upload_id, None)
        directory = self._root / upload_id
        if directory.exists():
            trash = self._store.tmp / f"upload-done-{uuid.uuid4().hex}"
            commit_file(directory, trash)
            shutil.rmtree(trash, ignore_errors=True)

    def _load_parts(self, upload_id: str) -> dict[int, PartInfo]:
        directory = self._root / upload_id
        parts: dict[int, PartInfo] = {}
        for record in directory.glob("[0-9]*.json"):
            parts_doc = read_json(record)
            part = part_from(directory, parts_doc)
            parts[part.number] = part
        referenced = {p.path.name for p in parts.values()}
        for path in directory.iterdir():
            orphan = path.suffix != ".json" and path.name not in referenced
            if orphan or path.name.startswith(".tmp-"):
                remove_file(path)
        return parts


def _object_checksum(
    algorithm: str, full: bool, blob: Blob, chosen: list[PartInfo]
) -> Checksum | None:
    if full:
        digest = blob.checksum(algorithm)
        return None if digest is None else Checksum(algorithm, b64(digest), "FULL_OBJECT")
    if any(p.checksum is None for p in chosen):
        return None
    hasher = new_hasher(algorithm)
    for part in chosen:
        hasher.update(base64.b64decode(part.checksum or ""))
    return Checksum(algorithm, f"{b64(hasher.digest())}-{len(chosen)}", "COMPOSITE")

"""Durable files for the object store: temp files that hash what is written, atomic commits.

A ``Blob`` is a temporary file in the store's ``tmp`` directory that computes MD5 (the ETag),
the checksums a client asked for and the byte count while it is written; it is fsync'd before
being renamed into place, and removed if it is never committed. ``write_json`` replaces a JSON
record atomically (temp file, fsync, rename, fsync of the directory); ``commit_blob`` commits a
blob with its record, or neither.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import tempfile
import zlib
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

COPY_CHUNK = 1024 * 1024


class Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...

    def digest(self) -> bytes: ...


class Crc32:
    """zlib's CRC-32 behind the hashlib interface; the digest is the big-endian 4 bytes."""

    def __init__(self) -> None:
        self._value = 0

    def update(self, data: bytes, /) -> None:
        self._value = zlib.crc32(data, self._value)

    def digest(self) -> bytes:
        return self._value.to_bytes(4, "big")


# The checksum algorithms the store computes: S3's names -> hasher factories.
CHECKSUM_ALGORITHMS: dict[str, Any] = {
    "CRC32": Crc32,
    "SHA1": hashlib.sha1,
    "SHA256": hashlib.sha256,
}


def new_hasher(algorithm: str) -> Hasher:
    hasher: Hasher = CHECKSUM_ALGORITHMS[algorithm]()
    return hasher


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


class Blob:
    """A temporary file being written, with its size, MD5 and requested checksums."""

    def __init__(
        self, directory: Path, algorithms: Iterable[str] = (), *, sha256: bool = False
    ) -> None:
        fd, name = tempfile.mkstemp(dir=directory, prefix="blob-")
        self._file = os.fdopen(fd, "wb")
        self._path: Path | None = Path(name)
        self.size = 0
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._hashers = {name: new_hasher(name) for name in algorithms}
        self._sha256: Any = hashlib.sha256() if sha256 else None

    @property
    def path(self) -> Path:
        if self._path is None:
            raise RuntimeError("the blob was already committed or discarded")
        return self._path

    def write(self, data: bytes) -> None:
        self._file.write(data)
        self.size += len(data)
        self._md5.update(data)
        for hasher in self._hashers.values():
            hasher.update(data)
        if self._sha256 is not None:
            self._sha256.update(data)

    @property
    def md5(self) -> bytes:
        return self._md5.digest()

    @property
    def sha256_hex(self) -> str | None:
        return None if self._sha256 is None else str(self._sha256.hexdigest())

    def checksum(self, algorithm: str) -> bytes | None:
        hasher = self._hashers.get(algorithm)
        return None if hasher is None else hasher.digest()

    def finish(self) -> None:
        """Flush and fsync the content (blocking); the blob can then be committed."""
        if not self._file.closed:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()

    def claim(self) -> Path:
        """The finished file, now owned by the caller (who renames it into place)."""
        self.finish()
        path = self.path
        self._path = None
        return path

    def discard(self) -> None:
        if not self._file.closed:
            with contextlib.suppress(OSError):  # a full disk fails the last flush too
                self._file.close()
        if self._path is not None:
            with contextlib.suppress(FileNotFoundError):
                self._path.unlink()
            self._path = None

    def __enter__(self) -> Blob:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.discard()


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def commit_file(source: Path, target: Path) -> None:
    """Rename a finished (fsync'd) file into place and make the rename durable."""
    os.replace(source, target)
    fsync_dir(target.parent)


def commit_blob(blob: Blob, target: Path, record: Path, document: Any) -> None:
    """Rename ``blob`` to ``target`` and write its ``record``; if either fails (a full disk),
    neither file is left behind."""
    source = blob.claim()
    try:
        commit_file(source, target)
        write_json(record, document)
    except BaseException:
        remove_file(source)
        remove_file(target)
        raise


def write_json(path: Path, document: Any) -> None:
    """Replace ``path`` with ``document`` atomically: readers see the old or the new record."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, separators=(",", ":"))
            handle.flush()
            os.fsync(handle.fileno())
        commit_file(Path(name), path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
        raise


def read_json(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def remove_file(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()

"""Resolve a ModelDataUrl to a local archive and unpack it once into the data directory.

ModelDataUrl may be a local path, a ``file://`` URL or an ``s3://`` URL (read through the object
store once the S3 service is configured). Each distinct archive (by path, size and mtime) is
unpacked once and shared by every instance that runs it, as SageMaker's /opt/ml/model is.
"""

from __future__ import annotations

import hashlib
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from endpointlab.emulator.errors import ServiceError
from endpointlab.models.artifact import extract_model_archive

ObjectFetcher = Callable[[str, str], Path]


def _validation(message: str) -> ServiceError:
    return ServiceError("ValidationException", message)


def extract_failed(url: str, reason: str) -> str:
    """FailureReason of an artifact that cannot be unpacked: AWS's wording for an archive it
    cannot extract (aws/deep-learning-containers PR 569; the container name is the one that
    report shows), then the emulator's reason."""
    return (
        f'Failed to extract model data archive for container "container_1" from URL "{url}". '
        f"Please ensure that the object located at the URL is a valid tar.gz archive. ({reason})"
    )


class ArtifactCache:
    """Unpacked model directories under ``root``, keyed by the archive's identity."""

    def __init__(self, root: Path, fetch_object: ObjectFetcher | None = None) -> None:
        self._root = root
        self._fetch_object = fetch_object
        self._lock = threading.Lock()

    def local_archive(self, url: str) -> Path:
        """The local file behind ``url``; ValidationException if it cannot be read."""
        parts = urlsplit(url)
        if parts.scheme == "s3":
            if self._fetch_object is None:
                raise _validation(
                    f"Could not access model data at {url}: the emulator has no S3 object store "
                    "configured; use a local path or a file:// URL."
                )
            return self._fetch_object(parts.netloc, parts.path.lstrip("/"))
        if parts.scheme == "file":
            path = Path(unquote(parts.path))
        elif parts.scheme in ("", None) or len(parts.scheme) == 1:  # a plain (or Windows) path
            path = Path(url)
        else:
            raise _validation(
                f"Could not access model data at {url}: use an s3:// or file:// URL or a path."
            )
        path = path.expanduser()
        if not path.exists():
            raise _validation(f"Could not find model data at {url}.")
        return path.resolve()

    def check(self, url: str) -> None:
        """CreateModel's check that the model data exists and can be read."""
        self.local_archive(url)

    def unpack(self, url: str) -> Path:
        """The model directory for ``url``, unpacking the archive on first use (blocking)."""
        archive = self.local_archive(url)
        stat = archive.stat()
        digest = hashlib.sha256(
            f"{archive}|{stat.st_size}|{stat.st_mtime_ns}".encode()
        ).hexdigest()[:24]
        target = self._root / digest
        with self._lock:
            if (target / ".complete").exists():
                return target / "model"
            if target.exists():
                shutil.rmtree(target)
            staging = self._root / f".{digest}.partial"
            if staging.exists():
                shutil.rmtree(staging)
            extract_model_archive(archive, staging / "model")
            (staging / ".complete").touch()
            staging.rename(target)
        return target / "model"

"""Resolve a ModelDataUrl to a local archive (or directory) and unpack it once into the data dir.

ModelDataUrl may be a local path or a ``file://`` URL under an allowed model root (the directory
``serve`` started in, its data directory, and each ``--model-root``), or an ``s3://`` URL (read
through the object store). Each distinct artifact (by path, size and mtime) is unpacked once,
under the size and time limits, and shared by every instance that runs it, as SageMaker's
/opt/ml/model is. No message here names a host file the client did not name itself.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

from endpointlab.emulator import sagemaker_errors as errors
from endpointlab.emulator.errors import ServiceError
from endpointlab.models.artifact import ArtifactLimits, extract_model_archive
from endpointlab.models.errors import ArtifactError

ObjectFetcher = Callable[[str, str], Path]

OUTSIDE_ROOTS = (
    "Could not access model data at {url}: a local ModelDataUrl must be under a directory the "
    "emulator allows models from (the directory `endpointlab serve` was started in, its data "
    "directory, or a directory given with `serve --model-root`)."
)


def _validation(message: str) -> ServiceError:
    return errors.VALIDATION(message=message)


def extract_failed(url: str, reason: str) -> str:
    """FailureReason of an artifact that cannot be unpacked: AWS's wording for an archive it
    cannot extract (aws/deep-learning-containers PR 569; the container name is the one that
    report shows), then the emulator's reason, which names no host file."""
    return (
        f'Failed to extract model data archive for container "container_1" from URL "{url}". '
        f"Please ensure that the object located at the URL is a valid tar.gz archive. ({reason})"
    )


class ArtifactCache:
    """Unpacked model directories under ``root``, keyed by the artifact's identity.

    ``model_roots`` are the directories local artifacts may come from; ``data_dir`` (the
    emulator's own) may not be inside a model directory, which would copy itself.
    """

    def __init__(
        self,
        root: Path,
        fetch_object: ObjectFetcher | None = None,
        *,
        model_roots: Sequence[Path] = (),
        limits: ArtifactLimits | None = None,
        data_dir: Path | None = None,
    ) -> None:
        self._root = root
        self._fetch_object = fetch_object
        self._model_roots = tuple(Path(os.path.realpath(r)) for r in model_roots)
        self._limits = limits or ArtifactLimits()
        self._data_dir = Path(os.path.realpath(data_dir)) if data_dir is not None else None
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
        # Resolved with every link followed: a link under a root to a file outside is outside.
        resolved = Path(os.path.realpath(path.expanduser()))
        if not self._allowed(resolved):
            raise _validation(OUTSIDE_ROOTS.format(url=url))
        if not resolved.exists():
            raise _validation(f"Could not find model data at {url}.")
        return resolved

    def _allowed(self, path: Path) -> bool:
        return any(path == root or path.is_relative_to(root) for root in self._model_roots)

    def check(self, url: str) -> None:
        """CreateModel's check that the model data exists and can be read."""
        self.local_archive(url)

    def unpack(self, url: str) -> Path:
        """The model directory for ``url``, unpacking the artifact on first use (blocking).

        ArtifactError if it is outside the model roots now, unsafe, or over the limits."""
        try:
            archive = self.local_archive(url)
        except ServiceError as exc:
            raise ArtifactError(exc.message) from exc
        data_dir = self._data_dir
        if archive.is_dir() and data_dir is not None and data_dir.is_relative_to(archive):
            raise ArtifactError("the model directory holds the emulator's data directory")
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
            try:
                extract_model_archive(archive, staging / "model", self._limits)
            except ArtifactError as exc:
                shutil.rmtree(staging, ignore_errors=True)
                # The archive's local path is the emulator's business (an S3 object's cache
                # file); the client knows it by its URL.
                extra = exc.extra.replace(str(archive), url) if exc.extra else None
                raise ArtifactError(str(exc).replace(str(archive), url), extra) from exc
            (staging / ".complete").touch()
            staging.rename(target)
        return target / "model"

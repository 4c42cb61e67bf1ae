"""An ``ObjectStore`` backed by a real S3 or an S3-compatible service (``serve --s3-endpoint``).

Only what the control plane needs: fetch an object to a local file (cached by bucket, key and
ETag, so an unchanged artifact downloads once), put bytes or a file, and stat. S3's answers
become the same ``NoSuchBucket`` / ``NoSuchKey`` errors the local store raises.
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from endpointlab.emulator.errors import ServiceError
from endpointlab.emulator.objects import errors
from endpointlab.emulator.objects.model import DEFAULT_CONTENT_TYPE, ObjectSummary

# ``--s3-endpoint aws``: real S3 through boto3's standard configuration.
AWS = "aws"


def s3_client(endpoint: str, region: str) -> Any:
    """A boto3 S3 client for ``endpoint`` (a URL, or ``aws`` for AWS itself).

    Endpoint overrides from the environment (AWS_ENDPOINT_URL, often pointed at this very
    emulator) are ignored: the emulator must not fetch its artifacts from itself."""
    import boto3
    from botocore.config import Config

    config = Config(
        ignore_configured_endpoint_urls=True,
        retries={"mode": "standard"},
        s3={"addressing_style": "path"} if endpoint != AWS else {},
    )
    session = boto3.session.Session()
    return session.client(
        "s3",
        region_name=session.region_name or region,
        endpoint_url=None if endpoint == AWS else endpoint,
        config=config,
    )


class RemoteObjectStore:
    """Objects in an external S3; downloads are cached under ``cache_dir``."""

    def __init__(self, client: Any, cache_dir: Path) -> None:
        self._client = client
        self._cache = cache_dir
        self._cache.mkdir(parents=True, exist_ok=True)

    def fetch(self, bucket: str, key: str) -> Path:
        found = self.stat(bucket, key)
        name = hashlib.sha256(f"{bucket}/{key}\n{found.etag}".encode()).hexdigest()
        target = self._cache / name
        if target.exists() and target.stat().st_size == found.size:
            return target
        partial = self._cache / f".{name}.{uuid.uuid4().hex}.partial"
        try:
            with _translated(bucket, key):
                self._client.download_file(bucket, key, str(partial))
            partial.replace(target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
        return target

    def stat(self, bucket: str, key: str) -> ObjectSummary:
        with _translated(bucket, key):
            head = self._client.head_object(Bucket=bucket, Key=key)
        modified = head.get("LastModified") or datetime.now(UTC)
        return ObjectSummary(
            bucket,
            key,
            int(head.get("ContentLength", 0)),
            str(head.get("ETag", "")),
            str(head.get("ContentType") or DEFAULT_CONTENT_TYPE),
            modified,
        )

    def put_bytes(
        self,
        bucket: str,
        key: str,
        data: bytes,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectSummary:
        extra = _extra(content_type, metadata)
        with _translated(bucket, key):
            self._client.put_object(Bucket=bucket, Key=key, Body=data, **extra)
        return self.stat(bucket, key)

    def put_file(
        self,
        bucket: str,
        key: str,
        source: Path,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectSummary:
        with _translated(bucket, key):
            self._client.upload_file(
                str(source), bucket, key, ExtraArgs=_extra(content_type, metadata)
            )
        return self.stat(bucket, key)


def _extra(content_type: str | None, metadata: Mapping[str, str] | None) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if content_type:
        extra["ContentType"] = content_type
    if metadata:
        extra["Metadata"] = dict(metadata)
    return extra


@contextlib.contextmanager
def _translated(bucket: str, key: str) -> Iterator[None]:
    """Turn botocore's errors into the store's ``ServiceError``s."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        if code == "NoSuchBucket":
            raise errors.no_such_bucket(bucket) from exc
        if code in ("NoSuchKey", "404", "NotFound"):
            raise errors.no_such_key(key) from exc
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500))
        message = str(error.get("Message", ""))
        raise ServiceError(code or str(status), message, status=status) from exc
    except BotoCoreError as exc:
        raise ServiceError("ServiceUnavailable", str(exc), status=503, sender_fault=False) from exc

"""Where an async request's input is read and its output or failure is written (pure).

S3 URLs come as ``s3://bucket/key`` or ``https://`` in virtual-hosted or path style. The output
object is ``<S3OutputPath>[/<S3OutputPathExtension>]/<Filename or InferenceId.out>``; a failure
goes to ``<S3FailurePath>[/<extension>]/<InferenceId>-error.out`` (the ``-error.out`` name is
UNCONFIRMED), or beside the output when the config has no S3FailurePath. Both keys derive from
the InferenceId alone, so a request run twice writes the same objects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

# bucket.s3.amazonaws.com, bucket.s3.us-east-1.amazonaws.com, bucket.s3-us-west-2.amazonaws.com
_VIRTUAL_HOST = re.compile(r"^(?P<bucket>.+)\.s3[.-]([a-z0-9-]+\.)?amazonaws\.com$")


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def parse_s3_url(url: str) -> S3Location | None:
    """The bucket and key an ``s3://`` or ``https://`` URL names (None: not an S3 URL)."""
    parts = urlsplit(url)
    if parts.scheme == "s3":
        return S3Location(parts.netloc, parts.path.lstrip("/")) if parts.netloc else None
    if parts.scheme != "https" or not parts.netloc:
        return None
    path = unquote(parts.path).lstrip("/")
    virtual = _VIRTUAL_HOST.match(parts.hostname or "")
    if virtual:
        return S3Location(virtual.group("bucket"), path)
    bucket, _, key = path.partition("/")
    return S3Location(bucket, key) if bucket else None


def _join(base: S3Location, *parts: str | None) -> S3Location:
    segments = [base.key.strip("/"), *(p.strip("/") for p in parts if p)]
    return S3Location(base.bucket, "/".join(s for s in segments if s))


def output_location(
    output_path: str, inference_id: str, extension: str | None, filename: str | None
) -> S3Location:
    base = parse_s3_url(output_path)
    assert base is not None  # the service model's pattern admits only S3 URLs
    return _join(base, extension, filename or f"{inference_id}.out")


def failure_location(
    failure_path: str | None, output_path: str, inference_id: str, extension: str | None
) -> S3Location:
    base = parse_s3_url(failure_path or output_path)
    assert base is not None
    return _join(base, extension, f"{inference_id}-error.out")

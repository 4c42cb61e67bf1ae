"""What the S3 API tests share: a boto3 S3 client, throw-away buckets and raw HTTP requests.

Raw requests are for what boto3 never sends (aws-chunked bodies over plain HTTP, a body cut
short, unknown methods) and for wire details boto3 hides (error documents, header spelling).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import uuid
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import ClientError


def bucket_name(stem: str = "bucket") -> str:
    return f"{stem}-{uuid.uuid4().hex[:12]}"


def empty_and_delete(s3: Any, bucket: str) -> None:
    """Delete every object and upload of ``bucket``, then the bucket (gone already is fine)."""
    with contextlib.suppress(ClientError):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                s3.delete_object(Bucket=bucket, Key=item["Key"])
        s3.delete_bucket(Bucket=bucket)


@contextlib.contextmanager
def new_bucket(s3: Any, stem: str = "bucket") -> Iterator[str]:
    name = bucket_name(stem)
    s3.create_bucket(Bucket=name)
    try:
        yield name
    finally:
        empty_and_delete(s3, name)


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes


def raw_request(
    url: str,
    method: str,
    path: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
) -> RawResponse:
    """One HTTP/1.1 request to the emulator at ``url`` (no signing, no retries)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        sent = dict(headers or {})
        if body or method in ("PUT", "POST"):
            sent.setdefault("Content-Length", str(len(body)))
        connection.request(method, path, body=body or None, headers=sent)
        response = connection.getresponse()
        payload = response.read()
        found = {k.lower(): v for k, v in response.getheaders()}
        return RawResponse(response.status, found, payload)
    finally:
        connection.close()


def aws_chunked(data: bytes, chunk: int, trailers: Mapping[str, str]) -> bytes:
    """``data`` framed as botocore frames uploads over HTTPS (unsigned, with trailers)."""
    out = bytearray()
    for start in range(0, len(data), chunk):
        piece = data[start : start + chunk]
        out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    out += b"0\r\n"
    for name, value in trailers.items():
        out += f"{name}:{value}\r\n".encode()
    out += b"\r\n"
    return bytes(out)


def error_code(caught: Any) -> tuple[str, int]:
    """``(Code, HTTP status)`` of a ClientError caught by pytest.raises."""
    error: ClientError = caught.value
    return error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"]


def crc32_b64(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()

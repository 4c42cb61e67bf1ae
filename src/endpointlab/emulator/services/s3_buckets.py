"""S3 bucket operations: CreateBucket (names and location constraints), HeadBucket,
ListBuckets, DeleteBucket, GetBucketLocation, ListObjects / ListObjectsV2 (prefix, delimiter,
markers and continuation tokens, ``encoding-type=url``) and DeleteObjects.

CreateBucket follows S3's region rules: a request signed for us-east-1 may name any region (or
none: us-east-1); one signed for another region must name that region. Re-creating a bucket
you own succeeds in us-east-1 and is BucketAlreadyOwnedByYou elsewhere.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import quote

from endpointlab.emulator.errors import ServiceError
from endpointlab.emulator.objects import LocalObjectStore, Uploads, errors
from endpointlab.emulator.services.s3_common import (
    OWNER,
    Digests,
    S3Request,
    S3Result,
    integrity_of,
    verify,
)

US_EAST_1 = "us-east-1"
MAX_LIST_KEYS = 1000
MAX_DELETE_KEYS = 1000
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IP_ADDRESS = re.compile(r"\d{1,3}(\.\d{1,3}){3}")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
Handler = Callable[[S3Request], Awaitable[S3Result]]


def valid_bucket_name(name: str) -> bool:
    """S3's naming rules for general purpose buckets."""
    return (
        _BUCKET_NAME.fullmatch(name) is not None
        and ".." not in name
        and _IP_ADDRESS.fullmatch(name) is None
        and not name.startswith(_RESERVED_PREFIXES)
        and not name.endswith(_RESERVED_SUFFIXES)
    )


class BucketOperations:
    """The bucket and listing operations over one local store."""

    def __init__(
        self, store: LocalObjectStore, uploads: Uploads, location_constraints: frozenset[str]
    ) -> None:
        self._store = store
        self._uploads = uploads
        self._constraints = location_constraints

    def handlers(self) -> dict[str, Handler]:
        return {
            "CreateBucket": self.create_bucket,
            "HeadBucket": self.head_bucket,
            "ListBuckets": self.list_buckets,
            "DeleteBucket": self.delete_bucket,
            "GetBucketLocation": self.get_bucket_location,
            "ListObjects": self.list_objects,
            "ListObjectsV2": self.list_objects_v2,
            "DeleteObjects": self.delete_objects,
        }

    async def create_bucket(self, request: S3Request) -> S3Result:
        params = request.params
        name = params["Bucket"]
        if not valid_bucket_name(name):
            raise errors.invalid_bucket_name(name)
        configuration = params.get("CreateBucketConfiguration")
        location = (configuration or {}).get("LocationConstraint") or ""
        if configuration is not None and not location:
            raise errors.malformed_xml()
        self._check_location(request.region, location)
        region = {"": US_EAST_1, "EU": "eu-west-1"}.get(location, location)
        created = await asyncio.to_thread(self._store.create_bucket, name, region, location)
        if created is None:
            existing = self._store.bucket(name)
            if existing.region != US_EAST_1 or region != US_EAST_1:
                raise errors.bucket_already_owned_by_you(name)
        where = f"/{name}" if region == US_EAST_1 else f"http://{name}.s3.amazonaws.com/"
        return S3Result({"Location": where})

    def _check_location(self, signed_region: str, location: str) -> None:
        if not location:
            if signed_region != US_EAST_1:
                raise errors.illegal_location_constraint("unspecified")
        elif signed_region == US_EAST_1:
            if location not in self._constraints:
                raise errors.invalid_location_constraint(location)
        elif signed_region == "eu-west-1":
            if location not in ("EU", "eu-west-1"):
                raise errors.illegal_location_constraint(location)
        elif location != signed_region:
            raise errors.illegal_location_constraint(location)

    async def head_bucket(self, request: S3Request) -> S3Result:
        bucket = self._store.bucket(request.params["Bucket"])
        return S3Result({"BucketRegion": bucket.region, "AccessPointAlias": False})

    async def list_buckets(self, request: S3Request) -> S3Result:
        params = request.params
        prefix = params.get("Prefix") or ""
        limit = params.get("MaxBuckets")
        if limit is not None and not 1 <= limit <= 10_000:
            raise errors.invalid_argument(
                "Argument max-buckets must be an integer between 1 and 10000.",
                "max-buckets",
                str(limit),
            )
        after = _untoken(params["ContinuationToken"]) if params.get("ContinuationToken") else ""
        region = params.get("BucketRegion")
        found = [
            b
            for b in self._store.buckets()
            if b.name.startswith(prefix) and b.name > after and region in (None, b.region)
        ]
        page = found if limit is None else found[:limit]
        entries: list[dict[str, Any]] = []
        for bucket in page:
            entry: dict[str, Any] = {"Name": bucket.name, "CreationDate": bucket.created}
            if limit is not None or region is not None:
                entry["BucketRegion"] = bucket.region
            entries.append(entry)
        members: dict[str, Any] = {"Buckets": entries, "Owner": OWNER}
        if limit is not None and len(found) > limit:
            members["ContinuationToken"] = _token(page[-1].name)
        if params.get("Prefix") is not None:
            members["Prefix"] = prefix
        return S3Result(members)

    async def delete_bucket(self, request: S3Request) -> S3Result:
        name = request.params["Bucket"]
        await asyncio.to_thread(self._store.delete_bucket, name)
        await asyncio.to_thread(self._uploads.remove_bucket_uploads, name)
        return S3Result({})

    async def get_bucket_location(self, request: S3Request) -> S3Result:
        bucket = self._store.bucket(request.params["Bucket"])
        return S3Result({"LocationConstraint": bucket.location or None})

    async def list_objects(self, request: S3Request) -> S3Result:
        params = request.params
        marker = params.get("Marker") or ""
        members, listing = self._list(params, marker)
        encode = _encoder(params)
        members["Marker"] = encode(marker)
        if listing.truncated and params.get("Delimiter") and listing.last is not None:
            members["NextMarker"] = encode(listing.last)
        for entry in members.get("Contents", ()):
            entry["Owner"] = OWNER
        return S3Result(members)

    async def list_objects_v2(self, request: S3Request) -> S3Result:
        params = request.params
        token = params.get("ContinuationToken")
        start_after = params.get("StartAfter")
        after = _untoken(token) if token is not None else start_after or ""
        members, listing = self._list(params, after)
        encode = _encoder(params)
        members["KeyCount"] = len(members.get("Contents", ())) + len(
            members.get("CommonPrefixes", ())
        )
        if token is not None:
            members["ContinuationToken"] = token
        if start_after is not None:
            members["StartAfter"] = encode(start_after)
        if listing.truncated and listing.last is not None:
            members["NextContinuationToken"] = _token(listing.last)
        if params.get("FetchOwner"):
            for entry in members.get("Contents", ()):
                entry["Owner"] = OWNER
        return S3Result(members)

    def _list(self, params: Mapping[str, Any], after: str) -> tuple[dict[str, Any], Any]:
        bucket = params["Bucket"]
        prefix = params.get("Prefix") or ""
        delimiter = params.get("Delimiter") or ""
        max_keys = params.get("MaxKeys", MAX_LIST_KEYS)
        if max_keys < 0:
            raise errors.invalid_argument(
                "Argument maxKeys must be an integer between 0 and 2147483647",
                "maxKeys",
                str(max_keys),
            )
        encode = _encoder(params)
        listing = self._store.list(bucket, prefix, delimiter, after, min(max_keys, MAX_LIST_KEYS))
        members: dict[str, Any] = {
            "Name": bucket,
            "Prefix": encode(prefix),
            "MaxKeys": max_keys,
            "IsTruncated": listing.truncated,
        }
        if delimiter:
            members["Delimiter"] = encode(delimiter)
        if params.get("EncodingType"):
            members["EncodingType"] = params["EncodingType"]
        contents = []
        for info in listing.objects:
            entry: dict[str, Any] = {
                "Key": encode(info.key),
                "LastModified": info.last_modified,
                "ETag": info.etag,
                "Size": info.size,
                "StorageClass": info.attributes.storage_class,
            }
            if info.checksum is not None:
                entry["ChecksumAlgorithm"] = [info.checksum.algorithm]
                entry["ChecksumType"] = info.checksum.type
            contents.append(entry)
        if contents:
            members["Contents"] = contents
        if listing.prefixes:
            members["CommonPrefixes"] = [{"Prefix": encode(p)} for p in listing.prefixes]
        return members, listing

    async def delete_objects(self, request: S3Request) -> S3Result:
        params = request.params
        _check_body_digest(request)
        document = params.get("Delete") or {}
        targets = document.get("Objects") or []
        if not targets or len(targets) > MAX_DELETE_KEYS:
            raise errors.malformed_xml()
        bucket = params["Bucket"]
        self._store.bucket(bucket)
        deleted: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for target in targets:
            key = target.get("Key", "")
            try:
                await asyncio.to_thread(self._store.delete, bucket, key)
            except ServiceError as error:
                failed.append({"Key": key, "Code": error.code, "Message": error.message})
                continue
            if not document.get("Quiet"):
                deleted.append({"Key": key})
        members: dict[str, Any] = {}
        if deleted:
            members["Deleted"] = deleted
        if failed:
            members["Errors"] = failed
        return S3Result(members)


def _check_body_digest(request: S3Request) -> None:
    """DeleteObjects must carry Content-MD5 or a checksum header, and it must match."""
    integrity = integrity_of(request.params, request.headers)
    if integrity.md5 is None and integrity.algorithm is None:
        raise errors.invalid_request(
            "Missing required header for this request: Content-MD5 OR x-amz-checksum-*"
        )
    verify(integrity, Digests(request.raw_body, integrity.algorithms()), {})


def _encoder(params: Mapping[str, Any]) -> Callable[[str], str]:
    kind = params.get("EncodingType")
    if kind is None:
        return lambda text: text
    if kind != "url":
        raise errors.invalid_argument(
            "Invalid Encoding Method specified in Request", "encoding-type", kind
        )
    return lambda text: quote(text, safe="/")


def _token(last: str) -> str:
    return base64.b64encode(b"\x01" + last.encode("utf-8")).decode("ascii")


def _untoken(token: str) -> str:
    try:
        raw = base64.b64decode(token, validate=True)
        if raw[:1] != b"\x01":
            raise ValueError(token)
        return raw[1:].decode("utf-8")
    except (binascii.Error, ValueError) as exc:
        raise errors.invalid_argument(
            "The continuation token provided is incorrect", "continuation-token"
        ) from exc

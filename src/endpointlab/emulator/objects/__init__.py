"""The object store behind the emulator's S3 and the control plane's ``s3://`` URLs.

``LocalObjectStore`` keeps buckets and objects as files under the data directory (atomic
writes, restart-safe); ``Uploads`` its multipart uploads; ``RemoteObjectStore`` forwards the
few operations the control plane needs to a real S3 (``serve --s3-endpoint``). Both satisfy
``ObjectStore``.
"""

from endpointlab.emulator.objects.local import LocalObjectStore
from endpointlab.emulator.objects.model import (
    BucketInfo,
    Checksum,
    Listing,
    ObjectAttributes,
    ObjectInfo,
    ObjectStore,
    ObjectSummary,
    PartInfo,
    UploadInfo,
    artifact_fetcher,
)
from endpointlab.emulator.objects.multipart import RequestedPart, Uploads
from endpointlab.emulator.objects.remote import RemoteObjectStore

__all__ = [
    "BucketInfo",
    "Checksum",
    "Listing",
    "LocalObjectStore",
    "ObjectAttributes",
    "ObjectInfo",
    "ObjectStore",
    "ObjectSummary",
    "PartInfo",
    "RemoteObjectStore",
    "RequestedPart",
    "UploadInfo",
    "Uploads",
    "artifact_fetcher",
]

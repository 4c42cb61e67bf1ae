"""S3's errors as ``ServiceError``s: the codes, statuses, messages and extra elements S3 sends.

Every S3 error the emulator raises is built here, so the wording is in one place; the extra
``fields`` become child elements of ``<Error>`` (``<Key>``, ``<BucketName>``, ``<UploadId>``...).
"""

from __future__ import annotations

from endpointlab.emulator.errors import ServiceError

MIN_PART_SIZE = 5 * 1024 * 1024
MAX_KEY_BYTES = 1024
MAX_METADATA_BYTES = 2048


def no_such_bucket(name: str) -> ServiceError:
    return ServiceError(
        "NoSuchBucket",
        "The specified bucket does not exist",
        status=404,
        fields={"BucketName": name},
    )


def no_such_key(key: str) -> ServiceError:
    return ServiceError(
        "NoSuchKey", "The specified key does not exist.", status=404, fields={"Key": key}
    )


def no_such_upload(upload_id: str) -> ServiceError:
    return ServiceError(
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload may "
        "have been aborted or completed.",
        status=404,
        fields={"UploadId": upload_id},
    )


def bucket_not_empty(name: str) -> ServiceError:
    return ServiceError(
        "BucketNotEmpty",
        "The bucket you tried to delete is not empty",
        status=409,
        fields={"BucketName": name},
    )


def bucket_already_owned_by_you(name: str) -> ServiceError:
    return ServiceError(
        "BucketAlreadyOwnedByYou",
        "Your previous request to create the named bucket succeeded and you already own it.",
        status=409,
        fields={"BucketName": name},
    )


def invalid_bucket_name(name: str) -> ServiceError:
    return ServiceError(
        "InvalidBucketName", "The specified bucket is not valid.", fields={"BucketName": name}
    )


def invalid_location_constraint(value: str) -> ServiceError:
    return ServiceError(
        "InvalidLocationConstraint",
        "The specified location-constraint is not valid",
        fields={"LocationConstraint": value},
    )


def illegal_location_constraint(value: str) -> ServiceError:
    return ServiceError(
        "IllegalLocationConstraintException",
        f"The {value} location constraint is incompatible for the region specific endpoint "
        "this request was sent to.",
    )


def invalid_part(upload_id: str, number: int, etag: str) -> ServiceError:
    return ServiceError(
        "InvalidPart",
        "One or more of the specified parts could not be found.  The part may not have been "
        "uploaded, or the specified entity tag may not match the part's entity tag.",
        fields={"UploadId": upload_id, "PartNumber": number, "ETag": etag},
    )


def invalid_part_order(upload_id: str) -> ServiceError:
    return ServiceError(
        "InvalidPartOrder",
        "The list of parts was not in ascending order. Parts must be ordered by part number.",
        fields={"UploadId": upload_id},
    )


def entity_too_small(size: int, number: int, etag: str) -> ServiceError:
    return ServiceError(
        "EntityTooSmall",
        "Your proposed upload is smaller than the minimum allowed size",
        fields={
            "ProposedSize": size,
            "MinSizeAllowed": MIN_PART_SIZE,
            "PartNumber": number,
            "ETag": etag,
        },
    )


def entity_too_large(size: int, limit: int) -> ServiceError:
    return ServiceError(
        "EntityTooLarge",
        "Your proposed upload exceeds the maximum allowed size",
        fields={"ProposedSize": size, "MaxSizeAllowed": limit},
    )


def malformed_xml() -> ServiceError:
    return ServiceError(
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published schema",
    )


def invalid_storage_class() -> ServiceError:
    return ServiceError("InvalidStorageClass", "The storage class you specified is not valid")


def invalid_argument(message: str, name: str, value: str | None = None) -> ServiceError:
    fields: dict[str, str] = {"ArgumentName": name}
    if value is not None:
        fields["ArgumentValue"] = value
    return ServiceError("InvalidArgument", message, fields=fields)


def invalid_request(message: str) -> ServiceError:
    return ServiceError("InvalidRequest", message)


def invalid_range(requested: str, size: int) -> ServiceError:
    return ServiceError(
        "InvalidRange",
        "The requested range is not satisfiable",
        status=416,
        fields={"RangeRequested": requested, "ActualObjectSize": size},
    )


def invalid_part_number(number: int, count: int) -> ServiceError:
    return ServiceError(
        "InvalidPartNumber",
        "The requested partnumber is not satisfiable",
        status=416,
        fields={"PartNumberRequested": number, "ActualPartCount": count},
    )


def bad_digest(expected: str, calculated: str) -> ServiceError:
    return ServiceError(
        "BadDigest",
        "The Content-MD5 you specified did not match what we received.",
        fields={"ExpectedDigest": expected, "CalculatedDigest": calculated},
    )


def bad_checksum(algorithm: str) -> ServiceError:
    return ServiceError(
        "BadDigest", f"The {algorithm} you specified did not match the calculated checksum."
    )


def invalid_digest(value: str) -> ServiceError:
    return ServiceError(
        "InvalidDigest",
        "The Content-MD5 you specified was not valid.",
        fields={"Content-MD5": value},
    )


def invalid_checksum_header(header: str) -> ServiceError:
    return invalid_request(f"Value for {header} header is invalid.")


def content_sha256_mismatch(client: str, computed: str) -> ServiceError:
    return ServiceError(
        "XAmzContentSHA256Mismatch",
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
        fields={"ClientComputedContentSHA256": client, "S3ComputedContentSHA256": computed},
    )


def key_too_long(size: int) -> ServiceError:
    return ServiceError(
        "KeyTooLongError",
        "Your key is too long",
        fields={"Size": size, "MaxSizeAllowed": MAX_KEY_BYTES},
    )


def metadata_too_large(size: int) -> ServiceError:
    return ServiceError(
        "MetadataTooLarge",
        "Your metadata headers exceed the maximum allowed metadata size.",
        fields={"Size": size, "MaxSizeAllowed": MAX_METADATA_BYTES},
    )


def access_denied() -> ServiceError:
    return ServiceError("AccessDenied", "Access Denied", status=403)


def precondition_failed(condition: str) -> ServiceError:
    return ServiceError(
        "PreconditionFailed",
        "At least one of the pre-conditions you specified did not hold",
        status=412,
        fields={"Condition": condition},
    )


def not_modified() -> ServiceError:
    """304: sent without a body (the codec knows), so botocore reports Code "304"."""
    return ServiceError("NotModified", "Not Modified", status=304)


def method_not_allowed(method: str, resource: str) -> ServiceError:
    return ServiceError(
        "MethodNotAllowed",
        "The specified method is not allowed against this resource.",
        status=405,
        fields={"Method": method, "ResourceType": resource},
    )


def not_implemented(header: str | None = None) -> ServiceError:
    return ServiceError(
        "NotImplemented",
        "A header you provided implies functionality that is not implemented",
        status=501,
        sender_fault=False,
        fields={"Header": header} if header else None,
    )


def incomplete_body() -> ServiceError:
    return ServiceError(
        "IncompleteBody",
        "You did not provide the number of bytes specified by the Content-Length HTTP header",
    )


def missing_content_length() -> ServiceError:
    return ServiceError(
        "MissingContentLength", "You must provide the Content-Length HTTP header.", status=411
    )


def internal_error() -> ServiceError:
    return ServiceError(
        "InternalError",
        "We encountered an internal error. Please try again.",
        status=500,
        sender_fault=False,
    )


def storage_full() -> ServiceError:
    """The emulator's disk is full. S3 has no such error; like MinIO (XMinioStorageFull) the
    emulator answers 507, a server-side fault botocore does not retry (it retries a 500
    InternalError up to 4 times, resending the body, to no avail), with a message that says
    what to do. No host path is named."""
    return ServiceError(
        "InsufficientStorage",
        "The endpointlab emulator's disk is full (no space left in its data directory): the "
        "request was not stored. Free some space and try again.",
        status=507,
        sender_fault=False,
    )

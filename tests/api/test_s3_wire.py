"""S3 on the wire (wire/rest_xml.py, wire/aws_chunked.py, services/s3.py): error documents
and request-id headers, HEAD errors without bodies, addressing styles, unsigned and presigned
requests, aws-chunked bodies with trailing checksums, payload hashes, unknown methods."""

from __future__ import annotations

import hashlib
import socket
import urllib.request
from collections.abc import Iterator
from typing import Any
from xml.etree import ElementTree

import pytest
from botocore import UNSIGNED
from botocore.exceptions import ClientError

from tests.api.s3_support import aws_chunked, crc32_b64, error_code, new_bucket, raw_request
from tests.api.support import client


@pytest.fixture
def bucket(s3: Any) -> Iterator[str]:
    with new_bucket(s3, "wire") as name:
        yield name


def test_errors_are_s3_error_documents_with_request_ids(emulator_url: str, bucket: str) -> None:
    answer = raw_request(emulator_url, "GET", f"/{bucket}/missing%20key")
    assert answer.status == 404
    assert answer.headers["content-type"] == "application/xml"
    request_id = answer.headers["x-amz-request-id"]
    assert len(request_id) == 16 and request_id.isupper()
    assert answer.headers["x-amz-id-2"]
    assert answer.body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    root = ElementTree.fromstring(answer.body)
    assert root.tag == "Error"  # no namespace on error documents
    assert [child.tag for child in root] == ["Code", "Message", "Key", "RequestId", "HostId"]
    assert root.findtext("Code") == "NoSuchKey"
    assert root.findtext("Key") == "missing key"
    assert root.findtext("RequestId") == request_id


def test_head_errors_have_no_body(emulator_url: str, bucket: str) -> None:
    answer = raw_request(emulator_url, "HEAD", f"/{bucket}/missing")
    assert (answer.status, answer.body) == (404, b"")
    assert "x-amz-request-id" in answer.headers


def test_success_documents_use_the_s3_namespace(emulator_url: str, bucket: str) -> None:
    answer = raw_request(emulator_url, "GET", f"/{bucket}?list-type=2")
    root = ElementTree.fromstring(answer.body)
    assert root.tag == "{http://s3.amazonaws.com/doc/2006-03-01/}ListBucketResult"
    location = raw_request(emulator_url, "GET", f"/{bucket}?location")
    assert location.body.endswith(
        b'<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>'
    )


# What a SigV4 header for S3 looks like to routing (the emulator runs without --auth here).
SIGNED_FOR_S3 = {
    "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64
}


def test_unknown_methods_and_operations(emulator_url: str, bucket: str, s3: Any) -> None:
    answer = raw_request(emulator_url, "PATCH", f"/{bucket}/k", headers=SIGNED_FOR_S3)
    assert answer.status == 405
    assert ElementTree.fromstring(answer.body).findtext("Code") == "MethodNotAllowed"
    with pytest.raises(ClientError) as caught:
        s3.get_bucket_acl(Bucket=bucket)
    assert error_code(caught) == ("NotImplemented", 501)


def test_a_trailing_slash_names_the_bucket(emulator_url: str, bucket: str) -> None:
    answer = raw_request(emulator_url, "GET", f"/{bucket}/?list-type=2")
    assert answer.status == 200
    assert b"<Name>" + bucket.encode() + b"</Name>" in answer.body


def test_virtual_hosted_style_addressing(emulator_url: str) -> None:
    """boto3 asked for virtual addressing against ``http://localhost:PORT`` sends
    ``Host: <bucket>.localhost:PORT`` (against an IP address it falls back to path style);
    a proxy stands in for a resolver that maps *.localhost to the emulator."""
    port = emulator_url.rsplit(":", 1)[1]
    virtual = client(
        "s3",
        f"http://localhost:{port}",
        s3={"addressing_style": "virtual"},
        proxies={"http": emulator_url},
    )
    sent: list[str] = []
    virtual.meta.events.register("before-send.s3", lambda request, **_: sent.append(request.url))
    with new_bucket(virtual, "virtual") as name:
        virtual.put_object(Bucket=name, Key="dir/obj.txt", Body=b"v")
        assert virtual.get_object(Bucket=name, Key="dir/obj.txt")["Body"].read() == b"v"
        listed = virtual.list_objects_v2(Bucket=name, Prefix="dir/")
        assert [i["Key"] for i in listed["Contents"]] == ["dir/obj.txt"]
        assert sent[0] == f"http://{name}.localhost:{port}/"
        assert sent[1] == f"http://{name}.localhost:{port}/dir/obj.txt"
        path_style = client("s3", emulator_url)
        assert path_style.get_object(Bucket=name, Key="dir/obj.txt")["Body"].read() == b"v"
        raw = raw_request(
            emulator_url, "GET", "/dir/obj.txt", headers={"Host": f"{name}.s3.localhost"}
        )
        assert raw.body == b"v"


def test_unsigned_requests_are_s3_requests(emulator_url: str, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="public.txt", Body=b"anyone")
    anonymous = client("s3", emulator_url, signature_version=UNSIGNED)
    assert anonymous.get_object(Bucket=bucket, Key="public.txt")["Body"].read() == b"anyone"
    answer = raw_request(emulator_url, "GET", f"/{bucket}/public.txt")
    assert (answer.status, answer.body) == (200, b"anyone")


def test_presigned_urls(s3: Any, bucket: str) -> None:
    put_url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "signed.bin"}, ExpiresIn=60
    )
    request = urllib.request.Request(put_url, data=b"via url", method="PUT")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    get_url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "signed.bin"}, ExpiresIn=60
    )
    with urllib.request.urlopen(get_url, timeout=10) as response:
        assert response.read() == b"via url"


def test_aws_chunked_bodies_are_decoded_and_their_trailers_checked(
    emulator_url: str, s3: Any, bucket: str
) -> None:
    data = bytes(range(256)) * 300
    headers = {
        "Content-Encoding": "aws-chunked",
        "X-Amz-Content-SHA256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "X-Amz-Decoded-Content-Length": str(len(data)),
        "X-Amz-Trailer": "x-amz-checksum-crc32",
        "Content-Type": "application/octet-stream",
    }
    body = aws_chunked(data, 8192, {"x-amz-checksum-crc32": crc32_b64(data)})
    answer = raw_request(emulator_url, "PUT", f"/{bucket}/chunked.bin", headers=headers, body=body)
    assert answer.status == 200, answer.body
    got = s3.get_object(Bucket=bucket, Key="chunked.bin", ChecksumMode="ENABLED")
    assert got["Body"].read() == data
    assert got["ChecksumCRC32"] == crc32_b64(data)
    assert "ContentEncoding" not in got  # aws-chunked is framing, not the object's encoding

    wrong = aws_chunked(data, 8192, {"x-amz-checksum-crc32": crc32_b64(b"other")})
    answer = raw_request(emulator_url, "PUT", f"/{bucket}/bad.bin", headers=headers, body=wrong)
    assert answer.status == 400
    assert ElementTree.fromstring(answer.body).findtext("Code") == "BadDigest"
    short = dict(headers, **{"X-Amz-Decoded-Content-Length": str(len(data) + 1)})
    answer = raw_request(emulator_url, "PUT", f"/{bucket}/bad.bin", headers=short, body=body)
    assert ElementTree.fromstring(answer.body).findtext("Code") == "IncompleteBody"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="bad.bin")


def test_signed_chunks_carry_their_signatures_in_chunk_extensions(
    emulator_url: str, s3: Any, bucket: str
) -> None:
    data = b"signed streaming payload"
    body = (
        f"{len(data):x};chunk-signature={'a' * 64}\r\n".encode()
        + data
        + f"\r\n0;chunk-signature={'b' * 64}\r\n\r\n".encode()
    )
    headers = {
        "Content-Encoding": "aws-chunked",
        "X-Amz-Content-SHA256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "X-Amz-Decoded-Content-Length": str(len(data)),
    }
    answer = raw_request(emulator_url, "PUT", f"/{bucket}/signed.bin", headers=headers, body=body)
    assert answer.status == 200, answer.body
    assert s3.get_object(Bucket=bucket, Key="signed.bin")["Body"].read() == data


def test_a_payload_hash_that_does_not_match_is_refused(emulator_url: str, bucket: str) -> None:
    headers = {"X-Amz-Content-SHA256": hashlib.sha256(b"something else").hexdigest()}
    answer = raw_request(emulator_url, "PUT", f"/{bucket}/k", headers=headers, body=b"body")
    root = ElementTree.fromstring(answer.body)
    assert (answer.status, root.findtext("Code")) == (400, "XAmzContentSHA256Mismatch")
    assert root.findtext("S3ComputedContentSHA256") == hashlib.sha256(b"body").hexdigest()


def test_an_early_error_closes_a_connection_whose_body_was_not_read(
    emulator_url: str,
) -> None:
    """botocore sends ``Expect: 100-continue`` and skips the body on an early answer; the
    emulator closes the connection so the unread body can never be taken for a request."""
    answer = raw_request(
        emulator_url,
        "PUT",
        "/no-such-bucket-here/k",
        headers={"Expect": "100-continue"},
        body=b"x" * 1000,
    )
    assert answer.status == 404
    assert answer.headers.get("connection") == "close"


def test_boto3_with_expect_continue_survives_early_errors(s3: Any, bucket: str) -> None:
    """Several failed and successful uploads in a row over botocore's pooled connections."""
    big = b"z" * (2 * 1024 * 1024)
    for attempt in range(3):
        with pytest.raises(ClientError) as caught:
            s3.put_object(Bucket=f"{bucket}-absent", Key="k", Body=big)
        assert error_code(caught) == ("NoSuchBucket", 404)
        s3.put_object(Bucket=bucket, Key=f"k{attempt}", Body=big)
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 3


def test_requests_for_other_apis_are_not_taken_for_s3(emulator_url: str) -> None:
    sagemaker = client("sagemaker", emulator_url)
    assert "Models" in sagemaker.list_models()
    unsigned = client("sagemaker", emulator_url, signature_version=UNSIGNED)
    assert "Models" in unsigned.list_models()
    runtime = client("sagemaker-runtime", emulator_url, signature_version=UNSIGNED)
    with pytest.raises(ClientError) as caught:
        runtime.invoke_endpoint(EndpointName="no-such-endpoint", Body=b"{}")
    assert caught.value.response["Error"]["Code"] == "ValidationError"


def test_a_body_declared_over_5_gb_is_refused_before_it_is_sent(
    emulator_url: str, bucket: str
) -> None:
    host, port = emulator_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        head = (
            f"PUT /{bucket}/huge.bin HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Content-Length: 6000000000\r\nExpect: 100-continue\r\n\r\n"
        )
        sock.sendall(head.encode())
        reply = b""
        while b"</Error>" not in reply:
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 400")
    assert b"<Code>EntityTooLarge</Code>" in reply
    assert b"<MaxSizeAllowed>5368709120</MaxSizeAllowed>" in reply

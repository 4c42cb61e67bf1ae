"""Where async requests are read from and written to: S3 URLs in their three spellings, and the
output and failure keys that derive from the InferenceId alone."""

from __future__ import annotations

import pytest

from endpointlab.emulator.endpoints.asynchronous.locations import (
    S3Location,
    failure_location,
    output_location,
    parse_s3_url,
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("s3://bucket/in/r1.json", S3Location("bucket", "in/r1.json")),
        ("s3://bucket", S3Location("bucket", "")),
        ("https://bucket.s3.amazonaws.com/in/r1.json", S3Location("bucket", "in/r1.json")),
        ("https://my.bucket.s3.eu-west-1.amazonaws.com/a%20b", S3Location("my.bucket", "a b")),
        ("https://bucket.s3-us-west-2.amazonaws.com/k", S3Location("bucket", "k")),
        ("https://s3.us-east-1.amazonaws.com/bucket/k/v", S3Location("bucket", "k/v")),
        ("https://localhost:4566/bucket/k", S3Location("bucket", "k")),
        ("ftp://bucket/k", None),
        ("s3:///k", None),
        ("https://host", None),
    ],
)
def test_s3_urls_name_a_bucket_and_key(url: str, expected: S3Location | None) -> None:
    assert parse_s3_url(url) == expected


def test_the_output_key_is_the_path_the_extension_and_the_id_or_the_filename() -> None:
    assert output_location("s3://b/out/", "id-1", None, None).url == "s3://b/out/id-1.out"
    assert output_location("s3://b", "id-1", "run/7", None).url == "s3://b/run/7/id-1.out"
    assert output_location("s3://b/out", "id-1", "x", "r.json").url == "s3://b/out/x/r.json"


def test_a_failure_goes_to_the_failure_path_or_beside_the_output() -> None:
    assert failure_location("s3://f/err", "s3://b/out", "id-1", None).url == (
        "s3://f/err/id-1-error.out"
    )
    assert failure_location(None, "s3://b/out", "id-1", "x").url == "s3://b/out/x/id-1-error.out"

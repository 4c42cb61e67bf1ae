"""The emulator's S3 on a full disk (services/s3.py, objects/files.py): a write that runs out of
space answers 507 InsufficientStorage saying the emulator's disk is full, leaves no partial
object, part or temp file, and the same write succeeds once space is freed.

The disk is real: a 2 MiB tmpfs mounted on the data directory's ``s3`` folder (needs root and
permission to mount, as in this project's sandbox; skipped otherwise).
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from endpointlab.config import EmulatorSettings
from tests.api.support import client, error_of, running_emulator

CHUNK = 256 * 1024


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A data directory whose S3 folder is a 2 MiB filesystem of its own."""
    data_dir = tmp_path / "data"
    s3_dir = data_dir / "s3"
    s3_dir.mkdir(parents=True)
    mount = ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(s3_dir)]
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    done = subprocess.run(mount, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip()}")
    try:
        yield data_dir
    finally:
        subprocess.run(["umount", str(s3_dir)], check=False)


@pytest.fixture
def s3_on_small_disk(small_disk: Path) -> Iterator[tuple[Any, Path]]:
    with running_emulator(EmulatorSettings(port=0, data_dir=small_disk)) as url:
        yield client("s3", url), small_disk / "s3"


def stored_files(s3_dir: Path) -> set[str]:
    return {str(p.relative_to(s3_dir)) for p in s3_dir.rglob("*") if p.is_file()}


def test_a_full_disk_answers_507_leaves_nothing_and_recovers(
    s3_on_small_disk: tuple[Any, Path],
) -> None:
    s3, s3_dir = s3_on_small_disk
    s3.create_bucket(Bucket="full")
    stored: list[str] = []
    with pytest.raises(ClientError) as caught:
        for number in range(64):  # 16 MiB at most: the 2 MiB disk fills long before
            key = f"object-{number}"
            s3.put_object(Bucket="full", Key=key, Body=bytes([number]) * CHUNK)
            stored.append(key)
    error = error_of(caught)
    assert (error["Code"], error["Status"]) == ("InsufficientStorage", 507)
    assert "disk is full" in error["Message"]
    assert str(s3_dir) not in error["Message"]  # no host path
    failed = f"object-{len(stored)}"
    assert 2 <= len(stored) < 8

    # Nothing of the failed write is left: not the object, not a temp file, not its data.
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket="full")["Contents"]]
    assert listed == sorted(stored)
    with pytest.raises(ClientError) as missing:
        s3.head_object(Bucket="full", Key=failed)
    assert error_of(missing)["Status"] == 404
    assert not list((s3_dir / "tmp").iterdir())
    assert len(stored_files(s3_dir)) == 1 + 2 * len(stored)  # bucket.json; data + record each

    # Freeing space is enough: the same write then succeeds, and reads back whole.
    for key in stored[:2]:
        s3.delete_object(Bucket="full", Key=key)
    body = b"\x07" * CHUNK
    s3.put_object(Bucket="full", Key=failed, Body=body)
    assert s3.get_object(Bucket="full", Key=failed)["Body"].read() == body
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket="full")["Contents"]]
    assert listed == sorted([*stored[2:], failed])
    assert len(stored_files(s3_dir)) == 1 + 2 * len(listed)


def test_a_part_that_does_not_fit_leaves_no_partial_part(
    s3_on_small_disk: tuple[Any, Path],
) -> None:
    s3, s3_dir = s3_on_small_disk
    s3.create_bucket(Bucket="parts")
    upload = s3.create_multipart_upload(Bucket="parts", Key="big")["UploadId"]
    with pytest.raises(ClientError) as caught:
        s3.upload_part(
            Bucket="parts", Key="big", UploadId=upload, PartNumber=1, Body=b"p" * (3 * 1024**2)
        )
    assert error_of(caught)["Code"] == "InsufficientStorage"
    listed = s3.list_parts(Bucket="parts", Key="big", UploadId=upload)
    assert listed.get("Parts", []) == []
    assert not list((s3_dir / "tmp").iterdir())
    with contextlib.suppress(ClientError):
        s3.abort_multipart_upload(Bucket="parts", Key="big", UploadId=upload)
    s3.put_object(Bucket="parts", Key="small", Body=b"fits")
    assert s3.get_object(Bucket="parts", Key="small")["Body"].read() == b"fits"

"""CPU quotas of serverless instances (workers/fork/cpu_quota.py): the cgroup files written for a
share, the fallback where cgroups cannot be used, and, where this host allows cgroup v1 quotas,
a busy process really held to its share."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from endpointlab.emulator.workers.fork.cpu_quota import NO_QUOTA, PERIOD_US, CpuQuotas


def fake_hierarchy(tmp_path: Path, relative: str = "/") -> tuple[Path, Path]:
    """A directory shaped like /sys/fs/cgroup with a cpu hierarchy, and a /proc/self/cgroup."""
    group = tmp_path / "cpu" / relative.strip("/")
    group.mkdir(parents=True, exist_ok=True)
    (group / "cpu.cfs_quota_us").write_text("-1\n")
    own = tmp_path / "own-cgroups"
    own.write_text(f"5:memory:/somewhere\n1:cpu:{relative}\n0::/\n")
    return tmp_path, own


def test_a_share_becomes_a_cfs_quota_in_a_group_of_its_own(tmp_path: Path) -> None:
    root, own = fake_hierarchy(tmp_path, "/batch")
    quotas = CpuQuotas.detect(root, own)
    assert quotas.enforced
    limit = quotas.limit(4242, 0.58)
    assert limit.path is not None
    assert limit.path.parent == root / "cpu" / "batch"
    assert limit.path.name.startswith(f"endpointlab-{os.getpid()}-")
    assert (limit.path / "cpu.cfs_period_us").read_text() == str(PERIOD_US)
    assert (limit.path / "cpu.cfs_quota_us").read_text() == str(58_000)
    assert (limit.path / "cgroup.procs").read_text() == "4242"


def test_two_emulators_in_one_process_keep_their_groups_apart(tmp_path: Path) -> None:
    root, own = fake_hierarchy(tmp_path)
    first, second = CpuQuotas.detect(root, own), CpuQuotas.detect(root, own)
    mine, theirs = first.limit(4242, 0.5), second.limit(4343, 0.5)
    assert mine.path is not None and theirs.path is not None
    assert mine.path != theirs.path
    assert (theirs.path / "cgroup.procs").read_text() == "4343"
    for path in (mine.path, theirs.path):  # a real cgroup's files go with its rmdir
        for file in path.iterdir():
            file.unlink()
    first.close()
    assert not mine.path.exists()
    assert theirs.path.exists()


def test_tiny_shares_get_the_kernels_minimum_quota(tmp_path: Path) -> None:
    quotas = CpuQuotas.detect(*fake_hierarchy(tmp_path))
    limit = quotas.limit(1, 0.001)
    assert limit.path is not None
    assert (limit.path / "cpu.cfs_quota_us").read_text() == "1000"


def test_without_a_cpu_hierarchy_nothing_is_enforced_and_the_mechanism_says_so(
    tmp_path: Path,
) -> None:
    own = tmp_path / "own-cgroups"
    own.write_text("0::/user.slice\n")  # cgroup v2 only
    quotas = CpuQuotas.detect(tmp_path, own)
    assert not quotas.enforced
    assert quotas.mechanism == NO_QUOTA
    limit = quotas.limit(os.getpid(), 0.5)
    assert limit.path is None
    limit.release()


def test_groups_of_emulators_that_died_are_removed(tmp_path: Path) -> None:
    root, own = fake_hierarchy(tmp_path)
    stale = root / "cpu" / "endpointlab-999999999-3"
    stale.mkdir()
    mine = root / "cpu" / f"endpointlab-{os.getpid()}-1"
    mine.mkdir()
    CpuQuotas.detect(root, own)
    assert not stale.exists()
    assert mine.exists()


def test_a_busy_process_is_held_to_its_share() -> None:
    real = CpuQuotas.detect()
    if not real.enforced:
        pytest.skip("no writable cgroup v1 cpu hierarchy here")
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        limit = real.limit(burner.pid, 0.25)
        assert limit.path is not None
        process = psutil.Process(burner.pid)
        before = sum(process.cpu_times()[:2])
        started = time.monotonic()
        time.sleep(1.0)  # let it burn for a second under the quota
        used = sum(process.cpu_times()[:2]) - before
        elapsed = time.monotonic() - started
        assert used / elapsed < 0.25 * 1.3
    finally:
        burner.kill()
        burner.wait()
    limit.release()
    assert not limit.path
    real.close()

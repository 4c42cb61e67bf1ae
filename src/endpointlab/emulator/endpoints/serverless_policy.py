"""The decisions of serverless capacity, as pure functions: no clock, no processes, no sockets.

Which request is throttled, served warm or starts a cold instance; how much CPU an instance of a
memory size gets; whether an instance's resident memory broke its limit. ``endpoints.serverless``
acts on them; the account quotas are the control plane's (``control.quotas``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

MIB = 1024 * 1024
# Serverless inference limits (SageMaker developer guide): 4 MB payloads, 60 s invocations,
# 3 minutes to download the model and pass the health check.
MAX_PAYLOAD_BYTES = 4 * 1024 * 1024
INVOCATION_TIMEOUT_S = 60.0
COLD_START_TIMEOUT_S = 180.0


class Placement(Enum):
    """Where one arriving request goes."""

    THROTTLE = "throttle"  # MaxConcurrency requests are in flight: refused at once
    WARM = "warm"  # an idle warm instance takes it
    COLD = "cold"  # a new instance starts and the request waits for it


def place(in_flight: int, max_concurrency: int, idle: int) -> Placement:
    """The placement of a request arriving with ``in_flight`` requests admitted and ``idle``
    warm instances free. Excess requests are throttled, not queued."""
    if in_flight >= max_concurrency:
        return Placement.THROTTLE
    return Placement.WARM if idle > 0 else Placement.COLD


@dataclass(frozen=True)
class CpuShare:
    """The CPU an instance of a memory size gets: ``vcpus`` as configured (memory / ratio),
    ``effective`` what this host can give one instance, ``threads`` its native pool size."""

    vcpus: float
    effective: float
    threads: int


def cpu_share(memory_mb: int, mb_per_vcpu: float, host_cpus: int) -> CpuShare:
    """The share of an instance with ``memory_mb``: proportional to memory, at most the host's
    cores; thread pools get the whole vCPUs of the share (at least one thread)."""
    if mb_per_vcpu <= 0 or host_cpus < 1:
        raise ValueError("mb_per_vcpu must be positive and host_cpus at least 1")
    vcpus = memory_mb / mb_per_vcpu
    effective = min(vcpus, float(host_cpus))
    threads = max(1, min(host_cpus, math.floor(vcpus + 1e-9)))
    return CpuShare(vcpus=vcpus, effective=effective, threads=threads)


def over_memory(resident_bytes: int | None, memory_mb: int) -> bool:
    """Whether an instance whose (peak) resident set is ``resident_bytes`` broke its memory
    size; an unknown size (a process already gone) is not counted as a breach."""
    return resident_bytes is not None and resident_bytes > memory_mb * MIB

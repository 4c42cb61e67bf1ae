"""Whether the host could give a configuration the CPUs it is entitled to (pure).

On AWS each instance (or serverless environment) has its own vCPUs; here they share this
machine's cores. A configuration entitled to more vCPUs than the host has, or measured while the
host's load stayed above its cores, has pessimistic latencies and throttles: it is flagged
``oversubscribed`` and the note says why.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from endpointlab.catalogue import instance_type
from endpointlab.results.run_result import HostCheck

# A mean 1-minute load above this many runnable tasks per core means tasks waited for a CPU.
SATURATED_LOAD_PER_CORE = 1.0


def host_check(entitled_vcpus: float, host_cores: int, load_samples: Sequence[float]) -> HostCheck:
    """Compare ``entitled_vcpus`` with ``host_cores`` and the load sampled during the run."""
    if host_cores < 1:
        raise ValueError(f"host_cores must be at least 1, not {host_cores}")
    if not (math.isfinite(entitled_vcpus) and entitled_vcpus >= 0):
        raise ValueError(f"entitled_vcpus must be a non-negative number, not {entitled_vcpus}")
    loads = [s for s in load_samples if math.isfinite(s) and s >= 0]
    load_mean = math.fsum(loads) / len(loads) if loads else None
    load_max = max(loads) if loads else None
    reasons = []
    if entitled_vcpus > host_cores:
        reasons.append(f"entitled to {entitled_vcpus:.3g} vCPUs on a host with {host_cores} cores")
    if load_mean is not None and load_mean > host_cores * SATURATED_LOAD_PER_CORE:
        reasons.append(f"the host's load averaged {load_mean:.2f} on {host_cores} cores")
    note = ""
    if reasons:
        note = (
            "; ".join(reasons)
            + ": latencies and throttles are pessimistic (on AWS each instance has its own CPUs)"
        )
    return HostCheck(
        host_cores=host_cores,
        entitled_vcpus=entitled_vcpus,
        oversubscribed=bool(reasons),
        load_mean=load_mean,
        load_max=load_max,
        note=note,
    )


def entitled_vcpus(
    kind: str, settings: Mapping[str, Any], *, serverless_mb_per_vcpu: float
) -> float | None:
    """The vCPUs a configuration is entitled to, or None if its settings do not say.

    Instance kinds: the instance type's vCPUs times the instance count (the maximum, for an
    autoscaled or asynchronous variant, when ``MaxInstanceCount`` is set). Serverless: memory
    over ``serverless_mb_per_vcpu`` (AWS does not publish the ratio: the emulator's setting)
    times MaxConcurrency.
    """
    if kind == "serverless":
        memory = settings.get("MemorySizeInMB")
        concurrency = settings.get("MaxConcurrency", 1)
        if not isinstance(memory, int | float) or not isinstance(concurrency, int | float):
            return None
        return float(memory) / serverless_mb_per_vcpu * float(concurrency)
    found = instance_type(str(settings.get("InstanceType", "")))
    count = settings.get("MaxInstanceCount", settings.get("InitialInstanceCount", 1))
    if found is None or not isinstance(count, int | float):
        return None
    return float(found.vcpus) * float(count)

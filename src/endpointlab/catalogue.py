"""The ml.* instance catalogue: vCPUs, memory, accelerators and on-demand price per hour.

Known types come from ``data/instance_types.csv`` (with the evidence for each price). Other types
of SageMaker's hosting enum get vCPU and memory from EC2's size naming and the family's
memory-per-vCPU ratio, and no price.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

# Memory per vCPU (GiB) of each family letter in EC2's naming: c compute, m general, r memory.
_GIB_PER_VCPU = {"c": 2.0, "m": 4.0, "r": 8.0, "t": 4.0, "g": 4.0, "i": 4.0, "p": 8.0, "d": 4.0}
_SIZE = re.compile(r"^(?:(\d+)?xlarge|large|medium)$")


@dataclass(frozen=True)
class InstanceType:
    """One ml.* hosting instance type."""

    name: str
    vcpus: int
    memory_gib: float
    accelerators: int = 0
    accelerator: str = ""
    usd_per_hour: float | None = None
    evidence: str = "derived from the EC2 size name"


@cache
def _known() -> dict[str, InstanceType]:
    text = resources.files("endpointlab").joinpath("data/instance_types.csv").read_text()
    table: dict[str, InstanceType] = {}
    for row in csv.DictReader(text.splitlines()):
        table[row["instance_type"]] = InstanceType(
            name=row["instance_type"],
            vcpus=int(row["vcpus"]),
            memory_gib=float(row["memory_gib"]),
            accelerators=int(row["accelerators"]),
            accelerator=row["accelerator"],
            usd_per_hour=float(row["usd_per_hour"]) if row["usd_per_hour"] else None,
            evidence=row["evidence"],
        )
    return table


def instance_type(name: str) -> InstanceType | None:
    """The catalogue entry for ``name`` (e.g. ``ml.m5.large``), or None if it is not an ml.* type
    whose size can be read."""
    known = _known().get(name)
    if known is not None:
        return known
    parts = name.split(".")
    if len(parts) != 3 or parts[0] != "ml":
        return None
    family, size = parts[1], parts[2]
    match = _SIZE.match(size)
    if match is None or not family:
        return None
    if size == "medium":
        vcpus = 1
    elif size == "large":
        vcpus = 2
    else:
        vcpus = 4 * int(match.group(1) or 1)
    ratio = _GIB_PER_VCPU.get(family[0], 4.0)
    return InstanceType(name=name, vcpus=vcpus, memory_gib=vcpus * ratio)


def known_instance_types() -> list[InstanceType]:
    """Every type listed in the catalogue file."""
    return list(_known().values())

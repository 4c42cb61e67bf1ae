"""Projected twins: a configuration measured on an oversubscribed host is replayed in the
simulator with the service times of its calmest phase, beside the measured one."""

from __future__ import annotations

import random
from pathlib import Path

from endpointlab.analysis.summary import summarise_phase
from endpointlab.bench.projection import SUFFIX, with_projections
from endpointlab.results import RequestRecord, write_parquet
from endpointlab.results.run_result import (
    ConfigurationResult,
    Environment,
    HostCheck,
    Objective,
    RunResult,
)

SERVICE_MS = 50.0


def _records(phase: str, clients: int, latency_ms: float, count: int) -> list[RequestRecord]:
    rng = random.Random(7)
    out = []
    for n in range(count):
        ms = latency_ms * rng.uniform(0.9, 1.1)
        at = n * latency_ms / 1000.0 / clients
        out.append(
            RequestRecord(
                n, n % clients, 200, "0.5", ms / 1000.0, "", at, at, ms, ms, 1, "", False,
                False, "AllTraffic", phase, 10, 10,
            )
        )  # fmt: skip
    return out


def _run(tmp_path: Path, oversubscribed: bool, only_calm: bool = False) -> RunResult:
    # One ml.c5.large (2 workers): alone a request takes 50 ms; at 4 clients the shared host
    # stretched it to 200 ms, where 2 workers of their own would answer 4 clients in ~100 ms.
    calm = _records("calm", 1, SERVICE_MS, 200)
    busy = _records("busy", 4, 200.0, 200)
    (tmp_path / "records").mkdir()
    write_parquet(calm + busy, tmp_path / "records" / "rt.parquet")
    phases = [
        summarise_phase("calm", calm, shape="closed 1 clients", clients=1).model_copy(
            update={"duration_s": 10.0}
        ),
        summarise_phase("busy", busy, shape="closed 4 clients", clients=4).model_copy(
            update={"duration_s": 10.0}
        ),
    ]
    phases = phases[:1] if only_calm else phases
    host = HostCheck(host_cores=2, entitled_vcpus=2.0, oversubscribed=oversubscribed)
    config = ConfigurationResult(
        name="rt",
        kind="realtime",
        settings={"InstanceType": "ml.c5.large", "InitialInstanceCount": 1},
        host=host,
        phases=phases,
        records=["records/rt.parquet"],
    )
    return RunResult(
        run_id="r",
        plan_name="p",
        created_at="2026-12-07T18:00:00+00:00",
        environment=Environment(
            endpointlab_version="0", python="3", platform="linux", machine="x", cpu_count=2
        ),
        objective=Objective(latency_ms=300.0),
        configurations=[config],
    )


def test_an_oversubscribed_configuration_gets_a_projected_twin_with_its_own_cpus(
    tmp_path: Path,
) -> None:
    said: list[str] = []
    result = with_projections(_run(tmp_path, True), tmp_path, said.append)
    names = [c.name for c in result.configurations]
    assert names == ["rt", "rt" + SUFFIX]
    twin = result.configurations[1]
    assert twin.origin == "projected"
    assert [p.name for p in twin.phases] == ["calm", "busy"]
    busy = twin.phases[1].latency.p50
    assert busy is not None
    assert 80.0 < busy < 125.0  # 4 clients on 2 workers of 50 ms: ~100 ms, not the 200 measured
    assert any("projected rt (projected)" in line for line in said)
    again = with_projections(result, tmp_path, said.append)  # reanalysis replaces, never stacks
    assert [c.name for c in again.configurations] == names


def test_a_configuration_with_its_own_cpus_is_left_as_measured(tmp_path: Path) -> None:
    result = with_projections(_run(tmp_path, False), tmp_path, lambda _: None)
    assert [c.name for c in result.configurations] == ["rt"]


def test_a_single_closed_phase_twin_has_that_phase_as_its_total(tmp_path: Path) -> None:
    """A closed loop cannot be replayed together with other phases as one run, but a
    configuration measured in one phase has that phase as its whole run (the end table and the
    report read the total)."""
    result = with_projections(_run(tmp_path, True, only_calm=True), tmp_path, lambda _: None)
    twin = result.configurations[1]
    assert [p.name for p in twin.phases] == ["calm"]
    assert twin.total == twin.phases[0]
    (tmp_path / "two").mkdir()
    two_phases = with_projections(_run(tmp_path / "two", True), tmp_path / "two", lambda _: None)
    assert two_phases.configurations[1].total is None  # percentiles of phases do not add up

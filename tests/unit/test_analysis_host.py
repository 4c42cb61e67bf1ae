"""analysis.host: the CPU a configuration is entitled to against the host that served it."""

from __future__ import annotations

import math

import pytest

from endpointlab.analysis.host import entitled_vcpus, host_check


def test_more_vcpus_than_cores_is_oversubscribed() -> None:
    check = host_check(8.0, 2, [1.0, 1.5])
    assert check.oversubscribed
    assert check.entitled_vcpus == 8.0 and check.host_cores == 2
    assert "entitled to 8 vCPUs on a host with 2 cores" in check.note
    assert "pessimistic" in check.note


def test_a_loaded_host_is_oversubscribed_even_when_the_entitlement_fits() -> None:
    check = host_check(1.0, 2, [2.5, 3.5, math.nan])
    assert check.oversubscribed
    assert (check.load_mean, check.load_max) == (3.0, 3.5)
    assert "load averaged 3.00 on 2 cores" in check.note


def test_a_fitting_configuration_on_a_calm_host_is_not_flagged() -> None:
    check = host_check(2.0, 2, [0.5, 1.9])
    assert not check.oversubscribed
    assert check.note == ""
    assert check.load_mean == pytest.approx(1.2)


def test_without_load_samples_only_the_entitlement_decides() -> None:
    check = host_check(2.0, 4, [])
    assert not check.oversubscribed
    assert (check.load_mean, check.load_max) == (None, None)


@pytest.mark.parametrize(("vcpus", "cores"), [(1.0, 0), (-1.0, 2), (math.inf, 2)])
def test_impossible_inputs_are_refused(vcpus: float, cores: int) -> None:
    with pytest.raises(ValueError):
        host_check(vcpus, cores, [])


def test_entitled_vcpus_of_each_kind() -> None:
    serverless = {"MemorySizeInMB": 2048, "MaxConcurrency": 4}
    assert entitled_vcpus("serverless", serverless, serverless_mb_per_vcpu=1024.0) == 8.0
    realtime = {"InstanceType": "ml.m5.xlarge", "InitialInstanceCount": 2}
    assert entitled_vcpus("realtime", realtime, serverless_mb_per_vcpu=1024.0) == 8.0
    scaled = {"InstanceType": "ml.c5.large", "InitialInstanceCount": 0, "MaxInstanceCount": 3}
    assert entitled_vcpus("async", scaled, serverless_mb_per_vcpu=1024.0) == 6.0
    assert entitled_vcpus("realtime", {"InstanceType": "x"}, serverless_mb_per_vcpu=1.0) is None
    assert entitled_vcpus("serverless", {}, serverless_mb_per_vcpu=1.0) is None

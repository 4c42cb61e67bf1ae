"""Serverless settings from `serve` flags (config.ServerlessOptions): SageMaker's defaults, the
keep-warm duration forms, and settings that cannot work refused with the flag named."""

from __future__ import annotations

import pytest

from endpointlab.config import EmulatorSettings, ServerlessOptions, SettingsError


def test_the_defaults_are_documented_ones() -> None:
    options = EmulatorSettings.from_env({}).serverless
    assert options == ServerlessOptions()
    assert options.keep_warm_s == 300.0
    assert options.mb_per_vcpu == 1769.0
    assert (options.max_endpoints, options.max_total_concurrency) == (50, 1000)
    assert options.cpu_quota


@pytest.mark.parametrize(("text", "seconds"), [("30", 30.0), ("90s", 90.0), ("2m", 120.0)])
def test_keep_warm_takes_seconds_or_a_unit(text: str, seconds: float) -> None:
    assert ServerlessOptions.parse(keep_warm=text).keep_warm_s == seconds


def test_flags_given_replace_only_their_own_default() -> None:
    options = ServerlessOptions.parse(max_endpoints=5, cpu_quota=False)
    assert options == ServerlessOptions(max_endpoints=5, cpu_quota=False)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"keep_warm": "0"}, "must be positive"),
        ({"keep_warm": "soon"}, "is not a duration"),
        ({"mb_per_vcpu": 0.0}, "--serverless-mb-per-vcpu must be positive"),
        ({"max_endpoints": -1}, "cannot be negative"),
    ],
)
def test_unusable_settings_are_refused(flags: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        ServerlessOptions.parse(**flags)  # type: ignore[arg-type]

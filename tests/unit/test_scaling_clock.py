"""The scaling settings (config.py, autoscaling/clock.py): ``serve --scaling-clock`` (AWS's pace
by default, compressed periods that stay whole seconds) and ``--target-tracking-alarms``
(AWS's observed 3, 15 and 90% by default), with one-line refusals of bad values."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from endpointlab.cli import main
from endpointlab.config import EmulatorSettings, SettingsError, TrackingAlarms
from endpointlab.emulator.autoscaling.clock import ScalingClock


def test_aws_pace_by_default_and_compressed_on_request() -> None:
    assert EmulatorSettings.from_env({}).scaling_clock == 1.0
    assert EmulatorSettings.from_env({}, scaling_clock=60).scaling_clock == 60.0
    clock = ScalingClock(60)
    assert (clock.seconds(300), clock.period(60), clock.period(10)) == (5.0, 1, 1)
    assert (ScalingClock().seconds(300), ScalingClock().period(60)) == (300, 60)


@pytest.mark.parametrize("factor", [0.5, 0, -1, 5000])
def test_bad_factors_are_refused(factor: float) -> None:
    with pytest.raises(SettingsError, match="--scaling-clock must be between 1 and 3600"):
        EmulatorSettings.from_env({}, scaling_clock=factor)


def test_serve_refuses_a_bad_factor_in_one_line() -> None:
    result = CliRunner().invoke(main, ["serve", "--port", "0", "--scaling-clock", "0"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "endpointlab: error: --scaling-clock must be between 1 and 3600, got 0"
    ]


def test_target_tracking_alarms_default_to_aws_and_follow_the_flag() -> None:
    assert EmulatorSettings.from_env({}).tracking_alarms == TrackingAlarms(3, 15, 0.9)
    chosen = EmulatorSettings.from_env({}, tracking_alarms="2, 5, 0.8").tracking_alarms
    assert chosen == TrackingAlarms(2, 5, 0.8)


@pytest.mark.parametrize("text", ["3,15", "a,b,c", "0,15,0.9", "3,15,1.5", "3,15,0.9,1"])
def test_bad_target_tracking_alarms_are_refused(text: str) -> None:
    with pytest.raises(SettingsError, match="--target-tracking-alarms"):
        TrackingAlarms.parse(text)

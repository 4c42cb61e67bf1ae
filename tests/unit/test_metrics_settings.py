"""How long metric samples are kept (``serve --metrics-retention``, config.py): durations in
seconds or with a unit, the CloudWatch-like default, and refusals with a usable message."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from endpointlab.cli import main
from endpointlab.config import EmulatorSettings, SettingsError, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("3600", 3600.0), ("90m", 5400.0), ("3h", 10800.0), ("15d", 1_296_000.0), ("2w", 1_209_600.0),
     (" 1.5H ", 5400.0)],
)  # fmt: skip
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "0", "-5m", "3x", "inf"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(SettingsError):
        parse_duration(text)


def test_retention_defaults_to_fifteen_days_and_follows_the_flag() -> None:
    assert EmulatorSettings.from_env({}).metrics_retention_s == 15 * 86_400
    assert EmulatorSettings.from_env({}, metrics_retention="3h").metrics_retention_s == 10_800


def test_serve_refuses_a_bad_retention() -> None:
    result = CliRunner().invoke(main, ["serve", "--port", "0", "--metrics-retention", "soon"])
    assert result.exit_code == 2
    assert "not a duration" in result.output

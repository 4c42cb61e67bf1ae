"""The provisioning-time model (emulator/provisioning.py): presets, the figures file, seeded draws,
and ``serve``'s one-line errors for a bad file."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from endpointlab.cli import main
from endpointlab.config import (
    AWS_INSTANCE_LAUNCH,
    AWS_SERVERLESS_COLD_START,
    DelayRange,
    ProvisioningOptions,
    SettingsError,
)
from endpointlab.emulator.provisioning import Provisioning, describe, options


def test_off_draws_no_delay_and_aws_draws_within_its_estimates() -> None:
    off = Provisioning(options("off", seed=1))
    assert [off.instance_launch(), off.serverless_cold_start()] == [0.0, 0.0]
    aws = Provisioning(options("aws", seed=1))
    launches = [aws.instance_launch() for _ in range(50)]
    colds = [aws.serverless_cold_start() for _ in range(50)]
    assert all(AWS_INSTANCE_LAUNCH.min_s <= d <= AWS_INSTANCE_LAUNCH.max_s for d in launches)
    assert all(
        AWS_SERVERLESS_COLD_START.min_s <= d <= AWS_SERVERLESS_COLD_START.max_s for d in colds
    )
    assert len(set(launches)) > 1  # a distribution, not one figure


def test_a_seed_replays_the_same_delays_for_each_figure() -> None:
    first, second = Provisioning(options("aws", seed=7)), Provisioning(options("aws", seed=7))
    assert [first.instance_launch() for _ in range(5)] == [
        second.instance_launch() for _ in range(5)
    ]
    # One stream per figure: cold starts do not shift the launches drawn after them.
    third = Provisioning(options("aws", seed=7))
    fourth = Provisioning(options("aws", seed=7))
    fourth.serverless_cold_start()
    assert third.instance_launch() == fourth.instance_launch()
    assert Provisioning(options("aws", seed=8)).instance_launch() != third.instance_launch()


def test_a_fresh_seed_is_drawn_and_shown_so_a_run_can_be_replayed() -> None:
    chosen = options("aws")
    assert chosen.seed is not None
    assert describe(chosen) == (
        f"instance launch 180-300 s, serverless cold start 1-4 s (seed {chosen.seed})"
    )
    assert describe(options("off")) == "off"


def test_a_file_overrides_the_presets_figures(tmp_path: Path) -> None:
    yaml_file = tmp_path / "delays.yaml"
    yaml_file.write_text("serverless_cold_start: 0.3\n")
    chosen = options("aws", yaml_file, seed=3)
    assert chosen == ProvisioningOptions(AWS_INSTANCE_LAUNCH, DelayRange(0.3, 0.3), 3)
    json_file = tmp_path / "delays.json"
    json_file.write_text('{"instance_launch": {"min_s": 2, "max_s": 5}}')
    assert options("off", json_file, seed=3).instance_launch == DelayRange(2.0, 5.0)
    assert options("off", json_file, seed=3).serverless_cold_start == DelayRange()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("instance_lunch: 3\n", "unknown figure 'instance_lunch'"),
        ("instance_launch: -1\n", "needs 0 <= min_s <= max_s"),
        ("instance_launch: {min_s: 5, max_s: 2}\n", "needs 0 <= min_s <= max_s"),
        ("instance_launch: {min_s: 1, mean_s: 2}\n", "must be seconds or {min_s: S, max_s: S}"),
        ("instance_launch: soon\n", "must be seconds or {min_s: S, max_s: S}"),
        ("- 1\n- 2\n", "expected a mapping of figures"),
        ("instance_launch: [1, 2\n", "not valid YAML or JSON (line 2)"),
    ],
)
def test_a_bad_file_is_refused_with_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    file = tmp_path / "delays.yaml"
    file.write_text(text)
    with pytest.raises(SettingsError, match=f"provisioning file {file}: .*") as caught:
        options("aws", file)
    assert message in str(caught.value)


def test_serve_refuses_a_bad_provisioning_file_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "delays.yaml"
    bad.write_text("instance_launch: {min_s: 5, max_s: 2}\n")
    for file, expected in ((bad, "needs 0 <= min_s <= max_s"), (tmp_path / "missing.yaml", "")):
        flags = ["--port", "0", "--data-dir", str(tmp_path), "--provisioning-file", str(file)]
        result = CliRunner().invoke(main, ["serve", *flags])
        assert result.exit_code == 2
        lines = result.output.strip().splitlines()
        assert len(lines) == 1
        assert lines[0].startswith(f"endpointlab: error: provisioning file {file}: ")
        assert expected in lines[0]

"""Defaults live in one place (the config package): the endpoint kinds, the container and the
CLI's help take theirs from it, so changing a default changes it everywhere."""

from __future__ import annotations

import ast
from pathlib import Path

from click.testing import CliRunner

from endpointlab import config
from endpointlab.cli import main
from endpointlab.config import EmulatorSettings, ServerlessOptions
from endpointlab.emulator.endpoints.realtime import RealtimeSettings
from endpointlab.emulator.endpoints.serverless import ServerlessSettings

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "endpointlab"
# Defaults distinctive enough that a literal copy of one anywhere else is a second source.
DISTINCT = {
    config.DEFAULT_SERVERLESS_MB_PER_VCPU,
    config.DEFAULT_STARTUP_TIMEOUT_S,
    config.DEFAULT_EMULATOR_PORT,
}


def test_no_module_but_config_spells_a_default() -> None:
    copies = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.parent.name == "config":
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            value = getattr(node, "value", None) if isinstance(node, ast.Constant) else None
            if type(value) in (int, float) and value in DISTINCT:
                copies.append(f"{path.relative_to(PACKAGE)}:{node.lineno} ({value})")
    assert not copies, f"defaults copied outside config/: {copies}"


def test_the_kinds_defaults_are_the_settings_defaults() -> None:
    emulator, serverless = EmulatorSettings(), ServerlessOptions()
    assert RealtimeSettings().invocation_timeout_s == emulator.invocation_timeout_s
    assert RealtimeSettings().startup_timeout_s == emulator.startup_timeout_s
    assert ServerlessSettings().keep_warm_s == serverless.keep_warm_s
    assert ServerlessSettings().mb_per_vcpu == serverless.mb_per_vcpu


def test_serve_help_shows_the_configured_defaults() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"], terminal_width=400)
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert f"Default: {config.DEFAULT_SERVERLESS_MB_PER_VCPU:g} (Lambda's ratio" in text
    assert f"Default: {config.DEFAULT_SERVERLESS_ENDPOINTS}." in text
    assert f"Default: {config.DEFAULT_SERVERLESS_CONCURRENCY}." in text
    assert f"[default: {config.DEFAULT_EMULATOR_PORT}]" in text

"""``serve --notify-url``: an http(s) URL reaches the settings, anything else is a one-line
error before anything starts."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from endpointlab.cli import main
from endpointlab.config import AsyncOptions, SettingsError


def test_an_http_notify_url_is_kept() -> None:
    assert AsyncOptions.parse(notify_url="http://127.0.0.1:9/sns").notify_url == (
        "http://127.0.0.1:9/sns"
    )
    assert AsyncOptions.parse().notify_url is None


def test_another_scheme_is_refused() -> None:
    with pytest.raises(SettingsError, match="--notify-url"):
        AsyncOptions.parse(notify_url="sns://topic")


def test_serve_refuses_a_bad_notify_url_in_one_line() -> None:
    result = CliRunner().invoke(main, ["serve", "--port", "0", "--notify-url", "ftp://x"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "endpointlab: error: --notify-url must be an http(s) URL, got 'ftp://x'"
    ]

"""The ``serve --auth FILE`` document (emulator/auth/settings.py): what it accepts, and the one
line naming the problem for everything it refuses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from endpointlab.cli import main
from endpointlab.config import EmulatorSettings, SettingsError
from endpointlab.emulator.auth import AuthFileError, load_auth_file

ALLOW_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


def key(**fields: Any) -> dict[str, Any]:
    return {"access_key_id": "AKIDA", "secret_access_key": "s", "policies": [ALLOW_ALL], **fields}


def write(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "auth.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


def test_a_valid_file_becomes_frozen_settings(tmp_path: Path) -> None:
    path = write(tmp_path, {"keys": [key(user="alice"), key(access_key_id="AKIDB", policies=[])]})
    config = load_auth_file(path)
    alice = config.keys["AKIDA"]
    assert alice.user_arn == "arn:aws:iam::123456789012:user/alice"
    assert len(alice.policies) == 1
    assert config.keys["AKIDB"].user_name == "AKIDB"  # the key id stands in for a user name
    assert config.keys["AKIDB"].policies == ()
    with pytest.raises(TypeError):
        config.keys["X"] = alice  # type: ignore[index]


REFUSED = [
    ("{", "not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2"),
    ([], 'the document must be a JSON object with a "keys" list'),
    ({"keys": []}, '"keys" must be a non-empty list of key objects'),
    ({"keys": [key()], "users": []}, "unknown top-level field 'users' (only \"keys\" is allowed)"),
    ({"keys": ["AKIDA"]}, "keys[0]: must be a JSON object"),
    (
        {"keys": [{"access_key_id": "AKIDA", "policies": []}]},
        "keys[0]: missing 'secret_access_key'",
    ),
    ({"keys": [{"access_key_id": "A", "secret_access_key": "s"}]}, "keys[0]: missing 'policies'"),
    ({"keys": [key(password="x")]}, "keys[0]: unknown field 'password'"),
    ({"keys": [key(), key()]}, "keys[1]: duplicate access_key_id 'AKIDA'"),
    ({"keys": [key(access_key_id="")]}, "keys[0]: access_key_id must be a non-empty string"),
    (
        {"keys": [key(access_key_id="AK/ID")]},
        "keys[0]: access_key_id 'AK/ID' must be 1-128 letters, digits or _+=.@-",
    ),
    ({"keys": [key(secret_access_key=5)]}, "keys[0]: secret_access_key must be a non-empty string"),
    ({"keys": [key(user="bob smith")]}, "keys[0]: user 'bob smith' is not a valid IAM user name"),
    ({"keys": [key(policies={})]}, "keys[0]: policies must be a list of policy documents"),
    (
        {
            "keys": [
                key(
                    policies=[
                        {
                            "Statement": [
                                {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {}}
                            ]
                        }
                    ]
                )
            ]
        },
        "keys[0].policies[0].Statement[0]: Condition is not allowed: conditions are not supported "
        "by the emulator",
    ),
    (
        {
            "keys": [
                key(policies=[{"Statement": [{"Effect": "allow", "Action": "*", "Resource": "*"}]}])
            ]
        },
        'keys[0].policies[0].Statement[0]: Effect must be "Allow" or "Deny", got \'allow\'',
    ),
]


@pytest.mark.parametrize(("document", "problem"), REFUSED)
def test_malformed_files_are_refused_in_one_line(
    tmp_path: Path, document: Any, problem: str
) -> None:
    path = write(tmp_path, document)
    with pytest.raises(AuthFileError) as caught:
        load_auth_file(path)
    message = str(caught.value)
    assert message == f"auth file {path}: {problem}"
    assert "\n" not in message
    assert isinstance(caught.value, SettingsError)  # the CLI's exit-2 path


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(AuthFileError) as caught:
        load_auth_file(tmp_path / "missing.json")
    assert str(caught.value) == (
        f"cannot read auth file {tmp_path / 'missing.json'}: No such file or directory"
    )


def test_the_auth_file_is_a_setting_and_off_by_default(tmp_path: Path) -> None:
    assert EmulatorSettings.from_env({}).auth_file is None
    path = tmp_path / "auth.json"
    assert EmulatorSettings.from_env({}, auth_file=path).auth_file == path


def test_serve_refuses_a_malformed_auth_file_before_anything_starts(tmp_path: Path) -> None:
    path = write(tmp_path, {"keys": [key(), key()]})
    data = tmp_path / "data"
    command = ["serve", "--port", "0", "--data-dir", str(data), "--auth", str(path)]
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 2
    assert result.output == (
        f"endpointlab: error: auth file {path}: keys[1]: duplicate access_key_id 'AKIDA'\n"
    )
    assert not data.exists()

"""The catalogue of SageMaker and runtime errors (emulator/sagemaker_errors.py): the only place
the control plane, the endpoint kinds and the SageMaker services build an error, with the
statuses botocore's service models give the modeled ones."""

from __future__ import annotations

import ast
from pathlib import Path

import botocore.session
import pytest

from endpointlab.emulator import sagemaker_errors
from endpointlab.emulator.sagemaker_errors import SageMakerError

EMULATOR = Path(__file__).resolve().parents[2] / "src" / "endpointlab" / "emulator"
# Where SageMaker's errors are raised: every one must come from the catalogue.
RAISERS = sorted(
    [
        *(EMULATOR / "control").glob("*.py"),
        *(EMULATOR / "endpoints").glob("*.py"),
        *(EMULATOR / "services").glob("sagemaker*.py"),
    ]
)
ENTRIES = {
    name: value
    for name, value in vars(sagemaker_errors).items()
    if isinstance(value, SageMakerError)
}


@pytest.mark.parametrize("path", RAISERS, ids=[p.relative_to(EMULATOR).as_posix() for p in RAISERS])
def test_sagemaker_errors_are_built_only_by_the_catalogue(path: Path) -> None:
    tree = ast.parse(path.read_text(), filename=str(path))
    calls = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name | ast.Attribute)
        and (node.func.id if isinstance(node.func, ast.Name) else node.func.attr) == "ServiceError"
    ]
    assert not calls, f"{path.name} builds ServiceError at lines {calls}: use sagemaker_errors"


def _modeled_statuses() -> dict[str, int]:
    session = botocore.session.get_session()
    statuses: dict[str, int] = {}
    for service in ("sagemaker", "sagemaker-runtime"):
        model = session.get_service_model(service)
        for shape in model.error_shapes:
            statuses[shape.error_code or shape.name] = int(
                shape.metadata.get("error", {}).get("httpStatusCode", 400)
            )
    return statuses


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_a_modeled_error_has_the_models_status(name: str) -> None:
    entry = ENTRIES[name]
    statuses = _modeled_statuses()
    if entry.code in statuses:
        assert entry.status == statuses[entry.code]
    else:  # the common errors every AWS JSON service answers, not in the models
        assert entry.code in {
            "ValidationException",
            "ThrottlingException",
            "UnknownOperationException",
        }
        assert entry.status == 400


def test_an_entry_fills_its_template_and_keeps_its_fields() -> None:
    error = sagemaker_errors.ENDPOINT_NOT_FOUND(endpoint="e1", account="123456789012")
    assert (error.code, error.status) == ("ValidationError", 400)
    assert error.message == "Endpoint e1 of account 123456789012 not found."
    throttled = sagemaker_errors.THROTTLING(fields={"message": None})
    assert throttled.code == "ThrottlingException" and dict(throttled.fields) == {"message": None}
    braces = sagemaker_errors.VALIDATION(message="a {literal} brace")
    assert braces.message == "a {literal} brace"

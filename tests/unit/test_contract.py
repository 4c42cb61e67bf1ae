"""The inference-handler contract: built-in handlers, custom inference.py and error statuses."""

from __future__ import annotations

import io
import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
import xgboost

from endpointlab.models.artifact import extract_model_archive, pack_model_dir
from endpointlab.models.contract import (
    InferenceHandler,
    InvocationRequest,
    InvocationResponse,
    load_handler,
)
from endpointlab.models.errors import ArtifactError
from tests.unit import model_fixtures as fx

ROWS = np.array([[0.5, -1.0, 2.0, 0.1], [-2.0, 0.3, 0.0, 1.5]])


def encode_body(rows: np.ndarray, content_type: str) -> bytes:
    if content_type == "text/csv":
        return "".join(",".join(str(v) for v in row) + "\n" for row in rows).encode()
    if content_type == "application/json":
        return json.dumps(rows.tolist()).encode()
    buffer = io.BytesIO()
    if content_type == "application/x-npz":
        np.savez(buffer, rows)
    else:
        np.save(buffer, rows)
    return buffer.getvalue()


def decode_body(body: bytes, content_type: str) -> np.ndarray:
    if content_type == "text/csv":
        return np.array([[float(v) for v in line.split(",")] for line in body.decode().split()])
    if content_type == "application/json":
        return np.array(json.loads(body))
    return np.load(io.BytesIO(body))


def deployed(
    model_dir: Path, tmp_path: Path, environment: dict[str, str] | None = None
) -> InferenceHandler:
    """Pack the directory as model.tar.gz, extract it as SageMaker would, and load the handler."""
    archive = pack_model_dir(model_dir, tmp_path / "model.tar.gz")
    target = extract_model_archive(archive, tmp_path / "opt-ml-model")
    return load_handler(target, environment or {})


def invoke(
    handler: InferenceHandler, body: bytes, content_type: str | None, accept: str | None = None
) -> InvocationResponse:
    return handler.invoke(InvocationRequest(body=body, content_type=content_type, accept=accept))


def expected_predictions(kind: str, model_dir: Path) -> np.ndarray:
    if kind == "sklearn":
        model = fx.write_sklearn(model_dir)
        return model.predict(ROWS)
    if kind.startswith("xgboost"):
        names = {"xgboost-json": "model.json", "xgboost-ubj": "model.ubj"}
        name = names.get(kind, "xgboost-model")
        booster = fx.write_xgboost(model_dir, name)
        return booster.predict(xgboost.DMatrix(ROWS.astype(np.float32)))
    weights = fx.write_onnx(model_dir)
    return ROWS.astype(np.float32) @ weights


CONTENT_TYPES = ["text/csv", "application/json", "application/x-npy", "application/x-npz"]
ACCEPTS = ["text/csv", "application/json", "application/x-npy"]


KINDS = ["sklearn", "xgboost-json", "xgboost-ubj", "xgboost-model", "onnx"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("content_type", CONTENT_TYPES)
@pytest.mark.parametrize("accept", ACCEPTS)
def test_builtin_handlers_round_trip_every_content_type(
    tmp_path: Path, kind: str, content_type: str, accept: str
) -> None:
    expected = expected_predictions(kind, tmp_path / "src")
    handler = deployed(tmp_path / "src", tmp_path)
    response = invoke(handler, encode_body(ROWS, content_type), content_type, accept)
    assert response.status == 200, response.body
    assert response.content_type == accept
    got = decode_body(response.body, accept)
    np.testing.assert_allclose(got.reshape(expected.shape), expected, rtol=1e-5)


@pytest.mark.parametrize("accept", [None, "", "*/*"])
def test_missing_or_wildcard_accept_gets_the_default(tmp_path: Path, accept: str | None) -> None:
    fx.write_sklearn(tmp_path / "src")
    handler = deployed(tmp_path / "src", tmp_path)
    response = invoke(handler, b"1,2,3,4\n", "text/csv", accept)
    assert response.status == 200
    assert response.content_type == "application/json"
    assert json.loads(response.body) in ([0], [1])


def test_default_accept_follows_the_container_environment(tmp_path: Path) -> None:
    fx.write_sklearn(tmp_path / "src")
    environment = {"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv"}
    handler = deployed(tmp_path / "src", tmp_path, environment)
    response = invoke(handler, b"1,2,3,4", "text/csv", "*/*")
    assert (response.status, response.content_type) == (200, "text/csv")
    assert response.body.decode().strip() in ("0", "1")


def test_first_supported_type_of_an_accept_list_wins(tmp_path: Path) -> None:
    fx.write_sklearn(tmp_path / "src")
    handler = deployed(tmp_path / "src", tmp_path)
    response = invoke(handler, b"1,2,3,4", "text/csv", "text/html, text/csv, application/json")
    assert (response.status, response.content_type) == (200, "text/csv")


def test_single_csv_row_with_charset_parameter(tmp_path: Path) -> None:
    booster = fx.write_xgboost(tmp_path / "src", "model.json")
    handler = deployed(tmp_path / "src", tmp_path)
    response = invoke(handler, b"0.5,-1.0,2.0,0.1", "text/csv; charset=utf-8", "application/json")
    expected = booster.predict(xgboost.DMatrix(ROWS[:1].astype(np.float32)))
    assert response.status == 200
    np.testing.assert_allclose(json.loads(response.body), expected, rtol=1e-6)


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        ("application/octet-stream", b"\x00\x01", 415),
        ("image/png", b"\x89PNG", 415),
        (None, b"1,2,3,4", 415),
        ("text/csv", b"1,2,x,4", 400),
        ("text/csv", b"1,2,3,4\n1,2\n", 400),
        ("text/csv", b"", 400),
        ("text/csv", b"\xff\xfe", 400),
        ("application/json", b"[1, 2,", 400),
        ("application/x-npy", b"not an npy file", 400),
    ],
)
def test_bad_inputs_get_a_client_status_and_the_worker_keeps_serving(
    tmp_path: Path, content_type: str | None, body: bytes, status: int
) -> None:
    fx.write_sklearn(tmp_path / "src")
    handler = deployed(tmp_path / "src", tmp_path)
    response = invoke(handler, body, content_type)
    assert response.status == status
    assert response.body, "the error must carry a message"
    assert invoke(handler, b"1,2,3,4", "text/csv").status == 200


def test_unsupported_accept_is_406(tmp_path: Path) -> None:
    fx.write_sklearn(tmp_path / "src")
    handler = deployed(tmp_path / "src", tmp_path)
    response = invoke(handler, b"1,2,3,4", "text/csv", "image/png")
    assert response.status == 406
    assert b"image/png" in response.body


def write_code(model_dir: Path, source: str, name: str = "inference.py") -> None:
    code = model_dir / "code"
    code.mkdir(parents=True, exist_ok=True)
    (code / name).write_text(textwrap.dedent(source))


FOUR_FUNCTIONS = """
    import json
    import os

    def model_fn(model_dir):
        with open(os.path.join(model_dir, "scale.txt")) as handle:
            return float(handle.read())

    def input_fn(body, content_type):
        assert isinstance(body, str), "json bodies reach input_fn decoded"
        return json.loads(body)["values"]

    def predict_fn(data, model, context):
        attributes = context.get_request_header(0, "X-Amzn-SageMaker-Custom-Attributes")
        context.set_response_header(0, "X-Amzn-SageMaker-Custom-Attributes", f"seen={attributes}")
        return [value * model for value in data]

    def output_fn(prediction, accept):
        return json.dumps({"scaled": prediction}), "application/vnd.scaled+json"
"""

TRANSFORM_ONLY = """
    def model_fn(model_dir, context):
        return context.system_properties["model_dir"]

    def transform_fn(model, body, content_type, accept):
        return f"{len(body)} bytes of {content_type} for {accept}".encode()
"""


def test_custom_four_function_handler_is_honoured(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "scale.txt").write_text("3")
    write_code(src, FOUR_FUNCTIONS)
    handler = deployed(src, tmp_path)
    request = InvocationRequest(
        body=b'{"values": [1, 2]}',
        content_type="application/json",
        accept="application/json",
        custom_attributes="trace=7",
    )
    response = handler.invoke(request)
    assert response.status == 200
    assert json.loads(response.body) == {"scaled": [3.0, 6.0]}
    assert response.content_type == "application/vnd.scaled+json"
    assert response.custom_attributes == "seen=trace=7"


def test_custom_transform_fn_gets_raw_bytes_and_accept(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write_code(src, TRANSFORM_ONLY)
    handler = deployed(src, tmp_path)
    response = invoke(handler, b"\x00\x01\x02", "application/octet-stream", "text/plain")
    assert response.status == 200
    assert response.body == b"3 bytes of application/octet-stream for text/plain"
    assert response.content_type == "text/plain"
    assert handler.model == str(tmp_path / "opt-ml-model")


def test_sagemaker_program_selects_another_entry_module(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write_code(src, TRANSFORM_ONLY.replace("bytes of", "via serve.py:"), name="serve.py")
    handler = deployed(src, tmp_path, {"SAGEMAKER_PROGRAM": "serve.py"})
    assert invoke(handler, b"ab", "text/plain", "text/plain").body.startswith(b"2 via serve.py:")


def test_missing_sagemaker_program_module_is_refused(tmp_path: Path) -> None:
    fx.write_sklearn(tmp_path / "src")
    with pytest.raises(ArtifactError, match=r"SAGEMAKER_PROGRAM names absent\.py"):
        deployed(tmp_path / "src", tmp_path, {"SAGEMAKER_PROGRAM": "absent.py"})


def test_transform_fn_with_predict_fn_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write_code(src, TRANSFORM_ONLY + "\n    def predict_fn(data, model):\n        return data\n")
    with pytest.raises(ArtifactError, match="transform_fn"):
        deployed(src, tmp_path)


def test_handler_exception_is_500_with_its_message_and_the_next_request_succeeds(
    tmp_path: Path,
) -> None:
    src = tmp_path / "src"
    fx.write_sklearn(src)
    write_code(
        src,
        """
        def predict_fn(data, model):
            if data[0][0] < 0:
                raise RuntimeError("negative first feature is not allowed")
            return model.predict(data)
        """,
    )
    handler = deployed(src, tmp_path)
    failed = invoke(handler, b"-1,2,3,4", "text/csv")
    assert failed.status == 500
    assert b"negative first feature is not allowed" in failed.body
    assert invoke(handler, b"1,2,3,4", "text/csv").status == 200


def test_handler_with_a_wrong_signature_fails_each_request_with_500(tmp_path: Path) -> None:
    src = tmp_path / "src"
    fx.write_sklearn(src)
    write_code(src, "def predict_fn(data):\n    return data\n")
    handler = deployed(src, tmp_path)
    response = invoke(handler, b"1,2,3,4", "text/csv")
    assert response.status == 500
    assert b"predict_fn takes 1 parameters" in response.body


def test_requirements_txt_is_ignored_and_code_without_model_fn_uses_the_builtin(
    tmp_path: Path,
) -> None:
    src = tmp_path / "src"
    fx.write_onnx(src)
    write_code(src, "def output_fn(prediction, accept):\n    return str(prediction.shape)\n")
    (src / "code" / "requirements.txt").write_text("some-package==1.0\n")
    handler = deployed(src, tmp_path)
    response = invoke(handler, b"[[1, 2, 3, 4]]", "application/json")
    assert (response.status, response.body) == (200, b"(1, 2)")

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
from endpointlab.models.containers import FLASK_500_PAGE, TOOLKIT_UNSUPPORTED
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
    if content_type in ("text/libsvm", "text/x-libsvm"):  # a label, then 1-based index:value
        lines = (" ".join(["0"] + [f"{i}:{v}" for i, v in enumerate(row, 1)]) for row in rows)
        return "\n".join(lines).encode()
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
# What each container takes and answers (models/containers.py names the containers).
SUPPORTED = {
    "sklearn": (["text/csv", "application/json", "application/x-npy"], ACCEPTS),
    "xgboost": (["text/csv", "text/libsvm", "text/x-libsvm"], ["text/csv", "application/json"]),
    "onnx": (CONTENT_TYPES, ACCEPTS),
}
KINDS = ["sklearn", "xgboost-json", "xgboost-ubj", "xgboost-model", "onnx"]
ROUND_TRIPS = [
    (kind, content_type, accept)
    for kind in KINDS
    for content_type in SUPPORTED[kind.split("-")[0]][0]
    for accept in SUPPORTED[kind.split("-")[0]][1]
]


@pytest.mark.parametrize(("kind", "content_type", "accept"), ROUND_TRIPS)
def test_builtin_handlers_round_trip_every_content_type_their_container_takes(
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
    write_code(tmp_path / "src", SUM_MODEL)
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


BAD_INPUTS = [
    ("application/octet-stream", b"\x00\x01", 415),
    ("image/png", b"\x89PNG", 415),
    (None, b"1,2,3,4", 415),
    ("text/csv", b"1,2,x,4", 400),
    ("text/csv", b"1,2,3,4\n1,2\n", 400),
    ("text/csv", b"", 400),
    ("text/csv", b"\xff\xfe", 400),
    ("application/json", b"[1, 2,", 400),
    ("application/x-npy", b"not an npy file", 400),
]
SUM_MODEL = """
    import numpy as np

    class Sum:
        def predict(self, data):
            return np.asarray(data).sum(axis=-1)

    def model_fn(model_dir):
        return Sum()
"""


@pytest.mark.parametrize(("content_type", "body", "status"), BAD_INPUTS)
def test_bad_inputs_to_default_functions_of_custom_code_get_a_client_status(
    tmp_path: Path, content_type: str | None, body: bytes, status: int
) -> None:
    write_code(tmp_path / "src", SUM_MODEL)
    handler = deployed(tmp_path / "src", tmp_path)
    response = invoke(handler, body, content_type)
    assert response.status == status
    assert response.body, "the error must carry a message"
    assert invoke(handler, b"1,2,3,4", "text/csv").status == 200
    refused = invoke(handler, b"1,2,3,4", "text/csv", "image/png")
    assert refused.status == 406 and b"image/png" in refused.body


@pytest.mark.parametrize(("content_type", "body", "status"), BAD_INPUTS)
def test_the_scikit_learn_container_answers_every_failure_with_flasks_500_page(
    tmp_path: Path, content_type: str | None, body: bytes, status: int
) -> None:
    # sagemaker-python-sdk 2067, amazon-sagemaker-examples 589 and 1360: the scikit-learn
    # container's failures escape its handler and Flask answers its stock page.
    fx.write_sklearn(tmp_path / "src")
    handler = deployed(tmp_path / "src", tmp_path)
    for response in (
        invoke(handler, body, content_type),
        invoke(handler, b"1,2,3,4", "text/csv", "image/png"),
        invoke(handler, b"1,2,3,4", "text/csv", "text/html, text/csv"),  # passed on as sent
        invoke(handler, b"1,2", "text/csv"),  # the model wants four features
    ):
        assert (response.status, response.content_type) == (500, "text/html")
        assert response.body == FLASK_500_PAGE.encode()
    assert invoke(handler, b"1,2,3,4", "text/csv").status == 200


def test_the_xgboost_container_statuses_and_messages(tmp_path: Path) -> None:
    fx.write_xgboost(tmp_path / "src", "xgboost-model")
    handler = deployed(tmp_path / "src", tmp_path)

    def answer(body: bytes, content_type: str | None, accept: str = "text/csv") -> tuple[int, str]:
        response = invoke(handler, body, content_type, accept)
        return response.status, response.body.decode()

    # sagemaker-xgboost-container issue 390 and data_utils.INVALID_CONTENT_TYPE_ERROR.
    assert answer(b"[[1, 2, 3, 4]]", "application/json") == (
        415,
        "application/json is not an accepted ContentType: csv, libsvm, parquet, "
        "recordio-protobuf, text/csv, text/libsvm, text/x-libsvm, application/x-parquet, "
        "application/x-recordio-protobuf.",
    )
    assert answer(b"1,2,x,4", "text/csv") == (
        415,
        "Loading csv data failed with Exception, please ensure data is in csv format:\n"
        " <class 'ValueError'>\n could not convert string to float: 'x'",
    )
    assert answer(b"x", "application/x-parquet") == (
        415,
        "Content-type application/x-parquet is not supported.",
    )
    status, message = answer(b"1,2", "text/csv")  # the booster wants four features
    assert status == 400 and message.startswith("Unable to evaluate payload provided: ")
    assert answer(b"1,2,3,4", "text/csv", "image/png") == (
        406,
        "Accept type image/png is not supported. Please use supported accept types: "
        "['application/json', 'application/jsonlines', 'application/x-recordio-protobuf', "
        "'text/csv'].",
    )
    assert answer(b"", "text/csv") == (204, "")
    assert answer(b"1,2,3,4", "text/csv")[0] == 200


def test_the_onnx_handler_answers_as_the_inference_toolkit(tmp_path: Path) -> None:
    fx.write_onnx(tmp_path / "src")
    handler = deployed(tmp_path / "src", tmp_path)
    refused = invoke(handler, b"\x89PNG", "image/png")
    assert (refused.status, refused.body.decode()) == (500, TOOLKIT_UNSUPPORTED.format("image/png"))
    assert refused.body.decode().startswith(
        "Content type image/png is not supported by this framework.\n\n"
        "            Please implement input_fn to to deserialize the request data"
    )
    unreadable = invoke(handler, b"[1, 2,", "application/json")
    assert (unreadable.status, unreadable.body) == (
        500,
        b"Expecting value: line 1 column 7 (char 6)",
    )
    wrong_accept = invoke(handler, b"1,2,3,4", "text/csv", "image/png")
    assert wrong_accept.status == 500
    assert wrong_accept.body.decode() == TOOLKIT_UNSUPPORTED.format("image/png")
    assert invoke(handler, b"1,2,3,4", "text/csv").status == 200


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

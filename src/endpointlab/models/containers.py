"""How the SageMaker containers the built-in handlers stand in for answer bad requests.

A model with no ``code/inference.py`` is served by a built-in handler; each imitates a container:
- scikit-learn: ``sagemaker-scikit-learn-container`` (gunicorn and Flask through
  sagemaker-containers). Any failure (content type, body, prediction, Accept) escapes the
  handler, so Flask answers 500 with its stock HTML page, the text users report
  (sagemaker-python-sdk issue 2067, amazon-sagemaker-examples issues 589 and 1360).
- XGBoost: ``sagemaker-xgboost-container`` in algorithm mode (``algorithm_mode/serve.py``):
  204 for an empty body, 415 for a content type it does not take or a body it cannot load
  ("Loading csv data failed ...", sagemaker-xgboost-container issue 390), 400 when prediction
  fails ("Unable to evaluate payload provided: ..."), 406 for an Accept it does not take.
- ONNX: SageMaker has no ONNX container; the handler answers as ``sagemaker-inference-toolkit``
  (the base of the PyTorch and MXNet containers) does: 500 with the exception's message,
  ``UnsupportedFormatError``'s text for a content type or Accept it has no codec for.
The reason behind a 500 page goes to the log, where the container would print it.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from endpointlab.models import codecs
from endpointlab.models.errors import InferenceError

log = logging.getLogger(__name__)

Answer = tuple[int, bytes, str]  # status, body, Content-Type

# Flask's stock 500 page, as SageMaker relays it from the scikit-learn container.
FLASK_500_PAGE = (
    '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n'
    "<title>500 Internal Server Error</title>\n"
    "<h1>Internal Server Error</h1>\n"
    "<p>The server encountered an internal error and was unable to complete your request. "
    "Either the server is overloaded or there is an error in the application.</p>\n"
)
# sagemaker_inference.errors.UnsupportedFormatError (textwrap.dedent leaves the indent: the
# first line has none).
TOOLKIT_UNSUPPORTED = (
    "Content type {} is not supported by this framework.\n\n"
    "            Please implement input_fn to to deserialize the request data or an output_fn "
    "to\n            serialize the response. For more information, see the SageMaker Python "
    "SDK README."
)
# sagemaker-xgboost-container data_utils.VALID_CONTENT_TYPES and serve.SUPPORTED_ACCEPTS.
XGBOOST_CONTENT_TYPES = (
    "csv, libsvm, parquet, recordio-protobuf, text/csv, text/libsvm, text/x-libsvm, "
    "application/x-parquet, application/x-recordio-protobuf"
)
XGBOOST_ACCEPTS = ["application/json", "application/jsonlines", "application/x-recordio-protobuf",
                   "text/csv"]  # fmt: skip
SKLEARN_TYPES = (codecs.JSON, codecs.CSV, codecs.NPY)  # sagemaker-containers' codecs
TOOLKIT_DECODABLE = (codecs.JSON, codecs.CSV, codecs.NPY, codecs.NPZ)


@dataclass(frozen=True)
class BuiltinAnswers:
    """Serves one request with a built-in model as its container would, errors included."""

    container: str
    answer: Callable[[Any, bytes, str | None, str], Answer]

    def __call__(self, model: Any, body: bytes, content_type: str | None, accept: str) -> Answer:
        """``accept`` has been resolved already (a missing or ``*/*`` Accept is the default)."""
        return self.answer(model, body, content_type, accept)


def _text(status: int, message: str, content_type: str = "text/plain") -> Answer:
    return status, message.encode("utf-8"), content_type


# --- scikit-learn ------------------------------------------------------------------------------


def _sklearn(model: Any, body: bytes, content_type: str | None, accept: str) -> Answer:
    try:
        if codecs.media_type(content_type) not in SKLEARN_TYPES:
            raise InferenceError(500, f"Content type {content_type} is not supported")
        prediction = model.predict(codecs.decode(body, content_type))
        kind = codecs.media_type(accept)  # the Accept header as sent: a list is no type
        if kind not in SKLEARN_TYPES:
            raise InferenceError(500, f"Content type {accept} is not supported")
        return 200, codecs.encode(prediction, kind), kind
    except Exception as exc:  # Flask's 500 page; the reason is only in the container's log
        log.warning("scikit-learn container: request failed: %s", _reason(exc))
        return _text(500, FLASK_500_PAGE, "text/html")


# --- XGBoost -----------------------------------------------------------------------------------


def _xgboost(model: Any, body: bytes, content_type: str | None, accept: str) -> Answer:
    if not body:
        return 204, b"", codecs.media_type(accept) or codecs.CSV
    kind = _xgboost_content_type(content_type)
    if kind is None:
        return _text(
            415, f"{content_type} is not an accepted ContentType: {XGBOOST_CONTENT_TYPES}."
        )
    if kind not in ("csv", "libsvm"):
        if kind == "parquet":
            return _text(415, f"Content-type {content_type} is not supported.")
        return _text(415, f"endpointlab's built-in XGBoost handler does not decode {kind} bodies.")
    try:
        text = body.strip().decode("utf-8")
        data = _xgboost_csv(text) if kind == "csv" else _libsvm(text)
    except Exception as exc:
        return _text(
            415,
            f"Loading {kind} data failed with Exception, please ensure data is in {kind} "
            f"format:\n {type(exc)}\n {exc}",
        )
    try:
        prediction = model.predict(data)
    except Exception as exc:
        return _text(400, f"Unable to evaluate payload provided: {exc}")
    wanted = codecs.media_type(accept)
    if wanted not in XGBOOST_ACCEPTS:
        media = accept.split(";", 1)[0].strip()
        return _text(
            406,
            f"Accept type {media} is not supported. Please use supported accept types: "
            f"{XGBOOST_ACCEPTS}.",
        )
    if wanted not in (codecs.JSON, codecs.CSV):
        return _text(406, f"endpointlab's built-in XGBoost handler does not encode {wanted}.")
    return 200, codecs.encode(prediction, wanted), wanted


def _xgboost_content_type(content_type: str | None) -> str | None:
    """``data_utils.get_content_type``: no Content-Type means LIBSVM."""
    if content_type is None:
        return "libsvm"
    media = codecs.media_type(content_type)
    for kind, names in (
        ("csv", ("csv", "text/csv")),
        ("libsvm", ("libsvm", "text/libsvm", "text/x-libsvm")),
        ("parquet", ("parquet", "application/x-parquet")),
        ("recordio-protobuf", ("recordio-protobuf", "application/x-recordio-protobuf")),
    ):
        if media in names:
            return kind
    return None


def _xgboost_csv(text: str) -> np.ndarray[Any, Any]:
    """``encoder.csv_to_dmatrix``: the delimiter sniffed from the first line, empty cells NaN."""
    sniffed = csv.Sniffer().sniff(text.split("\n", maxsplit=1)[0][:512]).delimiter
    delimiter = "," if sniffed.isalnum() else sniffed
    # float() per cell: the text numpy 1 (the container's) gives for a cell it cannot read.
    rows = [[float("nan" if cell == "" else cell) for cell in line.split(delimiter)]
            for line in text.split("\n")]  # fmt: skip
    return np.array(rows, dtype=float)


def _libsvm(text: str) -> Any:
    """``serve_utils._get_sparse_matrix_from_libsvm``: ``index:value`` pairs, 1-based indices
    shifted to 0, tokens without a colon (the label) ignored."""
    from scipy.sparse import csr_matrix  # type: ignore[import-untyped]

    rows, cols, values = [], [], []
    for row, line in enumerate(text.split("\n")):
        for item in line.split(" "):
            if ":" in item:
                index, value = item.split(":")[:2]
                rows.append(row)
                cols.append(int(index))
                values.append(float(value))
    columns = np.array(cols, dtype=int)
    if len(columns) and columns.min() >= 1:
        columns = columns - 1
    return csr_matrix((np.array(values), (np.array(rows), columns)))


# --- ONNX (the inference toolkit) --------------------------------------------------------------


def _toolkit(model: Any, body: bytes, content_type: str | None, accept: str) -> Answer:
    try:
        if codecs.media_type(content_type) not in TOOLKIT_DECODABLE:
            return _text(500, TOOLKIT_UNSUPPORTED.format(content_type))
        prediction = model.predict(codecs.decode(body, content_type))
        kind = codecs.media_type(accept)
        if kind not in codecs.ENCODABLE:
            return _text(500, TOOLKIT_UNSUPPORTED.format(accept))
        return 200, codecs.encode(prediction, kind), kind
    except Exception as exc:  # GenericInferenceToolkitError(500, str(e))
        return _text(500, _reason(exc))


def _reason(exc: BaseException) -> str:
    """The underlying exception's text (the codecs wrap decoding errors in InferenceError)."""
    cause = exc.__cause__ if isinstance(exc, InferenceError) else None
    return str(cause if cause is not None else exc)


ANSWERS = {
    "sklearn": BuiltinAnswers("sagemaker-scikit-learn-container", _sklearn),
    "xgboost": BuiltinAnswers("sagemaker-xgboost-container (algorithm mode)", _xgboost),
    "onnx": BuiltinAnswers("sagemaker-inference-toolkit (no ONNX container exists)", _toolkit),
}


def answers_for(model: Any) -> BuiltinAnswers | None:
    """How the built-in ``model`` answers, or None for a model a ``model_fn`` loaded."""
    return ANSWERS.get(getattr(model, "kind", ""))

"""Built-in model loaders used when an artifact brings no ``model_fn``.

Finds the one model file at the root of the model directory and loads it with the library made
for it: scikit-learn estimators (joblib or pickle), XGBoost boosters (SageMaker's ``xgboost-model``,
JSON, UBJ or a pickled booster) and ONNX graphs (onnxruntime). Native thread pools are sized to
the worker's CPU share.
"""

from __future__ import annotations

import contextlib
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from endpointlab.models.errors import ArtifactError

SKLEARN_SUFFIXES = (".joblib", ".pkl", ".pickle")
XGBOOST_SUFFIXES = (".ubj", ".bst", ".xgb")
XGBOOST_NAMES = ("xgboost-model",)
ONNX_SUFFIXES = (".onnx",)


class BuiltinModel(Protocol):
    """A loaded model that the default predict_fn can call."""

    kind: str

    def predict(self, data: Any) -> Any: ...


@dataclass
class SklearnModel:
    """A scikit-learn style estimator (anything with ``predict``), as the sklearn container."""

    estimator: Any
    kind: str = "sklearn"

    def predict(self, data: Any) -> Any:
        return self.estimator.predict(_as_2d(data))


@dataclass
class XGBoostModel:
    """An XGBoost Booster; predictions are what ``Booster.predict`` gives (probabilities for
    ``binary:logistic``), like SageMaker's XGBoost container."""

    booster: Any
    kind: str = "xgboost"

    def predict(self, data: Any) -> Any:
        if hasattr(data, "tocsr"):  # a scipy sparse matrix (LIBSVM bodies)
            return self.booster.inplace_predict(data.tocsr())
        return self.booster.inplace_predict(_as_2d(np.asarray(data, dtype=np.float32)))


@dataclass
class OnnxModel:
    """An ONNX graph run by onnxruntime; the request array feeds the graph's first input."""

    session: Any
    input_name: str
    input_dtype: Any
    input_rank: int | None
    kind: str = "onnx"

    def predict(self, data: Any) -> Any:
        array = np.asarray(data, dtype=self.input_dtype)
        if self.input_rank is not None and array.ndim == self.input_rank - 1:
            array = array[np.newaxis, ...]  # a single example without its batch axis
        return self.session.run(None, {self.input_name: array})[0]


def _as_2d(data: Any) -> Any:
    array = np.asarray(data)
    return array.reshape(1, -1) if array.ndim == 1 else array


def find_model_file(model_dir: Path) -> Path:
    """The single loadable model file at the root of ``model_dir``."""
    candidates = sorted(
        path for path in model_dir.iterdir() if path.is_file() and _model_kind(path) is not None
    )
    if not candidates:
        present = ", ".join(sorted(p.name for p in model_dir.iterdir())) or "nothing"
        raise ArtifactError(
            "no model file found at the root of the model directory (expected *.joblib, *.pkl, "
            f"*.pickle, xgboost-model, *.json/*.ubj XGBoost, or *.onnx; found {present}); "
            "provide code/inference.py with a model_fn for other formats"
        )
    if len(candidates) > 1:
        names = ", ".join(p.name for p in candidates)
        raise ArtifactError(
            f"several model files at the root of the model directory ({names}); keep one, "
            "or provide code/inference.py with a model_fn that chooses"
        )
    return candidates[0]


def find_model_kind(model_dir: Path) -> str | None:
    """The kind ("onnx", "xgboost", "pickle") of ``model_dir``'s single model file, or None."""
    try:
        return _model_kind(find_model_file(model_dir))
    except (ArtifactError, OSError):
        return None


def _model_kind(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix in ONNX_SUFFIXES:
        return "onnx"
    if suffix in SKLEARN_SUFFIXES:
        return "pickle"
    if suffix in XGBOOST_SUFFIXES or path.name in XGBOOST_NAMES:
        return "xgboost"
    if suffix == ".json" and _is_xgboost_json(path):
        return "xgboost"
    return None


def _is_xgboost_json(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
        return head.lstrip().startswith(b"{") and b'"learner"' in head
    except OSError:
        return False


def load_builtin_model(model_dir: Path, threads: int) -> BuiltinModel:
    """Load the model file of ``model_dir`` with ``threads`` native threads at most."""
    path = find_model_file(model_dir)
    kind = _model_kind(path)
    try:
        if kind == "onnx":
            return _load_onnx(path, threads)
        if kind == "xgboost":
            return _load_xgboost(path, threads)
        return _wrap_pickled(_load_pickle(path), threads)
    except ArtifactError:
        raise
    except Exception as exc:
        raise ArtifactError(f"could not load model file {path.name}: {exc}") from exc


def _load_onnx(path: Path, threads: int) -> OnnxModel:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(
        str(path), sess_options=options, providers=["CPUExecutionProvider"]
    )
    first = session.get_inputs()[0]
    dtype = _ONNX_DTYPES.get(first.type, np.float32)
    rank = len(first.shape) if isinstance(first.shape, list) else None
    return OnnxModel(session=session, input_name=first.name, input_dtype=dtype, input_rank=rank)


_ONNX_DTYPES: dict[str, Any] = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(float16)": np.float16,
    "tensor(uint8)": np.uint8,
}


def _load_xgboost(path: Path, threads: int) -> BuiltinModel:
    import xgboost

    if path.name in XGBOOST_NAMES and _looks_pickled(path):
        # SageMaker's XGBoost container saves xgboost-model with pickle in script mode.
        return _wrap_pickled(_load_pickle(path), threads)
    booster = xgboost.Booster()
    booster.load_model(str(path))
    booster.set_param({"nthread": threads})
    return XGBoostModel(booster=booster)


def _looks_pickled(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(1) == b"\x80"


def _load_pickle(path: Path) -> Any:
    if path.suffix.lower() == ".joblib":
        import joblib

        return joblib.load(path)
    try:
        import joblib

        return joblib.load(path)
    except (pickle.UnpicklingError, KeyError, ValueError, EOFError):
        with path.open("rb") as handle:
            return pickle.load(handle)


def _wrap_pickled(obj: Any, threads: int) -> BuiltinModel:
    try:
        import xgboost

        if isinstance(obj, xgboost.Booster):
            obj.set_param({"nthread": threads})
            return XGBoostModel(booster=obj)
    except ImportError:  # pragma: no cover - xgboost is a dependency
        pass
    if hasattr(obj, "n_jobs"):
        with contextlib.suppress(AttributeError, ValueError, TypeError):
            obj.set_params(n_jobs=threads)
    if not callable(getattr(obj, "predict", None)):
        raise ArtifactError(
            f"the pickled object is a {type(obj).__name__}, which has no predict method"
        )
    return SklearnModel(estimator=obj)

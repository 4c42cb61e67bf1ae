"""Small real models in every built-in format, written into a model directory for tests."""

from __future__ import annotations

import pickle
from pathlib import Path

import joblib
import numpy as np
import onnx
import xgboost
from onnx import TensorProto, helper
from sklearn.linear_model import LogisticRegression

FEATURES = 4


def training_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(200, FEATURES))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    return x, y


def write_sklearn(model_dir: Path, name: str = "model.joblib") -> LogisticRegression:
    x, y = training_data()
    model = LogisticRegression().fit(x, y)
    model_dir.mkdir(parents=True, exist_ok=True)
    if name.endswith(".joblib"):
        joblib.dump(model, model_dir / name)
    else:
        with (model_dir / name).open("wb") as handle:
            pickle.dump(model, handle)
    return model


def train_booster() -> xgboost.Booster:
    x, y = training_data()
    params = {"objective": "binary:logistic", "max_depth": 3, "seed": 1, "nthread": 1}
    return xgboost.train(params, xgboost.DMatrix(x, label=y), num_boost_round=10)


def write_xgboost(model_dir: Path, name: str) -> xgboost.Booster:
    booster = train_booster()
    model_dir.mkdir(parents=True, exist_ok=True)
    if name == "xgboost-model":
        with (model_dir / name).open("wb") as handle:
            pickle.dump(booster, handle)
    else:
        booster.save_model(str(model_dir / name))
    return booster


ONNX_WEIGHTS = np.arange(FEATURES * 2, dtype=np.float32).reshape(FEATURES, 2) / 10


def write_onnx(model_dir: Path, name: str = "model.onnx") -> np.ndarray:
    """y = x @ W: a linear graph whose answers the tests can compute by hand."""
    weights = helper.make_tensor("W", TensorProto.FLOAT, ONNX_WEIGHTS.shape, ONNX_WEIGHTS.ravel())
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["y"])],
        "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", FEATURES])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2])],
        initializer=[weights],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    model_dir.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(model_dir / name))
    return ONNX_WEIGHTS

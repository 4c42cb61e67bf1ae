"""The ``image-classifier`` example: a small CNN on ONNX Runtime that names synthetic textures.

Fixed convolutions (``cnn``) and a Gemm head fitted by multinomial logistic regression on the
pooled features of synthetic images (``images``); it answers softmax probabilities over
CLASS_NAMES. One 3x128x128 request took about 45 ms on one idle onnxruntime thread (AMD EPYC Zen 5).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from endpointlab.models.examples import cnn
from endpointlab.models.examples.images import (
    IMAGE_SIZE,
    ImageBatch,
    Labels,
    synthetic_images,
)
from endpointlab.models.examples.spec import ExampleSpec, InvokeArgs

MODEL_FILE = "model.onnx"
# Median single-image predict on one thread, measured with ``measure_predict_latency``.
MEASURED_LATENCY_MS = 45.0
TRAIN_IMAGES = 150
WEIGHT_SEED = 1
TRAIN_SEED = 11
REQUEST_SEED = 29
REGULARISATION = 1.0  # scikit-learn's C: the inverse L2 penalty of the logistic regression
# Threads for computing training features; results do not depend on it, only build time does.
FEATURE_THREADS = 2
_BATCH = 25
# Leading axes of each sample request: one image bare, with a batch axis, or a batch of two.
_REQUEST_SHAPES: tuple[tuple[int, ...], ...] = (
    *(() for _ in range(14)),
    *((1,) for _ in range(5)),
    (2,),
    (2,),
)


def train_classifier() -> Any:
    """The fitted classifier as an ``onnx.ModelProto`` whose first output is the probabilities."""
    extractor = cnn.feature_extractor(IMAGE_SIZE, WEIGHT_SEED)
    images, labels = synthetic_images(TRAIN_IMAGES, TRAIN_SEED)
    features = run_graph(extractor, images, threads=FEATURE_THREADS)
    weight, bias = fit_head(features, labels)
    return cnn.with_classifier_head(extractor, weight, bias)


def run_graph(model: Any, images: ImageBatch, threads: int) -> np.ndarray[Any, Any]:
    """Run ``model``'s first output over ``images`` in small batches with onnxruntime."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Idle threads sleep rather than spin, so a busy machine slows the build only in proportion.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), sess_options=options, providers=["CPUExecutionProvider"]
    )
    outputs = [
        session.run(None, {cnn.INPUT_NAME: images[start : start + _BATCH]})[0]
        for start in range(0, len(images), _BATCH)
    ]
    return np.concatenate(outputs)


def fit_head(features: np.ndarray[Any, Any], labels: Labels) -> tuple[cnn.Weights, cnn.Weights]:
    """Logistic-regression weights (classes, features) and bias, with standardisation folded in."""
    from sklearn.linear_model import LogisticRegression

    data = features.astype(np.float64)
    mean = data.mean(axis=0)
    std = data.std(axis=0)
    std[std == 0.0] = 1.0
    model = LogisticRegression(C=REGULARISATION, max_iter=5000)
    model.fit((data - mean) / std, labels)
    # (f - mean) / std @ coef.T + b  ==  f @ (coef / std).T + (b - (coef / std) @ mean)
    weight = model.coef_ / std
    bias = model.intercept_ - weight @ mean
    return weight.astype(np.float32), bias.astype(np.float32)


def build(model_dir: Path) -> list[InvokeArgs]:
    """Write the fitted ONNX graph into ``model_dir`` and return the sample requests."""
    import onnx

    onnx.save_model(train_classifier(), str(model_dir / MODEL_FILE))
    return sample_requests()


def sample_requests() -> list[InvokeArgs]:
    """JSON requests of fresh images, pixel values rounded to three decimals (under 1 MB each)."""
    total = sum(int(np.prod(shape)) for shape in _REQUEST_SHAPES)
    images, _ = synthetic_images(total, REQUEST_SEED)
    requests: list[InvokeArgs] = []
    start = 0
    for shape in _REQUEST_SHAPES:
        count = int(np.prod(shape))
        batch = images[start : start + count].reshape(*shape, *images.shape[1:])
        body = json.dumps(np.round(batch.astype(np.float64), 3).tolist(), separators=(",", ":"))
        requests.append(
            {"Body": body, "ContentType": "application/json", "Accept": "application/json"}
        )
        start += count
    return requests


SPEC = ExampleSpec(
    name="image-classifier",
    description="ONNX CNN naming 3x128x128 synthetic textures (5 classes, JSON pixel arrays)",
    model_file=MODEL_FILE,
    build=build,
)

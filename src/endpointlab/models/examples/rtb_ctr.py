"""The ``rtb-ctr`` example: an XGBoost click-through model for real-time bidding.

A ``binary:logistic`` Booster trained on synthetic bid requests (see ``bids``), saved as UBJ.
Requests are CSV rows of the 30 features; the answer is one click probability per row.
A single-row ``inplace_predict`` on one thread took about 0.42 ms when measured (AMD EPYC Zen 5).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from endpointlab.models.examples.bids import FloatArray, synthetic_bid_requests
from endpointlab.models.examples.spec import ExampleSpec, InvokeArgs

MODEL_FILE = "xgboost-model.ubj"
# Median single-row predict on one thread, measured with ``measure_predict_latency``.
MEASURED_LATENCY_MS = 0.42
TRAIN_ROWS = 50_000
# Many small, regularised trees: enough work per row for a realistic sub-millisecond latency,
# a slow learning rate so that they do not overfit the label noise.
BOOST_ROUNDS = 1400
TRAIN_SEED = 20240601
REQUEST_SEED = 7
PARAMS: Mapping[str, str | int | float] = MappingProxyType(
    {
        "objective": "binary:logistic",
        "eval_metric": "logloss",
        "tree_method": "hist",
        "max_bin": 32,
        "max_depth": 6,
        "eta": 0.008,
        "min_child_weight": 12.0,
        "lambda": 5.0,
        "subsample": 0.7,
        "colsample_bytree": 0.7,
        "seed": 0,
        # One thread: the model cannot depend on the core count, and training does not stall in
        # OpenMP barriers when other processes share the cores (two threads barely help here).
        "nthread": 1,
    }
)
# Row counts of the sample requests and the Accept each one sends (None: no Accept header).
_REQUEST_PLAN: tuple[tuple[int, str | None], ...] = (
    *((1, "text/csv") for _ in range(10)),
    *((1, "application/json") for _ in range(6)),
    (1, None),
    (1, None),
    (1, "*/*"),
    (3, "text/csv"),
    (5, "application/json"),
    (8, "text/csv"),
    (16, None),
    (2, "application/json"),
)


def train_booster(rows: int = TRAIN_ROWS, rounds: int = BOOST_ROUNDS) -> Any:
    """Train the click model on synthetic bid requests; returns an ``xgboost.Booster``."""
    import xgboost

    data = synthetic_bid_requests(rows, TRAIN_SEED)
    matrix = xgboost.DMatrix(data.features.astype(np.float32), label=data.clicked)
    return xgboost.train(dict(PARAMS), matrix, num_boost_round=rounds)


def build(model_dir: Path) -> list[InvokeArgs]:
    """Write the trained Booster into ``model_dir`` and return the sample requests."""
    booster = train_booster()
    booster.save_model(str(model_dir / MODEL_FILE))
    return sample_requests()


def sample_requests() -> list[InvokeArgs]:
    """CSV requests of fresh bid requests: mostly single rows, a few small batches."""
    total = sum(rows for rows, _ in _REQUEST_PLAN)
    features = synthetic_bid_requests(total, REQUEST_SEED).features
    requests: list[InvokeArgs] = []
    start = 0
    for rows, accept in _REQUEST_PLAN:
        args: InvokeArgs = {"Body": _csv(features[start : start + rows]), "ContentType": "text/csv"}
        if accept is not None:
            args["Accept"] = accept
        requests.append(args)
        start += rows
    return requests


def _csv(rows: FloatArray) -> str:
    return "".join(",".join(_number(value) for value in row) + "\n" for row in rows.tolist())


def _number(value: float) -> str:
    return np.format_float_positional(value, precision=5, trim="-")


SPEC = ExampleSpec(
    name="rtb-ctr",
    description="XGBoost click-through probability for real-time bids (30 tabular features, CSV)",
    model_file=MODEL_FILE,
    build=build,
)

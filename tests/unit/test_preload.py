"""What a container imports before forking its workers (models/preload.py): what the model's code
imports and what its built-in model file loads with, nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from endpointlab.models.preload import libraries_for


def model(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        # Code that loads its own model: the heavy libraries it imports, in any of its modules.
        ({"code/inference.py": "import json, os\ndef model_fn(d): return 1\n"}, ["numpy"]),
        (
            {
                "code/inference.py": "import helpers\nimport xgboost as xgb\n"
                "def model_fn(d): return 1\n",
                "code/helpers.py": "from sklearn.linear_model import LogisticRegression\n"
                "from . import other\n",
            },
            ["numpy", "sklearn.linear_model", "xgboost"],
        ),
        (
            {"code/inference.py": "def model_fn(d):\n    import onnxruntime\n"},
            ["numpy", "onnxruntime"],
        ),
        # Built-in loading (no model_fn): the library of the model file.
        ({"xgboost-model": "x"}, ["numpy", "xgboost"]),
        ({"model.onnx": "x"}, ["numpy", "onnxruntime"]),
        (
            {"model.joblib": "x", "code/inference.py": "def input_fn(b, c): return b\n"},
            ["numpy", "joblib", "sklearn.ensemble", "sklearn.linear_model"],
        ),
        # Code the parser cannot read is left to the worker, which reports it.
        ({"code/inference.py": "def model_fn(:\n", "model.onnx": "x"}, ["numpy", "onnxruntime"]),
        ({}, ["numpy"]),
    ],
)
def test_the_container_preloads_what_the_model_needs(
    tmp_path: Path, files: dict[str, str], expected: list[str]
) -> None:
    assert sorted(libraries_for(model(tmp_path, files), {})) == sorted(expected)


def test_sagemaker_program_names_the_module_that_defines_model_fn(tmp_path: Path) -> None:
    files = {"code/serve.py": "def model_fn(d): return 1\n", "xgboost-model": "x"}
    assert libraries_for(model(tmp_path, files), {"SAGEMAKER_PROGRAM": "serve.py"}) == ["numpy"]
    assert libraries_for(tmp_path, {}) == ["numpy", "xgboost"]  # inference.py is absent

"""Which heavy libraries a container imports before it forks its workers, for one model.

Forked workers share what their parent imported, so a library imported once in the parent costs
each worker nothing. Importing every library a model might use costs seconds of start-up for a
model that uses none of them (XGBoost alone pulls in scikit-learn, SciPy and pandas), so the
parent imports what this model needs: the libraries its code imports (read with ``ast``, never
run) and the one its built-in model file loads with. Whatever else the model imports at run time
is imported by each worker after the fork, as on SageMaker's own containers.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
from collections.abc import Mapping
from pathlib import Path

# The libraries worth importing ahead, and what each built-in model kind loads with.
HEAVY = ("numpy", "joblib", "sklearn", "xgboost", "onnxruntime", "scipy", "pandas", "torch")
FOR_BUILTIN = {
    "onnx": ("onnxruntime",),
    "xgboost": ("xgboost",),
    "pickle": ("joblib", "sklearn.ensemble", "sklearn.linear_model"),
}


def libraries_for(model_dir: Path, environment: Mapping[str, str]) -> list[str]:
    """The modules to import before forking the workers of the model in ``model_dir``."""
    from endpointlab.models.builtin import find_model_kind

    wanted = ["numpy"]  # the codecs use it for every model
    code_dir = model_dir / "code"
    program = environment.get("SAGEMAKER_PROGRAM") or "inference.py"
    user_code = code_dir / (program if program.endswith(".py") else f"{program}.py")
    sources = sorted(code_dir.rglob("*.py")) if code_dir.is_dir() else []
    trees = {source: _tree(source) for source in sources}  # each file read and parsed once
    for tree in trees.values():
        wanted += [name for name in _imported(tree) if name.split(".")[0] in HEAVY]
    if "model_fn" not in _defined(trees.get(user_code)):
        kind = find_model_kind(model_dir)
        wanted += FOR_BUILTIN.get(kind, ()) if kind is not None else ()
    return list(dict.fromkeys(wanted))


def preload(model_dir: Path, environment: Mapping[str, str]) -> None:
    """Import what ``libraries_for`` names; one that fails to import is left to the workers."""
    for name in libraries_for(model_dir, environment):
        with contextlib.suppress(Exception):
            importlib.import_module(name)


def _tree(source: Path) -> ast.Module | None:
    try:
        return ast.parse(source.read_bytes(), filename=str(source))
    except (SyntaxError, ValueError, OSError):
        return None  # the worker reports it when it imports the module


def _imported(tree: ast.Module | None) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree) if tree is not None else ():
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _defined(tree: ast.Module | None) -> set[str]:
    body = tree.body if tree is not None else []
    return {node.name for node in body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}

"""The example models for tests: built once, then shared by every test and every later session.

Building ``rtb-ctr`` and ``image-classifier`` trains an XGBoost model and a CNN (several seconds
each on two cores). Tests only read the archives, so they share one build, cached under
``build/test-cache/`` and keyed on everything that determines the bytes: the source of
``endpointlab.models`` and the versions of Python and of the libraries that train and serialise.
A changed key builds afresh; a lock per example keeps concurrent pytest runs (and xdist's
workers) from building the same example twice.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import os
import shutil
import sys
import tempfile
from pathlib import Path

import endpointlab.models
from endpointlab.models.examples import BuiltExample, build_examples, get_example, list_examples
from endpointlab.models.examples.registry import ARCHIVE_NAME, INVOKE_ARGS_NAME

CACHE_ROOT = Path(__file__).resolve().parent.parent / "build" / "test-cache"
LIBRARIES = ("numpy", "xgboost-cpu", "scikit-learn", "onnx", "onnxruntime")

_memo: dict[str, BuiltExample] = {}


def cache_key() -> str:
    """A digest of what decides the built bytes: our model code, Python and library versions."""
    digest = hashlib.sha256()
    package = Path(endpointlab.models.__file__).resolve().parent
    for source in sorted(package.rglob("*.py")):
        digest.update(str(source.relative_to(package)).encode())
        digest.update(source.read_bytes())
    digest.update(sys.version.encode())
    for library in LIBRARIES:
        digest.update(f"{library}=={importlib.metadata.version(library)}".encode())
    return digest.hexdigest()[:16]


def example_model(name: str) -> BuiltExample:
    """The built example ``name`` (ValueError for an unknown one), from the cache when it can."""
    if name not in _memo:
        current = CACHE_ROOT / f"examples-{cache_key()}"
        if not current.exists():  # builds for code or libraries that are no more
            for stale in CACHE_ROOT.glob("examples-*"):
                if stale != current:  # another worker may have just begun it
                    shutil.rmtree(stale, ignore_errors=True)
        _memo[name] = _cached(name, current)
    return _memo[name]


def example_models() -> dict[str, BuiltExample]:
    """Every example model, by name."""
    return {spec.name: example_model(spec.name) for spec in list_examples()}


def _cached(name: str, root: Path) -> BuiltExample:
    root.mkdir(parents=True, exist_ok=True)
    # One lock per example: a test waiting for one never waits for another's build.
    with (root / f".{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = root / name
        if not (done / ARCHIVE_NAME).is_file() or not (done / INVOKE_ARGS_NAME).is_file():
            # Build beside the cache, then rename: an interrupted build never looks complete.
            staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
            try:
                build_examples(staging, [name])
                shutil.rmtree(done, ignore_errors=True)
                os.replace(staging / name, done)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    archive, invoke_args = done / ARCHIVE_NAME, done / INVOKE_ARGS_NAME
    spec = get_example(name)
    return BuiltExample(
        name=name,
        archive=archive,
        invoke_args=invoke_args,
        model_file=spec.model_file,
        request_count=sum(1 for line in invoke_args.read_text().splitlines() if line.strip()),
        archive_bytes=archive.stat().st_size,
        build_seconds=0.0,
    )

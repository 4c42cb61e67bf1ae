"""The registry of example models and the function that builds them into deployable artifacts.

``build_examples`` writes, for each example, ``<out>/<name>/model.tar.gz`` (model files at the
archive root, as SageMaker expects) and ``<out>/<name>/invoke_args.jsonl`` (one InvokeEndpoint
argument set per line). Everything comes from seeded synthetic data: no downloads.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from endpointlab.models.artifact import pack_model_dir
from endpointlab.models.examples import image_classifier, rtb_ctr
from endpointlab.models.examples.spec import BuiltExample, ExampleSpec

EXAMPLES: tuple[ExampleSpec, ...] = (rtb_ctr.SPEC, image_classifier.SPEC)
ARCHIVE_NAME = "model.tar.gz"
INVOKE_ARGS_NAME = "invoke_args.jsonl"


def list_examples() -> list[ExampleSpec]:
    """Every example model, in a stable order."""
    return list(EXAMPLES)


def get_example(name: str) -> ExampleSpec:
    """The example called ``name``; ValueError naming the known examples otherwise."""
    for spec in EXAMPLES:
        if spec.name == name:
            return spec
    known = ", ".join(spec.name for spec in EXAMPLES)
    raise ValueError(f"unknown example model {name!r}; known examples: {known}")


def build_examples(out_dir: Path, names: Sequence[str] | None = None) -> list[BuiltExample]:
    """Build the named examples (all when ``names`` is None) under ``out_dir``.

    Every name is checked before anything is built. Building is deterministic: the same
    library versions give the same models and requests.
    """
    if isinstance(names, str):
        raise TypeError("names must be a sequence of example names, not a single string")
    specs = list(EXAMPLES) if names is None else [get_example(name) for name in names]
    unique = list({spec.name: spec for spec in specs}.values())
    return [_build_one(spec, out_dir / spec.name) for spec in unique]


def _build_one(spec: ExampleSpec, example_dir: Path) -> BuiltExample:
    started = time.perf_counter()
    example_dir.mkdir(parents=True, exist_ok=True)
    archive = example_dir / ARCHIVE_NAME
    with tempfile.TemporaryDirectory(prefix=f"endpointlab-{spec.name}-") as staging:
        requests = spec.build(Path(staging))
        pack_model_dir(Path(staging), archive)
    invoke_args = example_dir / INVOKE_ARGS_NAME
    lines = (json.dumps(request, separators=(",", ":")) + "\n" for request in requests)
    invoke_args.write_text("".join(lines), encoding="utf-8")
    return BuiltExample(
        name=spec.name,
        archive=archive,
        invoke_args=invoke_args,
        model_file=spec.model_file,
        request_count=len(requests),
        archive_bytes=archive.stat().st_size,
        build_seconds=time.perf_counter() - started,
    )

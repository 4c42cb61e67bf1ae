"""Example models: built from synthetic data into loadable, deterministic artifacts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from endpointlab.models import codecs
from endpointlab.models.artifact import extract_model_archive
from endpointlab.models.builtin import load_builtin_model
from endpointlab.models.examples import (
    BuiltExample,
    build_examples,
    list_examples,
    measure_predict_latency,
)
from endpointlab.models.examples.bids import synthetic_bid_requests
from endpointlab.models.examples.images import CLASS_NAMES, synthetic_images
from tests.example_models import example_models

NAMES = ("rtb-ctr", "image-classifier")
KINDS = {"rtb-ctr": "xgboost", "image-classifier": "onnx"}


@pytest.fixture(scope="module")
def built() -> dict[str, BuiltExample]:
    """The examples as every test uses them: built by ``build_examples``, once, then cached."""
    return example_models()


@pytest.fixture(scope="module")
def model_dirs(
    built: dict[str, BuiltExample], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("extracted")
    return {name: extract_model_archive(b.archive, root / name) for name, b in built.items()}


def invoke_args(example: BuiltExample) -> list[dict[str, Any]]:
    lines = example.invoke_args.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_list_examples_names_both_with_one_line_descriptions() -> None:
    specs = list_examples()
    assert [spec.name for spec in specs] == list(NAMES)
    for spec in specs:
        assert spec.description
        assert "\n" not in spec.description


def test_build_writes_an_archive_and_invoke_args_per_example(
    built: dict[str, BuiltExample],
) -> None:
    assert sorted(built) == sorted(NAMES)
    for name, example in built.items():
        assert example.archive == example.archive.parent / "model.tar.gz"
        assert example.archive.parent.name == name
        assert example.invoke_args == example.archive.parent / "invoke_args.jsonl"
        assert example.archive_bytes == example.archive.stat().st_size > 0
        assert example.request_count == len(invoke_args(example)) >= 20


def test_archives_hold_only_the_model_file_at_their_root(
    built: dict[str, BuiltExample], model_dirs: dict[str, Path]
) -> None:
    for name, model_dir in model_dirs.items():
        assert [path.name for path in model_dir.iterdir()] == [built[name].model_file]


@pytest.mark.parametrize("name", NAMES)
def test_archives_load_with_the_builtin_loader(name: str, model_dirs: dict[str, Path]) -> None:
    model = load_builtin_model(model_dirs[name], threads=1)
    assert model.kind == KINDS[name]


@pytest.mark.parametrize("name", NAMES)
def test_every_sample_request_predicts_probabilities(
    name: str, built: dict[str, BuiltExample], model_dirs: dict[str, Path]
) -> None:
    model = load_builtin_model(model_dirs[name], threads=1)
    for args in invoke_args(built[name]):
        assert {"Body", "ContentType"} <= set(args) <= {"Body", "ContentType", "Accept"}
        assert isinstance(args["Body"], str)
        assert len(args["Body"].encode("utf-8")) < 1_000_000
        data = codecs.decode(args["Body"], args["ContentType"])
        prediction = np.asarray(model.predict(data))
        if name == "rtb-ctr":
            assert prediction.shape == (data.shape[0],)
        else:
            batch = data.shape[0] if data.ndim == 4 else 1
            assert prediction.shape == (batch, len(CLASS_NAMES))
            assert np.allclose(prediction.sum(axis=1), 1.0, atol=1e-5)
        assert np.all((prediction >= 0.0) & (prediction <= 1.0))
        accept = codecs.negotiate(args.get("Accept"), codecs.JSON, codecs.ENCODABLE)
        assert codecs.encode(prediction, accept)


def test_rtb_requests_mix_single_rows_batches_and_accept_types(
    built: dict[str, BuiltExample],
) -> None:
    requests = invoke_args(built["rtb-ctr"])
    assert {args["ContentType"] for args in requests} == {"text/csv"}
    rows = [len(args["Body"].splitlines()) for args in requests]
    assert sum(count == 1 for count in rows) > len(rows) / 2
    assert max(rows) > 1
    accepts = {args.get("Accept") for args in requests}
    assert {"text/csv", "application/json", None} <= accepts
    assert all(
        len(line.split(",")) == 30 for args in requests for line in args["Body"].splitlines()
    )


def test_image_requests_are_json_images_with_and_without_a_batch_axis(
    built: dict[str, BuiltExample],
) -> None:
    requests = invoke_args(built["image-classifier"])
    shapes = {codecs.decode(args["Body"], args["ContentType"]).shape for args in requests}
    assert (3, 128, 128) in shapes
    assert (1, 3, 128, 128) in shapes
    assert {args["Accept"] for args in requests} == {"application/json"}


def test_rtb_ctr_tracks_the_ground_truth_click_probability(model_dirs: dict[str, Path]) -> None:
    model = load_builtin_model(model_dirs["rtb-ctr"], threads=1)
    fresh = synthetic_bid_requests(5000, seed=4242)
    predicted = np.asarray(model.predict(fresh.features), dtype=np.float64)
    assert np.corrcoef(predicted, fresh.click_probability)[0, 1] > 0.6
    assert predicted.mean() == pytest.approx(fresh.click_probability.mean(), rel=0.25)


def test_image_classifier_names_fresh_images_well_above_chance(
    model_dirs: dict[str, Path],
) -> None:
    model = load_builtin_model(model_dirs["image-classifier"], threads=2)
    images, labels = synthetic_images(60, seed=90210)
    predicted = np.asarray(model.predict(images)).argmax(axis=1)
    accuracy = float(np.mean(predicted == labels))
    assert accuracy > 0.7, f"accuracy {accuracy:.2f}, chance is {1 / len(CLASS_NAMES):.2f}"
    assert set(predicted.tolist()) == set(range(len(CLASS_NAMES)))


def test_unknown_example_name_is_a_value_error_listing_the_known_names(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no-such-model") as raised:
        build_examples(tmp_path, names=["rtb-ctr", "no-such-model"])
    assert all(name in str(raised.value) for name in NAMES)
    assert list(tmp_path.iterdir()) == []


def test_measured_latency_of_the_cnn_far_exceeds_the_click_model(
    built: dict[str, BuiltExample], model_dirs: dict[str, Path]
) -> None:
    rtb = measure_predict_latency(
        model_dirs["rtb-ctr"], invoke_args(built["rtb-ctr"])[0], threads=1, repeats=20
    )
    cnn = measure_predict_latency(
        model_dirs["image-classifier"],
        invoke_args(built["image-classifier"])[0],
        threads=1,
        repeats=3,
        warmup=1,
    )
    assert 0.0 < rtb < cnn

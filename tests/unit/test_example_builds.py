"""Example models build deterministically: a fresh build of every example equals the cached one.

Apart from tests/unit/test_examples.py so that, with ``pytest -n 2 --dist loadfile``, its two
trainings can run beside that file's other slow tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from endpointlab.models.examples import BuiltExample, build_examples
from tests.example_models import example_models

NAMES = ("rtb-ctr", "image-classifier")


@pytest.fixture(scope="module")
def built() -> dict[str, BuiltExample]:
    """The examples as every test uses them: built by ``build_examples``, once, then cached."""
    return example_models()


@pytest.mark.slow
@pytest.mark.timeout(360)  # two trainings: several minutes on a loaded shared host
def test_building_twice_gives_identical_archives_and_requests(
    built: dict[str, BuiltExample], tmp_path: Path
) -> None:
    """One fresh build of every example, in the reverse order, against the cached build."""
    again = build_examples(tmp_path, names=list(reversed(NAMES)))
    assert [example.name for example in again] == list(reversed(NAMES))
    for example in again:
        first = built[example.name]
        assert example.archive.read_bytes() == first.archive.read_bytes()
        assert example.invoke_args.read_bytes() == first.invoke_args.read_bytes()

"""Load shapes are pure: parameters (and a seed) in, send times out."""

from __future__ import annotations

import itertools
import json
import statistics
from pathlib import Path

import pytest

from endpointlab.loadgen.shapes import (
    Arrival,
    Burst,
    ClosedLoop,
    OpenLoop,
    Phase,
    ShapeError,
    choose_shape,
    phases_from_file,
    phases_from_mapping,
    schedule,
)


def test_a_constant_rate_spaces_requests_evenly() -> None:
    sends = list(schedule(OpenLoop.constant(100, 10.0)))
    assert len(sends) == 1000
    assert [s.at for s in sends[:3]] == pytest.approx([0.0, 0.01, 0.02])
    assert sends[-1].at == pytest.approx(9.99)


def test_poisson_arrivals_are_seeded_and_average_the_rate() -> None:
    shape = OpenLoop.constant(200, 50.0, Arrival.POISSON, seed=3)
    first, second = list(schedule(shape)), list(schedule(shape))
    assert first == second
    assert len(first) == pytest.approx(10_000, rel=0.03)
    gaps = [b.at - a.at for a, b in itertools.pairwise(first)]
    # Exponential gaps: the standard deviation equals the mean.
    assert statistics.stdev(gaps) == pytest.approx(statistics.mean(gaps), rel=0.05)
    assert list(schedule(OpenLoop.constant(200, 50.0, Arrival.POISSON, seed=4))) != first


def test_a_ramp_sends_the_area_under_its_rate() -> None:
    ramp = OpenLoop((Phase("ramp", 10.0, 0.0, 100.0),))
    sends = list(schedule(ramp))
    assert len(sends) == 500  # (0 + 100) / 2 * 10
    first_half = sum(1 for s in sends if s.at < 5.0)
    assert first_half == 125  # a quarter of the area lies under the first half of a ramp
    assert all(b.at > a.at for a, b in itertools.pairwise(sends))


def test_phases_run_in_sequence_with_their_names() -> None:
    shape = OpenLoop(
        (Phase("warm", 2.0, 10.0, 10.0), Phase("spike", 1.0, 100.0, 100.0), Phase("off", 1.0, 0, 0))
    )
    sends = list(schedule(shape))
    names = [s.phase for s in sends]
    assert names.count("warm") == 20 and names.count("spike") == 100 and "off" not in names
    assert min(s.at for s in sends if s.phase == "spike") == pytest.approx(2.0)
    assert shape.duration_s == 4.0


def test_a_phases_file_reads_as_yaml_or_json(tmp_path: Path) -> None:
    text = """
arrival: poisson
seed: 9
phases:
  - {name: warm, duration: 30s, rate: 5}
  - {name: ramp, duration: 1m, rate: [5, 50]}
  - {duration: 10, rate: 200}
"""
    (tmp_path / "p.yaml").write_text(text)
    shape = phases_from_file(tmp_path / "p.yaml")
    assert shape.arrival is Arrival.POISSON and shape.seed == 9
    assert shape.phases == (
        Phase("warm", 30.0, 5.0, 5.0),
        Phase("ramp", 60.0, 5.0, 50.0),
        Phase("phase-3", 10.0, 200.0, 200.0),
    )
    (tmp_path / "p.json").write_text(json.dumps({"phases": [{"duration": 2, "rate": 3}]}))
    assert phases_from_file(tmp_path / "p.json").phases == (Phase("phase-1", 2.0, 3.0, 3.0),)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"phases": "x"}, "'phases' list"),
        ({"phases": [{"rate": 3}]}, "needs a duration and a rate"),
        ({"phases": [{"duration": "soon", "rate": 3}]}, "not a duration"),
        ({"phases": [{"duration": 1, "rate": [1, 2, 3]}]}, "rate is a number or"),
        ({"phases": [{"duration": 1, "rate": -1}]}, "cannot be negative"),
        ({"phases": [{"duration": 1, "rate": 1}], "arrival": "bursty"}, "'constant' or"),
        ({"phases": []}, "at least one phase"),
    ],
)
def test_bad_phases_say_what_is_wrong(data: object, message: str) -> None:
    with pytest.raises(ShapeError, match=message):
        phases_from_mapping(data)


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(ShapeError):
        Burst(0)
    with pytest.raises(ShapeError):
        ClosedLoop(0, 10.0)
    with pytest.raises(ShapeError):
        ClosedLoop(1, 10.0, think_s=-1)
    with pytest.raises(ShapeError):
        OpenLoop.constant(0, 10.0)


def test_the_command_line_names_one_shape() -> None:
    assert choose_shape(requests=5) == Burst(5)
    assert choose_shape(clients=3, duration="1m", think_s=0.5) == ClosedLoop(3, 60.0, 0.5)
    assert choose_shape(rate=10, duration="5", arrival="poisson", seed=2) == OpenLoop(
        (Phase("", 5.0, 10.0, 10.0),), Arrival.POISSON, 2
    )
    for bad in ({}, {"requests": 1, "rate": 2.0}, {"rate": 2.0}, {"requests": 1, "duration": "1"}):
        with pytest.raises(ShapeError):
            choose_shape(**bad)  # type: ignore[arg-type]

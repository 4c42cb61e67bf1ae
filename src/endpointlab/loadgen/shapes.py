"""Load shapes as pure functions: parameters (and a seeded RNG) in, send times out.

Open-loop schedules come from one rule: a phase has an arrival rate that runs linearly from
``start_rate`` to ``end_rate`` over its duration; arrival k falls where the expected count
reaches k (constant arrivals) or the k-th event of a unit Poisson process (Poisson arrivals).
Steps are constant phases in sequence, ramps phases whose rates differ, spikes short high ones.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml


class ShapeError(ValueError):
    """A load shape that cannot be run; the message says which parameter and why."""


class Arrival(StrEnum):
    CONSTANT = "constant"
    POISSON = "poisson"


@dataclass(frozen=True)
class Burst:
    """N requests released at once, one per client."""

    requests: int

    def __post_init__(self) -> None:
        if self.requests < 1:
            raise ShapeError("a burst needs at least 1 request")


@dataclass(frozen=True)
class ClosedLoop:
    """N clients, each sending its next request when the previous ends (after think time)."""

    clients: int
    duration_s: float
    think_s: float = 0.0

    def __post_init__(self) -> None:
        if self.clients < 1:
            raise ShapeError("a closed loop needs at least 1 client")
        if not self.duration_s > 0:
            raise ShapeError("the duration must be positive")
        if self.think_s < 0:
            raise ShapeError("the think time cannot be negative")


@dataclass(frozen=True)
class Phase:
    """An open-loop stretch: the rate runs linearly from ``start_rate`` to ``end_rate``."""

    name: str
    duration_s: float
    start_rate: float
    end_rate: float

    def __post_init__(self) -> None:
        if not self.duration_s > 0:
            raise ShapeError(f"phase {self.name!r}: the duration must be positive")
        if self.start_rate < 0 or self.end_rate < 0:
            raise ShapeError(f"phase {self.name!r}: rates cannot be negative")

    def offset_of(self, count: float) -> float | None:
        """When the expected number of arrivals since the phase began reaches ``count``."""
        r0, r1, d = self.start_rate, self.end_rate, self.duration_s
        slope = (r1 - r0) / d
        if count > (r0 + r1) * d / 2:
            return None
        if abs(slope) < 1e-12:
            return count / r0 if r0 > 0 else None
        # r0 t + slope t^2 / 2 = count: the root that lies in [0, d].
        discriminant = max(0.0, r0 * r0 + 2 * slope * count)
        return (math.sqrt(discriminant) - r0) / slope


@dataclass(frozen=True)
class OpenLoop:
    """Requests at set times whatever the endpoint does: phases in sequence."""

    phases: tuple[Phase, ...]
    arrival: Arrival = Arrival.CONSTANT
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.phases:
            raise ShapeError("an open loop needs at least one phase")

    @classmethod
    def constant(
        cls, rate: float, duration_s: float, arrival: Arrival = Arrival.CONSTANT, seed: int = 0
    ) -> OpenLoop:
        if not rate > 0:
            raise ShapeError("the rate must be positive")
        return cls((Phase("", duration_s, rate, rate),), arrival, seed)

    @property
    def duration_s(self) -> float:
        return sum(p.duration_s for p in self.phases)


@dataclass(frozen=True)
class Send:
    """One scheduled request: its offset from the start of the run (s) and its phase."""

    at: float
    phase: str


def schedule(shape: OpenLoop) -> Iterator[Send]:
    """The send times of an open loop, in order (lazily: long runs need no big list)."""
    rng = random.Random(shape.seed)
    begin = 0.0
    for phase in shape.phases:
        count = 0.0
        while True:
            if shape.arrival is Arrival.POISSON:
                count += rng.expovariate(1.0)
            offset = phase.offset_of(count)
            if offset is None or offset >= phase.duration_s:
                break
            yield Send(begin + offset, phase.name)
            if shape.arrival is Arrival.CONSTANT:
                count += 1.0
        begin += phase.duration_s


def parse_duration(value: Any, what: str) -> float:
    """Seconds from a number or a string with s/m/h (``90``, ``"30s"``, ``"2m"``)."""
    units = {"s": 1.0, "m": 60.0, "h": 3600.0}
    text = str(value).strip().lower()
    scale = units.get(text[-1:])
    try:
        seconds = float(text[:-1] if scale else text) * (scale or 1.0)
    except ValueError:
        raise ShapeError(f"{what}: {value!r} is not a duration (e.g. 30, 30s, 2m)") from None
    if not seconds > 0 or math.isinf(seconds):
        raise ShapeError(f"{what}: the duration must be positive")
    return seconds


def phases_from_file(path: Path) -> OpenLoop:
    """An open loop from a YAML or JSON phases file (see ``phases_from_mapping``)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ShapeError(f"cannot read the phases file {path}: {exc.strerror}") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ShapeError(
            f"{path} is not valid {path.suffix.lstrip('.') or 'YAML'}: {exc}"
        ) from None
    return phases_from_mapping(data)


def phases_from_mapping(data: Any) -> OpenLoop:
    """``{"arrival": "poisson", "seed": 1, "phases": [{"name": "warm", "duration": "30s",
    "rate": 10}, {"duration": 60, "rate": [10, 100]}]}``: a list rate is a ramp."""
    if not isinstance(data, Mapping) or not isinstance(data.get("phases"), list | tuple):
        raise ShapeError("a phases file is a mapping with a 'phases' list")
    phases = []
    for index, item in enumerate(data["phases"], start=1):
        if not isinstance(item, Mapping):
            raise ShapeError(f"phase {index} is not a mapping")
        name = str(item.get("name", f"phase-{index}"))
        if "duration" not in item or "rate" not in item:
            raise ShapeError(f"phase {name!r} needs a duration and a rate")
        rate = item["rate"]
        rates = rate if isinstance(rate, list) else [rate, rate]
        if len(rates) != 2 or not all(_is_number(r) for r in rates):
            raise ShapeError(f"phase {name!r}: rate is a number or [from, to]")
        duration = parse_duration(item["duration"], f"phase {name!r}")
        phases.append(Phase(name, duration, float(rates[0]), float(rates[1])))
    try:
        arrival = Arrival(str(data.get("arrival", "constant")))
    except ValueError:
        raise ShapeError("arrival is 'constant' or 'poisson'") from None
    seed = data.get("seed", 0)
    if not isinstance(seed, int):
        raise ShapeError("seed is an integer")
    return OpenLoop(tuple(phases), arrival, seed)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def choose_shape(
    requests: int | None = None,
    clients: int | None = None,
    rate: float | None = None,
    duration: str | None = None,
    think_s: float = 0.0,
    arrival: str = "constant",
    seed: int = 0,
    phases: Path | None = None,
) -> Burst | ClosedLoop | OpenLoop:
    """The one shape the command-line options name (ShapeError if none, several or half of one)."""
    chosen = [
        name
        for name, value in (
            ("-n", requests),
            ("--clients", clients),
            ("--rate", rate),
            ("--phases", phases),
        )
        if value is not None
    ]
    if len(chosen) != 1:
        raise ShapeError("pass one load shape: -n N, --clients N, --rate R or --phases FILE")
    if phases is not None:
        if duration is not None:
            raise ShapeError("--phases sets its own durations; drop --duration")
        return phases_from_file(phases)
    if requests is not None:
        if duration is not None:
            raise ShapeError("a burst (-n) has no --duration")
        return Burst(requests)
    if duration is None:
        raise ShapeError(f"{chosen[0]} needs --duration")
    seconds = parse_duration(duration, "--duration")
    if clients is not None:
        return ClosedLoop(clients, seconds, think_s)
    assert rate is not None
    try:
        chosen_arrival = Arrival(arrival)
    except ValueError:
        raise ShapeError("arrival is 'constant' or 'poisson'") from None
    return OpenLoop.constant(rate, seconds, chosen_arrival, seed)


def peak_size(shape: Burst | ClosedLoop | OpenLoop) -> float:
    """A shape's size: requests of a burst, clients of a closed loop, peak rate of an open one."""
    if isinstance(shape, Burst):
        return float(shape.requests)
    if isinstance(shape, ClosedLoop):
        return float(shape.clients)
    return max(max(p.start_rate, p.end_rate) for p in shape.phases)

"""Scaling decisions as Application Auto Scaling makes them: pure, no clock, no IO.

Step scaling picks the step whose interval (relative to the alarm threshold; lower bound
inclusive, upper exclusive) holds the breach, and adjusts by ChangeInCapacity,
PercentChangeInCapacity (rounded as AAS rounds, at least MinAdjustmentMagnitude) or
ExactCapacity. Target tracking asks for ``ceil(capacity * metric / target)``. ``combine``
scales out if any policy says so and in only if every target-tracking policy that may scale in
agrees, the largest capacity winning; Min/MaxCapacity bound the result.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum


class AdjustmentType(StrEnum):
    CHANGE = "ChangeInCapacity"
    PERCENT = "PercentChangeInCapacity"
    EXACT = "ExactCapacity"


@dataclass(frozen=True)
class Step:
    lower: float | None  # None: minus infinity
    upper: float | None  # None: infinity
    adjustment: int

    def holds(self, breach: float) -> bool:
        above = self.lower is None or breach >= self.lower
        below = self.upper is None or breach < self.upper
        return above and below


@dataclass(frozen=True)
class StepConfig:
    adjustment_type: AdjustmentType
    steps: tuple[Step, ...]
    min_adjustment_magnitude: int | None = None


def step_capacity(config: StepConfig, base: int, breach: float) -> int | None:
    """The capacity a step policy asks for when its alarm's metric is ``breach`` away from the
    threshold, from capacity ``base``; None when no step holds the breach."""
    step = next((s for s in config.steps if s.holds(breach)), None)
    if step is None:
        return None
    if config.adjustment_type is AdjustmentType.EXACT:
        return step.adjustment
    if config.adjustment_type is AdjustmentType.CHANGE:
        return base + step.adjustment
    change = base * step.adjustment / 100
    # AAS rounds a fractional change toward zero, but never to zero: a change between -1 and 1
    # is one unit; MinAdjustmentMagnitude raises small changes further.
    rounded = int(change) if abs(change) >= 1 else (1 if change > 0 else -1 if change < 0 else 0)
    least = config.min_adjustment_magnitude
    if least is not None and rounded != 0 and abs(rounded) < least:
        rounded = least if rounded > 0 else -least
    return base + rounded


def tracking_capacity(capacity: int, metric: float, target: float) -> int:
    """The capacity that brings a per-capacity metric to ``target``. From zero nothing is
    proportional: one unit once the metric exceeds the target (as on AWS, a backlog metric
    alone does not scale an async endpoint out of zero before it exceeds the target)."""
    if capacity == 0:
        return 1 if metric > target else 0
    return max(0, math.ceil(capacity * metric / target - 1e-9))


def clamp(capacity: int, minimum: int, maximum: int) -> int:
    return max(minimum, min(maximum, capacity))


@dataclass(frozen=True)
class Proposal:
    """What one triggered policy asks for, and the words of the activity if it wins."""

    policy: str
    capacity: int
    cause: str
    tracking: bool = False


def combine(
    current: int, proposals: Sequence[Proposal], scale_in_voters: Collection[str]
) -> Proposal | None:
    """The proposal to act on: out if any asks for more (the largest wins), else in if some ask
    for less and every target-tracking policy in ``scale_in_voters`` (those that may scale in)
    is among them (the largest capacity wins); None when nothing changes."""
    outs = [p for p in proposals if p.capacity > current]
    if outs:
        return max(outs, key=lambda p: p.capacity)
    ins = [p for p in proposals if p.capacity < current]
    if not ins:
        return None
    agreeing = {p.policy for p in ins if p.tracking}
    if not set(scale_in_voters) <= agreeing:
        return None
    return max(ins, key=lambda p: p.capacity)


@dataclass(frozen=True)
class Cooldowns:
    """When the target's last scale-out and scale-in completed (epoch seconds, None: never)
    and the capacity the last scale-out started from."""

    last_out_end: float | None = None
    last_in_end: float | None = None
    out_base: int | None = None


def in_cooldown(end: float | None, cooldown_s: float, now: float) -> bool:
    return end is not None and now < end + cooldown_s


def step_decision(
    config: StepConfig,
    current: int,
    breach: float,
    cooldowns: Cooldowns,
    cooldown_s: float,
    now: float,
) -> int | None:
    """What a triggered step policy asks for at ``now``: during a scale-out's cooldown the
    capacity it added counts toward the next scale-out (the step applies to the capacity it
    started from), and no scale-in happens during a scale-in's cooldown."""
    capacity = step_capacity(config, current, breach)
    if capacity is None:
        return None
    if capacity < current:
        return None if in_cooldown(cooldowns.last_in_end, cooldown_s, now) else capacity
    base = cooldowns.out_base
    if (
        capacity > current
        and base is not None
        and in_cooldown(cooldowns.last_out_end, cooldown_s, now)
    ):
        return max(current, step_capacity(config, base, breach) or current)
    return capacity


def tracking_decision(
    current: int,
    metric: float,
    target: float,
    *,
    scale_in: bool,
    cooldowns: Cooldowns,
    scale_in_cooldown_s: float,
    now: float,
) -> int | None:
    """What a target-tracking policy asks for when its AlarmHigh (``scale_in`` False) or
    AlarmLow is in ALARM: never less from AlarmHigh, never more from AlarmLow, and no scale-in
    during a scale-in's cooldown. A scale-out during a scale-out's cooldown happens only if it
    is larger, which a capacity computed from the current one always is."""
    capacity = tracking_capacity(current, metric, target)
    if not scale_in:
        return max(capacity, current)
    if in_cooldown(cooldowns.last_in_end, scale_in_cooldown_s, now):
        return None
    return min(capacity, current)

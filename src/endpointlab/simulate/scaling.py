"""Application Auto Scaling's target tracking as the simulator applies it: pure decisions.

Once per period the policy sees the metric (InvocationsPerInstance for real-time,
ApproximateBacklogSizePerInstance for async) and the in-service capacity. Its high alarm fires
after ``high_periods`` consecutive periods above the target, its low alarm after ``low_periods``
below ``low_ratio`` x target (3 and 15 one-minute periods, 90%: commonly observed, UNCONFIRMED,
so configurable). Desired capacity is ``ceil(capacity x metric / target)`` within min and max.
Scale-out raises the desired capacity whenever that exceeds it (capacity still starting counts
toward it) and ends a scale-in cooldown; scale-in waits for both cooldowns (300 s by default
for SageMaker variants). For async, a step policy on HasBacklogWithoutCapacity starts one
instance from zero after ``zero_periods`` periods with a backlog (AWS's recipe: 2 of 2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class TargetTracking:
    target: float
    min_capacity: int = 1
    max_capacity: int = 1
    scale_out_cooldown_s: float = 300.0
    scale_in_cooldown_s: float = 300.0
    period_s: float = 60.0
    high_periods: int = 3
    low_periods: int = 15
    low_ratio: float = 0.9
    zero_periods: int = 2

    def __post_init__(self) -> None:
        if not self.target > 0:
            raise ValueError("the scaling target must be positive")
        if not 0 <= self.min_capacity <= self.max_capacity or self.max_capacity < 1:
            raise ValueError("capacities need 0 <= min <= max and max >= 1")
        if not self.period_s > 0 or self.high_periods < 1 or self.low_periods < 1:
            raise ValueError("periods must be positive")


class Scaler:
    """The state of one policy: its alarms' counts and its cooldowns."""

    __slots__ = ("_backlogged", "_high", "_in_until", "_low", "_out_until", "desired", "policy")

    def __init__(self, policy: TargetTracking, desired: int) -> None:
        self.policy = policy
        self.desired = desired
        self._high = self._low = self._backlogged = 0
        self._out_until = self._in_until = -math.inf

    def observe(self, now: float, metric: float | None, capacity: int, backlog: float = 0.0) -> int:
        """The desired capacity after one period's datapoint (None: no data, alarms reset)."""
        policy = self.policy
        if capacity == 0:
            self._high = self._low = 0
            self._backlogged = self._backlogged + 1 if backlog > 0 else 0
            if self.desired == 0 and self._backlogged >= policy.zero_periods:
                self._set(1, now, out=True)
            return self.desired
        self._backlogged = 0
        if metric is None:
            self._high = self._low = 0
            return self.desired
        self._high = self._high + 1 if metric > policy.target else 0
        self._low = self._low + 1 if metric < policy.low_ratio * policy.target else 0
        wanted = math.ceil(capacity * metric / policy.target - 1e-9)
        wanted = max(policy.min_capacity, min(policy.max_capacity, wanted))
        if self._high >= policy.high_periods and wanted > self.desired:
            self._set(wanted, now, out=True)
        elif (
            self._low >= policy.low_periods
            and wanted < self.desired
            and now >= self._in_until
            and now >= self._out_until
        ):
            self._set(wanted, now, out=False)
        return self.desired

    def _set(self, desired: int, now: float, *, out: bool) -> None:
        self.desired = desired
        if out:
            self._out_until = now + self.policy.scale_out_cooldown_s
            self._in_until = -math.inf
        else:
            self._in_until = now + self.policy.scale_in_cooldown_s
            self._low = 0

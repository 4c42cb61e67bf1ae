"""The scaling clock: AWS's periods, cooldowns and evaluation intervals, optionally compressed.

``serve --scaling-clock 60`` makes a minute of alarm periods, cooldowns and evaluation pass in
a second, so a day of scaling plays in 24 minutes; request latencies are measured as always.
Periods stay whole seconds (metric samples are per second): a compressed period is at least 1 s.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScalingClock:
    factor: float = 1.0  # how many times faster than AWS

    def seconds(self, aws_seconds: float) -> float:
        """Real seconds for ``aws_seconds`` of AWS time (a cooldown, an interval)."""
        return aws_seconds / self.factor

    def period(self, aws_period: int) -> int:
        """The real length of an alarm period, in whole seconds (at least one)."""
        return max(1, round(aws_period / self.factor))

"""Scaling decisions (autoscaling/policies.py): steps, target tracking, combining policies."""

from __future__ import annotations

from endpointlab.emulator.autoscaling.policies import (
    AdjustmentType,
    Cooldowns,
    Proposal,
    Step,
    StepConfig,
    clamp,
    combine,
    in_cooldown,
    step_capacity,
    step_decision,
    tracking_capacity,
    tracking_decision,
)

STEPS = (Step(None, 0.0, -1), Step(0.0, 10.0, 1), Step(10.0, None, 3))


def test_the_step_holding_the_breach_applies() -> None:
    config = StepConfig(AdjustmentType.CHANGE, STEPS)
    assert step_capacity(config, 2, 0.0) == 3  # lower bound inclusive
    assert step_capacity(config, 2, 9.99) == 3
    assert step_capacity(config, 2, 10.0) == 5  # upper bound exclusive
    assert step_capacity(config, 2, -0.5) == 1
    only_positive = StepConfig(AdjustmentType.CHANGE, (Step(0.0, None, 1),))
    assert step_capacity(only_positive, 2, -1.0) is None


def test_exact_and_percent_adjustments() -> None:
    assert step_capacity(StepConfig(AdjustmentType.EXACT, (Step(0.0, None, 7),)), 2, 1.0) == 7
    percent = StepConfig(AdjustmentType.PERCENT, (Step(0.0, None, 50),))
    assert step_capacity(percent, 10, 1.0) == 15
    assert step_capacity(percent, 3, 1.0) == 4  # 1.5 rounds toward zero
    assert step_capacity(percent, 1, 1.0) == 2  # 0.5 is at least one
    shrink = StepConfig(AdjustmentType.PERCENT, (Step(None, None, -10),), 2)
    assert step_capacity(shrink, 5, 0.0) == 3  # -0.5 -> -1, raised to the magnitude 2


def test_target_tracking_is_proportional() -> None:
    assert tracking_capacity(1, 20.0, 5.0) == 4
    assert tracking_capacity(3, 2.0, 5.0) == 2
    assert tracking_capacity(4, 5.0, 5.0) == 4
    assert tracking_capacity(2, 0.0, 5.0) == 0
    assert tracking_capacity(0, 3.0, 5.0) == 0  # from zero only past the target
    assert tracking_capacity(0, 6.0, 5.0) == 1


def test_out_if_any_in_only_if_all_agree() -> None:
    up = Proposal("a", 5, "a", tracking=True)
    more = Proposal("b", 7, "b", tracking=True)
    down = Proposal("a", 2, "a", tracking=True)
    other_down = Proposal("b", 3, "b", tracking=True)
    assert combine(4, [up, more], {"a", "b"}) == more
    assert combine(4, [down, more], {"a", "b"}) == more  # out wins over in
    assert combine(4, [down], {"a", "b"}) is None  # b does not agree
    assert combine(4, [down, other_down], {"a", "b"}) == other_down  # the larger capacity
    step_down = Proposal("s", 3, "s")
    assert combine(4, [step_down], set()) == step_down
    assert combine(4, [step_down], {"a"}) is None
    assert combine(4, [Proposal("a", 4, "a")], {"a"}) is None


def test_clamp_and_cooldown() -> None:
    assert clamp(9, 1, 5) == 5
    assert clamp(0, 1, 5) == 1
    assert in_cooldown(100.0, 300.0, 399.0)
    assert not in_cooldown(100.0, 300.0, 400.0)
    assert not in_cooldown(None, 300.0, 0.0)


def test_a_step_scale_out_cooldown_counts_the_capacity_it_added() -> None:
    plus_two = StepConfig(AdjustmentType.CHANGE, (Step(0.0, None, 2),))
    after_out = Cooldowns(last_out_end=1000.0, out_base=1)
    # Still in ALARM 60 s after going 1 -> 3: the step applies to 1 again, so nothing more...
    assert step_decision(plus_two, 3, 5.0, after_out, 300.0, 1060.0) == 3
    # ...until the cooldown is over.
    assert step_decision(plus_two, 3, 5.0, after_out, 300.0, 1300.0) == 5
    minus_one = StepConfig(AdjustmentType.CHANGE, (Step(None, 0.0, -1),))
    after_in = Cooldowns(last_in_end=1000.0)
    assert step_decision(minus_one, 3, -2.0, after_in, 300.0, 1100.0) is None
    assert step_decision(minus_one, 3, -2.0, after_in, 300.0, 1300.0) == 2
    assert step_decision(minus_one, 3, -2.0, after_out, 300.0, 1100.0) == 2  # out does not block in


def test_target_tracking_decisions() -> None:
    def decide(current: int, metric: float, *, low: bool, cooldowns: Cooldowns) -> int | None:
        return tracking_decision(
            current, metric, 5.0, scale_in=low, cooldowns=cooldowns,
            scale_in_cooldown_s=300.0, now=100.0,
        )  # fmt: skip

    calm = Cooldowns()
    assert decide(2, 20.0, low=False, cooldowns=calm) == 8
    assert decide(2, 1.0, low=False, cooldowns=calm) == 2  # AlarmHigh never scales in
    assert decide(4, 1.0, low=True, cooldowns=calm) == 1
    assert decide(4, 9.0, low=True, cooldowns=calm) == 4  # AlarmLow never scales out
    assert decide(4, 1.0, low=True, cooldowns=Cooldowns(last_in_end=0.0)) is None

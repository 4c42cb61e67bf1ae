"""The loop that applies scaling: alarms evaluated, policies triggered, capacity changed.

Every tick (10 s of scaling-clock time) the alarms are evaluated; each alarm whose actions are
due triggers the scaling policies its actions name; per scalable target the proposals combine
(out if any, in only if all target-tracking policies agree), Min/MaxCapacity and cooldowns
apply, and the change goes through UpdateEndpointWeightsAndCapacities' path (the endpoint is
Updating meanwhile). An activity is recorded InProgress and completed once the endpoint is back
InService.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from endpointlab.emulator.autoscaling.alarms import AlarmState
from endpointlab.emulator.autoscaling.book import AlarmBook, MetricAlarm
from endpointlab.emulator.autoscaling.clock import ScalingClock
from endpointlab.emulator.autoscaling.policies import (
    Cooldowns,
    Proposal,
    clamp,
    combine,
    step_decision,
    tracking_decision,
)
from endpointlab.emulator.autoscaling.resources import ScalingResources
from endpointlab.emulator.autoscaling.targets import Activity, ScalingPolicy, TargetKey
from endpointlab.emulator.control.lifecycle import Lifecycle
from endpointlab.emulator.errors import ServiceError
from endpointlab.emulator.records import EndpointStatus

log = logging.getLogger(__name__)

TICK_S = 10.0  # AWS time between evaluations
MIN_TICK_S = 0.25


class Autoscaler:
    """Evaluates the alarms and scales the targets, on its own task."""

    def __init__(
        self,
        lifecycle: Lifecycle,
        book: AlarmBook,
        resources: ScalingResources,
        clock: ScalingClock,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._lifecycle = lifecycle
        self._book = book
        self._resources = resources
        self._clock = clock
        self._wall = wall
        self._cooldowns: dict[TargetKey, Cooldowns] = {}
        self._wake = asyncio.Event()

    @property
    def tick_s(self) -> float:
        return max(MIN_TICK_S, self._clock.seconds(TICK_S))

    def wake(self) -> None:
        """Evaluate now (a new alarm, SetAlarmState) rather than at the next tick."""
        self._wake.set()

    async def run(self) -> None:
        """Tick until cancelled; a failing tick is logged and the next one runs."""
        while True:
            try:
                async with asyncio.timeout(self.tick_s):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.tick(self._wall())
            except Exception:
                log.exception("autoscaling tick failed")

    async def tick(self, now: float) -> None:
        self._finish_activities(now)
        proposals: dict[TargetKey, list[Proposal]] = {}
        for alarm in await self._book.evaluate(now):
            for action in alarm.due_actions():
                policy = self._resources.policy_by_arn(action)
                if policy is None:
                    continue
                proposal = self._propose(policy, alarm, now)
                if proposal is not None:
                    proposals.setdefault(policy.key, []).append(proposal)
            self._book.acted(alarm, now)
        for key, items in proposals.items():
            await self._scale(key, items, now)

    # --- proposals ------------------------------------------------------------------------------

    def _current(self, key: TargetKey) -> int | None:
        """The target's capacity, or None while it cannot change (not InService, gone)."""
        try:
            endpoint, state, kind = self._resources.variant(key)
        except ServiceError:
            return None
        if endpoint.status is not EndpointStatus.IN_SERVICE:
            return None
        return kind.capacity(state)

    def _propose(self, policy: ScalingPolicy, alarm: MetricAlarm, now: float) -> Proposal | None:
        current = self._current(policy.key)
        if current is None or policy.key not in self._resources.targets:
            return None
        cause = f"monitor alarm {alarm.name} in state {alarm.state} triggered policy {policy.name}"
        cooldowns = self._cooldowns.get(policy.key, Cooldowns())
        if policy.step is not None:
            value = alarm.last_value
            # SetAlarmState without data: the breach is taken at the threshold.
            breach = 0.0 if value is None else value - alarm.definition.rule.threshold
            cooldown = self._clock.seconds(policy.cooldown_s)
            capacity = step_decision(policy.step, current, breach, cooldowns, cooldown, now)
            return None if capacity is None else Proposal(policy.name, capacity, cause)
        tracking = policy.tracking
        assert tracking is not None
        if alarm.last_value is None or alarm.state is not AlarmState.ALARM:
            return None
        low = alarm.definition.rule.comparison.value.startswith("Less")
        if low and tracking.disable_scale_in:
            return None
        capacity = tracking_decision(
            current,
            alarm.last_value,
            tracking.target,
            scale_in=low,
            cooldowns=cooldowns,
            scale_in_cooldown_s=self._clock.seconds(tracking.scale_in_cooldown_s),
            now=now,
        )
        return None if capacity is None else Proposal(policy.name, capacity, cause, tracking=True)

    def _voters(self, key: TargetKey) -> dict[str, ScalingPolicy]:
        """The target-tracking policies of ``key`` that may scale in (all must agree)."""
        return {
            policy.name: policy
            for (policy_key, _), policy in self._resources.policies.items()
            if policy_key == key and policy.tracking and not policy.tracking.disable_scale_in
        }

    def _low_proposals(self, key: TargetKey, now: float, have: set[str]) -> list[Proposal]:
        """Scale-in proposals of voters whose AlarmLow is in ALARM but was not due this tick."""
        out = []
        for name, policy in self._voters(key).items():
            if name in have:
                continue
            for alarm_name, _ in policy.alarms:
                alarm = self._book.get(alarm_name)
                if alarm is None or alarm.state is not AlarmState.ALARM:
                    continue
                if alarm.definition.rule.comparison.value.startswith("Less"):
                    proposal = self._propose(policy, alarm, now)
                    if proposal is not None:
                        out.append(proposal)
        return out

    # --- applying -------------------------------------------------------------------------------

    async def _scale(self, key: TargetKey, proposals: list[Proposal], now: float) -> None:
        target = self._resources.targets.get(key)
        current = self._current(key)
        if target is None or current is None:
            return
        if any(p.capacity < current for p in proposals):
            have = {p.policy for p in proposals if p.tracking and p.capacity < current}
            proposals = [*proposals, *self._low_proposals(key, now, have)]
        chosen = combine(current, proposals, set(self._voters(key)))
        if chosen is None:
            return
        capacity = clamp(chosen.capacity, target.min_capacity, target.max_capacity)
        if capacity == current or target.suspended_for(capacity > current):
            return
        await self.set_capacity(key, capacity, chosen.cause)

    async def set_capacity(self, key: TargetKey, capacity: int, cause: str) -> Activity | None:
        """Change the target's capacity through UpdateEndpointWeightsAndCapacities' path and
        record the activity; None if the endpoint cannot change now (it is retried later)."""
        endpoint, state, kind = self._resources.variant(key)
        previous = kind.capacity(state)
        try:
            await self._lifecycle.update_weights_and_capacities(
                endpoint.name, [kind.capacity_update(state, capacity)]
            )
        except ServiceError as exc:
            log.info("scaling %s to %d deferred: %s", key[1], capacity, exc.message)
            return None
        activity = Activity(
            activity_id=str(uuid.uuid4()),
            key=key,
            description=f"Setting desired {kind.capacity_noun} to {capacity}.",
            cause=cause,
            start_time=datetime.now(UTC),
            capacity=capacity,
            previous=previous,
        )
        self._resources.record(activity)
        return activity

    def settle(self) -> None:
        """Complete the activities whose capacity change has finished (before they are read)."""
        self._finish_activities(self._wall())

    def _finish_activities(self, now: float) -> None:
        for activity in self._resources.activities:
            if activity.status != "InProgress":
                continue
            endpoint = self._resources.registry.find_endpoint(activity.key[1].split("/")[1])
            if endpoint is not None and endpoint.status is EndpointStatus.UPDATING:
                continue
            activity.end_time = datetime.now(UTC)
            noun = activity.description.removeprefix("Setting desired ").split(" to ")[0]
            if endpoint is None or endpoint.failure_reason:
                activity.status = "Failed"
                reason = endpoint.failure_reason if endpoint else "The endpoint was deleted."
                activity.status_message = f"Failed to set desired {noun} to "
                activity.status_message += f"{activity.capacity}. {reason}"
            else:
                activity.status = "Successful"
                activity.status_message = (
                    f"Successfully set desired {noun} to {activity.capacity}. Change "
                    "successfully fulfilled by sagemaker."
                )
                cooldowns = self._cooldowns.get(activity.key, Cooldowns())
                if activity.scale_out:
                    cooldowns = Cooldowns(now, cooldowns.last_in_end, activity.previous)
                else:
                    cooldowns = Cooldowns(cooldowns.last_out_end, now, cooldowns.out_base)
                self._cooldowns[activity.key] = cooldowns
            self._resources.record(activity)

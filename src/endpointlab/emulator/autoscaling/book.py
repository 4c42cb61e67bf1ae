"""The CloudWatch metric alarms: their definitions, states, evaluation and persistence.

An alarm keeps the PutMetricAlarm parameters as sent (``spec``, what DescribeAlarms echoes and
the data dir stores) and its state. ``evaluate`` reads the recorded metrics for the last
EvaluationPeriods periods (the scaling clock shortens them) and moves each alarm to the state
``alarms.evaluate`` calls for; alarms whose actions are due (a transition, SetAlarmState, or
every minute while a state with scaling-policy actions lasts) are returned to the scaler.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from endpointlab.emulator.autoscaling.alarms import (
    AlarmState,
    Comparison,
    MissingData,
    Point,
    Rule,
    Verdict,
    evaluate,
    newest_value,
)
from endpointlab.emulator.autoscaling.clock import ScalingClock
from endpointlab.emulator.autoscaling.targets import MetricSpec
from endpointlab.emulator.metrics import MetricKey, MetricsRecorder, parse_statistic, periods
from endpointlab.emulator.records import ACCOUNT_ID

INITIAL_REASON = "Unchecked: Initial alarm creation"
ALARM_KIND = "alarm"


class Documents(Protocol):
    """Where records persist (the control store's documents table)."""

    def put_document(self, kind: str, key: str, body: Mapping[str, Any]) -> None: ...

    def delete_document(self, kind: str, key: str) -> None: ...

    def load_documents(self, kind: str) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class AlarmDefinition:
    """A metric alarm as PutMetricAlarm defines it, parsed from ``spec`` (the members sent)."""

    name: str
    metric: MetricSpec  # statistic: Statistic or ExtendedStatistic
    rule: Rule
    actions_enabled: bool
    actions: Mapping[AlarmState, tuple[str, ...]]
    spec: Mapping[str, Any]

    @classmethod
    def of(cls, spec: Mapping[str, Any]) -> AlarmDefinition:
        """From PutMetricAlarm members already checked (``services.cloudwatch_alarms``)."""
        periods_n = int(spec["EvaluationPeriods"])
        rule = Rule(
            threshold=float(spec["Threshold"]),
            comparison=Comparison(spec["ComparisonOperator"]),
            evaluation_periods=periods_n,
            datapoints_to_alarm=int(spec.get("DatapointsToAlarm") or periods_n),
            treat_missing=MissingData(spec.get("TreatMissingData") or "missing"),
        )
        metric = MetricSpec(
            namespace=spec["Namespace"],
            name=spec["MetricName"],
            dimensions=tuple((d["Name"], d["Value"]) for d in spec.get("Dimensions") or []),
            statistic=spec.get("Statistic") or spec["ExtendedStatistic"],
            unit=spec.get("Unit"),
            period=int(spec["Period"]),
        )
        actions = {
            AlarmState.OK: tuple(spec.get("OKActions") or ()),
            AlarmState.ALARM: tuple(spec.get("AlarmActions") or ()),
            AlarmState.INSUFFICIENT_DATA: tuple(spec.get("InsufficientDataActions") or ()),
        }
        enabled = spec.get("ActionsEnabled")
        return cls(spec["AlarmName"], metric, rule, enabled is not False, actions, spec)


@dataclass
class MetricAlarm:
    definition: AlarmDefinition
    arn: str
    state: AlarmState
    reason: str
    reason_data: str | None
    state_updated: datetime
    transitioned: datetime
    config_updated: datetime
    last_value: float | None = None  # the newest datapoint of the last evaluation
    actions_due: bool = False
    last_action_at: float | None = None

    @property
    def name(self) -> str:
        return self.definition.name

    def due_actions(self) -> tuple[str, ...]:
        if not self.definition.actions_enabled:
            return ()
        return self.definition.actions[self.state]


def alarm_arn(region: str, name: str) -> str:
    return f"arn:aws:cloudwatch:{region}:{ACCOUNT_ID}:alarm:{name}"


class AlarmBook:
    """Every metric alarm of the account, persisted in ``documents``."""

    def __init__(
        self,
        recorder: MetricsRecorder,
        documents: Documents,
        clock: ScalingClock,
        region: str,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._recorder = recorder
        self._documents = documents
        self._clock = clock
        self._region = region
        self._now = now
        self._alarms: dict[str, MetricAlarm] = {}
        for body in documents.load_documents(ALARM_KIND):
            alarm = _load(body)
            self._alarms[alarm.name] = alarm

    # --- the API's operations -------------------------------------------------------------------

    def put(self, definition: AlarmDefinition) -> MetricAlarm:
        """Create or overwrite an alarm: an update keeps the state and replaces the rest."""
        now = self._now()
        alarm = self._alarms.get(definition.name)
        if alarm is None:
            alarm = MetricAlarm(
                definition,
                alarm_arn(self._region, definition.name),
                AlarmState.INSUFFICIENT_DATA,
                INITIAL_REASON,
                None,
                now,
                now,
                now,
            )
            self._alarms[definition.name] = alarm
        else:
            alarm.definition = definition
            alarm.config_updated = now
        self._save(alarm)
        return alarm

    def get(self, name: str) -> MetricAlarm | None:
        return self._alarms.get(name)

    def all(self) -> list[MetricAlarm]:
        return [self._alarms[name] for name in sorted(self._alarms)]

    def delete(self, names: Iterable[str]) -> None:
        for name in names:
            if self._alarms.pop(name, None) is not None:
                self._documents.delete_document(ALARM_KIND, name)

    def set_state(self, name: str, state: AlarmState, reason: str, data: str | None) -> None:
        """SetAlarmState: the state until the next evaluation; its actions run as for any
        transition."""
        alarm = self._alarms[name]
        self._move(alarm, Verdict(state, reason, data or ""), self._now())

    # --- evaluation -----------------------------------------------------------------------------

    async def evaluate(self, now: float) -> list[MetricAlarm]:
        """Evaluate every alarm at ``now`` (epoch seconds); the alarms whose actions are due."""
        due: list[MetricAlarm] = []
        for alarm in list(self._alarms.values()):
            points = await self.points(alarm.definition, now)
            definition = alarm.definition
            verdict = evaluate(
                definition.rule,
                points,
                statistic=definition.metric.statistic,
                period=definition.metric.period,
                now=now,
            )
            alarm.last_value = newest_value(points)
            changed = verdict.state is not alarm.state or alarm.reason == INITIAL_REASON
            if verdict.state is not None and changed:
                self._move(alarm, verdict, datetime.fromtimestamp(now, UTC))
            every = self._clock.seconds(60)
            repeat = alarm.last_action_at is None or now - alarm.last_action_at >= every
            if alarm.due_actions() and (alarm.actions_due or repeat):
                due.append(alarm)
        return due

    async def points(self, definition: AlarmDefinition, now: float) -> list[Point]:
        """The last EvaluationPeriods complete periods of the alarm's metric, oldest first."""
        metric = definition.metric
        period = self._clock.period(metric.period)
        count = definition.rule.evaluation_periods
        end = math.floor(now / period) * period
        start = end - count * period
        key = MetricKey.of(metric.namespace, metric.name, metric.dimensions)
        samples = await self._recorder.samples(key, start, end, metric.unit)
        statistic = parse_statistic(metric.statistic)
        assert statistic is not None  # checked when the alarm was put
        series = periods.series(samples, start, period, statistic)
        return [(start + i * period, series.get(start + i * period)) for i in range(count)]

    def acted(self, alarm: MetricAlarm, now: float) -> None:
        """The scaler ran ``alarm``'s actions at ``now``."""
        alarm.actions_due = False
        alarm.last_action_at = now

    def _move(self, alarm: MetricAlarm, verdict: Verdict, at: datetime) -> None:
        assert verdict.state is not None
        if verdict.state is not alarm.state:
            alarm.transitioned = at
            alarm.actions_due = True
        alarm.state = verdict.state
        alarm.reason = verdict.reason
        alarm.reason_data = verdict.data or None
        alarm.state_updated = at
        self._save(alarm)

    def _save(self, alarm: MetricAlarm) -> None:
        self._documents.put_document(ALARM_KIND, alarm.name, _dump(alarm))


def _dump(alarm: MetricAlarm) -> dict[str, Any]:
    return {
        "spec": dict(alarm.definition.spec),
        "arn": alarm.arn,
        "state": alarm.state.value,
        "reason": alarm.reason,
        "reason_data": alarm.reason_data,
        "state_updated": alarm.state_updated.isoformat(),
        "transitioned": alarm.transitioned.isoformat(),
        "config_updated": alarm.config_updated.isoformat(),
    }


def _load(body: Mapping[str, Any]) -> MetricAlarm:
    return MetricAlarm(
        AlarmDefinition.of(body["spec"]),
        body["arn"],
        AlarmState(body["state"]),
        body["reason"],
        body["reason_data"],
        datetime.fromisoformat(body["state_updated"]),
        datetime.fromisoformat(body["transitioned"]),
        datetime.fromisoformat(body["config_updated"]),
    )

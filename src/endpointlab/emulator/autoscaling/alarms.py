"""How a CloudWatch metric alarm's state follows its datapoints: pure, no clock, no IO.

``evaluate`` looks at the last EvaluationPeriods periods (oldest first, None where a period has
no data), applies TreatMissingData, and goes to ALARM when at least DatapointsToAlarm of them
breach the threshold, to OK when fewer do, and to INSUFFICIENT_DATA when none has data
(``missing``) or stays as it is (``ignore``). Reasons are worded as CloudWatch words them
(``Threshold Crossed: 3 datapoints [...] were greater than the threshold (4.0).``; past three
datapoints ``15 datapoints were less than ... The most recent datapoints which crossed the
threshold: [...]``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

# A reason lists up to 3 datapoints; past that it counts them and lists the 5 most recent
# ("Threshold Crossed: 15 datapoints were less than the threshold (63.0). The most recent
# datapoints which crossed the threshold: [...]."), as captured reasons show: 3 listed; 5, 15,
# 24 and 30 counted. Where 4 falls is UNCONFIRMED (counted here).
INLINE_DATAPOINTS = 3
RECENT_DATAPOINTS = 5


class AlarmState(StrEnum):
    OK = "OK"
    ALARM = "ALARM"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"


class Comparison(StrEnum):
    GREATER_OR_EQUAL = "GreaterThanOrEqualToThreshold"
    GREATER = "GreaterThanThreshold"
    LESS = "LessThanThreshold"
    LESS_OR_EQUAL = "LessThanOrEqualToThreshold"

    def breaches(self, value: float, threshold: float) -> bool:
        if self is Comparison.GREATER_OR_EQUAL:
            return value >= threshold
        if self is Comparison.GREATER:
            return value > threshold
        if self is Comparison.LESS:
            return value < threshold
        return value <= threshold

    @property
    def phrase(self) -> str:
        """How a reason names the comparison: ``greater than or equal to``."""
        return {
            Comparison.GREATER_OR_EQUAL: "greater than or equal to",
            Comparison.GREATER: "greater than",
            Comparison.LESS: "less than",
            Comparison.LESS_OR_EQUAL: "less than or equal to",
        }[self]


class MissingData(StrEnum):
    MISSING = "missing"
    IGNORE = "ignore"
    BREACHING = "breaching"
    NOT_BREACHING = "notBreaching"


@dataclass(frozen=True)
class Rule:
    """What decides an alarm's state: threshold, comparison, M out of N, missing data."""

    threshold: float
    comparison: Comparison
    evaluation_periods: int
    datapoints_to_alarm: int
    treat_missing: MissingData = MissingData.MISSING


@dataclass(frozen=True)
class Verdict:
    """The state the datapoints call for (None: keep the current one), the reason and the
    reason's data (StateReasonData, JSON)."""

    state: AlarmState | None
    reason: str
    data: str


Point = tuple[int, float | None]  # (period start, epoch seconds; value or None)


def evaluate(
    rule: Rule, points: Sequence[Point], *, statistic: str, period: int, now: float
) -> Verdict:
    """The verdict on ``points``: the last ``rule.evaluation_periods`` periods, oldest first."""
    present = [(at, value) for at, value in points if value is not None]
    data = _reason_data(rule, present, statistic=statistic, period=period, now=now)
    fill = rule.treat_missing
    if not present and fill in (MissingData.MISSING, MissingData.IGNORE):
        if fill is MissingData.IGNORE:
            return Verdict(None, "", data)
        count = len(points)
        return Verdict(
            AlarmState.INSUFFICIENT_DATA,
            f"Insufficient Data: {count} datapoint{'s were' if count != 1 else ' was'} unknown.",
            data,
        )
    breaching: list[Point] = []
    holding: list[Point] = []
    for at, value in points:
        if value is None:
            if fill is MissingData.BREACHING:
                breaching.append((at, None))
            elif fill is MissingData.NOT_BREACHING:
                holding.append((at, None))
        elif rule.comparison.breaches(value, rule.threshold):
            breaching.append((at, value))
        else:
            holding.append((at, value))
    if len(breaching) >= rule.datapoints_to_alarm:
        return Verdict(AlarmState.ALARM, _crossed(rule, breaching, points, alarm=True), data)
    return Verdict(AlarmState.OK, _crossed(rule, holding, points, alarm=False), data)


def newest_value(points: Sequence[Point]) -> float | None:
    """The newest datapoint with data (what a triggered scaling policy reads)."""
    return next((value for _, value in reversed(points) if value is not None), None)


def _crossed(rule: Rule, chosen: Sequence[Point], points: Sequence[Point], *, alarm: bool) -> str:
    """The reason: the datapoints received on the side that decided (``chosen``), then the
    missing ones a treatment filled in (``and 7 missing datapoints were treated as
    [Breaching]``, or ``no datapoints were received for 1 period and ...``, as CloudWatch says)."""
    total = len(points)
    received = [(at, value) for at, value in chosen if value is not None]
    count = len(received)
    newest = list(reversed(received))
    verb = "was" if count == 1 else "were"
    phrase = rule.comparison.phrase if alarm else f"not {rule.comparison.phrase}"
    plural = "datapoint" if count == 1 else "datapoints"
    threshold = _number(rule.threshold)
    m_of_n = rule.datapoints_to_alarm != rule.evaluation_periods and len(chosen) != total
    counted = f"{count} out of the last {total} datapoints" if m_of_n else f"{count} {plural}"
    missing = sum(1 for _, value in points if value is None)
    filled = _filled(rule, missing)
    if count == 0 and filled:
        periods = "period" if missing == 1 else "periods"
        text = f"Threshold Crossed: no datapoints were received for {missing} {periods}"
    elif count <= INLINE_DATAPOINTS:
        shown = ", ".join(_shown(at, value) for at, value in newest)
        text = f"Threshold Crossed: {counted} [{shown}] {verb} {phrase} the threshold ({threshold})"
    else:
        shown = ", ".join(_shown(at, value) for at, value in newest[:RECENT_DATAPOINTS])
        text = (
            f"Threshold Crossed: {counted} {verb} {phrase} the threshold ({threshold}). The most "
            f"recent datapoints which crossed the threshold: [{shown}]"
        )
    if filled:
        text += f" and {filled}"
    if not m_of_n:
        return text + "."
    # The M-out-of-N wording (UNCONFIRMED beyond its common shape).
    needed = rule.datapoints_to_alarm if alarm else total - rule.datapoints_to_alarm + 1
    transition = "OK -> ALARM" if alarm else "ALARM -> OK"
    return (
        f"{text} (minimum {needed} {'datapoint' if needed == 1 else 'datapoints'} for "
        f"{transition} transition)."
    )


def _filled(rule: Rule, missing: int) -> str:
    """``7 missing datapoints were treated as [Breaching]``, or "" when none was filled in."""
    label = {MissingData.BREACHING: "Breaching", MissingData.NOT_BREACHING: "NonBreaching"}
    if missing == 0 or rule.treat_missing not in label:
        return ""
    were = "datapoint was" if missing == 1 else "datapoints were"
    return f"{missing} missing {were} treated as [{label[rule.treat_missing]}]"


def _shown(at: int, value: float | None) -> str:
    moment = datetime.fromtimestamp(at, UTC).strftime("%d/%m/%y %H:%M:%S")
    return f"{'missing' if value is None else _number(value)} ({moment})"


def _number(value: float) -> str:
    return repr(float(value))


def _reason_data(
    rule: Rule, present: Sequence[Point], *, statistic: str, period: int, now: float
) -> str:
    def iso(epoch: float) -> str:
        return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")

    points = [value for _, value in reversed(present)]
    data: dict[str, object] = {
        "version": "1.0",
        "queryDate": iso(now),
        "statistic": statistic,
        "period": period,
        "recentDatapoints": points,
        "threshold": float(rule.threshold),
    }
    if present:
        data["startDate"] = iso(present[0][0])
        data["evaluatedDatapoints"] = [
            {"timestamp": iso(at), "value": value} for at, value in reversed(present)
        ]
    return json.dumps(data, separators=(",", ":"))

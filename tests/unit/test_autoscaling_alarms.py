"""Alarm evaluation (autoscaling/alarms.py): M out of N, comparisons, missing data, reasons."""

from __future__ import annotations

import json

import pytest

from endpointlab.emulator.autoscaling.alarms import (
    AlarmState,
    Comparison,
    MissingData,
    Point,
    Rule,
    evaluate,
    newest_value,
)

MINUTE = 60
START = 1_796_000_040  # 2026-11-30 00:54:00 UTC


def points(*values: float | None) -> list[Point]:
    return [(START + i * MINUTE, value) for i, value in enumerate(values)]


def rule(m: int = 3, n: int = 3, treat: MissingData = MissingData.MISSING) -> Rule:
    return Rule(4.0, Comparison.GREATER, n, m, treat)


def state(r: Rule, *values: float | None) -> AlarmState | None:
    return evaluate(r, points(*values), statistic="Average", period=60, now=START + 600).state


def test_every_datapoint_breaching_is_alarm_with_aws_reason() -> None:
    verdict = evaluate(rule(), points(5, 6, 7), statistic="Sum", period=60, now=START + 200)
    assert verdict.state is AlarmState.ALARM
    assert verdict.reason == (
        "Threshold Crossed: 3 datapoints [7.0 (30/11/26 00:56:00), 6.0 (30/11/26 00:55:00), "
        "5.0 (30/11/26 00:54:00)] were greater than the threshold (4.0)."
    )
    data = json.loads(verdict.data)
    assert data["recentDatapoints"] == [7.0, 6.0, 5.0]
    assert (data["statistic"], data["period"], data["threshold"]) == ("Sum", 60, 4.0)


def test_one_datapoint_short_is_ok() -> None:
    assert state(rule(), 5, 3, 7) is AlarmState.OK
    assert state(rule(), 4, 4, 4) is AlarmState.OK  # at the threshold is not greater


@pytest.mark.parametrize(
    ("comparison", "value", "breaches"),
    [
        (Comparison.GREATER_OR_EQUAL, 4.0, True),
        (Comparison.GREATER, 4.0, False),
        (Comparison.LESS, 3.9, True),
        (Comparison.LESS_OR_EQUAL, 4.0, True),
        (Comparison.LESS, 4.0, False),
    ],
)
def test_comparisons(comparison: Comparison, value: float, breaches: bool) -> None:
    verdict = evaluate(
        Rule(4.0, comparison, 1, 1), points(value), statistic="Average", period=60, now=START
    )
    assert verdict.state is (AlarmState.ALARM if breaches else AlarmState.OK)


def test_m_out_of_n() -> None:
    two_of_three = rule(m=2)
    assert state(two_of_three, 5, 1, 5) is AlarmState.ALARM
    assert state(two_of_three, 5, 1, 1) is AlarmState.OK
    verdict = evaluate(two_of_three, points(5, 1, 5), statistic="Average", period=60, now=START)
    assert "2 out of the last 3 datapoints" in verdict.reason
    assert "(minimum 2 datapoints for OK -> ALARM transition)" in verdict.reason


def test_missing_data_treatments() -> None:
    assert state(rule(), None, None, None) is AlarmState.INSUFFICIENT_DATA
    assert state(rule(treat=MissingData.IGNORE), None, None, None) is None  # keeps its state
    assert state(rule(treat=MissingData.BREACHING), None, None, None) is AlarmState.ALARM
    assert state(rule(treat=MissingData.NOT_BREACHING), None, None, None) is AlarmState.OK
    # With "missing", absent periods count for nothing: two breaching of three is not ALARM...
    assert state(rule(), 5, None, 5) is AlarmState.OK
    # ...but with "breaching" the gap completes the three.
    assert state(rule(treat=MissingData.BREACHING), 5, None, 5) is AlarmState.ALARM
    verdict = evaluate(rule(), points(None, None), statistic="Average", period=60, now=START)
    assert verdict.reason == "Insufficient Data: 2 datapoints were unknown."


def test_newest_value_skips_missing_periods() -> None:
    assert newest_value(points(1, 2, None)) == 2
    assert newest_value(points(None)) is None


def test_past_three_datapoints_a_reason_counts_them_and_lists_the_five_newest() -> None:
    verdict = evaluate(rule(m=4, n=6), points(5, 1, 6, 7, 8, 9), statistic="Sum", period=60, now=0)
    assert verdict.reason == (
        "Threshold Crossed: 5 out of the last 6 datapoints were greater than the threshold (4.0). "
        "The most recent datapoints which crossed the threshold: [9.0 (30/11/26 00:59:00), "
        "8.0 (30/11/26 00:58:00), 7.0 (30/11/26 00:57:00), 6.0 (30/11/26 00:56:00), "
        "5.0 (30/11/26 00:54:00)] (minimum 4 datapoints for OK -> ALARM transition)."
    )
    many = evaluate(rule(m=6, n=6), points(*[5] * 6), statistic="Sum", period=60, now=0)
    assert many.reason.startswith("Threshold Crossed: 6 datapoints were greater than the threshold")
    assert many.reason.count("5.0 (") == 5


def test_missing_datapoints_a_treatment_filled_in_are_named_as_cloudwatch_names_them() -> None:
    # Reasons captured from CloudWatch, verbatim but for the times.
    gap = Rule(0.0, Comparison.LESS_OR_EQUAL, 8, 8, MissingData.BREACHING)
    assert evaluate(gap, points(*[None] * 8), statistic="Sum", period=900, now=0).reason == (
        "Threshold Crossed: no datapoints were received for 8 periods and 8 missing datapoints "
        "were treated as [Breaching]."
    )
    back = evaluate(gap, points(*[None] * 7, 2.0), statistic="Sum", period=900, now=0)
    assert (back.state, back.reason) == (
        AlarmState.OK,
        "Threshold Crossed: 1 datapoint [2.0 (30/11/26 01:01:00)] was not less than or equal to "
        "the threshold (0.0) and 7 missing datapoints were treated as [Breaching].",
    )
    quiet = Rule(0.0, Comparison.GREATER, 1, 1, MissingData.NOT_BREACHING)
    assert evaluate(quiet, points(None), statistic="Sum", period=60, now=0).reason == (
        "Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint was "
        "treated as [NonBreaching]."
    )

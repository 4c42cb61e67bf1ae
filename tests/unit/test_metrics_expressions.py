"""Metric math for GetMetricData (emulator/metrics/expressions.py): arithmetic between series
and scalars, array functions, DIFF/RATE/FILL, METRICS() and the errors of a bad expression."""

from __future__ import annotations

import pytest

from endpointlab.emulator.metrics.expressions import (
    ExpressionError,
    MathContext,
    TimeSeries,
    evaluate,
)

A = TimeSeries({0: 1.0, 60: 2.0, 120: 4.0}, 60, "Invocations")
B = TimeSeries({0: 10.0, 120: 0.0, 180: 5.0}, 60, "Errors")
CONTEXT = MathContext({"a": A, "b": B}, [A, B], start=0, end=240, period=60)


def points(expression: str) -> dict[int, float]:
    return evaluate(expression, CONTEXT).points


def test_arithmetic_with_scalars_and_precedence() -> None:
    assert points("a * 2 + 1") == {0: 3.0, 60: 5.0, 120: 9.0}
    assert points("(a + 1) * 2") == {0: 4.0, 60: 6.0, 120: 10.0}
    assert points("-a ^ 2") == {0: -1.0, 60: -4.0, 120: -16.0}
    assert points("100 / a") == {0: 100.0, 60: 50.0, 120: 25.0}


def test_two_series_combine_where_both_have_values_and_undefined_points_drop() -> None:
    assert points("a + b") == {0: 11.0, 120: 4.0}
    assert points("a / b") == {0: 0.1}  # 4 / 0 has no value


def test_array_functions_per_timestamp_and_series_functions_to_scalars() -> None:
    assert points("SUM([a, b])") == {0: 11.0, 60: 2.0, 120: 4.0, 180: 5.0}
    assert points("MAX(METRICS())") == {0: 10.0, 60: 2.0, 120: 4.0, 180: 5.0}
    assert points("SUM(METRICS('Err'))") == {0: 10.0, 120: 0.0, 180: 5.0}
    assert points("a - AVG(a)") == pytest.approx({0: -4 / 3, 60: -1 / 3, 120: 5 / 3})
    assert points("SUM(a)") == {0: 7.0, 60: 7.0, 120: 7.0, 180: 7.0}  # a scalar over the range


def test_diff_rate_running_sum_and_period() -> None:
    assert points("DIFF(a)") == {60: 1.0, 120: 2.0}
    assert points("RATE(a)") == {60: 1 / 60, 120: 2 / 60}
    assert points("RUNNING_SUM(a)") == {0: 1.0, 60: 3.0, 120: 7.0}
    assert points("a * 0 + PERIOD(a)") == {0: 60.0, 60: 60.0, 120: 60.0}


def test_fill() -> None:
    assert points("FILL(b, 0)") == {0: 10.0, 60: 0.0, 120: 0.0, 180: 5.0}
    assert points("FILL(b, REPEAT)") == {0: 10.0, 60: 10.0, 120: 0.0, 180: 5.0}
    assert points("FILL(b, LINEAR)") == {0: 10.0, 60: 5.0, 120: 0.0, 180: 5.0}
    assert points("ABS(-1 * FLOOR(a / 3))") == {0: 0.0, 60: 0.0, 120: 1.0}


@pytest.mark.parametrize("expression", ["a +", "nope * 2", "a $ b", "FOO(a)", "[a, b]", "(a"])
def test_bad_expressions(expression: str) -> None:
    with pytest.raises(ExpressionError):
        evaluate(expression, CONTEXT)

"""The simple CloudWatch metric math GetMetricData evaluates: a parser and an evaluator, pure.

Supported: numbers, query ids, ``+ - * / ^``, parentheses, arrays ``[m1, m2]`` and the
functions ABS, CEIL, FLOOR, LOG, LOG10, SUM, AVG, MIN, MAX, STDDEV (of an array: per
timestamp; of one series: a scalar), DIFF, RATE, RUNNING_SUM, FILL(s, value|REPEAT|LINEAR),
PERIOD and METRICS([label substring]). Two series combine only where both have a value;
a point whose result is undefined (division by zero, log of 0) is left out.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Union

_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<string>'[^']*'|\"[^\"]*\")|(?P<op>[-+*/^()\[\],]))"
)


class ExpressionError(ValueError):
    """An expression that cannot be parsed or evaluated; the message says why."""


@dataclass(frozen=True)
class TimeSeries:
    """Values by period start, the period, and a label (METRICS('x') filters on it)."""

    points: dict[int, float]
    period: int
    label: str = ""


Value = Union[float, TimeSeries, list[TimeSeries]]  # noqa: UP007 (a runtime alias)


@dataclass(frozen=True)
class MathContext:
    """What an expression can see: other queries' results, METRICS(), the time range."""

    variables: Mapping[str, TimeSeries]
    metrics: Sequence[TimeSeries]
    start: int
    end: float
    period: int


def evaluate(expression: str, context: MathContext) -> TimeSeries:
    """Evaluate ``expression``; a scalar result becomes a constant series over the range."""
    parser = _Parser(_tokens(expression), context)
    result = parser.expression()
    if parser.peek() is not None:
        raise ExpressionError(f"Unexpected '{parser.peek()}' in the expression.")
    if isinstance(result, list):
        if len(result) != 1:
            raise ExpressionError("The expression must return a single time series.")
        return result[0]
    if isinstance(result, TimeSeries):
        return result
    grid = range(context.start, math.ceil(context.end), context.period)
    return TimeSeries(dict.fromkeys(grid, result), context.period)


def _tokens(text: str) -> list[str]:
    tokens, position = [], 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None:
            raise ExpressionError(f"Unexpected character '{text[position:].strip()[0]}'.")
        tokens.append(match.group(match.lastgroup or "op"))
        position = match.end()
    return tokens


_BINARY: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "^": lambda a, b: float(a**b),
}
_ELEMENTWISE: dict[str, Callable[[float], float]] = {
    "ABS": abs,
    "CEIL": lambda v: float(math.ceil(v)),
    "FLOOR": lambda v: float(math.floor(v)),
    "LOG": math.log,
    "LOG10": math.log10,
}


def _aggregate(name: str, values: list[float]) -> float:
    if name == "SUM":
        return math.fsum(values)
    if name == "AVG":
        return math.fsum(values) / len(values)
    if name == "MIN":
        return min(values)
    if name == "MAX":
        return max(values)
    mean = math.fsum(values) / len(values)  # STDDEV: population standard deviation
    return math.sqrt(math.fsum((v - mean) ** 2 for v in values) / len(values))


class _Parser:
    """Recursive descent over the tokens, evaluating as it goes."""

    def __init__(self, tokens: list[str], context: MathContext) -> None:
        self._tokens = tokens
        self._index = 0
        self._context = context

    def peek(self) -> str | None:
        return self._tokens[self._index] if self._index < len(self._tokens) else None

    def _take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise ExpressionError(f"Expected '{expected or 'a value'}' in the expression.")
        self._index += 1
        return token

    def expression(self) -> Value:
        value = self._term()
        while self.peek() in ("+", "-"):
            value = _combine(self._take(), value, self._term())
        return value

    def _term(self) -> Value:
        value = self._unary()
        while self.peek() in ("*", "/"):
            value = _combine(self._take(), value, self._unary())
        return value

    def _unary(self) -> Value:
        if self.peek() == "-":
            self._take()
            return _combine("*", -1.0, self._unary())
        if self.peek() == "+":
            self._take()
            return self._unary()
        return self._power()

    def _power(self) -> Value:
        value = self._primary()
        if self.peek() == "^":
            self._take()
            return _combine("^", value, self._unary())  # right-associative; -a^2 is -(a^2)
        return value

    def _primary(self) -> Value:
        token = self._take()
        if token == "(":
            value = self.expression()
            self._take(")")
            return value
        if token == "[":
            items = self._arguments("]")
            return [s for item in items for s in _as_list(item)]
        if token[0].isdigit() or token[0] == ".":
            return float(token)
        if token[0].isalpha() or token[0] == "_":
            if self.peek() == "(":
                self._take()
                return self._call(token.upper(), token)
            found = self._context.variables.get(token)
            if found is None:
                raise ExpressionError(f"Unrecognized reference or function: {token}.")
            return found
        raise ExpressionError(f"Unexpected '{token}' in the expression.")

    def _arguments(self, closing: str) -> list[Value]:
        items: list[Value] = []
        if self.peek() == closing:
            self._take()
            return items
        while True:
            if self.peek() in ("REPEAT", "LINEAR"):
                items.append(self._take())  # type: ignore[arg-type]
            elif self.peek() is not None and self.peek()[0] in "'\"":  # type: ignore[index]
                items.append(self._take()[1:-1])  # type: ignore[arg-type]
            else:
                items.append(self.expression())
            if self._take() == closing:
                return items

    def _call(self, name: str, written: str) -> Value:
        args = self._arguments(")")
        if name == "METRICS":
            wanted = str(args[0]) if args else ""
            return [s for s in self._context.metrics if wanted in s.label]
        if name in _ELEMENTWISE and len(args) == 1:
            return _map(args[0], _ELEMENTWISE[name])
        if name in ("SUM", "AVG", "MIN", "MAX", "STDDEV") and len(args) == 1:
            return _reduce(name, args[0])
        if name in ("DIFF", "RATE", "RUNNING_SUM", "PERIOD") and len(args) == 1:
            return _per_series(name, args[0])
        if name == "FILL" and len(args) == 2:
            return _fill(args[0], args[1], self._context)
        raise ExpressionError(f"Unsupported function or arguments: {written}.")


def _as_list(value: Value) -> list[TimeSeries]:
    if isinstance(value, list):
        return value
    if isinstance(value, TimeSeries):
        return [value]
    raise ExpressionError("An array may only contain time series.")


def _safe(op: Callable[..., float], *args: float) -> float | None:
    try:
        result = op(*args)
    except (ZeroDivisionError, ValueError, OverflowError):
        return None
    return result if math.isfinite(result) else None


def _map(value: Value, op: Callable[[float], float]) -> Value:
    if isinstance(value, list):
        return [s for s in (_map(s, op) for s in value) if isinstance(s, TimeSeries)]
    if isinstance(value, TimeSeries):
        points = {t: r for t, v in value.points.items() if (r := _safe(op, v)) is not None}
        return TimeSeries(points, value.period, value.label)
    if isinstance(value, float | int):
        result = _safe(op, value)
        if result is None:
            raise ExpressionError("The expression has no defined value.")
        return result
    raise ExpressionError("A function was given a value it cannot take.")


def _combine(operator: str, left: Value, right: Value) -> Value:
    op = _BINARY[operator]
    if isinstance(left, list):
        return [_series(_combine(operator, s, right)) for s in left]
    if isinstance(right, list):
        return [_series(_combine(operator, left, s)) for s in right]
    if isinstance(left, TimeSeries) and isinstance(right, TimeSeries):
        common = left.points.keys() & right.points.keys()
        points = {
            t: r
            for t in sorted(common)
            if (r := _safe(op, left.points[t], right.points[t])) is not None
        }
        return TimeSeries(points, left.period, left.label)
    if isinstance(left, TimeSeries):
        return _map(left, lambda v: op(v, float(right)))  # type: ignore[arg-type]
    if isinstance(right, TimeSeries):
        return _map(right, lambda v: op(float(left), v))
    return _map(float(left), lambda v: op(v, float(right)))


def _series(value: Value) -> TimeSeries:
    assert isinstance(value, TimeSeries)
    return value


def _reduce(name: str, value: Value) -> Value:
    if isinstance(value, list):
        stamps = sorted({t for s in value for t in s.points})
        points = {
            t: _aggregate(name, [s.points[t] for s in value if t in s.points]) for t in stamps
        }
        period = value[0].period if value else 60
        return TimeSeries(points, period)
    if isinstance(value, TimeSeries):
        if not value.points:
            raise ExpressionError(f"{name} of a series without datapoints.")
        return _aggregate(name, list(value.points.values()))
    return float(value)


def _per_series(name: str, value: Value) -> Value:
    if isinstance(value, list):
        return [_series(_per_series(name, s)) for s in value]
    if not isinstance(value, TimeSeries):
        raise ExpressionError(f"{name} needs a time series.")
    if name == "PERIOD":
        return float(value.period)
    stamps = sorted(value.points)
    points: dict[int, float] = {}
    if name == "RUNNING_SUM":
        running = 0.0
        for t in stamps:
            running += value.points[t]
            points[t] = running
    for before, t in itertools.pairwise(stamps):
        delta = value.points[t] - value.points[before]
        if name == "DIFF":
            points[t] = delta
        elif name == "RATE":
            points[t] = delta / (t - before)
    return TimeSeries(points, value.period, value.label)


def _fill(value: Value, how: Value | str, context: MathContext) -> Value:
    if isinstance(value, list):
        return [_series(_fill(s, how, context)) for s in value]
    if not isinstance(value, TimeSeries):
        raise ExpressionError("FILL needs a time series.")
    grid = range(context.start, math.ceil(context.end), value.period)
    known = value.points
    points: dict[int, float] = {}
    previous: int | None = None
    for t in grid:
        if t in known:
            points[t] = known[t]
            previous = t
        elif how == "REPEAT":
            if previous is not None:
                points[t] = known[previous]
        elif how == "LINEAR":
            after = next((u for u in sorted(known) if u > t), None)
            if previous is not None and after is not None:
                share = (t - previous) / (after - previous)
                points[t] = known[previous] + share * (known[after] - known[previous])
        elif isinstance(how, float | int):
            points[t] = float(how)
        else:
            raise ExpressionError("FILL takes a number, REPEAT or LINEAR.")
    return TimeSeries(points, value.period, value.label)

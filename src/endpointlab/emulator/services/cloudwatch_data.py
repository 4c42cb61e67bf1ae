"""CloudWatch GetMetricData: MetricStat queries, simple metric math, ScanBy and paging.

Each MetricStat query is one statistic per period over the raw samples; expressions are
evaluated by ``metrics.expressions`` over the other queries' results (in dependency order).
Results come in query order for ReturnData queries; MaxDatapoints bounds the datapoints of a
page and NextToken continues it (StatusCode PartialData while a query has more to come).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from endpointlab.emulator.errors import ServiceError
from endpointlab.emulator.metrics import MetricsRecorder, parse_statistic, periods
from endpointlab.emulator.metrics.expressions import (
    ExpressionError,
    MathContext,
    TimeSeries,
    evaluate,
)
from endpointlab.emulator.services.cloudwatch_params import (
    check_period,
    make_token,
    metric_key,
    read_token,
    request_digest,
    timestamp,
)

MAX_QUERIES = 500
DEFAULT_MAX_DATAPOINTS = 100_800
DEFAULT_EXPRESSION_PERIOD = 60
_ID = re.compile(r"[a-z][a-zA-Z0-9_]*")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def validation(message: str) -> ServiceError:
    return ServiceError("ValidationError", message)


@dataclass(frozen=True)
class _Query:
    index: int
    id: str
    spec: Mapping[str, Any]
    returned: bool


async def get_metric_data(recorder: MetricsRecorder, params: Mapping[str, Any]) -> dict[str, Any]:
    queries = _validated(params["MetricDataQueries"])
    start, end = params["StartTime"].timestamp(), params["EndTime"].timestamp()
    if start == end:  # AWS's wording, pasted in elastic/beats issue 32687
        raise validation("The parameter StartTime must not equal parameter EndTime.")
    if start > end:
        raise validation("The parameter StartTime must be less than the parameter EndTime.")
    now = recorder.now()
    resolved: dict[str, TimeSeries] = {}
    stats = [q for q in queries if "MetricStat" in q.spec]
    for query in stats:
        stat = query.spec["MetricStat"]
        period = int(stat["Period"])
        first = periods.rounded_start(start, now, period)
        metric = stat["Metric"]
        key = metric_key(metric["Namespace"], metric["MetricName"], metric.get("Dimensions"))
        statistic = parse_statistic(stat["Stat"])
        assert statistic is not None  # checked by _validated
        samples = await recorder.samples(key, first, end, stat.get("Unit"))
        points = periods.series(samples, first, period, statistic)
        resolved[query.id] = TimeSeries(points, period, _label(query, stats))
    _evaluate_expressions(queries, resolved, [resolved[q.id] for q in stats], start, end, now)

    descending = params.get("ScanBy", "TimestampDescending") == "TimestampDescending"
    returned = [q for q in queries if q.returned]
    ordered = {q.id: sorted(resolved[q.id].points.items(), reverse=descending) for q in returned}
    digest = request_digest(params, exclude="NextToken")
    offset = read_token(params.get("NextToken"), digest)
    budget = int(params.get("MaxDatapoints") or DEFAULT_MAX_DATAPOINTS)
    results, position, total = [], 0, sum(len(rows) for rows in ordered.values())
    for query in returned:
        rows = ordered[query.id]
        begin = min(max(offset - position, 0), len(rows))
        stop = min(max(offset + budget - position, 0), len(rows))
        page = rows[begin:stop]
        position += len(rows)
        results.append(
            {
                "Id": query.id,
                "Label": resolved[query.id].label,
                "Timestamps": [timestamp(t) for t, _ in page],
                "Values": [v for _, v in page],
                "StatusCode": "PartialData" if stop < len(rows) else "Complete",
                "Messages": [],
            }
        )
    output: dict[str, Any] = {"MetricDataResults": results, "Messages": []}
    if offset + budget < total:
        output["NextToken"] = make_token(offset + budget, digest)
    return output


def _validated(raw: list[Mapping[str, Any]]) -> list[_Query]:
    if not raw:
        raise validation("The parameter MetricDataQueries is required.")  # UNCONFIRMED
    if len(raw) > MAX_QUERIES:
        raise validation(
            f"The collection MetricDataQueries must not have a size greater than {MAX_QUERIES}."
        )  # UNCONFIRMED
    seen: set[str] = set()
    queries = []
    for i, spec in enumerate(raw, 1):
        where = f"MetricDataQueries.member.{i}"
        query_id = spec["Id"]
        if not _ID.fullmatch(query_id):
            raise validation(
                f"The value {query_id} for parameter {where}.Id is invalid: it must start with a "
                "lowercase letter and contain only letters, numbers and underscores."
            )  # UNCONFIRMED
        if query_id in seen:
            raise validation("The values for parameter id in MetricDataQueries are not unique.")
        seen.add(query_id)
        stat, expression = spec.get("MetricStat"), spec.get("Expression")
        for other, present in (("Expression", expression), ("Period", spec.get("Period"))):
            if stat is not None and present is not None:
                raise validation(
                    f"The parameters {where}.{other} and {where}.MetricStat are mutually "
                    "exclusive and you have specified both."
                )
        if stat is None and expression is None:
            raise validation(
                f"The parameter {where}.MetricStat or {where}.Expression is required."
            )  # UNCONFIRMED
        if stat is not None:
            if parse_statistic(stat["Stat"]) is None:
                raise validation(
                    f"The value for parameter {where}.MetricStat.Stat is not a valid statistic."
                )
            metric = stat["Metric"]
            if not metric.get("Namespace") or not metric.get("MetricName"):
                raise validation(f"The parameter {where}.MetricStat.Metric is incomplete.")
            check_period(int(stat["Period"]), f"{where}.MetricStat.Period", "ValidationError")
        elif spec.get("Period") is not None:
            check_period(int(spec["Period"]), f"{where}.Period", "ValidationError")
        queries.append(_Query(i, query_id, spec, spec.get("ReturnData", True) is not False))
    return queries


def _label(query: _Query, stats: list[_Query]) -> str:
    """The query's Label, else the metric name plus what tells it apart from the others."""
    if query.spec.get("Label"):
        return str(query.spec["Label"])
    stat = query.spec["MetricStat"]
    label = str(stat["Metric"]["MetricName"])
    for field in ("Stat", "Period"):
        if len({str(q.spec["MetricStat"][field]) for q in stats}) > 1:
            label += f" {stat[field]}"
    return label


def _evaluate_expressions(
    queries: list[_Query],
    resolved: dict[str, TimeSeries],
    metrics: list[TimeSeries],
    start: float,
    end: float,
    now: float,
) -> None:
    ids = {q.id for q in queries}
    pending = [q for q in queries if "Expression" in q.spec]
    while pending:
        ready = [
            q
            for q in pending
            if all(
                name in resolved or name not in ids for name in _NAME.findall(q.spec["Expression"])
            )
        ]
        if not ready:
            raise validation("Circular dependency between metric math expressions.")  # UNCONFIRMED
        for query in ready:
            period = int(query.spec.get("Period") or _period_of(query, resolved))
            context = MathContext(
                resolved, metrics, periods.rounded_start(start, now, period), end, period
            )
            try:
                series = evaluate(query.spec["Expression"], context)
            except ExpressionError as exc:
                raise validation(f"Error in expression {query.id}: {exc}") from exc
            label = str(query.spec.get("Label") or query.id)
            resolved[query.id] = TimeSeries(series.points, series.period, label)
            pending.remove(query)


def _period_of(query: _Query, resolved: Mapping[str, TimeSeries]) -> int:
    for name in _NAME.findall(query.spec["Expression"]):
        if name in resolved:
            return resolved[name].period
    return DEFAULT_EXPRESSION_PERIOD

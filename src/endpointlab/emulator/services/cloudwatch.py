"""CloudWatch metrics: PutMetricData, GetMetricStatistics, GetMetricData and ListMetrics
(alarms: ``cloudwatch_alarms``).

Thin over ``emulator.metrics``: validate what CloudWatch validates (with its error codes:
InvalidParameterValue, MissingParameter, InvalidParameterCombination, ValidationError for
GetMetricData), turn wire members into metric keys and samples, and statistics back into
datapoints. Messages marked UNCONFIRMED follow the service's style but were not seen verbatim.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Mapping
from typing import Any

from endpointlab.emulator.errors import ServiceError
from endpointlab.emulator.metrics import MetricKey, MetricsRecorder, parse_statistic, periods
from endpointlab.emulator.services.cloudwatch_alarms import OPERATIONS as ALARM_OPERATIONS
from endpointlab.emulator.services.cloudwatch_alarms import CloudWatchAlarms
from endpointlab.emulator.services.cloudwatch_data import get_metric_data
from endpointlab.emulator.services.cloudwatch_params import (
    check_period,
    combination,
    invalid,
    make_token,
    metric_key,
    missing,
    read_token,
    request_digest,
    timestamp,
)

MAX_METRIC_DATA = 1000
MAX_VALUES = 150
MAX_DATAPOINTS = 1440
LIST_PAGE = 500
PAST_LIMIT_S = 14 * 86_400  # PutMetricData accepts timestamps up to two weeks old...
FUTURE_LIMIT_S = 2 * 3600  # ...and two hours ahead
LIST_WINDOW_S = 14 * 86_400  # ListMetrics shows metrics with data in the past two weeks
RECENT_S = 3 * 3600
VALUE_LIMIT = 2.0**360  # CloudWatch rejects values outside -2^360..2^360


class CloudWatchService:
    """Dispatches the CloudWatch metric operations by name (and the alarm operations to
    ``alarms``, when the emulator has them)."""

    def __init__(self, recorder: MetricsRecorder, alarms: CloudWatchAlarms | None = None) -> None:
        self._recorder = recorder
        self._alarms = alarms

    @property
    def operations(self) -> frozenset[str]:
        metrics = {"PutMetricData", "GetMetricStatistics", "GetMetricData", "ListMetrics"}
        return frozenset(metrics) | (ALARM_OPERATIONS if self._alarms else frozenset())

    async def handle(self, operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
        if operation in ALARM_OPERATIONS and self._alarms is not None:
            return await self._alarms.handle(operation, params)
        if operation == "PutMetricData":
            self.put_metric_data(params)
            return {}
        if operation == "GetMetricStatistics":
            return await self.get_metric_statistics(params)
        if operation == "GetMetricData":
            return await get_metric_data(self._recorder, params)
        if operation == "ListMetrics":
            return await self.list_metrics(params)
        raise ServiceError(
            "UnknownOperationException",
            f"The emulator does not implement CloudWatch {operation}.",
        )

    # --- PutMetricData -------------------------------------------------------------------------

    def put_metric_data(self, params: Mapping[str, Any]) -> None:
        namespace: str = params["Namespace"]
        if namespace.startswith("AWS/"):
            raise invalid("The value AWS/ for parameter Namespace is invalid.")
        data = list(params.get("MetricData") or [])
        for entity in params.get("EntityMetricData") or []:
            data.extend(entity.get("MetricData") or [])
        if not data:
            raise missing("The parameter MetricData is required.")  # UNCONFIRMED
        if len(data) > MAX_METRIC_DATA:
            raise invalid(
                f"The collection MetricData must not have a size greater than {MAX_METRIC_DATA}."
            )
        now = self._recorder.now()
        checked = [
            _check_datum(datum, f"MetricData.member.{i}", now) for i, datum in enumerate(data, 1)
        ]
        for datum, at in checked:  # all or nothing: record only once every datum is valid
            self._record(namespace, datum, at)

    def _record(self, namespace: str, datum: Mapping[str, Any], at: float) -> None:
        name = datum["MetricName"]
        dims = [(d["Name"], d["Value"]) for d in datum.get("Dimensions") or []]
        unit = datum.get("Unit") or "None"
        stats = datum.get("StatisticValues")
        if datum.get("Value") is not None:
            self._recorder.put(namespace, name, dims, datum["Value"], unit, at)
        elif stats:
            self._recorder.put_statistics(
                namespace,
                name,
                dims,
                sample_count=stats["SampleCount"],
                total=stats["Sum"],
                minimum=stats["Minimum"],
                maximum=stats["Maximum"],
                unit=unit,
                timestamp=at,
            )
        else:
            values = datum.get("Values") or []
            counts = datum.get("Counts") or [1.0] * len(values)
            for value, count in zip(values, counts, strict=True):
                self._recorder.put(namespace, name, dims, value, unit, at, count=count)

    # --- GetMetricStatistics -------------------------------------------------------------------

    async def get_metric_statistics(self, params: Mapping[str, Any]) -> dict[str, Any]:
        statistics = list(params.get("Statistics") or [])
        extended = list(params.get("ExtendedStatistics") or [])
        # The API reference says "either Statistics or ExtendedStatistics, but not both", yet
        # clients that run against AWS send both and read both from each datapoint (AWS's own
        # serverless benchmarking toolkit, sm-serverless-benchmarking; Grafana's CloudWatch
        # source), so CloudWatch evidently answers both; so does the emulator.
        if not statistics and not extended:
            raise combination("Must specify either Statistics or ExtendedStatistics")
        parsed = []
        for text in statistics + extended:
            statistic = parse_statistic(text)
            if statistic is None or (text in extended and not statistic.is_percentile):
                raise invalid(
                    f"The value {text} for parameter ExtendedStatistics is not supported."
                )
            parsed.append(statistic)
        period = int(params["Period"])
        check_period(period, "Period")
        start, end = _epoch(params["StartTime"]), _epoch(params["EndTime"])
        if start >= end:
            raise invalid("The parameter StartTime must be less than the parameter EndTime.")
        first = periods.rounded_start(start, self._recorder.now(), period)
        wanted = periods.requested_datapoints(start, end, period)
        if wanted > MAX_DATAPOINTS:
            raise combination(
                f"You have requested up to {wanted} datapoints, which exceeds the limit of "
                f"{MAX_DATAPOINTS}. You may reduce the datapoints requested by increasing Period, "
                "or decreasing the time range."
            )
        key = metric_key(params["Namespace"], params["MetricName"], params.get("Dimensions"))
        samples = await self._recorder.samples(key, first, end, params.get("Unit"))
        points = []
        for point in periods.datapoints(samples, first, period, parsed):
            item: dict[str, Any] = {"Timestamp": timestamp(point.timestamp), "Unit": point.unit}
            for text in statistics:
                item[text] = point.values[text]
            if extended:
                item["ExtendedStatistics"] = {
                    text: point.values[text] for text in extended if text in point.values
                }
            points.append(item)
        return {"Label": params["MetricName"], "Datapoints": points}

    # --- ListMetrics ---------------------------------------------------------------------------

    async def list_metrics(self, params: Mapping[str, Any]) -> dict[str, Any]:
        now = self._recorder.now()
        window = RECENT_S if params.get("RecentlyActive") == "PT3H" else LIST_WINDOW_S
        keys = await self._recorder.metrics(since=now - min(window, self._recorder.retention_s))
        namespace, name = params.get("Namespace"), params.get("MetricName")
        filters = [(f["Name"], f.get("Value")) for f in params.get("Dimensions") or []]
        chosen = [
            key
            for key in keys
            if (namespace is None or key.namespace == namespace)
            and (name is None or key.name == name)
            and all(_has_dimension(key, n, v) for n, v in filters)
        ]
        digest = request_digest(params, exclude="NextToken")
        offset = read_token(params.get("NextToken"), digest)
        page = chosen[offset : offset + LIST_PAGE]
        result: dict[str, Any] = {
            "Metrics": [
                {
                    "Namespace": key.namespace,
                    "MetricName": key.name,
                    "Dimensions": [{"Name": n, "Value": v} for n, v in key.dimensions],
                }
                for key in page
            ]
        }
        if offset + LIST_PAGE < len(chosen):
            result["NextToken"] = make_token(offset + LIST_PAGE, digest)
        return result


# --- PutMetricData validation -----------------------------------------------------------------


def _check_datum(
    datum: Mapping[str, Any], where: str, now: float
) -> tuple[Mapping[str, Any], float]:
    names = [d["Name"] for d in datum.get("Dimensions") or []]
    if len(set(names)) != len(names):
        raise invalid("No Metric may specify the same dimension twice.")  # UNCONFIRMED
    at = _epoch(datum["Timestamp"]) if datum.get("Timestamp") is not None else now
    if at < now - PAST_LIMIT_S:
        # UNCONFIRMED wording (as the two messages below)
        raise invalid(
            f"The parameter {where}.Timestamp must specify a time no more than two weeks in "
            "the past."
        )
    if at > now + FUTURE_LIMIT_S:
        raise invalid(
            f"The parameter {where}.Timestamp must specify a time no more than two hours in "
            "the future."
        )
    value, stats = datum.get("Value"), datum.get("StatisticValues")
    values, counts = datum.get("Values") or [], datum.get("Counts") or []
    for first, second, both in (
        ("Value", "Values", value is not None and bool(values)),
        ("Value", "StatisticValues", value is not None and bool(stats)),
        ("Values", "StatisticValues", bool(values) and bool(stats)),
    ):
        if both:
            raise combination(
                f"The parameters {where}.{first} and {where}.{second} are mutually exclusive "
                "and you have specified both."
            )
    if value is None and not stats and not values:
        raise missing(
            f"At least one of the parameters {where}.Value, {where}.Values or "
            f"{where}.StatisticValues must be specified."
        )  # UNCONFIRMED
    if counts and len(counts) != len(values):
        raise invalid(f"The parameters {where}.Values and {where}.Counts must be of the same size.")
    if len(values) > MAX_VALUES:
        raise invalid(
            f"The collection {where}.Values must not have a size greater than {MAX_VALUES}."
        )  # UNCONFIRMED
    if value is not None:
        _check_number(value, f"{where}.Value")
    for i, item in enumerate(values, 1):
        _check_number(item, f"{where}.Values.member.{i}")
    for i, count in enumerate(counts, 1):
        if not math.isfinite(count) or count < 0:
            raise invalid(f"The value {count} for parameter {where}.Counts.member.{i} is invalid.")
    if stats:
        _check_statistic_set(stats, f"{where}.StatisticValues")
    resolution = datum.get("StorageResolution")
    if resolution is not None and resolution not in (1, 60):
        # AWS's wording, pasted in boto/botocore issue 1671.
        raise invalid(
            f"The parameter {where}.StorageResolution must be a value in the set [ 1, 60 ]."
        )
    return datum, at


def _check_number(value: float, where: str) -> None:
    if not math.isfinite(value) or abs(value) > VALUE_LIMIT:
        raise invalid(f"The value {_show(value)} for parameter {where} is invalid.")


def _check_statistic_set(stats: Mapping[str, float], where: str) -> None:
    for member in ("SampleCount", "Sum", "Minimum", "Maximum"):
        _check_number(stats[member], f"{where}.{member}")
    if stats["SampleCount"] <= 0:
        raise invalid(f"The parameter {where}.SampleCount must be greater than 0.")  # UNCONFIRMED
    if stats["Maximum"] < stats["Minimum"]:
        raise invalid(
            f"The parameter {where}.Maximum must be greater than {where}.Minimum."
        )  # UNCONFIRMED


def _show(value: float) -> str:
    return "NaN" if math.isnan(value) else repr(value).replace("inf", "Infinity")


def _has_dimension(key: MetricKey, name: str, value: str | None) -> bool:
    return any(n == name and (value is None or v == value) for n, v in key.dimensions)


def _epoch(moment: datetime.datetime) -> float:
    return moment.timestamp()

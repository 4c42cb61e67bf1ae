"""CloudWatch metric alarms: PutMetricAlarm, DescribeAlarms, DescribeAlarmsForMetric,
DeleteAlarms and SetAlarmState.

Thin over ``autoscaling.book``: check what CloudWatch checks (with its codes), hand the alarm
to the book, and write alarms back as MetricAlarm members. Metric-math and anomaly-detection
alarms are refused (the emulator does not evaluate them). Messages marked UNCONFIRMED follow
the service's style but were not seen verbatim.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from endpointlab.emulator.autoscaling.alarms import AlarmState, Comparison, MissingData
from endpointlab.emulator.autoscaling.book import AlarmBook, AlarmDefinition, MetricAlarm
from endpointlab.emulator.errors import ServiceError
from endpointlab.emulator.metrics import parse_statistic
from endpointlab.emulator.services.cloudwatch_params import (
    combination,
    invalid,
    make_token,
    missing,
    read_token,
    request_digest,
)

OPERATIONS = frozenset(
    {"PutMetricAlarm", "DescribeAlarms", "DescribeAlarmsForMetric", "DeleteAlarms", "SetAlarmState"}
)
ALARM_PERIODS = (10, 20, 30)  # or a multiple of 60
DAY_S = 86_400
WEEK_S = 7 * DAY_S
DEFAULT_RECORDS = 50
_REQUIRED = ("MetricName", "Namespace", "Period", "EvaluationPeriods", "Threshold")


class CloudWatchAlarms:
    """The alarm operations of CloudWatch; ``wake`` asks the scaler to evaluate at once."""

    def __init__(self, book: AlarmBook, wake: Callable[[], None]) -> None:
        self._book = book
        self._wake = wake

    async def handle(self, operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
        if operation == "PutMetricAlarm":
            self._book.put(AlarmDefinition.of(_checked(params)))
            self._wake()
            return {}
        if operation == "DescribeAlarms":
            return self.describe_alarms(params)
        if operation == "DescribeAlarmsForMetric":
            return self.describe_alarms_for_metric(params)
        if operation == "DeleteAlarms":
            names = list(params["AlarmNames"])
            unknown = [name for name in names if self._book.get(name) is None]
            if unknown:  # nothing is deleted then; UNCONFIRMED wording
                raise ServiceError(
                    "ResourceNotFound",
                    f"{len(unknown)} out of {len(names)} alarms were not found: "
                    f"{', '.join(unknown)}",
                    status=404,
                )
            self._book.delete(names)
            return {}
        return self.set_alarm_state(params)

    def set_alarm_state(self, params: Mapping[str, Any]) -> dict[str, Any]:
        name = params["AlarmName"]
        if self._book.get(name) is None:  # UNCONFIRMED wording
            raise ServiceError("ResourceNotFound", f"Alarm {name} does not exist.", status=404)
        data = params.get("StateReasonData")
        if data is not None:
            try:
                json.loads(data)
            except ValueError:  # UNCONFIRMED wording
                raise ServiceError("InvalidFormat", "StateReasonData is not valid JSON.") from None
        self._book.set_state(name, AlarmState(params["StateValue"]), params["StateReason"], data)
        self._wake()
        return {}

    def describe_alarms(self, params: Mapping[str, Any]) -> dict[str, Any]:
        names, prefix = params.get("AlarmNames"), params.get("AlarmNamePrefix")
        if names and prefix:
            raise combination("AlarmNames and AlarmNamePrefix are mutually exclusive.")
        types = params.get("AlarmTypes")
        state, action = params.get("StateValue"), params.get("ActionPrefix")
        chosen = [
            alarm
            for alarm in self._book.all()
            if (not names or alarm.name in names)
            and (not prefix or alarm.name.startswith(prefix))
            and (state is None or alarm.state.value == state)
            and (not action or any(a.startswith(action) for a in _actions(alarm)))
        ]
        if (types and "MetricAlarm" not in types) or params.get("ChildrenOfAlarmName"):
            chosen = []  # no composite alarms here, so no children or parents either
        if params.get("ParentsOfAlarmName"):
            chosen = []
        digest = request_digest(params, exclude="NextToken")
        offset = read_token(params.get("NextToken"), digest)
        size = int(params.get("MaxRecords") or DEFAULT_RECORDS)
        result: dict[str, Any] = {
            "MetricAlarms": [_wire(a) for a in chosen[offset : offset + size]],
        }
        if types and "CompositeAlarm" in types:
            result["CompositeAlarms"] = []
        if offset + size < len(chosen):
            result["NextToken"] = make_token(offset + size, digest)
        return result

    def describe_alarms_for_metric(self, params: Mapping[str, Any]) -> dict[str, Any]:
        dimensions = params.get("Dimensions")
        wanted = None if dimensions is None else sorted((d["Name"], d["Value"]) for d in dimensions)
        chosen = []
        for alarm in self._book.all():
            metric = alarm.definition.metric
            if (metric.namespace, metric.name) != (params["Namespace"], params["MetricName"]):
                continue
            statistic = params.get("Statistic") or params.get("ExtendedStatistic")
            if statistic is not None and metric.statistic != statistic:
                continue
            if params.get("Period") is not None and metric.period != params["Period"]:
                continue
            if params.get("Unit") is not None and metric.unit != params["Unit"]:
                continue
            if wanted is not None and sorted(metric.dimensions) != wanted:
                continue
            chosen.append(_wire(alarm))
        return {"MetricAlarms": chosen}


def _actions(alarm: MetricAlarm) -> list[str]:
    return [a for actions in alarm.definition.actions.values() for a in actions]


def _checked(params: Mapping[str, Any]) -> dict[str, Any]:
    """The PutMetricAlarm members to keep (Tags aside), or CloudWatch's error."""
    if params.get("Metrics") or params.get("ThresholdMetricId"):
        raise invalid(  # the emulator's limit, not AWS's
            "The emulator does not evaluate metric math or anomaly detection alarms; give "
            "MetricName, Namespace, Statistic and Threshold."
        )
    absent = [m for m in (*_REQUIRED, "ComparisonOperator") if params.get(m) is None]
    if absent:
        raise missing(f"The parameter {absent[0]} is required.")  # UNCONFIRMED
    statistic, extended = params.get("Statistic"), params.get("ExtendedStatistic")
    if (statistic is None) == (extended is None):
        raise combination(  # UNCONFIRMED
            "Exactly one of the parameters Statistic and ExtendedStatistic must be specified."
        )
    if extended is not None:
        parsed = parse_statistic(extended)
        if parsed is None or parsed.kind in ("SampleCount", "Average", "Sum", "Minimum", "Maximum"):
            raise invalid(f"The value {extended} for parameter ExtendedStatistic is not supported.")
    comparison = params["ComparisonOperator"]
    if comparison not in {c.value for c in Comparison}:
        raise invalid(  # UNCONFIRMED
            f"The comparison operator {comparison} needs an anomaly detection band "
            "(ThresholdMetricId), which the emulator does not evaluate."
        )
    period, evaluations = int(params["Period"]), int(params["EvaluationPeriods"])
    if period not in ALARM_PERIODS and period % 60:
        raise invalid(  # UNCONFIRMED
            "The parameter Period must be 10, 20, 30 or a multiple of 60."
        )
    limit = DAY_S if period < 3600 else WEEK_S
    if period * evaluations > limit:
        raise invalid(  # UNCONFIRMED
            f"The evaluation period multiplied by the period must not exceed {limit} seconds."
        )
    datapoints = params.get("DatapointsToAlarm")
    if datapoints is not None and datapoints > evaluations:
        raise invalid(  # UNCONFIRMED
            "DatapointsToAlarm must be less than or equal to EvaluationPeriods."
        )
    treat = params.get("TreatMissingData")
    if treat is not None and treat not in {m.value for m in MissingData}:
        raise invalid(  # UNCONFIRMED
            f"The value {treat} for parameter TreatMissingData is invalid: valid values are "
            "breaching, notBreaching, ignore and missing."
        )
    return {k: v for k, v in params.items() if k != "Tags"}


def _wire(alarm: MetricAlarm) -> dict[str, Any]:
    spec = alarm.definition.spec
    result: dict[str, Any] = {
        "AlarmName": alarm.name,
        "AlarmArn": alarm.arn,
        "AlarmConfigurationUpdatedTimestamp": alarm.config_updated,
        "ActionsEnabled": alarm.definition.actions_enabled,
        "OKActions": list(spec.get("OKActions") or []),
        "AlarmActions": list(spec.get("AlarmActions") or []),
        "InsufficientDataActions": list(spec.get("InsufficientDataActions") or []),
        "StateValue": alarm.state.value,
        "StateReason": alarm.reason,
        "StateUpdatedTimestamp": alarm.state_updated,
        "StateTransitionedTimestamp": alarm.transitioned,
        "MetricName": spec["MetricName"],
        "Namespace": spec["Namespace"],
        "Dimensions": list(spec.get("Dimensions") or []),
        "Period": spec["Period"],
        "EvaluationPeriods": spec["EvaluationPeriods"],
        "Threshold": float(spec["Threshold"]),
        "ComparisonOperator": spec["ComparisonOperator"],
    }
    if alarm.reason_data:
        result["StateReasonData"] = alarm.reason_data
    for member in (
        "AlarmDescription",
        "Statistic",
        "ExtendedStatistic",
        "Unit",
        "DatapointsToAlarm",
        "TreatMissingData",
        "EvaluateLowSampleCountPercentile",
    ):
        if spec.get(member) is not None:
            result[member] = spec[member]
    return result

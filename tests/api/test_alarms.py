"""CloudWatch metric alarms through boto3 (services/cloudwatch_alarms.py, autoscaling/book.py):
alarms put over known metric data reach the state the data calls for, with CloudWatch's
reasons, on every protocol a current botocore may pick; DescribeAlarms filters, SetAlarmState,
DeleteAlarms and the errors by their exact codes."""

from __future__ import annotations

import json
import math
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.test_cloudwatch import PROTOCOLS, cloudwatch_client


@pytest.fixture(scope="module", params=PROTOCOLS)
def cw(request: Any, emulator_url: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    return cloudwatch_client(emulator_url, request.param, tmp_path_factory.mktemp("models"))


def put_per_minute(cw: Any, namespace: str, value: float, minutes: int = 3) -> None:
    """``value`` in each of the last ``minutes`` minutes and the current one: whichever minute
    the alarm is evaluated in, its last ``minutes`` complete periods hold one datapoint each."""
    minute = math.floor(time.time() / 60) * 60
    data = [
        {"MetricName": "Depth", "Value": value, "Timestamp": datetime.fromtimestamp(at, UTC)}
        for at in [minute - 50 - 60 * back for back in range(minutes)] + [minute + 10]
    ]
    cw.put_metric_data(Namespace=namespace, MetricData=data)


def alarm(cw: Any, name: str, namespace: str, **changes: Any) -> dict[str, Any]:
    """Put an alarm on ``namespace``'s Depth (greater than 4 for 3 of 3 minutes) and return it
    once it has been evaluated."""
    spec = {
        "AlarmName": name,
        "Namespace": namespace,
        "MetricName": "Depth",
        "Statistic": "Average",
        "Period": 60,
        "EvaluationPeriods": 3,
        "Threshold": 4.0,
        "ComparisonOperator": "GreaterThanThreshold",
        **changes,
    }
    cw.put_metric_alarm(**spec)
    deadline = time.monotonic() + 10
    while True:
        [found] = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"]
        if not found["StateReason"].startswith("Unchecked") or time.monotonic() > deadline:
            return dict(found)
        time.sleep(0.05)  # polling DescribeAlarms, as a client waits for an evaluation


def test_alarms_follow_known_data(cw: Any) -> None:
    namespace = f"Test/{uuid.uuid4().hex[:10]}"
    put_per_minute(cw, namespace, 5.0)
    high = alarm(cw, f"high-{namespace}", namespace)
    assert high["StateValue"] == "ALARM"
    assert high["StateReason"].startswith("Threshold Crossed: 3 datapoints [5.0 (")
    assert high["StateReason"].endswith(" were greater than the threshold (4.0).")
    data = json.loads(high["StateReasonData"])
    assert (data["recentDatapoints"], data["threshold"]) == ([5.0, 5.0, 5.0], 4.0)
    assert high["AlarmArn"] == f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:high-{namespace}"
    low = alarm(cw, f"ok-{namespace}", namespace, Threshold=6.0)
    assert low["StateValue"] == "OK"
    assert low["StateReason"].endswith(" were not greater than the threshold (6.0).")
    empty = alarm(cw, f"empty-{namespace}", f"{namespace}/none")
    assert (empty["StateValue"], empty["StateReason"]) == (
        "INSUFFICIENT_DATA",
        "Insufficient Data: 3 datapoints were unknown.",
    )
    breaching = alarm(cw, f"gap-{namespace}", f"{namespace}/none", TreatMissingData="breaching")
    assert (breaching["StateValue"], breaching["StateReason"]) == (
        "ALARM",
        "Threshold Crossed: no datapoints were received for 3 periods and 3 missing datapoints "
        "were treated as [Breaching].",
    )
    names = [f"{p}-{namespace}" for p in ("high", "ok", "empty", "gap")]
    in_alarm = cw.describe_alarms(AlarmNames=names, StateValue="ALARM")["MetricAlarms"]
    assert [a["AlarmName"] for a in in_alarm] == sorted([names[0], names[3]])
    prefixed = cw.describe_alarms(AlarmNamePrefix="ok-Test/")["MetricAlarms"]
    assert names[1] in [a["AlarmName"] for a in prefixed]
    assert names[0] not in [a["AlarmName"] for a in prefixed]
    for_metric = cw.describe_alarms_for_metric(Namespace=namespace, MetricName="Depth")
    assert sorted(a["AlarmName"] for a in for_metric["MetricAlarms"]) == sorted(names[:2])
    cw.delete_alarms(AlarmNames=names)
    assert cw.describe_alarms(AlarmNames=names)["MetricAlarms"] == []


def test_reasons_are_worded_as_cloudwatch_words_them(cw: Any) -> None:
    # Past three datapoints a reason counts them, as target tracking's AlarmLow reads on AWS:
    # "Threshold Crossed: 15 datapoints were less than the threshold (63.0). The most recent
    # datapoints which crossed the threshold: [...]."; filled-in missing data is named.
    namespace = f"Test/{uuid.uuid4().hex[:10]}"
    put_per_minute(cw, namespace, 5.0, minutes=6)
    found = alarm(cw, f"six-{namespace}", namespace, EvaluationPeriods=6)
    lead = "Threshold Crossed: 6 datapoints were greater than the threshold (4.0). The most "
    lead += "recent datapoints which crossed the threshold: ["
    assert found["StateValue"] == "ALARM"
    assert found["StateReason"].startswith(lead), found["StateReason"]
    assert found["StateReason"].endswith(")].")
    assert found["StateReason"].count("5.0 (") == 5
    quiet = alarm(cw, f"quiet-{namespace}", f"{namespace}/none", TreatMissingData="notBreaching")
    assert (quiet["StateValue"], quiet["StateReason"]) == (
        "OK",
        "Threshold Crossed: no datapoints were received for 3 periods and 3 missing datapoints "
        "were treated as [NonBreaching].",
    )
    cw.delete_alarms(AlarmNames=[f"six-{namespace}", f"quiet-{namespace}"])


def test_set_alarm_state_and_errors(cw: Any) -> None:
    name = f"set-{uuid.uuid4().hex[:10]}"
    cw.put_metric_alarm(
        AlarmName=name, Namespace="Test/none", MetricName="x", Statistic="Sum", Period=60,
        EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="ignore",
    )  # fmt: skip
    cw.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="testing")
    [found] = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    assert (found["StateValue"], found["StateReason"]) == ("ALARM", "testing")
    with pytest.raises(ClientError) as caught:
        cw.set_alarm_state(AlarmName=f"{name}-x", StateValue="OK", StateReason="r")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFound"
    with pytest.raises(ClientError) as caught:
        cw.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="r", StateReasonData="{")
    assert caught.value.response["Error"]["Code"] == "InvalidFormat"
    with pytest.raises(ClientError) as caught:
        cw.delete_alarms(AlarmNames=[name, f"{name}-x"])
    assert caught.value.response["Error"]["Code"] == "ResourceNotFound"
    assert cw.describe_alarms(AlarmNames=[name])["MetricAlarms"]  # nothing was deleted
    base = {
        "AlarmName": name,
        "Namespace": "T",
        "MetricName": "x",
        "Period": 60,
        "EvaluationPeriods": 2,
        "Threshold": 1.0,
        "ComparisonOperator": "LessThanThreshold",
    }
    for changes, code in (
        ({"Statistic": "Sum", "ExtendedStatistic": "p99"}, "InvalidParameterCombination"),
        ({"Statistic": "Sum", "DatapointsToAlarm": 3}, "InvalidParameterValue"),
        ({"Statistic": "Sum", "Period": 45}, "InvalidParameterValue"),
        ({"Statistic": "Sum", "TreatMissingData": "sometimes"}, "InvalidParameterValue"),
    ):
        with pytest.raises(ClientError) as caught:
            cw.put_metric_alarm(**{**base, **changes})
        assert caught.value.response["Error"]["Code"] == code, changes
    cw.delete_alarms(AlarmNames=[name])

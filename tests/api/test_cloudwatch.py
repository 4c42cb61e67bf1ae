"""CloudWatch's metric operations through boto3 (services/cloudwatch*.py) on every protocol a
current botocore may pick: awsJson 1.0 (the default), awsQuery and Smithy rpc-v2-cbor (forced
by a copy of the service model with its protocol changed). Statistics are checked against numpy
on the very values put; errors by their exact codes."""

from __future__ import annotations

import datetime
import json
import math
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import numpy as np
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.api.support import REGION

PROTOCOLS = ["json", "query", "smithy-rpc-v2-cbor"]
UTC = datetime.UTC
MINUTES = 12


def cloudwatch_client(url: str, protocol: str, models: Path) -> Any:
    """A boto3 CloudWatch client that speaks ``protocol``: botocore reads a copy of the
    installed model, with only its protocol changed, from a data path searched first."""
    session = botocore.session.Session()
    if protocol != "json":
        model = session.get_component("data_loader").load_service_model("cloudwatch", "service-2")
        model = json.loads(json.dumps(model))
        model["metadata"]["protocol"] = protocol
        model["metadata"]["protocols"] = [protocol]
        folder = models / protocol / "cloudwatch" / model["metadata"]["apiVersion"]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "service-2.json").write_text(json.dumps(model))
        session = botocore.session.Session()
        session.get_component("data_loader").search_paths.insert(0, str(models / protocol))
    boto = boto3.session.Session(
        botocore_session=session,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name=REGION,
    )
    client = boto.client(
        "cloudwatch", endpoint_url=url, config=Config(retries={"total_max_attempts": 1})
    )
    assert client.meta.service_model.resolved_protocol == protocol
    return client


@pytest.fixture(scope="module", params=PROTOCOLS)
def cw(request: Any, emulator_url: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    return cloudwatch_client(emulator_url, request.param, tmp_path_factory.mktemp("models"))


def namespace() -> str:
    return f"Test/{uuid.uuid4().hex[:10]}"


def code_of(caught: Any) -> str:
    return str(caught.value.response["Error"]["Code"])


def minute_start(minutes_ago: int) -> datetime.datetime:
    now = datetime.datetime.now(UTC).replace(second=0, microsecond=0)
    return now - datetime.timedelta(minutes=minutes_ago)


@pytest.fixture(scope="module")
def workload(cw: Any) -> dict[str, Any]:
    """Random latencies over twelve minutes (Values/Counts and single Values), with a second unit
    in one minute; what was put is kept to compute the expected statistics with numpy."""
    rng = np.random.default_rng(7)
    ns, base = namespace(), minute_start(MINUTES + 1)
    dims = [{"Name": "Host", "Value": "a"}, {"Name": "Az", "Value": "z1"}]
    by_minute: dict[int, list[float]] = defaultdict(list)
    data = []
    for minute in range(MINUTES):
        values = np.round(rng.lognormal(3, 0.6, size=40), 3).tolist()
        counts = rng.integers(1, 4, size=40).tolist()
        at = base + datetime.timedelta(minutes=minute, seconds=int(rng.integers(0, 59)))
        data.append({"MetricName": "Latency", "Dimensions": dims, "Timestamp": at,
                     "Values": values, "Counts": counts, "Unit": "Milliseconds"})  # fmt: skip
        single = float(rng.uniform(0, 100))
        data.append({"MetricName": "Latency", "Dimensions": dims, "Timestamp": at,
                     "Value": single, "Unit": "Milliseconds"})  # fmt: skip
        by_minute[minute] += [v for v, c in zip(values, counts, strict=True) for _ in range(c)]
        by_minute[minute].append(single)
    data.append({"MetricName": "Latency", "Dimensions": dims, "Unit": "Seconds", "Value": 9.0,
                 "Timestamp": base + datetime.timedelta(minutes=3)})  # fmt: skip
    cw.put_metric_data(Namespace=ns, MetricData=data)
    return {"ns": ns, "base": base, "dims": dims, "by_minute": by_minute}


def test_get_metric_statistics_equal_numpy_per_period(cw: Any, workload: dict[str, Any]) -> None:
    base, by_minute = workload["base"], workload["by_minute"]
    response = cw.get_metric_statistics(
        Namespace=workload["ns"],
        MetricName="Latency",
        Dimensions=list(reversed(workload["dims"])),  # dimension order does not matter
        StartTime=base,
        EndTime=base + datetime.timedelta(minutes=MINUTES),
        Period=60,
        Statistics=["SampleCount", "Average", "Sum", "Minimum", "Maximum"],
        Unit="Milliseconds",
    )
    assert response["Label"] == "Latency"
    points = sorted(response["Datapoints"], key=lambda p: p["Timestamp"])
    assert len(points) == MINUTES
    for minute, point in enumerate(points):
        expected = np.array(by_minute[minute])
        assert point["Timestamp"] == base + datetime.timedelta(minutes=minute)
        assert point["Unit"] == "Milliseconds"
        assert point["SampleCount"] == expected.size
        assert point["Sum"] == pytest.approx(expected.sum(), rel=1e-12)
        assert point["Average"] == pytest.approx(expected.mean(), rel=1e-12)
        assert (point["Minimum"], point["Maximum"]) == (expected.min(), expected.max())


def test_extended_statistics_equal_numpy_percentiles(cw: Any, workload: dict[str, Any]) -> None:
    base = workload["base"]
    response = cw.get_metric_statistics(
        Namespace=workload["ns"],
        MetricName="Latency",
        Dimensions=workload["dims"],
        StartTime=base,
        EndTime=base + datetime.timedelta(minutes=MINUTES),
        Period=300,
        ExtendedStatistics=["p50", "p90", "p99", "p99.9"],
        Unit="Milliseconds",
    )
    points = sorted(response["Datapoints"], key=lambda p: p["Timestamp"])
    assert len(points) == math.ceil(MINUTES / 5)
    for index, point in enumerate(points):
        minutes = range(index * 5, min(index * 5 + 5, MINUTES))
        expected = np.concatenate([workload["by_minute"][m] for m in minutes])
        assert set(point) == {"Timestamp", "Unit", "ExtendedStatistics"}
        for name, value in point["ExtendedStatistics"].items():
            q = float(name[1:])
            assert value == np.percentile(expected, q, method="inverted_cdf"), name


def test_statistics_and_extended_statistics_together_answer_both(
    cw: Any, workload: dict[str, Any]
) -> None:
    """As AWS's serverless benchmarking toolkit asks for them (and reads them) in one call."""
    base = workload["base"]
    response = cw.get_metric_statistics(
        Namespace=workload["ns"],
        MetricName="Latency",
        Dimensions=workload["dims"],
        StartTime=base,
        EndTime=base + datetime.timedelta(minutes=MINUTES),
        Period=MINUTES * 60,
        Statistics=["Average", "Maximum"],
        ExtendedStatistics=["p50"],
        Unit="Milliseconds",
    )
    (point,) = response["Datapoints"]
    expected = np.concatenate([workload["by_minute"][m] for m in range(MINUTES)])
    assert set(point) == {"Timestamp", "Unit", "Average", "Maximum", "ExtendedStatistics"}
    assert point["Average"] == pytest.approx(expected.mean(), rel=1e-12)
    assert point["Maximum"] == expected.max()
    assert point["ExtendedStatistics"] == {
        "p50": np.percentile(expected, 50, method="inverted_cdf")
    }


def test_without_a_unit_each_unit_has_its_own_datapoint(cw: Any, workload: dict[str, Any]) -> None:
    start = workload["base"] + datetime.timedelta(minutes=3)
    response = cw.get_metric_statistics(
        Namespace=workload["ns"],
        MetricName="Latency",
        Dimensions=workload["dims"],
        StartTime=start,
        EndTime=start + datetime.timedelta(minutes=1),
        Period=60,
        Statistics=["SampleCount"],
    )
    units = sorted((p["Unit"], p["SampleCount"]) for p in response["Datapoints"])
    assert units == [("Milliseconds", len(workload["by_minute"][3])), ("Seconds", 1.0)]


def test_get_metric_data_stats_math_and_scan_order(cw: Any, workload: dict[str, Any]) -> None:
    base, ns, dims = workload["base"], workload["ns"], workload["dims"]
    metric = {"Namespace": ns, "MetricName": "Latency", "Dimensions": dims}
    queries = [
        {"Id": "avg", "MetricStat": {"Metric": metric, "Period": 60, "Stat": "Average",
                                     "Unit": "Milliseconds"}},
        {"Id": "p90", "MetricStat": {"Metric": metric, "Period": 60, "Stat": "p90",
                                     "Unit": "Milliseconds"}, "ReturnData": False},
        {"Id": "ratio", "Expression": "p90 / avg * 100", "Label": "p90 over mean"},
    ]  # fmt: skip
    response = cw.get_metric_data(
        MetricDataQueries=queries,
        StartTime=base,
        EndTime=base + datetime.timedelta(minutes=MINUTES),
        ScanBy="TimestampAscending",
    )
    results = {r["Id"]: r for r in response["MetricDataResults"]}
    assert list(results) == ["avg", "ratio"]
    assert results["avg"]["Label"] == "Latency Average"  # the stat tells it from p90
    assert results["ratio"]["Label"] == "p90 over mean"
    assert results["avg"]["StatusCode"] == "Complete"
    assert results["avg"]["Timestamps"] == [
        base + datetime.timedelta(minutes=m) for m in range(MINUTES)
    ]
    for minute, (mean, ratio) in enumerate(
        zip(results["avg"]["Values"], results["ratio"]["Values"], strict=True)
    ):
        expected = np.array(workload["by_minute"][minute])
        assert mean == pytest.approx(expected.mean(), rel=1e-12)
        p90 = np.percentile(expected, 90, method="inverted_cdf")
        assert ratio == pytest.approx(p90 / expected.mean() * 100, rel=1e-12)
    descending = cw.get_metric_data(
        MetricDataQueries=queries[:1],
        StartTime=base,
        EndTime=base + datetime.timedelta(minutes=MINUTES),
    )["MetricDataResults"][0]["Timestamps"]
    assert descending == sorted(descending, reverse=True)


def test_get_metric_data_pages_by_max_datapoints(cw: Any, workload: dict[str, Any]) -> None:
    metric = {"Namespace": workload["ns"], "MetricName": "Latency", "Dimensions": workload["dims"]}
    queries = [
        {"Id": "a", "MetricStat": {"Metric": metric, "Period": 60, "Stat": "Sum"}},
        {"Id": "b", "MetricStat": {"Metric": metric, "Period": 60, "Stat": "SampleCount"}},
    ]
    window = {
        "StartTime": workload["base"],
        "EndTime": workload["base"] + datetime.timedelta(minutes=MINUTES),
    }
    whole = cw.get_metric_data(MetricDataQueries=queries, **window)
    first = cw.get_metric_data(MetricDataQueries=queries, MaxDatapoints=5, **window)
    assert [len(r["Values"]) for r in first["MetricDataResults"]] == [5, 0]
    assert first["MetricDataResults"][0]["StatusCode"] == "PartialData"
    assert "NextToken" in first
    collected: dict[str, list[float]] = defaultdict(list)
    pages = cw.get_paginator("get_metric_data").paginate(
        MetricDataQueries=queries, PaginationConfig={"PageSize": 5}, **window
    )
    count = 0
    for page in pages:
        count += 1
        for result in page["MetricDataResults"]:
            collected[result["Id"]] += result["Values"]
    assert count == math.ceil(2 * MINUTES / 5)
    assert collected == {r["Id"]: r["Values"] for r in whole["MetricDataResults"]}
    with pytest.raises(ClientError) as caught:
        cw.get_metric_data(MetricDataQueries=queries, NextToken="bm90LWEtdG9rZW4=", **window)
    assert code_of(caught) == "InvalidNextToken"


def test_list_metrics_filters_and_pages(cw: Any) -> None:
    ns = namespace()
    data = [
        {"MetricName": "Depth" if i % 2 else "Rate",
         "Dimensions": [{"Name": "Queue", "Value": f"q{i:03d}"}] + (
             [{"Name": "Shard", "Value": "s1"}] if i < 10 else []),
         "Value": float(i)}
        for i in range(520)
    ]  # fmt: skip
    cw.put_metric_data(Namespace=ns, MetricData=data)  # 520 metrics, gzip-compressed by botocore
    first = cw.list_metrics(Namespace=ns)
    assert len(first["Metrics"]) == 500
    assert "NextToken" in first
    listed = [m for page in cw.get_paginator("list_metrics").paginate(Namespace=ns)
              for m in page["Metrics"]]  # fmt: skip
    assert len(listed) == 520
    assert all(m["Namespace"] == ns for m in listed)
    depth = cw.list_metrics(Namespace=ns, MetricName="Depth")["Metrics"]
    assert len(depth) == 260
    shard = cw.list_metrics(Namespace=ns, Dimensions=[{"Name": "Shard"}])["Metrics"]
    assert len(shard) == 10
    one = cw.list_metrics(Namespace=ns, Dimensions=[{"Name": "Queue", "Value": "q007"}])
    assert one["Metrics"] == [
        {
            "Namespace": ns,
            "MetricName": "Depth",
            "Dimensions": [{"Name": "Queue", "Value": "q007"}, {"Name": "Shard", "Value": "s1"}],
        }
    ]
    assert cw.list_metrics(Namespace=ns, RecentlyActive="PT3H")["Metrics"][:1] == listed[:1]


def test_statistic_sets_answer_basic_statistics_only(cw: Any) -> None:
    ns, start = namespace(), minute_start(2)
    cw.put_metric_data(Namespace=ns, MetricData=[{
        "MetricName": "Set", "Timestamp": start + datetime.timedelta(seconds=5),
        "StatisticValues": {"SampleCount": 4, "Sum": 10, "Minimum": 1, "Maximum": 4}}])  # fmt: skip
    window = {"StartTime": start, "EndTime": start + datetime.timedelta(minutes=1), "Period": 60}
    basic = cw.get_metric_statistics(
        Namespace=ns, MetricName="Set", Statistics=["Average", "SampleCount"], **window
    )["Datapoints"]
    assert [(p["Average"], p["SampleCount"], p["Unit"]) for p in basic] == [(2.5, 4.0, "None")]
    percentile = cw.get_metric_statistics(
        Namespace=ns, MetricName="Set", ExtendedStatistics=["p50"], **window
    )["Datapoints"]
    assert [p.get("ExtendedStatistics", {}) for p in percentile] == [{}]


def test_put_metric_data_errors(cw: Any) -> None:
    now = datetime.datetime.now(UTC)
    cases = [
        ("AWS/SageMaker", {"MetricName": "x", "Value": 1.0}, "InvalidParameterValue"),
        ("T", {"MetricName": "x", "Value": 1.0, "Values": [1.0]}, "InvalidParameterCombination"),
        ("T", {"MetricName": "x", "Value": 1.0,
               "StatisticValues": {"SampleCount": 1, "Sum": 1, "Minimum": 1, "Maximum": 1}},
         "InvalidParameterCombination"),
        ("T", {"MetricName": "x", "Values": [1.0, 2.0], "Counts": [1.0]}, "InvalidParameterValue"),
        ("T", {"MetricName": "x", "Value": 1.0, "Timestamp": now - datetime.timedelta(days=15)},
         "InvalidParameterValue"),
        ("T", {"MetricName": "x", "Value": 1.0, "Timestamp": now + datetime.timedelta(hours=3)},
         "InvalidParameterValue"),
        ("T", {"MetricName": "x", "Value": 2.0**400}, "InvalidParameterValue"),
        ("T", {"MetricName": "x", "Values": [1.0] * 151}, "InvalidParameterValue"),
        ("T", {"MetricName": "x", "Value": 1.0, "StorageResolution": 5}, "InvalidParameterValue"),
        ("T", {"MetricName": "x"}, "MissingParameter"),
    ]  # fmt: skip
    for ns, datum, code in cases:
        with pytest.raises(ClientError) as caught:
            cw.put_metric_data(Namespace=ns, MetricData=[datum])
        assert code_of(caught) == code, datum
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as caught:
        cw.put_metric_data(Namespace="T", MetricData=[{"MetricName": "x", "Value": 1.0}] * 1001)
    assert code_of(caught) == "InvalidParameterValue"
    with pytest.raises(ClientError) as caught:  # AWS's wording: boto/botocore issue 1671
        cw.put_metric_data(
            Namespace="T", MetricData=[{"MetricName": "x", "Value": 1.0, "StorageResolution": 300}]
        )
    assert caught.value.response["Error"]["Message"] == (
        "The parameter MetricData.member.1.StorageResolution must be a value in the set [ 1, 60 ]."
    )


def test_get_metric_data_refuses_an_empty_window_in_aws_words(cw: Any) -> None:
    at = minute_start(5)
    stat = {"Metric": {"Namespace": "T", "MetricName": "x"}, "Period": 60, "Stat": "Sum"}
    with pytest.raises(ClientError) as caught:  # elastic/beats issue 32687
        cw.get_metric_data(
            MetricDataQueries=[{"Id": "a", "MetricStat": stat}], StartTime=at, EndTime=at
        )
    error = caught.value.response
    assert (error["Error"]["Code"], error["Error"]["Message"]) == (
        "ValidationError",
        "The parameter StartTime must not equal parameter EndTime.",
    )
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_get_metric_statistics_errors(cw: Any) -> None:
    start = minute_start(60)
    base = {"Namespace": "T", "MetricName": "x", "StartTime": start,
            "EndTime": start + datetime.timedelta(minutes=30), "Period": 60}  # fmt: skip
    cases = [
        ({}, "InvalidParameterCombination"),
        ({"ExtendedStatistics": ["p101"]}, "InvalidParameterValue"),
        ({"Statistics": ["Sum"], "Period": 7}, "InvalidParameterValue"),
        ({"Statistics": ["Sum"], "EndTime": start}, "InvalidParameterValue"),
        ({"Statistics": ["Sum"], "Period": 1}, "InvalidParameterCombination"),  # 1,800 points
        ({"Statistics": ["Median"]}, "ValidationError"),
    ]
    for change, code in cases:
        with pytest.raises(ClientError) as caught:
            cw.get_metric_statistics(**{**base, **change})
        assert code_of(caught) == code, change


def too_many(count: int) -> str:
    """CloudWatch's refusal, as pasted from AWS in cloud-custodian issues 6964 and 7683."""
    return (
        f"You have requested up to {count} datapoints, which exceeds the limit of 1440. "
        "You may reduce the datapoints requested by increasing Period, or decreasing the time "
        "range."
    )


def test_the_datapoint_limit_counts_the_periods_of_the_requested_window(cw: Any) -> None:
    # "now - 1 day .. now" at Period 1 is 86,400 datapoints on AWS (cloud-custodian 7683), so
    # the last 24 hours at 60 s is 1,440 and allowed, whether or not the window starts on a
    # period boundary (CloudWatch rounds the start down, but counts the window asked for).
    aligned = minute_start(2)
    unaligned = aligned + datetime.timedelta(seconds=17, microseconds=250_000)
    day = datetime.timedelta(days=1)
    query = {"Namespace": namespace(), "MetricName": "x", "Statistics": ["Sum"]}
    for end in (aligned, unaligned):
        answer = cw.get_metric_statistics(**query, StartTime=end - day, EndTime=end, Period=60)
        assert answer["Datapoints"] == []
        refusals = [
            (end - day, 1, 86_400),
            (end - day - datetime.timedelta(minutes=1), 60, 1_441),
            (end - day - datetime.timedelta(seconds=1), 60, 1_441),  # part of a period counts
        ]
        for start, period, count in refusals:
            with pytest.raises(ClientError) as caught:
                cw.get_metric_statistics(**query, StartTime=start, EndTime=end, Period=period)
            error = caught.value.response
            assert (error["Error"]["Code"], error["Error"]["Message"]) == (
                "InvalidParameterCombination",
                too_many(count),
            ), (end, start, period)
            assert error["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_get_metric_data_errors(cw: Any) -> None:
    start = minute_start(30)
    metric = {"Namespace": "T", "MetricName": "x"}
    stat = {"Metric": metric, "Period": 60, "Stat": "Sum"}
    cases = [
        [{"Id": "a", "MetricStat": stat}, {"Id": "a", "MetricStat": stat}],
        [{"Id": "A1", "MetricStat": stat}],
        [{"Id": "a", "MetricStat": {**stat, "Stat": "Median"}}],
        [{"Id": "a", "MetricStat": stat, "Expression": "1"}],
        [{"Id": "a", "MetricStat": stat, "Period": 60}],
        [{"Id": "a"}],
        [{"Id": "e", "Expression": "a * 2"}, {"Id": "a", "Expression": "e + 1"}],
        [{"Id": "e", "Expression": "m1 +"}],
    ]
    for queries in cases:
        with pytest.raises(ClientError) as caught:
            cw.get_metric_data(
                MetricDataQueries=queries,
                StartTime=start,
                EndTime=start + datetime.timedelta(minutes=10),
            )
        assert code_of(caught) == "ValidationError", queries

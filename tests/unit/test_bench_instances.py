"""The instance count over a configuration's run: DescribeEndpoint polled while the phases run
(botocore's Stubber answers) and the samples laid on the timeline (pure)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import boto3
from botocore.stub import Stubber

from endpointlab.analysis.summary import with_instances
from endpointlab.bench.observe import InstancePoller
from endpointlab.results.run_result import TimelinePoint

T0 = 1_700_000_000.0


def test_each_interval_holds_the_last_count_sampled_by_its_end() -> None:
    points = [TimelinePoint(t=float(t)) for t in range(5)]
    samples = [(T0 + 2.5, 3.0), (T0 + 0.2, 1.0), (T0 + 1.9, 2.0)]
    filled = with_instances(points, T0, samples)
    assert [p.instances for p in filled] == [1.0, 2.0, 3.0, 3.0, 3.0]
    late = with_instances(points[:2], T0 - 10, [(T0, 4.0)])  # nothing sampled yet: the first
    assert [p.instances for p in late] == [4.0, 4.0]
    assert with_instances(points, T0, []) == points


def described(count: int | None) -> dict[str, object]:
    variant: dict[str, object] = {"VariantName": "AllTraffic"}
    if count is not None:
        variant["CurrentInstanceCount"] = count
    now = datetime.now(UTC)
    return {
        "EndpointName": "e",
        "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/e",
        "EndpointStatus": "InService",
        "CreationTime": now,
        "LastModifiedTime": now,
        "ProductionVariants": [variant],
    }


def test_the_poller_records_the_variants_count_and_skips_what_has_none() -> None:
    client = boto3.client(
        "sagemaker", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b"
    )
    stubber = Stubber(client)
    polled = threading.Event()
    for answer in (described(1), described(None), described(2)):
        stubber.add_response("describe_endpoint", answer, {"EndpointName": "e"})
    stubber.add_client_error("describe_endpoint", "ValidationException", "gone")
    original = client.describe_endpoint
    calls = []

    def counted(**kwargs: object) -> object:
        calls.append(kwargs)
        try:
            return original(**kwargs)
        finally:
            if len(calls) == 4:  # every answer given
                polled.set()

    client.describe_endpoint = counted  # type: ignore[method-assign]
    with stubber, InstancePoller(client, "e", every_s=0.01) as poller:
        assert polled.wait(10)
    assert [count for _, count in poller.samples] == [1.0, 2.0]

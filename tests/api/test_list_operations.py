"""ListModels, ListEndpointConfigs and ListEndpoints through boto3 (control/registry.py):
filters, sort keys and orders, MaxResults and NextToken paging, boto3's paginators."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, WaiterError

from tests.api.support import (
    FAILING_LOAD_SOURCE,
    Deployer,
    arn,
    client,
    error_of,
    handler_archive,
)


@dataclass(frozen=True)
class Listed:
    """Resources made for these tests, in creation order, all names containing ``tag``."""

    tag: str
    models: list[str]
    configs: list[str]
    endpoints: list[str]
    failed: str


def apart() -> None:
    """SageMaker's times have millisecond resolution: resources created within the same
    millisecond tie, and their creation order could not be told from the listing."""
    time.sleep(0.002)


@pytest.fixture(scope="module")
def listed(
    sagemaker: Any, probe: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Listed]:
    tag = "ls" + uuid.uuid4().hex[:8]
    deployer = Deployer(sagemaker)
    failing = handler_archive(tmp_path_factory.mktemp("failing"), FAILING_LOAD_SOURCE)
    try:
        # Creation order differs from name order, so the two sorts can be told apart.
        models = []
        for suffix in ("c", "a", "e", "b", "d"):
            models.append(deployer.model(probe, name=f"{tag}-{suffix}"))
            apart()
        broken = deployer.model(failing, name=f"{tag}-broken")
        configs = []
        for model in models[:3]:
            configs.append(deployer.config(model, name=f"{model}-config"))
            apart()
        broken_config = deployer.config(broken, name=f"{tag}-broken-config")
        endpoints = []
        for config, suffix in ((configs[0], "b"), (broken_config, "c"), (configs[1], "a")):
            endpoints.append(deployer.endpoint(config, name=f"{tag}-ep-{suffix}", wait=False))
            apart()
        deployer.wait_in_service(endpoints[0])
        deployer.wait_in_service(endpoints[2])
        with pytest.raises(WaiterError):  # the broken model ends Failed
            deployer.wait_in_service(endpoints[1])
        yield Listed(tag, [*models, broken], [*configs, broken_config], endpoints, endpoints[1])
    finally:
        deployer.cleanup()


def names(items: list[dict[str, Any]], key: str) -> list[str]:
    return [item[key] for item in items]


def test_list_models_defaults_to_newest_first(sagemaker: Any, listed: Listed) -> None:
    page = sagemaker.list_models(NameContains=listed.tag)
    assert names(page["Models"], "ModelName") == list(reversed(listed.models))
    assert "NextToken" not in page
    first = page["Models"][-1]
    assert set(first) == {"ModelName", "ModelArn", "CreationTime"}
    assert first["ModelArn"] == arn("model", listed.models[0])


def test_list_models_sorts_by_name_both_ways(sagemaker: Any, listed: Listed) -> None:
    ascending = sagemaker.list_models(NameContains=listed.tag, SortBy="Name", SortOrder="Ascending")
    assert names(ascending["Models"], "ModelName") == sorted(listed.models)
    descending = sagemaker.list_models(NameContains=listed.tag, SortBy="Name")
    assert names(descending["Models"], "ModelName") == sorted(listed.models, reverse=True)


def test_list_models_pages_with_next_token(sagemaker: Any, listed: Listed) -> None:
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        kwargs = {"NextToken": token} if token else {}
        page = sagemaker.list_models(
            NameContains=listed.tag, SortBy="CreationTime", SortOrder="Ascending", MaxResults=2,
            **kwargs,
        )  # fmt: skip
        pages += 1
        assert len(page["Models"]) <= 2
        seen += names(page["Models"], "ModelName")
        token = page.get("NextToken")
        if token is None:
            break
    assert pages == 3
    assert seen == listed.models


def test_boto3_paginators_walk_every_list(sagemaker: Any, listed: Listed) -> None:
    def walk(operation: str, key: str, member: str) -> list[str]:
        paginator = sagemaker.get_paginator(operation)
        pages = paginator.paginate(
            NameContains=listed.tag,
            SortBy="Name",
            SortOrder="Ascending",
            PaginationConfig={"PageSize": 1},
        )
        return [item[member] for page in pages for item in page[key]]

    assert walk("list_models", "Models", "ModelName") == sorted(listed.models)
    assert walk("list_endpoint_configs", "EndpointConfigs", "EndpointConfigName") == sorted(
        listed.configs
    )
    assert walk("list_endpoints", "Endpoints", "EndpointName") == sorted(listed.endpoints)


def test_creation_time_filters_are_strict_and_round_trip(sagemaker: Any, listed: Listed) -> None:
    models = sagemaker.list_models(
        NameContains=listed.tag, SortBy="CreationTime", SortOrder="Ascending"
    )["Models"]
    middle = models[2]["CreationTime"]  # exactly as the emulator reported it
    after = sagemaker.list_models(NameContains=listed.tag, CreationTimeAfter=middle)["Models"]
    before = sagemaker.list_models(NameContains=listed.tag, CreationTimeBefore=middle)["Models"]
    times = {m["ModelName"]: m["CreationTime"] for m in models}
    assert sorted(names(after, "ModelName")) == sorted(n for n, t in times.items() if t > middle)
    assert sorted(names(before, "ModelName")) == sorted(n for n, t in times.items() if t < middle)
    assert models[2]["ModelName"] not in names(after + before, "ModelName")
    assert after and before


def test_list_endpoint_configs_filter_and_sort(sagemaker: Any, listed: Listed) -> None:
    page = sagemaker.list_endpoint_configs(NameContains=listed.tag, SortBy="Name", MaxResults=100)
    assert names(page["EndpointConfigs"], "EndpointConfigName") == sorted(
        listed.configs, reverse=True
    )
    summary = page["EndpointConfigs"][0]
    assert set(summary) == {"EndpointConfigName", "EndpointConfigArn", "CreationTime"}
    only = sagemaker.list_endpoint_configs(NameContains=listed.configs[1])
    assert names(only["EndpointConfigs"], "EndpointConfigName") == [listed.configs[1]]


def test_list_endpoints_summaries_and_status_filter(sagemaker: Any, listed: Listed) -> None:
    page = sagemaker.list_endpoints(NameContains=listed.tag)
    assert names(page["Endpoints"], "EndpointName") == list(reversed(listed.endpoints))
    by_name = {e["EndpointName"]: e for e in page["Endpoints"]}
    assert set(by_name[listed.failed]) == {
        "EndpointName",
        "EndpointArn",
        "CreationTime",
        "LastModifiedTime",
        "EndpointStatus",
    }
    assert by_name[listed.failed]["EndpointStatus"] == "Failed"
    assert by_name[listed.failed]["EndpointArn"] == arn("endpoint", listed.failed)
    failed = sagemaker.list_endpoints(NameContains=listed.tag, StatusEquals="Failed")
    assert names(failed["Endpoints"], "EndpointName") == [listed.failed]
    serving = sagemaker.list_endpoints(NameContains=listed.tag, StatusEquals="InService")
    assert sorted(names(serving["Endpoints"], "EndpointName")) == sorted(
        set(listed.endpoints) - {listed.failed}
    )
    assert not sagemaker.list_endpoints(NameContains=listed.tag, StatusEquals="Creating")[
        "Endpoints"
    ]


def test_list_endpoints_sorts_by_status_then_name(sagemaker: Any, listed: Listed) -> None:
    ascending = sagemaker.list_endpoints(
        NameContains=listed.tag, SortBy="Status", SortOrder="Ascending"
    )["Endpoints"]
    statuses = [e["EndpointStatus"] for e in ascending]
    assert statuses == sorted(statuses)
    assert statuses[0] == "Failed"
    descending = sagemaker.list_endpoints(NameContains=listed.tag, SortBy="Status")["Endpoints"]
    assert [e["EndpointStatus"] for e in descending] == sorted(statuses, reverse=True)


def test_last_modified_time_filters(sagemaker: Any, listed: Listed) -> None:
    endpoints = sagemaker.list_endpoints(NameContains=listed.tag)["Endpoints"]
    times = {e["EndpointName"]: e["LastModifiedTime"] for e in endpoints}
    for moment in times.values():
        after = sagemaker.list_endpoints(NameContains=listed.tag, LastModifiedTimeAfter=moment)
        before = sagemaker.list_endpoints(NameContains=listed.tag, LastModifiedTimeBefore=moment)
        assert sorted(names(after["Endpoints"], "EndpointName")) == sorted(
            n for n, t in times.items() if t > moment
        )
        assert sorted(names(before["Endpoints"], "EndpointName")) == sorted(
            n for n, t in times.items() if t < moment
        )


def test_an_unreadable_next_token_is_a_validation_exception(sagemaker: Any) -> None:
    for token in ("not-a-token", "eyJvZmZzZXQiOiAtMX0="):  # the second is {"offset": -1}
        with pytest.raises(ClientError) as caught:
            sagemaker.list_models(NextToken=token)
        assert error_of(caught)["Code"] == "ValidationException"


def test_list_limits_are_enforced_server_side(emulator_url: str) -> None:
    loose = client("sagemaker", emulator_url, parameter_validation=False)
    for operation in (loose.list_models, loose.list_endpoint_configs, loose.list_endpoints):
        for bad in ({"MaxResults": 101}, {"MaxResults": 0}, {"NameContains": "a_b"}):
            with pytest.raises(ClientError) as caught:
                operation(**bad)
            assert error_of(caught)["Code"] == "ValidationException"
    with pytest.raises(ClientError) as caught:
        loose.list_models(SortBy="Status")  # only endpoints sort by status
    assert error_of(caught)["Code"] == "ValidationException"
